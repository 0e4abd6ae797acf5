"""A ``logging.LogRecord`` as a native JSON record (the listener's native
profile), split around its ``seq`` so the sequence number can be put in
under the handler's lock while the costly part runs outside it.

The attributes are mapped as the listener maps pickled records (the stdlib
``SocketHandler``'s format), so a record looks the same in the output file
whichever way it came:

==============  ==========  ===========================================
native key      LogRecord   notes
==============  ==========  ===========================================
``ts``          created     RFC 3339, UTC, microseconds
``level``       levelname
``levelno``     levelno
``logger``      name
``msg``         getMessage()  ``msg % args``
``host``        -           ``socket.gethostname()``
``pid``         process
``process``     processName
``tid``         thread
``thread``      threadName
``file``        pathname
``line``        lineno
``func``        funcName
``module``      module
``seq``         -           the handler's sequence number of the record
``exc``         exc_info    formatted as ``logging.Formatter`` does
``stack``       stack_info
``fields``      extra=      values that are not JSON are written as repr()
==============  ==========  ===========================================
"""

import json
import logging
import socket
import time

# The attributes every LogRecord has (LogRecord.__init__ and what
# Formatter.format adds); anything else in its __dict__ came from `extra=`.
_STANDARD = frozenset(
    (
        "name", "msg", "args", "levelname", "levelno", "pathname", "filename",
        "module", "exc_info", "exc_text", "stack_info", "lineno", "funcName",
        "created", "msecs", "relativeCreated", "thread", "threadName",
        "processName", "process", "taskName", "message", "asctime",
    )
)

_quote = json.encoder.encode_basestring  # C-accelerated when available
_fields_encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, default=repr,
                                   separators=(",", ":"))
_exc_formatter = logging.Formatter()

#: The marker appended to a value cut to make a record fit the listener's
#: maximum frame size; ``{}`` is the number of bytes cut.
TRUNCATED_MARKER = "…[truncated {} bytes]"


def _json_value(value):
    """`value` as JSON, or its repr() as a JSON string when it is not JSON
    (objects, sets, NaN, dicts with keys that are not strings)."""
    try:
        return _fields_encoder.encode(value)
    except (TypeError, ValueError, RecursionError):
        pass
    try:
        return _quote(repr(value))
    except Exception as e:  # a repr() that raises: say so rather than lose the record
        return _quote("<unrepresentable %s: %s>" % (type(value).__name__, e))


