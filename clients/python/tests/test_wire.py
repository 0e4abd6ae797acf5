"""The bytes on the wire, read by a plain socket server on loopback: the
hello names the producer, its epoch (32 hex digits, new per process) and
the oldest record held; records follow as length-prefixed native JSON; a
reply that is not a welcome is a broken connection, never a crash."""

import json
import logging
import re
import socket
import struct
import threading
import unittest

from listener import PATIENCE
from tributary_logging import AcknowledgedSocketHandler


def read_frame(conn):
    def exactly(n):
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    (n,) = struct.unpack(">I", exactly(4))
    return json.loads(exactly(n))


def frame(obj):
    payload = json.dumps(obj).encode()
    return struct.pack(">I", len(payload)) + payload


class Wire(unittest.TestCase):
    def setUp(self):
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen()
        self.server.settimeout(PATIENCE)
        self.addCleanup(self.server.close)
        self.port = self.server.getsockname()[1]

    def test_hello_then_numbered_records(self):
        h = AcknowledgedSocketHandler("127.0.0.1", self.port, "web-1")
        log = logging.getLogger("wire.hello")
        log.propagate = False
        log.setLevel(logging.INFO)
        log.addHandler(h)
        log.info("one")
        conn, _ = self.server.accept()
        with conn:
            conn.settimeout(PATIENCE)
            hello = read_frame(conn)
            self.assertEqual(list(hello), ["tributary", "version", "producer", "epoch", "next"])
            self.assertEqual(hello["tributary"], "hello")
            self.assertEqual(hello["version"], 1)
            self.assertEqual(hello["producer"], "web-1")
            self.assertRegex(hello["epoch"], r"^[0-9a-f]{32}$")
            self.assertEqual(hello["epoch"], h.epoch)
            self.assertEqual(hello["next"], 0)
            # "Already written up to 0": the record goes out as number 0.
            conn.sendall(frame({"tributary": "welcome", "version": 1, "next": 0,
                                "durable": False}))
            record = read_frame(conn)
            self.assertEqual((record["msg"], record["seq"]), ("one", 0))
            log.info("two")
            self.assertEqual(read_frame(conn)["seq"], 1)
            conn.sendall(frame({"tributary": "ack", "next": 2}))
            self.assertEqual(h.wait_acknowledged(PATIENCE), 0)
        log.removeHandler(h)
        h.close_timeout = 0
        self.assertEqual(h.close(), 0)
        # Another handler in the same process: its own numbering.
        other = AcknowledgedSocketHandler("127.0.0.1", self.port, "web-1", close_timeout=0)
        self.assertNotEqual(other.epoch, h.epoch)
        other.close()

    def test_a_peer_that_is_not_a_listener_breaks_the_connection_not_the_handler(self):
        h = AcknowledgedSocketHandler("127.0.0.1", self.port, close_timeout=0.5,
                                      ack_timeout=5.0)
        log = logging.getLogger("wire.garbage")
        log.propagate = False
        log.addHandler(h)
        log.error("kept")
        conn, _ = self.server.accept()
        with conn:
            read_frame(conn)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
            # The handler hangs up on it.
            conn.settimeout(PATIENCE)
            self.assertEqual(conn.recv(100), b"")
        log.removeHandler(h)
        self.assertEqual(h.close(), 1)
        self.assertRegex(h.last_error, r"frame of \d+ bytes from the listener: is the peer a "
                         r"Tributary listener\?")


if __name__ == "__main__":
    unittest.main()
