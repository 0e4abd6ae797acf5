"""The disk spool: an append-only file holding the records not yet
acknowledged, so that a program whose listener was away when it stopped
sends them on its next run.

The layout is the Rust handlers' spool format, version 2 (little-endian),
so the same tools read both::

    header (512 bytes):
      0..8     magic "TRBSPOOL"
      8..12    format version (2; version 1 had no epoch)
      12..16   producer id length (at most 256)
      16..20   CRC-32 of bytes 0..16, the producer id, bytes 20..24 and
               the epoch (version 1: of bytes 0..16 and the producer id)
      20..24   epoch length (at most 64; version 1: zero, no epoch)
      64..96   head record A  } head offset u64, floor u64, generation u64,
      96..128  head record B  } CRC-32 of those 24 bytes u32, zero u32
      128..384 producer id (UTF-8)
      384..448 epoch (ASCII)
    entry (20 bytes + payload, the record's native JSON):
      0..4     payload length u32
      4..12    sequence number u64
      12..16   CRC-32 of the payload
      16..20   CRC-32 of bytes 0..16

The head says where the first unacknowledged entry is (``offset``) and the
lowest unacknowledged sequence number (``floor``); the two head records
alternate (the one at ``generation % 2``), so a torn write leaves the other.
Entries below the floor are skipped when the spool is read back. When every
record is acknowledged and the file has grown past a few MiB it is cut back
to its header; when most of a long file is acknowledged, the rest is copied
into a fresh file that replaces it.

A damaged or torn entry ends the read: it and what follows are cut off and
reported on stderr (a producer killed mid-write leaves such a tail).
"""

import fcntl
import os
import struct
import sys
import zlib

MAGIC = b"TRBSPOOL"
VERSION = 2
#: The version before epochs, still read (as having none).
VERSION_WITHOUT_EPOCH = 1
HEADER_LEN = 512
ENTRY_HEADER_LEN = 20
MAX_PRODUCER_ID = 256
MAX_EPOCH = 64
_SLOT_AT = (64, 96)
_ID_AT = 128
_EPOCH_AT = 384
#: A drained spool larger than this is cut back to its header.
RESET_AT = 4 << 20
#: An acknowledged prefix larger than this (and than 3/4 of the file) is
#: compacted away.
COMPACT_AT = 32 << 20

_HEAD = struct.Struct("<QQQ")
_ENTRY = struct.Struct("<IQI")


class SpoolError(OSError):
    """The spool cannot be used (locked by another process, another
    producer's file, not a spool)."""


def _crc(*parts):
    c = 0
    for p in parts:
        c = zlib.crc32(p, c)
    return c


def _head_record(offset, floor, generation):
    body = _HEAD.pack(offset, floor, generation)
    return body + struct.pack("<II", _crc(body), 0)


def _read_head(b):
    body = b[:24]
    (crc,) = struct.unpack_from("<I", b, 24)
    if _crc(body) != crc:
        return None
    return _HEAD.unpack(body)


def _header(producer, epoch, offset, floor, generation):
    out = bytearray(HEADER_LEN)
    out[0:8] = MAGIC
    struct.pack_into("<II", out, 8, VERSION, len(producer))
    out[_ID_AT:_ID_AT + len(producer)] = producer
    struct.pack_into("<I", out, 20, len(epoch))
    out[_EPOCH_AT:_EPOCH_AT + len(epoch)] = epoch
    struct.pack_into("<I", out, 16, _crc(bytes(out[0:16]), producer, bytes(out[20:24]), epoch))
    at = _SLOT_AT[generation % 2]
    out[at:at + 32] = _head_record(offset, floor, generation)
    return bytes(out)


def entry(seq, payload):
    """One entry's bytes."""
    fixed = _ENTRY.pack(len(payload), seq, _crc(payload))
    return fixed + struct.pack("<I", _crc(fixed)) + payload


