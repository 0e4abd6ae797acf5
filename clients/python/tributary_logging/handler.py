"""``AcknowledgedSocketHandler``: a ``logging.Handler`` that delivers every
record to a Tributary listener exactly once, across listener restarts,
using acknowledged delivery (the repository's docs/protocol.md).

The logging call never touches the network: ``emit`` formats the record as
native JSON and appends it to a bounded buffer. One background thread per
handler connects, says hello, sends the buffer in order and reads the
listener's cumulative acknowledgements; a record leaves the buffer only
once acknowledged, so whatever a broken connection swallowed is sent again
on the next one, and the listener drops what it had already written.
"""

import logging
import os
import secrets
import select
import socket
import struct
import sys
import threading
import time
import weakref

from . import wire
from .record import Encoder
from .spool import Spool

_LEN = struct.Struct(">I")
_SEND_BATCH = 256 * 1024
# While records keep coming, the I/O thread looks for new ones every
# _LINGER seconds instead of sleeping until woken: waking it is a system
# call on the logging thread, which would then pay one per record. After
# _IDLE seconds without records it sleeps until the next one wakes it.
_LINGER = 0.002
_IDLE = 0.05
# A frame the listener refuses (larger than its --max-frame, when that is
# set below this handler's max_frame) makes it close the connection each
# time: after this many closes in a row, with no progress and that frame
# first in line, the frame is replaced by a record saying so, rather than
# blocking every record behind it forever. Only frames this large are
# suspected: a listener's --max-frame is not set below it in practice.
_POISON_STRIKES = 3
_POISON_MIN = 64 * 1024
_START_NS = time.time_ns()

# Handlers alive in this process, for the fork hook.
_live = weakref.WeakSet()


def new_epoch():
    """A fresh numbering's name: 128 random bits as 32 hex digits."""
    return secrets.token_hex(16)


def default_producer_id():
    """``host/pid/start time``: unique per process run."""
    return "%s/%d/%x" % (socket.gethostname(), os.getpid(), time.time_ns())


