"""The control frames of acknowledged delivery (the repository's
docs/protocol.md): the hello this client sends, and the welcome, acks and
refusals the listener answers with. Every frame is a 4-byte big-endian
length, then the payload."""

import json
import struct

PROTOCOL_VERSION = 1
#: Replies are tiny; a longer frame is not a reply from a listener.
MAX_REPLY = 64 * 1024
_LEN = struct.Struct(">I")


class ProtocolError(OSError):
    """The peer broke the protocol (not a Tributary listener, a refused
    hello, a reply that is not JSON): the connection is dropped and
    reopened, like after a network error."""


def frame(payload):
    """``payload`` with its length prefix."""
    return _LEN.pack(len(payload)) + payload


def hello(producer, epoch, next_seq):
    """The first frame of a connection: who we are, which numbering
    (``epoch``; "" for a numbering from before epochs, a version 1 spool,
    which the hello then leaves out), and the number of the oldest record
    we still hold."""
    fields = {"tributary": "hello", "version": PROTOCOL_VERSION, "producer": producer}
    if epoch:
        fields["epoch"] = epoch
    fields["next"] = next_seq
    payload = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return frame(payload)


class Replies:
    """Splits the bytes read from the listener into replies."""

    def __init__(self):
        self._buf = bytearray()

    def push(self, data):
        self._buf += data

    def __iter__(self):
        return self

    def __next__(self):
        """The next complete reply as a dict (``{"tributary": "ack", "next": 7}``)."""
        if len(self._buf) < 4:
            raise StopIteration
        (n,) = _LEN.unpack_from(self._buf)
        if n > MAX_REPLY:
            raise ProtocolError("a frame of %d bytes from the listener: is the peer a Tributary listener?" % n)
        if len(self._buf) < 4 + n:
            raise StopIteration
        payload = bytes(self._buf[4:4 + n])
        del self._buf[:4 + n]
        try:
            reply = json.loads(payload.decode("utf-8"))
        except ValueError as e:
            raise ProtocolError("a reply that is not JSON (%s): is the peer a Tributary listener?" % e)
        if not isinstance(reply, dict) or not isinstance(reply.get("tributary"), str):
            raise ProtocolError("a reply that is not a control frame: %r" % payload[:100])
        kind = reply["tributary"]
        if kind == "refused":
            raise ProtocolError("the listener refused the hello: %s" % reply.get("reason", ""))
        if kind in ("welcome", "ack"):
            n = reply.get("next")
            if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                raise ProtocolError("a %s without a valid \"next\": %r" % (kind, payload[:100]))
        if kind == "welcome" and reply.get("version") != PROTOCOL_VERSION:
            raise ProtocolError("the listener speaks protocol version %r, this client %d"
                                % (reply.get("version"), PROTOCOL_VERSION))
        return reply
