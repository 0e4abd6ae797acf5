"""Many worker processes, one log file, nothing lost, with
concurrent.futures: a ProcessPoolExecutor whose workers log through
tributary_logging's AcknowledgedSocketHandler to a running
`tributary listen`.

    pip install ./clients/python  # once (stdlib only; run from the repository)
    tributary listen &            # TCP 127.0.0.1:9020 -> logs/tributary.log
    python3 process_pool_executor.py [HOST:PORT]
"""
import concurrent.futures
import logging
import logging.config
import multiprocessing
import pathlib
import sys

try:
    import tributary_logging  # noqa: F401 (dictConfig names its handler class)
except ImportError:  # not installed: use the copy in this repository
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[3] / "clients" / "python"))


def configure(host, port):
    """Sends every record of this process to the listener (the executor's
    initializer runs it once in each worker), configured as an application
    would with dictConfig."""
    logging.config.dictConfig({
        "version": 1,
        "handlers": {
            "tributary": {
                "class": "tributary_logging.AcknowledgedSocketHandler",
                "host": host,
                "port": port,
                "close_timeout": 10.0,  # how long exit waits for acknowledgements
            },
        },
        "root": {"handlers": ["tributary"], "level": "INFO"},
    })


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
        # "spawn": the same clean workers on every platform.
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
