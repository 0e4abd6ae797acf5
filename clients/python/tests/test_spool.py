"""The spool's bytes follow the Rust handlers' spool format (version 2,
with the epoch); a version 1 spool (before epochs), written here byte by
byte as the format says, is resumed and its records sent with a hello that
carries no epoch."""

import json
import logging
import os
import socket
import struct
import tempfile
import unittest
import zlib

from listener import PATIENCE
from test_wire import frame, read_frame
from tributary_logging import AcknowledgedSocketHandler


def crc(*parts):
    c = 0
    for p in parts:
        c = zlib.crc32(p, c)
    return c


class SpoolFormat(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.path = os.path.join(self.dir.name, "app.spool")

    def test_the_header_is_rust_spool_version_2(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]  # closed again: nobody listens
        h = AcknowledgedSocketHandler("127.0.0.1", port, "web-1", spool=self.path,
                                      close_timeout=0.2)
        log = logging.getLogger("spool.format")
        log.propagate = False
        log.addHandler(h)
        log.error("kept on disk")
        log.removeHandler(h)
        self.assertEqual(h.close(), 1)
        with open(self.path, "rb") as f:
            data = f.read()
        self.assertEqual(data[0:8], b"TRBSPOOL")
        version, id_len, header_crc, epoch_len = struct.unpack_from("<IIII", data, 8)
        self.assertEqual((version, id_len, epoch_len), (2, 5, 32))
        self.assertEqual(data[128:133], b"web-1")
        self.assertEqual(data[384:416].decode(), h.epoch)
        self.assertEqual(header_crc, crc(data[0:16], b"web-1", data[20:24], data[384:416]))
        length, seq, payload_crc, entry_crc = struct.unpack_from("<IQII", data, 512)
        self.assertEqual(seq, 0)
        self.assertEqual(entry_crc, crc(data[512:528]))
        payload = data[532:532 + length]
        self.assertEqual(payload_crc, crc(payload))
        self.assertEqual(json.loads(payload)["msg"], "kept on disk")
        self.assertEqual(len(data), 532 + length)

    def test_a_version_1_spool_is_resumed_without_an_epoch(self):
        payload = json.dumps({"ts": "2026-01-01T00:00:00.000000Z", "level": "INFO",
                              "logger": "old", "msg": "from a v1 spool"}).encode()
        header = bytearray(512)
        header[0:8] = b"TRBSPOOL"
        struct.pack_into("<II", header, 8, 1, 3)
        header[128:131] = b"old"
        struct.pack_into("<I", header, 16, crc(bytes(header[0:16]), b"old"))
        head = struct.pack("<QQQ", 512, 7, 1)
        header[96:128] = head + struct.pack("<II", crc(head), 0)
        fixed = struct.pack("<IQI", len(payload), 7, crc(payload))
        with open(self.path, "wb") as f:
            f.write(bytes(header) + fixed + struct.pack("<I", crc(fixed)) + payload)
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(PATIENCE)
        self.addCleanup(server.close)
        h = AcknowledgedSocketHandler("127.0.0.1", server.getsockname()[1], spool=self.path)
        self.assertEqual((h.producer_id, h.epoch), ("old", ""))
        conn, _ = server.accept()
        with conn:
            conn.settimeout(PATIENCE)
            hello = read_frame(conn)
            self.assertEqual(hello, {"tributary": "hello", "version": 1, "producer": "old",
                                     "next": 7})
            conn.sendall(frame({"tributary": "welcome", "version": 1, "next": 7}))
            self.assertEqual(read_frame(conn)["msg"], "from a v1 spool")
            conn.sendall(frame({"tributary": "ack", "next": 8}))
            self.assertEqual(h.wait_acknowledged(PATIENCE), 0)
        h.close_timeout = 0
        self.assertEqual(h.close(), 0)


if __name__ == "__main__":
    unittest.main()
