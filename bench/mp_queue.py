#!/usr/bin/env python3
"""The cookbook's "QueueHandler + multiprocessing.Queue" answer
("Logging to a single file from multiple processes",
https://docs.python.org/3/howto/logging-cookbook.html): N worker processes
log through a QueueHandler into one multiprocessing.Queue; a QueueListener
thread in the main process writes the records with a FileHandler in the
cookbook's format.

    mp_queue.py --procs 4 --records 10000 --out FILE --start-at NS

Each worker sends its producer report to the main process through its own
pipe; the main process prints every report line itself, then a writer report
line (CPU and peak memory of the listening process). Workers never write to
the shared stdout: forked children printing there raced for it, and a worker
that died (killed for memory on a loaded machine: `multiprocessing.Queue(-1)`
buffers without bound) left no line, so the bench failed with "2 of 4
producers reported" instead of counting the records that worker lost. A
worker that dies is reported on stderr with its exit code; its missing
records are then the oracle's to count.
"""

import argparse
import json
import logging
import logging.handlers
import multiprocessing
import sys
import time

import bench_common

FORMAT = "%(asctime)s %(processName)-10s %(name)s %(levelname)-8s %(message)s"


def worker(queue, report, producer, records, start_at):
    root = logging.getLogger()
    root.handlers = [logging.handlers.QueueHandler(queue)]
    root.setLevel(logging.DEBUG)
    logger = logging.getLogger("bench.p%d" % producer)
    cpu_start = bench_common.cpu_ns()
    latencies, first, last = bench_common.emit_all(logger, producer, records, start_at)
    queue.close()
    queue.join_thread()  # every record is in the pipe before we report
    report.send(bench_common.producer_report(producer, records, latencies, first, last, cpu_start))
    report.close()


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
    pipes = [multiprocessing.Pipe(duplex=False) for _ in range(args.procs)]
    workers = [
        multiprocessing.Process(target=worker, args=(queue, send, i, args.records, args.start_at))
        for i, (_, send) in enumerate(pipes)
    ]
    for w in workers:
        w.start()
    for _, send in pipes:
        send.close()  # the worker's copy is the only one: EOF when it dies
    reports = []
    for i, (recv, _) in enumerate(pipes):
        try:
            reports.append(recv.recv())
        except EOFError:
            pass  # the worker died before reporting; see below
    for i, w in enumerate(workers):
        w.join()
        if w.exitcode != 0:
            print("mp_queue.py: worker %d exited with code %s; its records that did "
                  "not reach the queue are lost" % (i, w.exitcode), file=sys.stderr)
    listener.stop()  # processes everything queued before returning
    handler.close()
    for report in reports:
        print(json.dumps(report))
    print(json.dumps({
        "kind": "writer",
        "cpu_ns": bench_common.cpu_ns() - cpu_start,
        "maxrss_kib": bench_common.peak_rss_kib(),
        "done_ns": time.time_ns(),
    }), flush=True)


if __name__ == "__main__":
    main()
