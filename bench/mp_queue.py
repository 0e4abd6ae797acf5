#!/usr/bin/env python3
"""The cookbook's "QueueHandler + multiprocessing.Queue" answer
("Logging to a single file from multiple processes",
https://docs.python.org/3/howto/logging-cookbook.html): N worker processes
log through a QueueHandler into one multiprocessing.Queue; a QueueListener
thread in the main process writes the records with a FileHandler in the
cookbook's format.

    mp_queue.py --procs 4 --records 10000 --out FILE --start-at NS

Each worker prints its producer report line; the main process prints a
writer report line (CPU and peak memory of the listening process).
"""

import argparse
import json
import logging
import logging.handlers
import multiprocessing
import time

import bench_common

FORMAT = "%(asctime)s %(processName)-10s %(name)s %(levelname)-8s %(message)s"


def worker(queue, producer, records, start_at):
    root = logging.getLogger()
    root.handlers = [logging.handlers.QueueHandler(queue)]
    root.setLevel(logging.DEBUG)
    logger = logging.getLogger("bench.p%d" % producer)
    cpu_start = bench_common.cpu_ns()
    latencies, first, last = bench_common.emit_all(logger, producer, records, start_at)
    queue.close()
    queue.join_thread()  # every record is in the pipe before we report
    bench_common.report_producer(producer, records, latencies, first, last, cpu_start)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--procs", type=int, required=True)
    p.add_argument("--records", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--start-at", type=int, default=0)
    args = p.parse_args()

    cpu_start = bench_common.cpu_ns()
    queue = multiprocessing.Queue(-1)
    handler = logging.FileHandler(args.out)
    handler.setFormatter(logging.Formatter(FORMAT))
    listener = logging.handlers.QueueListener(queue, handler)
    listener.start()
    workers = [
        multiprocessing.Process(target=worker, args=(queue, i, args.records, args.start_at))
        for i in range(args.procs)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    listener.stop()  # processes everything queued before returning
    handler.close()
    print(json.dumps({
        "kind": "writer",
        "cpu_ns": bench_common.cpu_ns() - cpu_start,
        "maxrss_kib": bench_common.peak_rss_kib(),
        "done_ns": time.time_ns(),
    }), flush=True)


if __name__ == "__main__":
    main()
