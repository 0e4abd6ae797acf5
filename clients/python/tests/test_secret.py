"""A listener started with --producer-secret FILE: a handler without the
secret, or with a wrong one, is refused and nothing of it is written; the
handler with the right secret gets every record written, once. The secret
never appears in the listener's diagnostics or the handler's errors."""

import logging
import os
import tempfile
import unittest

from listener import Listener, PATIENCE
from tributary_logging import AcknowledgedSocketHandler

SECRET = "correct horse battery staple"


def send(listener, name, count, close_timeout, **kwargs):
    """``count`` records from logger ``secret.NAME`` through a handler;
    what ``close()`` returned and the handler's last error."""
    h = AcknowledgedSocketHandler("127.0.0.1", listener.port, producer_id=name,
                                  close_timeout=close_timeout, **kwargs)
    log = logging.getLogger("secret." + name)
    log.propagate = False
    log.setLevel(logging.INFO)
    log.addHandler(h)
    for n in range(count):
        log.info("%s %d", name, n, extra={"n": n})
    log.removeHandler(h)
    left = h.close()
    return left, h.last_error


class Secret(unittest.TestCase):
    def test_only_the_right_secret_gets_records_written(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "producer.secret")
            with open(path, "w") as f:
                f.write(SECRET + "\n")
            os.chmod(path, 0o600)
            with Listener(d, args=["--producer-secret", path]) as listener:
                listener.start()
                # Refused: close() gives up at its timeout with every record held.
                left, error = send(listener, "nosecret", 5, 1.0)
                self.assertEqual(left, 5)
                self.assertIn("carries no secret", error)
                left, error = send(listener, "wrong", 5, 1.0, secret="correct horse")
                self.assertEqual(left, 5)
                self.assertIn("not the one", error)
                self.assertNotIn("correct horse", error)
                left, _ = send(listener, "right", 300, PATIENCE, secret=SECRET)
                self.assertEqual(left, 0)
                listener.stop()
                lines = listener.lines()
                self.assertEqual(sorted(l["fields"]["n"] for l in lines), list(range(300)))
                self.assertEqual({l["logger"] for l in lines}, {"secret.right"})
                stderr = listener.stderr()
                self.assertIn("carries no secret", stderr)
                self.assertNotIn("battery", stderr)

    def test_a_bad_secret_is_refused_before_connecting(self):
        for bad in ("", "a\nb", "x" * 1025):
            with self.assertRaises(ValueError):
                AcknowledgedSocketHandler("127.0.0.1", 9, secret=bad)


if __name__ == "__main__":
    unittest.main()
