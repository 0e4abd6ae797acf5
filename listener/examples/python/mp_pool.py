"""Many worker processes, one log file: a multiprocessing.Pool whose workers
log through the stdlib SocketHandler to a running `tributary listen`, which
is the only writer of the file. No change to how the workers log.

    tributary listen &            # TCP 127.0.0.1:9020 -> logs/tributary.log
    python3 mp_pool.py [HOST:PORT]
"""
import logging
import logging.handlers
import multiprocessing
import sys


def configure(host, port):
    """Sends every record of this process to the listener. Runs in the
    parent and, as the pool's initializer, once in every worker."""
    root = logging.getLogger()
    root.handlers.clear()
    root.addHandler(logging.handlers.SocketHandler(host, port))
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
    # "spawn" starts clean workers on every platform: a forked worker would
    # inherit the parent's connected socket and interleave its frames.
    ctx = multiprocessing.get_context("spawn")
    pool = ctx.Pool(4, initializer=configure, initargs=(host, int(port)))
    done = pool.map(work, range(100))
    pool.close()
    pool.join()
    configure(host, int(port))
    logging.getLogger("app").info("%d tasks done", len(done))
    logging.shutdown()


if __name__ == "__main__":
    main()
