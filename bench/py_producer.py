#!/usr/bin/env python3
"""Bench producer: one process logging through the stdlib SocketHandler,
exactly as an application following the logging cookbook would, or (with
--acknowledged) through tributary_logging's AcknowledgedSocketHandler
(clients/python), which waits at exit until every record is acknowledged.

    py_producer.py --id 3 --records 10000 --tcp 127.0.0.1:9020 --start-at NS
    py_producer.py --id 3 --records 10000 --unix /path/to.sock --start-at NS
    py_producer.py --acknowledged --id 3 --records 10000 --tcp 127.0.0.1:9020

Prints one JSON report line (see bench_common.py) when done.
"""

import argparse
import logging
import logging.handlers
import pathlib
import sys

import bench_common


def acknowledged_handler(host, port):
    try:
        from tributary_logging import AcknowledgedSocketHandler
    except ImportError:  # not installed: the copy in this repository
        sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "clients" / "python"))
        from tributary_logging import AcknowledgedSocketHandler
    # A close timeout far above a run's length: a record left unacknowledged
    # is a failure the oracle reports, not something to wait out quietly.
    return AcknowledgedSocketHandler(host, port, close_timeout=300.0)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--id", type=int, required=True)
    p.add_argument("--records", type=int, required=True)
    p.add_argument("--tcp", help="HOST:PORT of the receiver")
    p.add_argument("--unix", help="path of the receiver's Unix socket")
    p.add_argument("--start-at", type=int, default=0, help="wall-clock ns to start at")
    p.add_argument("--acknowledged", action="store_true",
                   help="log through tributary_logging.AcknowledgedSocketHandler (TCP only)")
    args = p.parse_args()

    if args.acknowledged:
        if not args.tcp:
            p.error("--acknowledged needs --tcp")
        host, port = args.tcp.rsplit(":", 1)
        handler = acknowledged_handler(host, int(port))
    elif args.tcp:
        host, port = args.tcp.rsplit(":", 1)
        handler = logging.handlers.SocketHandler(host, int(port))
    elif args.unix:
        handler = logging.handlers.SocketHandler(args.unix, None)
    else:
        p.error("give --tcp or --unix")
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    logger = logging.getLogger("bench.p%d" % args.id)

    cpu_start = bench_common.cpu_ns()
    latencies, first, last = bench_common.emit_all(logger, args.id, args.records, args.start_at)
    logging.shutdown()  # flushes and closes the socket (acknowledged: waits for the acks)
    bench_common.report_producer(args.id, args.records, latencies, first, last, cpu_start)


if __name__ == "__main__":
    main()