class Encoder:
    """Turns records into the two halves of a native JSON payload: the
    bytes before ``"seq"`` and the bytes after it."""

    def __init__(self, max_frame):
        self.max_frame = max_frame
        self.host = socket.gethostname()
        self._second = None
        self._second_text = ""

    def _ts(self, created):
        secs = int(created)
        micros = int(round((created - secs) * 1e6))
        if micros >= 1_000_000:
            secs, micros = secs + 1, micros - 1_000_000
        if secs != self._second:
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
            self._second = secs
        return '%s.%06dZ' % (self._second_text, micros)

    @staticmethod
    def message(record):
        """``record.getMessage()``, or an explanation with the raw parts
        when formatting fails (the stdlib would drop the record)."""
        try:
            return record.getMessage()
        except Exception as e:
            return "%r %% %r failed: %s: %s" % (record.msg, record.args, type(e).__name__, e)

    @staticmethod
    def exception(record):
        """The formatted exception (cached in ``exc_text`` as the stdlib does)."""
        if record.exc_info and not record.exc_text:
            try:
                record.exc_text = _exc_formatter.formatException(record.exc_info)
            except Exception as e:
                record.exc_text = "<exception not formattable: %s: %s>" % (type(e).__name__, e)
        return record.exc_text

    @staticmethod
    def fields(record):
        """The ``extra=`` attributes, in the order they were set."""
        d = record.__dict__
        out = [(k, v) for k, v in d.items() if k not in _STANDARD]
        task = d.get("taskName")
        if task is not None:
            out.append(("taskName", task))
        return out

    def encode(self, record):
        """``(head, tail)``: the payload is ``head + b',"seq":N' + tail``."""
        msg = self.message(record)
        exc = self.exception(record)
        stack = record.stack_info
        fields = self.fields(record)
        head, tail = self._render(record, msg, exc, stack, fields)
        if len(head) + len(tail) + 30 > self.max_frame:
            head, tail = self._shrink(record, msg, exc, stack, fields)
        return head, tail

    def _render(self, record, msg, exc, stack, fields, fields_json=None):
        q = _quote
        parts = [
            '{"ts":"', self._ts(record.created),
            '","level":', q(str(record.levelname)),
            ',"levelno":', str(int(record.levelno)) if isinstance(record.levelno, int) else "0",
            ',"logger":', q(str(record.name)),
            ',"msg":', q(msg),
            ',"host":', q(self.host),
        ]
        if isinstance(record.process, int):
            parts += (',"pid":', str(record.process))
        if record.processName is not None:
            parts += (',"process":', q(str(record.processName)))
        if isinstance(record.thread, int):
            parts += (',"tid":', str(record.thread))
        if record.threadName is not None:
            parts += (',"thread":', q(str(record.threadName)))
        if record.pathname is not None:
            parts += (',"file":', q(str(record.pathname)))
        if isinstance(record.lineno, int):
            parts += (',"line":', str(record.lineno))
        if record.funcName is not None:
            parts += (',"func":', q(str(record.funcName)))
        if record.module is not None:
            parts += (',"module":', q(str(record.module)))
        head = "".join(parts)
        parts = []
        if exc:
            parts += (',"exc":', q(exc))
        if stack:
            parts += (',"stack":', q(stack))
        if fields_json is None and fields:
            fields_json = "{%s}" % ",".join("%s:%s" % (q(str(k)), _json_value(v)) for k, v in fields)
        if fields_json:
            parts += (',"fields":', fields_json)
        parts.append("}")
        tail = "".join(parts)
        return (head.encode("utf-8", "replace"), tail.encode("utf-8", "replace"))

    def _shrink(self, record, msg, exc, stack, fields):
        """Cuts the biggest of msg, exc, stack and fields (marked) until the
        record fits the maximum frame; the record is never dropped."""
        fields_json = None
        if fields:
            fields_json = "{%s}" % ",".join(
                "%s:%s" % (_quote(str(k)), _json_value(v)) for k, v in fields)
        values = {"msg": msg, "exc": exc or "", "stack": stack or "", "fields": fields_json or ""}
        for _ in range(8):
            head, tail = self._render(record, values["msg"], values["exc"], values["stack"],
                                      None, values["fields"] or None)
            excess = len(head) + len(tail) + 30 - self.max_frame
            if excess <= 0:
                return head, tail
            key = max(values, key=lambda k: len(values[k]))
            text = values[key]
            if key == "fields" and text.startswith('{"truncated":'):
                text = json.loads(text)["truncated"]
            raw = text.encode("utf-8", "replace")
            # Escaping can grow the text (quotes, control characters) up to
            # six times; cut enough that one more round at most is needed.
            keep = max(0, len(raw) - excess - 64)
            cut = raw[:keep].decode("utf-8", "ignore")
            marked = cut + TRUNCATED_MARKER.format(len(raw) - len(cut.encode("utf-8")))
            # Cut JSON cannot stay JSON: the fields become one string.
            values[key] = marked if key != "fields" else '{"truncated":%s}' % _quote(marked)
        # Pathological: logger or file names alone over the limit.
        r = logging.makeLogRecord({
            "name": str(record.name)[:200], "levelname": record.levelname,
            "levelno": record.levelno, "created": record.created,
            "msg": msg[:1000] + TRUNCATED_MARKER.format(len(msg.encode("utf-8", "replace")) - 1000),
        })
        return self._render(r, r.msg, None, None, None)

