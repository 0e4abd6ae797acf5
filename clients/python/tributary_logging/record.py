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
_INIT_KEYS = list(logging.LogRecord("n", 20, "p", 1, "m", None, None).__dict__)
_N_INIT = len(_INIT_KEYS)
_LAST_INIT = _INIT_KEYS[-1]
#: The common record around its time, message and fields.
_BEFORE = '","level":%s,"levelno":%d,"logger":%s,"msg":'
_AFTER = (',"host":%s,"pid":%d,"process":%s,"tid":%d,"thread":%s,"file":%s,"line":%d,'
          '"func":%s,"module":%s')
#: What the common record looks like, filled in one step.
_TEMPLATE = ('{"ts":"%s","level":%s,"levelno":%d,"logger":%s,"msg":%s,"host":%s,"pid":%d,'
             '"process":%s,"tid":%d,"thread":%s,"file":%s,"line":%d,"func":%s,"module":%s')
_fields_encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, default=repr,
                                   separators=(",", ":"))
_exc_formatter = logging.Formatter()

#: The marker appended to a value cut to make a record fit the listener's
#: maximum frame size; ``{}`` is the number of bytes cut.
TRUNCATED_MARKER = "…[truncated {} bytes]"


def _field_value(v):
    """A field's JSON, the common types without the encoder's overhead."""
    t = type(v)
    if t is str:
        return _quote(v)
    if t is int:
        return str(v)
    if t is bool:
        return "true" if v else "false"
    if v is None:
        return "null"
    return _json_value(v)


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
        self._host = _quote(self.host)
        self._cache = {}
        self._before = {}
        self._after = {}
        self._second = None
        self._second_text = ""

    def _ts(self, created):
        secs = int(created)
        micros = int((created - secs) * 1e6 + 0.5)
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
        keys = list(d)
        if len(keys) >= _N_INIT and keys[_N_INIT - 1] == _LAST_INIT:
            # LogRecord.__init__ sets its attributes first, in a fixed
            # order; only what comes after can be an extra.
            out = [(k, d[k]) for k in keys[_N_INIT:] if k not in _STANDARD]
        else:
            out = [(k, d[k]) for k in keys if k not in _STANDARD]
        task = d.get("taskName")
        if task is not None:
            out.append(("taskName", task))
        return out

    def encode(self, record):
        """``(head, tail)``: the payload is ``head + b',"seq":N' + tail``."""
        try:
            msg = record.getMessage()
        except Exception:
            msg = self.message(record)
        exc = record.exc_text or (self.exception(record) if record.exc_info else None)
        stack = record.stack_info
        try:
            fast = self._encode_common(record, msg, exc, stack)
        except TypeError:  # an attribute of an odd type (unhashable, say)
            fast = None
        if fast is not None:
            return fast
        fields = self.fields(record)
        head, tail = self._render(record, msg, exc, stack, fields)
        if len(head) + len(tail) + 30 > self.max_frame:
            head, tail = self._shrink(record, msg, exc, stack, fields)
        return head, tail

    def _encode_common(self, record, msg, exc, stack):
        """The common record in one function (each Python call saved is
        measurable per record): every standard attribute set and of its
        usual type, under the maximum frame. None otherwise."""
        d = record.__dict__
        keys = list(d)
        n = len(keys)
        if n < _N_INIT or keys[_N_INIT - 1] != _LAST_INIT:
            return None
        g = self._cache.get
        fields = ""
        if n > _N_INIT:
            parts = []
            for k in keys[_N_INIT:]:
                if k in _STANDARD:
                    continue
                v = d[k]
                t = type(v)
                if t is str:
                    j = _quote(v)
                elif t is int:
                    j = str(v)
                elif t is bool:
                    j = "true" if v else "false"
                else:
                    j = _field_value(v)
                parts.append((g(k) or self._quoted(k)) + ":" + j)
            task = d.get("taskName")
            if task is not None:
                parts.append('"taskName":' + _field_value(task))
            if parts:
                fields = ',"fields":{' + ",".join(parts) + "}"
        elif d.get("taskName") is not None:
            fields = ',"fields":{"taskName":%s}' % _field_value(d["taskName"])
        created = record.created
        secs = int(created)
        micros = int((created - secs) * 1e6 + 0.5)
        if micros >= 1_000_000 or secs != self._second:
            ts = self._ts(created)
        else:
            ts = "%s.%06dZ" % (self._second_text, micros)
        # What comes before and after the message repeats for every record
        # of one logger and of one call site: rendered once, then looked up.
        where = (record.levelname, record.levelno, record.name)
        before = self._before.get(where)
        if before is None:
            try:
                before = _BEFORE % (self._quoted(record.levelname), record.levelno,
                                    self._quoted(record.name))
            except TypeError:
                return None
            if len(self._before) > 4096:
                self._before.clear()
            self._before[where] = before
        site = (record.process, record.processName, record.thread, record.threadName,
                record.pathname, record.lineno, record.funcName, record.module)
        after = self._after.get(site)
        if after is None:
            if None in (record.processName, record.threadName, record.pathname,
                        record.funcName, record.module):
                return None
            try:
                after = _AFTER % (
                    self._host, record.process, self._quoted(record.processName), record.thread,
                    self._quoted(record.threadName), self._quoted(record.pathname),
                    record.lineno, self._quoted(record.funcName), self._quoted(record.module))
            except TypeError:
                return None
            if len(self._after) > 4096:
                self._after.clear()
            self._after[site] = after
        head = '{"ts":"' + ts + before + _quote(msg) + after
        if exc or stack:
            tail = "".join((',"exc":%s' % _quote(exc) if exc else "",
                            ',"stack":%s' % _quote(stack) if stack else "", fields, "}"))
        else:
            tail = fields + "}"
        head = head.encode("utf-8", "replace")
        tail = tail.encode("utf-8", "replace")
        if len(head) + len(tail) + 30 > self.max_frame:
            return None
        return head, tail

    def _quoted(self, text):
        """``text`` as a JSON string, from a cache: logger, thread, file and
        function names repeat from record to record."""
        cache = self._cache
        j = cache.get(text)
        if j is None:
            if len(cache) > 4096:
                cache.clear()
            j = cache[text] = _quote(text if type(text) is str else str(text))
        return j

    def _render(self, record, msg, exc, stack, fields, fields_json=None):
        q = _quote
        if fields_json is None:
            if fields:
                g = self._cache.get
                c = self._quoted
                fields_json = "{%s}" % ",".join(
                    [(g(k) or c(k)) + ":" + _field_value(v) for k, v in fields])
            else:
                fields_json = ""
        try:
            if (record.processName is None or record.threadName is None
                    or record.pathname is None or record.funcName is None
                    or record.module is None):
                raise TypeError
            # Cached names: one dict look-up each, the quoting only on a miss.
            g = self._cache.get
            c = self._quoted
            head = _TEMPLATE % (
                self._ts(record.created),
                g(record.levelname) or c(record.levelname), record.levelno,
                g(record.name) or c(record.name), q(msg), self._host, record.process,
                g(record.processName) or c(record.processName), record.thread,
                g(record.threadName) or c(record.threadName),
                g(record.pathname) or c(record.pathname), record.lineno,
                g(record.funcName) or c(record.funcName), g(record.module) or c(record.module))
        except TypeError:
            head = None
        if head is not None:
            if not exc and not stack:
                tail = ',"fields":%s}' % fields_json if fields_json else "}"
            else:
                tail = "".join((',"exc":%s' % q(exc) if exc else "",
                                ',"stack":%s' % q(stack) if stack else "",
                                ',"fields":%s' % fields_json if fields_json else "", "}"))
            return (head.encode("utf-8", "replace"), tail.encode("utf-8", "replace"))
        return self._render_general(record, msg, exc, stack, fields_json)

    def _render_general(self, record, msg, exc, stack, fields_json):
        """Any record, whatever attributes are None or of odd types."""
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
                [_quote(str(k)) + ":" + _field_value(v) for k, v in fields])
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

