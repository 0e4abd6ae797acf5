"""Many worker processes, one log file, with concurrent.futures: a
ProcessPoolExecutor whose workers log through the stdlib SocketHandler to a
running `tributary listen`.

    tributary listen &            # TCP 127.0.0.1:9020 -> logs/tributary.log
    python3 process_pool_executor.py [HOST:PORT]
"""
import concurrent.futures
import logging
import logging.handlers
import multiprocessing
import sys


def configure(host, port):
    """Sends every record of this process to the listener (the executor's
    initializer runs it once in each worker)."""
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
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=4,
        # "spawn": clean workers that do not share the parent's socket.
        mp_context=multiprocessing.get_context("spawn"),
        initializer=configure,
        initargs=(host, int(port)),
    ) as pool:
        done = list(pool.map(work, range(100)))
    configure(host, int(port))
    logging.getLogger("app").info("%d tasks done", len(done))
    logging.shutdown()


if __name__ == "__main__":
    main()
