"""When the listener is away or slow: close() gives up after its timeout
and says how many records were left; with a spool the next run of the
program sends them; a stopped (slow) listener makes the logging call block
at most block_timeout, then drop and count, reported in-band; the "drop"
policy drops at once."""

import json
import logging
import os
import subprocess
import tempfile
import time
import unittest

from listener import Listener, python, free_port, PATIENCE
from tributary_logging import AcknowledgedSocketHandler

HERE = os.path.dirname(os.path.abspath(__file__))


def run_producer(port, name, count, first=0, spool=None, close_timeout=1.0):
    args = [os.path.join(HERE, "producer.py"), "--port", str(port), "--name", name,
            "--count", str(count), "--first", str(first), "--close-timeout", str(close_timeout)]
    if spool:
        args += ["--spool", spool]
    p = python(*args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate(timeout=PATIENCE)
    if p.returncode != 0:
        raise AssertionError("producer failed (%s): %s" % (p.returncode, err.decode()))
    return json.loads(out), err.decode()


def tally(lines):
    seen = {}
    for l in lines:
        f = l["fields"]
        seen.setdefault(f["producer"], []).append(f["n"])
    return seen


class Outage(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)

    def test_close_gives_up_after_its_timeout_and_counts_what_was_left(self):
        port = free_port()  # nobody listens there, ever
        report, err = run_producer(port, "gone", 100, close_timeout=1.0)
        self.assertEqual(report["left"], 100)
        self.assertIn("tributary_logging: 100 record(s) not acknowledged by the listener at "
                      "127.0.0.1:%d within 1.0 s: lost" % port, err)
        self.assertIn("Connection refused", err)

    def test_a_listener_killed_for_good_leaves_the_unacknowledged(self):
        with Listener(self.dir.name) as listener:
            listener.start()
            h = AcknowledgedSocketHandler("127.0.0.1", listener.port, close_timeout=1.0)
            log = logging.getLogger("outage.killed")
            log.propagate = False
            log.setLevel(logging.DEBUG)
            log.addHandler(h)
            log.warning("before")
            self.assertEqual(h.wait_acknowledged(PATIENCE), 0)
            listener.kill()
            for n in range(10):
                log.warning("after %d", n)
            log.removeHandler(h)
            start = time.monotonic()
            self.assertEqual(h.close(), 10)
            took = time.monotonic() - start
            # It waited its close_timeout for the listener, then gave up.
            self.assertGreaterEqual(took, 1.0)
            self.assertLess(took, 1.0 + PATIENCE)
            self.assertEqual(h.unacknowledged, 10)
            # Logged after close: nowhere to go, counted.
            h.handle(logging.makeLogRecord({"msg": "too late"}))
            self.assertEqual(h.dropped, 1)
            self.assertEqual([l["msg"] for l in listener.lines()], ["before"])

    def test_the_spool_carries_what_was_left_to_the_next_run(self):
        spool = os.path.join(self.dir.name, "app.spool")
        with Listener(self.dir.name) as listener:
            listener.start()
            first, _ = run_producer(listener.port, "spooled", 10, spool=spool)
            self.assertEqual(first["left"], 0)
            listener.kill()
            second, err = run_producer(listener.port, "spooled", 100, first=10, spool=spool)
            self.assertEqual(second["left"], 100)
            self.assertIn("100 record(s) not acknowledged", err)
            self.assertIn("kept in the spool %s for the next run" % spool, err)
            # The spool keeps the producer's id and numbering.
            self.assertEqual((second["producer"], second["epoch"]),
                             (first["producer"], first["epoch"]))
            # A torn last entry (a producer killed mid-write) is cut, and said so.
            with open(spool, "ab") as f:
                f.write(b"\x07\x00\x00")
            listener.start()
            third, err = run_producer(listener.port, "spooled", 5, first=110, spool=spool)
            self.assertEqual(third["left"], 0)
            self.assertIn("a torn entry header", err)
            self.assertIn("cut 3 bytes", err)
            self.assertEqual(third["producer"], first["producer"])
            listener.stop()
            lines = listener.lines()
        self.assertEqual(tally(lines), {"spooled": list(range(115))})
        self.assertEqual([l["seq"] for l in lines], list(range(115)))

    def test_a_spool_belongs_to_one_process(self):
        spool = os.path.join(self.dir.name, "one.spool")
        a = AcknowledgedSocketHandler("127.0.0.1", free_port(), spool=spool, close_timeout=0)
        try:
            with self.assertRaisesRegex(OSError, "in use by another process"):
                AcknowledgedSocketHandler("127.0.0.1", free_port(), spool=spool)
            with self.assertRaisesRegex(OSError, "belongs to producer"):
                a.close()
                AcknowledgedSocketHandler("127.0.0.1", free_port(), "other", spool=spool)
        finally:
            a.close()
        not_a_spool = os.path.join(self.dir.name, "notes.txt")
        with open(not_a_spool, "w") as f:
            f.write("some notes\n")
        with self.assertRaisesRegex(OSError, "not a Tributary spool"):
            AcknowledgedSocketHandler("127.0.0.1", free_port(), spool=not_a_spool)

    def test_a_stopped_listener_blocks_the_call_at_most_block_timeout(self):
        with Listener(self.dir.name) as listener:
            listener.start()
            h = AcknowledgedSocketHandler("127.0.0.1", listener.port, buffer=20,
                                          block_timeout=0.3)
            log = logging.getLogger("outage.slow")
            log.propagate = False
            log.setLevel(logging.DEBUG)
            log.addHandler(h)
            log.info("first")
            self.assertEqual(h.wait_acknowledged(PATIENCE), 0)
            listener.pause()
            try:
                calls = []
                for n in range(25):
                    start = time.monotonic()
                    log.info("while stopped %d", n)
                    calls.append(time.monotonic() - start)
                self.assertEqual(h.dropped, 5)
                self.assertEqual(h.pending(), 20)
                # The five that found the buffer full each waited for room
                # (at least block_timeout), then gave up rather than hang.
                for took in calls[20:]:
                    self.assertGreaterEqual(took, 0.3)
                    self.assertLess(took, 0.3 + PATIENCE)
            finally:
                listener.resume()
            log.info("after")
            log.removeHandler(h)
            self.assertEqual(h.close(), 0)
            lines = listener.wait_lines(23)
        msgs = [l["msg"] for l in lines]
        self.assertEqual(msgs[:21], ["first"] + ["while stopped %d" % n for n in range(20)])
        self.assertEqual(msgs[21], "5 records dropped: the buffer of unacknowledged records was full")
        self.assertEqual(lines[21]["logger"], "tributary_logging")
        self.assertEqual(lines[21]["level"], "WARNING")
        self.assertEqual(lines[21]["fields"], {"dropped": 5})
        self.assertEqual(msgs[22], "after")
        self.assertEqual(len(lines), 23)

    def test_the_drop_policy_drops_at_once_and_reports_it(self):
        with Listener(self.dir.name) as listener:
            h = AcknowledgedSocketHandler("127.0.0.1", listener.port, buffer=10,
                                          overflow="drop", backoff_max=0.1)
            log = logging.getLogger("outage.drop")
            log.propagate = False
            log.setLevel(logging.DEBUG)
            log.addHandler(h)
            for n in range(15):
                log.info("down %d", n)
            self.assertEqual(h.dropped, 5)
            listener.start()
            # The report goes out as soon as there is room, with no new record.
            self.assertEqual(h.wait_acknowledged(PATIENCE), 0)
            self.assertEqual(len(listener.wait_lines(11)), 11)
            log.info("up")
            log.removeHandler(h)
            self.assertEqual(h.close(), 0)
            lines = listener.wait_lines(12)
        self.assertEqual([l["msg"] for l in lines],
                         ["down %d" % n for n in range(10)]
                         + ["5 records dropped: the buffer of unacknowledged records was full",
                            "up"])

    def test_a_record_the_listener_keeps_refusing_is_replaced_not_retried_forever(self):
        # The listener's --max-frame is below the handler's max_frame: it
        # closes the connection each time the big record arrives.
        with Listener(self.dir.name, args=["--max-frame", "64KiB"]) as listener:
            listener.start()
            h = AcknowledgedSocketHandler("127.0.0.1", listener.port)
            log = logging.getLogger("outage.refused")
            log.propagate = False
            log.setLevel(logging.DEBUG)
            log.addHandler(h)
            log.info("before")
            log.info("z" * (200 << 10))
            log.info("after")
            log.removeHandler(h)
            self.assertEqual(h.close(), 0)
            self.assertEqual(h.replaced, 1)
            lines = listener.wait_lines(3)
            listener.stop()
        self.assertEqual([l["msg"] for l in lines][0], "before")
        self.assertRegex(lines[1]["msg"], r"^record 1 \(\d+ bytes\) replaced: the listener closed "
                         r"the connection each of 3 times it was sent \(is its --max-frame below "
                         r"this handler's max_frame of 1048576 bytes\?\)$")
        self.assertEqual(lines[1]["fields"]["replaced_seq"], 1)
        self.assertTrue(lines[1]["fields"]["start"].startswith('{"ts":'))
        self.assertEqual([l["msg"] for l in lines][2], "after")
        self.assertEqual(len(lines), 3)

    def test_a_unix_socket_input(self):
        path = os.path.join(self.dir.name, "in.sock")
        with Listener(self.dir.name, args=["--unix", path]) as listener:
            listener.start()
            h = AcknowledgedSocketHandler(path, None)
            log = logging.getLogger("outage.unix")
            log.propagate = False
            log.setLevel(logging.DEBUG)
            log.addHandler(h)
            for n in range(100):
                log.info("over unix %d", n)
            self.assertEqual(h.wait_acknowledged(PATIENCE), 0)
            listener.kill()
            for n in range(100, 200):
                log.info("over unix %d", n)
            listener.start()
            log.removeHandler(h)
            self.assertEqual(h.close(), 0)
            listener.stop()
            msgs = [l["msg"] for l in listener.lines()]
        self.assertEqual(msgs, ["over unix %d" % n for n in range(200)])

    def test_bad_arguments_say_what_is_wrong(self):
        with self.assertRaisesRegex(ValueError, 'overflow must be "block" or "drop"'):
            AcknowledgedSocketHandler("127.0.0.1", 1, overflow="wait")
        with self.assertRaisesRegex(ValueError, "max_frame must be at least 1024"):
            AcknowledgedSocketHandler("127.0.0.1", 1, max_frame=10)
        for bad in ("", "x" * 257, "web\n1"):
            with self.assertRaisesRegex(ValueError, "producer_id must be 1 to 256 bytes"):
                AcknowledgedSocketHandler("127.0.0.1", 1, bad)


if __name__ == "__main__":
    unittest.main()