def _after_fork_in_child():
    for handler in list(_live):
        handler._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class AcknowledgedSocketHandler(logging.Handler):
    """Sends records to a Tributary listener with acknowledged delivery.

    :param host, port: the listener's TCP input; with ``port=None``,
        ``host`` is the path of its Unix socket input.
    :param producer_id: the name the listener deduplicates by; default
        ``host/pid/start time``. Two live processes must not share one (a
        process forked from one with a handler gets its own: the given id
        plus ``/pid``, or a new default).
    :param buffer: at most this many records waiting for acknowledgement.
    :param buffer_bytes: and at most this many bytes of them.
    :param overflow: when the buffer is full, ``"block"`` waits up to
        ``block_timeout`` seconds for room, then drops the record;
        ``"drop"`` drops it at once. Dropped records are counted
        (``dropped``) and reported in-band by a WARNING record from logger
        ``tributary_logging`` with field ``dropped``.
    :param close_timeout: how long ``close()`` waits for acknowledgements.
    :param ssl_context: an ``ssl.SSLContext`` for a TLS input;
        ``server_hostname`` defaults to ``host``.
    :param spool: a file path: records not yet acknowledged are also kept
        there, so the next run with the same spool sends what this one
        could not. The spool stores the producer id and numbering (epoch).
    :param max_frame: the listener's ``--max-frame`` (default 1 MiB): longer
        records are cut (marked ``…[truncated N bytes]``), never dropped.
    :param connect_timeout: seconds for the TCP (and TLS) connection.
    :param ack_timeout: seconds without the welcome, or without any
        acknowledgement while records are in flight, after which the
        connection is considered dead and reopened.
    :param backoff_initial, backoff_max: reconnection delays (doubling).

    After ``close()``, ``unacknowledged`` holds the number of records the
    listener had not acknowledged (``close()`` returns it too, and says so
    on stderr when it is not 0).
    """

    def __init__(self, host, port, producer_id=None, *, buffer=10000,
                 buffer_bytes=64 << 20, overflow="block", block_timeout=1.0,
                 close_timeout=10.0, ssl_context=None, server_hostname=None,
                 spool=None, max_frame=1 << 20, connect_timeout=5.0,
                 ack_timeout=10.0, backoff_initial=0.05, backoff_max=2.0,
                 level=logging.NOTSET):
        super().__init__(level)
        if overflow not in ("block", "drop"):
            raise ValueError("overflow must be \"block\" or \"drop\", not %r" % (overflow,))
        if buffer < 2:
            raise ValueError("buffer must hold at least 2 records, not %r" % (buffer,))
        if max_frame < 1024:
            raise ValueError("max_frame must be at least 1024 bytes, not %r" % (max_frame,))
        self.host = host
        # port None: ``host`` is the path of a Unix socket, as for the stdlib's SocketHandler.
        self.port = int(port) if port is not None else None
        self.buffer = buffer
        self.buffer_bytes = max(buffer_bytes, max_frame)
        self.overflow = overflow
        self.block_timeout = block_timeout
        self.close_timeout = close_timeout
        self.ssl_context = ssl_context
        self.server_hostname = server_hostname or host
        self.max_frame = max_frame
        self.connect_timeout = connect_timeout
        self.ack_timeout = ack_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        if producer_id is not None:
            raw = str(producer_id).encode("utf-8", "surrogatepass")
            if not 0 < len(raw) <= 256 or any(c < " " or c == "\x7f" for c in str(producer_id)):
                raise ValueError(
                    "producer_id must be 1 to 256 bytes of UTF-8 without control characters "
                    "(e.g. host/app/instance), not %r" % (producer_id,))
            producer_id = str(producer_id)
        self._given_id = producer_id
        self._encoder = Encoder(max_frame)
        #: Records dropped because the buffer was full (or logged after close).
        self.dropped = 0
        #: Records not acknowledged when ``close()`` gave up (None before).
        self.unacknowledged = None
        #: Records replaced because the listener kept refusing them (see _POISON_STRIKES).
        self.replaced = 0
        #: The last connection error, for diagnostics.
        self.last_error = None
        self._spool_path = os.fspath(spool) if spool is not None else None
        self._spool = None
        self._spool_lock = threading.Lock()
        self._closed = False
        self._closed_drops = 0
        self._reset_state()
        self.producer_id = producer_id if producer_id is not None else default_producer_id()
        self.epoch = new_epoch()
        if self._spool_path is not None:
            try:
                self._open_spool()
            except BaseException:
                self._wake_r.close()
                self._wake_w.close()
                raise
        _live.add(self)
        self._mp_register()

    # ----------------------------------------------------------- state

    def _reset_state(self):
        """Everything a forked child must not share with its parent."""
        self._mutex = threading.Lock()
        self._cond = threading.Condition(self._mutex)
        self._frames = []  # frames (length prefix included), oldest first
        self._head = 0  # index in _frames of the oldest unacknowledged frame
        self._first_seq = 0  # its sequence number
        self._bytes = 0
        self._sent = 0  # number of the next frame to send on this connection
        self._spooled = 0  # number of the next frame to spool
        self._lost = 0  # dropped but not yet reported in-band
        self._thread = None
        self._stop = False
        self._sleeping = False
        self._sock = None
        self._strikes = (None, 0)  # (sequence number, closes in a row while first in line)
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)

    def _open_spool(self):
        spool, resumed = Spool.open(self._spool_path, self._given_id, lambda: self.producer_id,
                                   new_epoch)
        self._spool = spool
        # The spool owns the numbering: its id and epoch go on.
        self.producer_id = spool.producer
        self.epoch = spool.epoch
        frames = [(seq, wire.frame(payload)) for seq, payload in resumed]
        spool.adopt(frames)
        self._frames = [f for _, f in frames]
        self._bytes = sum(map(len, self._frames))
        self._first_seq = frames[0][0] if frames else spool.next_seq
        self._sent = self._first_seq
        self._spooled = self._first_seq + len(frames)
        if frames:
            with self._cond:
                self._start()

    def _after_fork(self):
        """In a forked child: a new producer with its own numbering, buffer
        and thread; the parent's connection, records and spool stay the parent's."""
        for s in (self._wake_r, self._wake_w):
            try:
                s.close()
            except OSError:
                pass
        inherited = self._sock
        self._reset_state()
        # A lock some parent thread held at the fork stays held in the child.
        self._spool_lock = threading.Lock()
        if inherited is not None:
            # Closing the child's copy of the descriptor leaves the
            # parent's connection open (no shutdown, no TLS close_notify).
            try:
                inherited.close()
            except OSError:
                pass
        self.dropped = 0
        self.producer_id = (default_producer_id() if self._given_id is None
                            else "%s/%d" % (self._given_id, os.getpid()))
        self.epoch = new_epoch()
        if self._spool is not None:
            # The spool file is the parent's (and locked by it).
            try:
                self._spool.close()
            except OSError:
                pass
            self._spool = None
            self._spool_path = None
        self._mp_register(child_of_fork=True)

    def _mp_register(self, child_of_fork=False):
        """Multiprocessing children end with os._exit, skipping atexit (and
        so logging.shutdown): close the handler from multiprocessing's own
        exit hooks instead."""
        mp = sys.modules.get("multiprocessing")
        if mp is None:
            return
        import multiprocessing.util as mpu
        if child_of_fork:
            # multiprocessing clears its finalizers in a new child after
            # this hook has run; its after-fork hooks run later.
            mpu.register_after_fork(self, AcknowledgedSocketHandler._mp_finalize)
        elif mp.parent_process() is not None:
            self._mp_finalize()

    def _mp_finalize(self):
        import multiprocessing.util as mpu
        mpu.Finalize(self, self.close, exitpriority=100)

    # ----------------------------------------------------------- logging thread

    def emit(self, record):
        try:
            head, tail = self._encoder.encode(record)
        except Exception:
            self.handleError(record)
            return
        # The common case inline: a method call per step costs more here
        # than the work it does.
        with self._mutex:
            held = len(self._frames) - self._head
            if (self._closed or self._thread is None or self._lost
                    or (held and (held >= self.buffer or self._bytes + len(head) + len(tail) + 32
                                  > self.buffer_bytes))):
                self._emit_slowly(head, tail)
                return
            middle = b',"seq":%d' % (self._first_seq + held)
            frame = _LEN.pack(len(head) + len(middle) + len(tail)) + head + middle + tail
            self._frames.append(frame)
            self._bytes += len(frame)
            if self._sleeping:
                self._wake()

    def _emit_slowly(self, head, tail):
        """Under the lock: closed, not started, full, or drops to report."""
        size = len(head) + len(tail) + 32
        if self._closed:
            self.dropped += 1
            if self._closed_drops == 0:
                # Said once: a record logged after close() (after
                # logging.shutdown, say) has nowhere to go.
                sys.stderr.write("tributary_logging: a record logged after the handler was "
                                 "closed was dropped (see handler.dropped for the count)\n")
            self._closed_drops += 1
            return
        if self._thread is None:
            self._start()
        if self._full(size):
            if self.overflow == "block" and self.block_timeout > 0:
                deadline = time.monotonic() + self.block_timeout
                while self._full(size) and not self._closed:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
            if self._full(size):
                self.dropped += 1
                self._lost += 1
                return
        if self._lost and not self._full(size + 512, extra=1):
            self._report_lost()
        self._append(head, tail)
        if self._sleeping:
            self._wake()

    def _full(self, size, extra=0):
        held = len(self._frames) - self._head
        return held and (held + extra >= self.buffer or self._bytes + size > self.buffer_bytes)

    def _append(self, head, tail):
        seq = self._first_seq + len(self._frames) - self._head
        middle = b',"seq":%d' % seq
        frame = b"".join((_LEN.pack(len(head) + len(middle) + len(tail)), head, middle, tail))
        self._frames.append(frame)
        self._bytes += len(frame)

    def _report_lost(self):
        n, self._lost = self._lost, 0
        r = logging.makeLogRecord({
            "name": "tributary_logging", "levelno": logging.WARNING, "levelname": "WARNING",
            "msg": "%d records dropped: the buffer of unacknowledged records was full",
            "args": (n,), "dropped": n, "pathname": __file__, "module": "handler",
            "funcName": "emit", "lineno": 0,
        })
        self._append(*self._encoder.encode(r))

    def _wake(self):
        self._sleeping = False
        try:
            self._wake_w.send(b"\0")
        except OSError:
            pass  # full: the thread has wake-ups waiting already

    def _start(self):
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="tributary-ack-%s:%s" % (self.host, self.port))
        self._thread.start()

    # ----------------------------------------------------------- closing

    def pending(self):
        """Records not yet acknowledged."""
        with self._cond:
            return len(self._frames) - self._head

    def wait_acknowledged(self, timeout):
        """Waits up to ``timeout`` seconds for every record so far to be
        acknowledged; returns how many are still not."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._frames) > self._head:
                left = deadline - time.monotonic()
                if left <= 0 or self._thread is None:
                    break
                self._cond.wait(left)
            return len(self._frames) - self._head

    def close(self):
        """Waits up to ``close_timeout`` for acknowledgements, stops the
        thread and returns how many records were not acknowledged (also in
        ``unacknowledged``, and on stderr when not 0)."""
        with self._cond:
            if self._closed:
                return self.unacknowledged
            self._closed = True
            self._cond.notify_all()
        left = self.wait_acknowledged(self.close_timeout)
        with self._cond:
            self._stop = True
            self._wake()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            # It may be inside a connect or a read bounded by its own
            # timeouts; it is a daemon and stops at its next step.
            thread.join(1.0)
        with self._cond:
            left = len(self._frames) - self._head
            self.unacknowledged = left
        where = "lost"
        with self._spool_lock:
            if self._spool is not None:
                self._spool_pending()
                self._spool.close()
                self._spool = None
                where = "kept in the spool %s for the next run" % self._spool_path
        if left:
            sys.stderr.write(
                "tributary_logging: %d record(s) not acknowledged by the listener at %s:%s "
                "within %s s: %s (last error: %s)\n"
                % (left, self.host, self.port, self.close_timeout, where, self.last_error))
            sys.stderr.flush()
        for s in (self._wake_r, self._wake_w):
            try:
                s.close()
            except OSError:
                pass
        _live.discard(self)
        super().close()
        return left

    # ----------------------------------------------------------- I/O thread

    def _run(self):
        delay = self.backoff_initial
        while not self._stop:
            self._spool_pending_locked()
            try:
                sock = self._connect()
            except OSError as e:
                self.last_error = "connecting to %s:%s: %s" % (self.host, self.port, e)
                self._sleep(delay)
                delay = min(delay * 2, self.backoff_max)
                continue
            with self._cond:
                head_at_connect = self._first_seq
            try:
                self._serve(sock)
                delay = self.backoff_initial
            except OSError as e:
                self.last_error = "connection to %s:%s: %s" % (self.host, self.port, e)
                if isinstance(e, (ConnectionResetError, BrokenPipeError)):
                    self._closed_on(head_at_connect)
            finally:
                self._sock = None
                try:
                    sock.close()
                except OSError:
                    pass
            if not self._stop:
                self._sleep(self.backoff_initial)

    def _closed_on(self, head_at_connect):
        """The listener closed the connection: counts a strike against the
        first frame in line if nothing moved since the welcome, and
        replaces that frame once it has struck out."""
        with self._cond:
            held = len(self._frames) - self._head
            if (self._first_seq != head_at_connect or not held or self._sent <= self._first_seq
                    or len(self._frames[self._head]) < _POISON_MIN):
                self._strikes = (None, 0)
                return
            seq, n = self._strikes
            n = n + 1 if seq == self._first_seq else 1
            self._strikes = (self._first_seq, n)
            if n < _POISON_STRIKES:
                return
            self._strikes = (None, 0)
            old = self._frames[self._head]
            r = logging.makeLogRecord({
                "name": "tributary_logging", "levelno": logging.WARNING, "levelname": "WARNING",
                "msg": "record %d (%d bytes) replaced: the listener closed the connection each "
                       "of %d times it was sent (is its --max-frame below this handler's "
                       "max_frame of %d bytes?)",
                "args": (self._first_seq, len(old) - 4, _POISON_STRIKES, self.max_frame),
                "replaced_seq": self._first_seq, "bytes": len(old) - 4,
                "start": old[4:204].decode("utf-8", "replace"),
                "pathname": __file__, "module": "handler", "funcName": "_closed_on", "lineno": 0,
            })
            head, tail = self._encoder.encode(r)
            middle = b',"seq":%d' % self._first_seq
            frame = _LEN.pack(len(head) + len(middle) + len(tail)) + head + middle + tail
            self._frames[self._head] = frame
            self._bytes += len(frame) - len(old)
            self.replaced += 1
            sys.stderr.write("tributary_logging: %s\n" % r.getMessage())

    def _sleep(self, timeout):
        """Waits up to ``timeout``, woken early by a new record or a stop
        (new records are spooled meanwhile)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                if self._stop:
                    return
                self._sleeping = True
            left = deadline - time.monotonic()
            if left > 0:
                select.select([self._wake_r], [], [], left)
            self._drain_wake()
            with self._cond:
                self._sleeping = False
            self._spool_pending_locked()
            if left <= 0:
                return

    def _drain_wake(self):
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            pass

    def _connect(self):
        if self.port is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(self.connect_timeout)
                sock.connect(self.host)
            except BaseException:
                sock.close()
                raise
        else:
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        try:
            if self.port is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.ssl_context is not None:
                sock = self.ssl_context.wrap_socket(sock, server_hostname=self.server_hostname)
            self._sock = sock
            sock.settimeout(self.ack_timeout)
            with self._cond:
                oldest = self._first_seq
            sock.sendall(wire.hello(self.producer_id, self.epoch, oldest))
            replies = wire.Replies()
            deadline = time.monotonic() + self.ack_timeout
            welcome = None
            while welcome is None:
                if time.monotonic() > deadline:
                    raise wire.ProtocolError(
                        "no welcome within %s s: is the peer a Tributary listener?" % self.ack_timeout)
                data = sock.recv(4096)
                if not data:
                    raise wire.ProtocolError("the listener closed the connection before its welcome")
                replies.push(data)
                for reply in replies:
                    if reply["tributary"] != "welcome":
                        raise wire.ProtocolError("a %r before the welcome" % reply["tributary"])
                    welcome = reply
                    break
            self._replies = replies
            with self._cond:
                self._acked(welcome["next"])
                self._sent = self._first_seq
            return sock
        except BaseException:
            self._sock = None
            sock.close()
            raise

    def _acked(self, next_seq):
        """Under the lock: forgets the records below ``next_seq``."""
        k = next_seq - self._first_seq
        if k <= 0:
            return
        held = len(self._frames) - self._head
        if k >= held:
            # Everything held (and, after a welcome, maybe more: the
            # numbering continues from the listener's).
            self._frames = []
            self._head = 0
            self._bytes = 0
            self._first_seq = next_seq
        else:
            end = self._head + k
            self._bytes -= sum(map(len, self._frames[self._head:end]))
            self._head = end
            self._first_seq = next_seq
            if self._head > 1024 and self._head * 2 > len(self._frames):
                del self._frames[:self._head]
                self._head = 0
        self._sent = max(self._sent, self._first_seq)
        self._spooled = max(self._spooled, self._first_seq)
        if self._lost and not self._full(512, extra=1):
            # Said as soon as there is room, not only with the next record.
            self._report_lost()
        self._cond.notify_all()

    def _serve(self, sock):
        """Sends the buffer and reads acknowledgements until the connection
        breaks (an OSError) or the handler stops."""
        replies = self._replies
        tls_pending = getattr(sock, "pending", None)
        waiting_since = None  # when frames were last unacknowledged with no ack since
        idle_since = time.monotonic()
        while True:
            with self._cond:
                if self._stop:
                    return
                i = self._head + (self._sent - self._first_seq)
                # Slices, not a loop per frame: this runs holding the GIL
                # the logging threads want.
                batch = self._frames[i:i + 256]
                while len(batch) > 1 and sum(map(len, batch)) > _SEND_BATCH:
                    batch = batch[:len(batch) // 2]
                in_flight = self._sent > self._first_seq
                now = time.monotonic()
                if batch:
                    idle_since = None
                elif idle_since is None:
                    idle_since = now
                lingering = not batch and now - idle_since < _IDLE
                if not batch and not lingering:
                    self._sleeping = True
            if batch:
                self._spool_pending_locked()
                sock.sendall(b"".join(batch))
                with self._cond:
                    self._sent += len(batch)
                if waiting_since is None:
                    waiting_since = now
                timeout = 0
            else:
                timeout = None
                if in_flight:
                    if waiting_since is None:
                        waiting_since = now
                    timeout = max(0.0, waiting_since + self.ack_timeout - now)
                else:
                    waiting_since = None
                if lingering:
                    timeout = _LINGER if timeout is None else min(timeout, _LINGER)
            if tls_pending is not None and tls_pending():
                readable = [sock]
            else:
                readable, _, _ = select.select([sock, self._wake_r], [], [], timeout)
            if not batch:
                with self._cond:
                    self._sleeping = False
            if self._wake_r in readable:
                self._drain_wake()
            if sock in readable:
                data = sock.recv(65536)
                if not data:
                    raise ConnectionResetError("the listener closed the connection")
                replies.push(data)
                newest = None
                for reply in replies:
                    if reply["tributary"] == "ack":
                        newest = reply["next"] if newest is None else max(newest, reply["next"])
                    else:
                        raise wire.ProtocolError("an unexpected %r" % reply["tributary"])
                if newest is not None:
                    with self._cond:
                        self._acked(newest)
                        still = self._sent > self._first_seq
                    waiting_since = time.monotonic() if still else None
                    self._spool_acked(newest)
            elif (waiting_since is not None and not batch
                  and time.monotonic() - waiting_since >= self.ack_timeout):
                raise TimeoutError("no acknowledgement within %s s" % self.ack_timeout)

    # ----------------------------------------------------------- spool

    def _spool_pending_locked(self):
        if self._spool is None:
            return
        with self._spool_lock:
            if self._spool is not None:
                self._spool_pending()

    def _spool_pending(self):
        """Under the spool lock: writes the records not yet in the spool."""
        with self._cond:
            start = max(self._spooled, self._first_seq)
            i = self._head + (start - self._first_seq)
            items = [(start + k, f) for k, f in enumerate(self._frames[i:])]
            self._spooled = start + len(items)
        try:
            self._spool.append(items)
        except OSError as e:
            self.last_error = "spool %s: %s" % (self._spool_path, e)

    def _spool_acked(self, next_seq):
        if self._spool is None:
            return
        with self._spool_lock:
            if self._spool is not None:
                try:
                    self._spool.acked(next_seq)
                except OSError as e:
                    self.last_error = "spool %s: %s" % (self._spool_path, e)
