"""What a record looks like in the listener's output: the LogRecord's
attributes mapped as the listener maps pickled records, in the native
key order; Unicode; messages over the maximum frame cut with a marker;
exceptions and stacks; extra= values that are not JSON."""

import datetime
import logging
import re
import tempfile
import unittest

from listener import Listener
from tributary_logging import AcknowledgedSocketHandler, TRUNCATED_MARKER


class Capture(logging.Handler):
    """Keeps the records it sees, to compare with what the listener wrote."""

    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)


class Custom:
    def __repr__(self):
        return "Custom<1>"


class Records(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.listener = Listener(self.dir.name).start()
        self.handler = AcknowledgedSocketHandler("127.0.0.1", self.listener.port)
        self.capture = Capture()
        self.log = logging.getLogger("records.%s" % self._testMethodName)
        self.log.setLevel(logging.DEBUG)
        self.log.propagate = False
        self.log.addHandler(self.handler)
        self.log.addHandler(self.capture)

    def tearDown(self):
        self.log.removeHandler(self.handler)
        self.handler.close()
        self.listener.stop()
        self.listener.__exit__()
        self.dir.cleanup()

    def written(self, n):
        self.assertEqual(self.handler.wait_acknowledged(60), 0)
        lines = self.listener.wait_lines(n)
        self.assertEqual(len(lines), n, lines)
        return lines

    def test_attributes_are_mapped_in_native_key_order(self):
        self.log.warning("user %s logged in", "ann", extra={"user": "ann", "n": 3})
        line, = self.written(1)
        r, = self.capture.records
        self.assertEqual(list(line), ["ts", "level", "levelno", "logger", "msg", "host", "pid",
                                      "process", "tid", "thread", "file", "line", "func",
                                      "module", "seq", "fields"])
        self.assertRegex(line["ts"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
        ts = datetime.datetime.strptime(line["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
        self.assertAlmostEqual(ts, r.created, delta=2e-6)
        self.assertEqual(line["level"], "WARNING")
        self.assertEqual(line["levelno"], 30)
        self.assertEqual(line["logger"], self.log.name)
        self.assertEqual(line["msg"], "user ann logged in")
        self.assertEqual(line["pid"], r.process)
        self.assertEqual(line["process"], r.processName)
        self.assertEqual(line["tid"], r.thread)
        self.assertEqual(line["thread"], r.threadName)
        self.assertEqual(line["file"], r.pathname)
        self.assertEqual(line["line"], r.lineno)
        self.assertEqual(line["func"], "test_attributes_are_mapped_in_native_key_order")
        self.assertEqual(line["module"], "test_records")
        self.assertEqual(line["seq"], 0)
        self.assertEqual(line["fields"], {"user": "ann", "n": 3})

    def test_sequence_numbers_count_records(self):
        for n in range(5):
            self.log.info("r%d", n)
        self.assertEqual([l["seq"] for l in self.written(5)], [0, 1, 2, 3, 4])

    def test_unicode_survives(self):
        msg = "héllo wörld ✓ 日本語 🎉 tab\tnewline\nquote\" backslash\\ nul\0"
        log = logging.getLogger("records.ünïcode.日本")
        log.propagate = False
        log.addHandler(self.handler)
        try:
            log.error(msg, extra={"emoji": "🎉", "ключ": "значение"})
            log.error("lone surrogate \udc80 end")
        finally:
            log.removeHandler(self.handler)
        a, b = self.written(2)
        self.assertEqual(a["msg"], msg)
        self.assertEqual(a["logger"], "records.ünïcode.日本")
        self.assertEqual(a["fields"], {"emoji": "🎉", "ключ": "значение"})
        # Not UTF-8: replaced, and the record still lands.
        self.assertEqual(b["msg"], "lone surrogate ? end")

    def test_messages_over_the_max_frame_are_cut_with_a_marker(self):
        big = "x" * (3 << 20)
        self.log.info(big + "END")
        self.log.info("small", extra={"blob": "y" * (2 << 20)})
        self.log.info("after")
        cut, fields, after = self.written(3)
        self.assertTrue(cut["msg"].startswith("x" * 1000))
        m = re.search(r"…\[truncated (\d+) bytes\]$", cut["msg"])
        self.assertIsNotNone(m, cut["msg"][-100:])
        kept = len(cut["msg"]) - len(m.group(0))
        self.assertEqual(kept + int(m.group(1)), len(big) + 3)
        self.assertLess(len(cut["msg"].encode()), 1 << 20)
        self.assertEqual(fields["msg"], "small")
        self.assertIn("truncated", fields["fields"])
        self.assertTrue(fields["fields"]["truncated"].startswith('{"blob":"yyyy'))
        self.assertRegex(fields["fields"]["truncated"], r"…\[truncated \d+ bytes\]$")
        self.assertEqual(after["msg"], "after")
        self.assertEqual(TRUNCATED_MARKER.format(7), "…[truncated 7 bytes]")

    def test_a_smaller_max_frame_is_respected(self):
        self.log.removeHandler(self.handler)
        self.handler.close()
        self.handler = AcknowledgedSocketHandler("127.0.0.1", self.listener.port,
                                                 max_frame=4096)
        self.log.addHandler(self.handler)
        self.log.info("é" * 10000)
        line, = self.written(1)
        self.assertLessEqual(len(line["msg"].encode()), 4096)
        self.assertTrue(line["msg"].startswith("éééé"))
        self.assertRegex(line["msg"], r"…\[truncated \d+ bytes\]$")

    def test_exceptions_and_stacks(self):
        def inner():
            raise ValueError("bad value")

        try:
            try:
                inner()
            except ValueError as e:
                raise RuntimeError("wrapped") from e
        except RuntimeError:
            self.log.exception("failed", stack_info=True)
        try:
            1 / 0
        except ZeroDivisionError as e:
            self.log.error("given as a tuple", exc_info=(type(e), e, e.__traceback__))
        a, b = self.written(2)
        self.assertTrue(a["exc"].startswith("Traceback (most recent call last):"), a["exc"])
        self.assertIn("ValueError: bad value", a["exc"])
        self.assertIn("The above exception was the direct cause", a["exc"])
        self.assertTrue(a["exc"].endswith("RuntimeError: wrapped"), a["exc"])
        self.assertTrue(a["stack"].startswith("Stack (most recent call last):"), a["stack"])
        self.assertIn("test_exceptions_and_stacks", a["stack"])
        self.assertEqual(list(a)[-3:], ["seq", "exc", "stack"])
        self.assertTrue(b["exc"].endswith("ZeroDivisionError: division by zero"))
        self.assertNotIn("stack", b)

    def test_extra_values_that_are_not_json_are_written_as_repr(self):
        extra = {
            "obj": Custom(), "set": {1}, "nan": float("nan"),
            "nested": {"a": [1, 2, {"b": Custom()}]}, "tuple_key": {(1, 2): 3},
            "bytes": b"\x00\xff", "n": 5, "s": "str", "none": None, "yes": True,
            "float": 1.5, "list": [1, "two"],
        }
        self.log.info("extras", extra=extra)
        line, = self.written(1)
        self.assertEqual(line["fields"], {
            "obj": "Custom<1>", "set": "{1}", "nan": "nan",
            "nested": {"a": [1, 2, {"b": "Custom<1>"}]}, "tuple_key": "{(1, 2): 3}",
            "bytes": "b'\\x00\\xff'", "n": 5, "s": "str", "none": None, "yes": True,
            "float": 1.5, "list": [1, "two"],
        })

    def test_attributes_python_was_told_not_to_collect_are_left_out(self):
        saved = logging.logThreads, logging.logProcesses, logging.logMultiprocessing
        logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
        try:
            self.log.info("lean")
        finally:
            logging.logThreads, logging.logProcesses, logging.logMultiprocessing = saved
        self.log.info("full")
        lean, full = self.written(2)
        self.assertEqual(list(lean), ["ts", "level", "levelno", "logger", "msg", "host", "file",
                                      "line", "func", "module", "seq"])
        self.assertEqual(lean["msg"], "lean")
        self.assertIn("tid", full)

    def test_a_message_that_cannot_be_formatted_is_kept(self):
        self.log.info("two values %s %s", "only one")
        line, = self.written(1)
        self.assertIn("'two values %s %s' % ('only one',) failed: TypeError", line["msg"])


if __name__ == "__main__":
    unittest.main()
