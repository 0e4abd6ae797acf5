"""Behind a QueueHandler/QueueListener, in multiprocessing workers (fork
and spawn) and configured by dictConfig: every record exactly once, each
process its own producer id and numbering."""

import logging
import logging.config
import logging.handlers
import multiprocessing
import os
import queue
import tempfile
import threading
import unittest

from listener import Listener, PATIENCE
from tributary_logging import AcknowledgedSocketHandler

HANDLER = None  # the handler a forked worker inherits


def forked_task(n):
    logging.getLogger("proc.worker").info("task %d", n, extra={"task": n})
    return os.getpid(), HANDLER.producer_id, HANDLER.epoch


def spawn_init(port):
    root = logging.getLogger()
    root.handlers.clear()
    root.addHandler(AcknowledgedSocketHandler("127.0.0.1", port))
    root.setLevel(logging.INFO)


def spawned_task(n):
    logging.getLogger("proc.worker").info("task %d", n, extra={"task": n})
    return os.getpid()


class Processes(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.listener = Listener(self.dir.name).start()
        self.addCleanup(self.listener.__exit__)

    def test_behind_a_queue_handler(self):
        q = queue.Queue(-1)
        h = AcknowledgedSocketHandler("127.0.0.1", self.listener.port)
        ql = logging.handlers.QueueListener(q, h)
        ql.start()
        log = logging.getLogger("proc.queued")
        log.propagate = False
        log.setLevel(logging.INFO)
        log.addHandler(logging.handlers.QueueHandler(q))

        def work(t):
            for n in range(500):
                log.info("thread %d record %d", t, n, extra={"t": t, "n": n})

        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        try:
            1 / 0
        except ZeroDivisionError:
            log.exception("failed")
        ql.stop()
        self.assertEqual(h.close(), 0)
        lines = self.listener.wait_lines(2001)
        self.listener.stop()
        self.assertEqual(len(lines), 2001)
        seen = sorted((l["fields"]["t"], l["fields"]["n"]) for l in lines[:-1] if "fields" in l)
        self.assertEqual(seen, [(t, n) for t in range(4) for n in range(500)])
        # QueueHandler.prepare puts the formatted exception into the message.
        self.assertTrue(lines[-1]["msg"].endswith("ZeroDivisionError: division by zero"))

    def test_forked_workers_are_producers_of_their_own(self):
        global HANDLER
        HANDLER = AcknowledgedSocketHandler("127.0.0.1", self.listener.port, "parent")
        root = logging.getLogger("proc")
        root.setLevel(logging.INFO)
        root.propagate = False
        root.addHandler(HANDLER)
        try:
            root.info("parent before")  # the parent's thread runs across the fork
            with multiprocessing.get_context("fork").Pool(3) as pool:
                results = pool.map(forked_task, range(30))
                # Pool's context manager terminates: end the workers cleanly first.
                pool.close()
                pool.join()
            root.info("parent after")
        finally:
            root.removeHandler(HANDLER)
            self.assertEqual(HANDLER.close(), 0)
        lines = self.listener.wait_lines(32)
        self.listener.stop()
        self.assertEqual(len(lines), 32)
        parent = os.getpid()
        by_pid = {}
        for pid, producer, epoch in results:
            self.assertNotEqual(pid, parent)
            self.assertEqual(producer, "parent/%d" % pid)
            self.assertNotEqual(epoch, HANDLER.epoch)
            by_pid.setdefault(pid, set()).add((producer, epoch))
        # One producer and numbering per worker process.
        self.assertTrue(all(len(v) == 1 for v in by_pid.values()), by_pid)
        self.assertEqual(len({next(iter(v))[1] for v in by_pid.values()}), len(by_pid))
        tasks = sorted(l["fields"]["task"] for l in lines if l["logger"] == "proc.worker")
        self.assertEqual(tasks, list(range(30)))
        self.assertEqual([l["msg"] for l in lines if l["logger"] == "proc"],
                         ["parent before", "parent after"])
        for l in lines:
            if l["logger"] == "proc.worker":
                self.assertNotEqual(l["pid"], parent)

    def test_spawned_workers(self):
        ctx = multiprocessing.get_context("spawn")
        pool = ctx.Pool(2, initializer=spawn_init, initargs=(self.listener.port,))
        pids = pool.map(spawned_task, range(20))
        pool.close()
        pool.join()
        lines = self.listener.wait_lines(20)
        self.listener.stop()
        self.assertEqual(sorted(l["fields"]["task"] for l in lines), list(range(20)))
        self.assertEqual(sorted(l["pid"] for l in lines), sorted(pids))

    def test_dict_config(self):
        logging.config.dictConfig({
            "version": 1,
            "disable_existing_loggers": False,
            "handlers": {
                "tributary": {
                    "class": "tributary_logging.AcknowledgedSocketHandler",
                    "host": "127.0.0.1",
                    "port": self.listener.port,
                    "producer_id": "web-1",
                    "close_timeout": 5.0,
                    "level": "INFO",
                },
            },
            "loggers": {"proc.configured": {"handlers": ["tributary"], "level": "DEBUG",
                                            "propagate": False}},
        })
        log = logging.getLogger("proc.configured")
        log.debug("below the handler's level")
        log.info("configured")
        h, = log.handlers
        self.assertEqual(h.producer_id, "web-1")
        log.removeHandler(h)
        self.assertEqual(h.close(), 0)
        line, = self.listener.wait_lines(1)
        self.listener.stop()
        self.assertEqual(line["msg"], "configured")
        self.assertEqual(len(self.listener.lines()), 1)


if __name__ == "__main__":
    unittest.main()