class Spool:
    """An open spool, owned (``flock``) by this process.

    Not thread-safe: the handler calls it under its own spool lock."""

    def __init__(self, path, fd, producer, epoch, offset, floor, generation, end):
        self.path = path
        self.fd = fd
        self.producer = producer
        self.epoch = epoch
        self._offset = offset
        self._floor = floor
        self._generation = generation
        self._end = end
        # (seq, offset of the entry's end, frame) of every entry at or past the head.
        self._entries = []
        self._first = 0

    @classmethod
    def open(cls, path, producer, new_producer, new_epoch):
        """Opens or creates the spool at ``path``. Returns the spool and
        the frames it holds that were never acknowledged, as
        ``[(seq, payload)]`` in order. ``producer`` (a str or None) must
        match a stored id when given; a new spool takes it, or
        ``new_producer()``, and ``new_epoch()`` names its numbering."""
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise SpoolError("the spool %s is in use by another process: give each "
                                 "process its own spool file" % path)
            size = os.fstat(fd).st_size
            if size == 0:
                if producer is None:
                    producer = new_producer()
                epoch = new_epoch()
                s = cls(path, fd, producer, epoch, HEADER_LEN, 0, 0, HEADER_LEN)
                os.pwrite(fd, _header(producer.encode("utf-8"), epoch.encode("ascii"),
                                      HEADER_LEN, 0, 0), 0)
                return s, []
            return cls._resume(path, fd, producer, size)
        except BaseException:
            os.close(fd)
            raise

    @classmethod
    def _resume(cls, path, fd, producer, size):
        h = os.pread(fd, HEADER_LEN, 0)
        if len(h) < HEADER_LEN or h[0:8] != MAGIC:
            raise SpoolError("%s is not a Tributary spool (wrong magic): move it away or give "
                             "another path" % path)
        version, id_len = struct.unpack_from("<II", h, 8)
        if version not in (VERSION, VERSION_WITHOUT_EPOCH):
            raise SpoolError("%s is a spool of format version %d; this client reads %d and %d"
                             % (path, version, VERSION_WITHOUT_EPOCH, VERSION))
        (ep_len,) = struct.unpack_from("<I", h, 20)
        if version == VERSION_WITHOUT_EPOCH:
            ep_len = 0
        ident = h[_ID_AT:_ID_AT + id_len] if 0 < id_len <= MAX_PRODUCER_ID else b""
        epoch = h[_EPOCH_AT:_EPOCH_AT + ep_len] if ep_len <= MAX_EPOCH else None
        (crc,) = struct.unpack_from("<I", h, 16)
        if version == VERSION_WITHOUT_EPOCH:
            want = _crc(h[0:16], ident)
        else:
            want = _crc(h[0:16], ident, h[20:24], epoch or b"")
        if not ident or epoch is None or want != crc:
            raise SpoolError("the header of the spool %s is damaged (checksum): its records "
                             "cannot be attributed; move it away to start a new one" % path)
        stored = ident.decode("utf-8", "replace")
        if producer is not None and producer != stored:
            raise SpoolError("the spool %s belongs to producer %r, not %r: give another path "
                             "or the same producer id" % (path, stored, producer))
        heads = [r for r in (_read_head(h[at:at + 32]) for at in _SLOT_AT) if r is not None]
        if not heads:
            offset, floor, generation = HEADER_LEN, 0, 0
        else:
            offset, floor, generation = max(heads, key=lambda r: r[2])
        offset = max(HEADER_LEN, min(offset, size))
        s = cls(path, fd, stored, epoch.decode("ascii"), offset, floor, generation, size)
        frames = []
        at = offset
        while at < size:
            fixed = os.pread(fd, ENTRY_HEADER_LEN, at)
            bad = None
            if len(fixed) < ENTRY_HEADER_LEN:
                bad = "a torn entry header"
            else:
                (hcrc,) = struct.unpack_from("<I", fixed, 16)
                if _crc(fixed[:16]) != hcrc:
                    bad = "a damaged entry header"
                else:
                    n, seq, pcrc = _ENTRY.unpack_from(fixed)
                    if at + ENTRY_HEADER_LEN + n > size:
                        bad = "a torn entry"
                    else:
                        payload = os.pread(fd, n, at + ENTRY_HEADER_LEN)
                        if _crc(payload) != pcrc:
                            bad = "a damaged entry"
            if bad:
                sys.stderr.write("tributary_logging: spool %s: %s at byte %d; cut %d bytes "
                                 "(the records in them are lost)\n" % (path, bad, at, size - at))
                os.ftruncate(fd, at)
                s._end = at
                break
            at += ENTRY_HEADER_LEN + n
            if seq >= floor:
                s._entries.append((seq, at, None))
                frames.append((seq, payload))
        return s, frames

    @property
    def next_seq(self):
        """The number after the newest entry (or the floor)."""
        if len(self._entries) > self._first:
            return self._entries[-1][0] + 1
        return self._floor

    def adopt(self, frames):
        """Takes the resumed frames (``[(seq, frame)]``) as the bytes to
        copy when compacting."""
        by_seq = dict(frames)
        self._entries = [(seq, end, by_seq.get(seq)) for seq, end, _ in self._entries]

    def append(self, items):
        """Appends ``[(seq, frame)]`` (frames with their length prefix) in one write."""
        if not items:
            return
        chunks = []
        end = self._end
        for seq, frame in items:
            e = entry(seq, frame[4:])
            chunks.append(e)
            end += len(e)
            self._entries.append((seq, end, frame))
        data = b"".join(chunks)
        written = 0
        while written < len(data):
            written += os.pwrite(self.fd, data[written:], self._end + written)
        self._end = end

    def acked(self, next_seq):
        """Records below ``next_seq`` are acknowledged: moves the head."""
        if next_seq <= self._floor:
            return
        i = self._first
        while i < len(self._entries) and self._entries[i][0] < next_seq:
            i += 1
        offset = self._entries[i - 1][1] if i > self._first else self._offset
        self._first = i
        self._floor = next_seq
        drained = i == len(self._entries)
        if drained and self._end > RESET_AT:
            self._write_head(HEADER_LEN)
            os.ftruncate(self.fd, HEADER_LEN)
            self._end = HEADER_LEN
            self._entries = []
            self._first = 0
            return
        self._write_head(offset)
        if offset > COMPACT_AT and offset * 4 > self._end * 3 and not drained:
            self._compact()
        elif self._first > 4096 and self._first * 2 > len(self._entries):
            del self._entries[:self._first]
            self._first = 0

    def _write_head(self, offset):
        self._generation += 1
        self._offset = offset
        os.pwrite(self.fd, _head_record(offset, self._floor, self._generation),
                  _SLOT_AT[self._generation % 2])

    def _compact(self):
        """Copies the unacknowledged entries into a new file that replaces
        this one (every crash state is the old file or the new one)."""
        live = self._entries[self._first:]
        if any(frame is None for _, _, frame in live):
            return  # resumed entries not held in memory: keep the file as it is
        tmp = self.path + ".compact.tmp"
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            head = _header(self.producer.encode("utf-8"), self.epoch.encode("ascii"),
                           HEADER_LEN, self._floor, 0)
            chunks = [head]
            end = HEADER_LEN
            entries = []
            for seq, _, frame in live:
                e = entry(seq, frame[4:])
                chunks.append(e)
                end += len(e)
                entries.append((seq, end, frame))
            data = b"".join(chunks)
            written = 0
            while written < len(data):
                written += os.pwrite(fd, data[written:], written)
            os.replace(tmp, self.path)
        except BaseException:
            os.close(fd)
            raise
        os.close(self.fd)
        self.fd = fd
        self._entries, self._first = entries, 0
        self._offset, self._generation, self._end = HEADER_LEN, 0, end

    def close(self):
        """Releases the file (and its lock)."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
