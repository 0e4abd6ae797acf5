"""Many worker processes, one log file, nothing lost: a multiprocessing.Pool
whose workers log through tributary_logging's AcknowledgedSocketHandler to
a running `tributary listen`, which is the only writer of the file. The
workers log as usual; every record is kept until the listener says it is
written, so a listener restart (even kill -9) loses none.

    pip install ./clients/python  # once (stdlib only; run from the repository)
    tributary listen &            # TCP 127.0.0.1:9020 -> logs/tributary.log
    python3 mp_pool.py [HOST:PORT]
"""
import logging
import multiprocessing
import pathlib
import sys

try:
    from tributary_logging import AcknowledgedSocketHandler
except ImportError:  # not installed: use the copy in this repository
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[3] / "clients" / "python"))
    from tributary_logging import AcknowledgedSocketHandler


def configure(host, port):
    """Sends every record of this process to the listener. Runs in the
    parent and, as the pool's initializer, once in every worker. Each
    process is its own producer (host/pid/start time); a worker's handler
    is closed, waiting for the acknowledgements, when the worker exits."""
    root = logging.getLogger()
    root.handlers.clear()
    root.addHandler(AcknowledgedSocketHandler(host, port))
    root.setLevel(logging.INFO)


def work(n):
    log = logging.getLogger("app.worker")
    log.info("task %d done", n, extra={"task": n})
    if n % 10 == 0:
        try:
            1 / 0
        except ZeroDivisionError:
            log.exception("task %d failed", n, extra={"task": n})
    return n


def main():
    host, _, port = (sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:9020").rpartition(":")
    # "spawn" starts clean workers on every platform. (The handler is also
    # safe across fork: a forked copy becomes a producer of its own.)
    ctx = multiprocessing.get_context("spawn")
    pool = ctx.Pool(4, initializer=configure, initargs=(host, int(port)))
    done = pool.map(work, range(100))
    # close + join (not terminate): workers exit normally and so wait for
    # their acknowledgements.
    pool.close()
    pool.join()
    configure(host, int(port))
    logging.getLogger("app").info("%d tasks done", len(done))
    logging.shutdown()  # waits up to close_timeout (10 s) for the acknowledgements


if __name__ == "__main__":
    main()
