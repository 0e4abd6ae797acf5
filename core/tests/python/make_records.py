"""Produce real SocketHandler frames for core/tests/pickle_python.rs.

Usage: python3 make_records.py OUT_DIR MARKER_PATH

Writes OUT_DIR/<case>.bin (the exact bytes SocketHandler.makePickle returns,
4-byte length prefix included) and OUT_DIR/expect.json (the attributes of
each record as the sender saw them after emitting, for the Rust test to
compare against). MARKER_PATH is a file the "evil" pickle would create if
anything ever executed it.
"""

import datetime
import json
import logging
import logging.handlers
import multiprocessing
import os
import pickle
import sys
import threading

OUT = sys.argv[1]
MARKER = sys.argv[2]
EXPECT = {}


class Capture(logging.handlers.SocketHandler):
    """The stock handler, with the socket replaced by a list."""

    def __init__(self):
        super().__init__("localhost", None)
        self.frames = []

    def send(self, s):
        self.frames.append(s)


def attrs(record):
    keys = ("name", "levelname", "levelno", "pathname", "lineno", "funcName",
            "module", "created", "relativeCreated", "process", "processName",
            "thread", "threadName", "exc_text", "stack_info")
    out = {k: getattr(record, k) for k in keys}
    out["msg"] = record.getMessage()
    return out


def emit(case, logger_name, level, msg, *args, **kwargs):
    """Log through a real logger into a Capture handler; save frame + attrs."""
    handler = Capture()
    seen = []
    handler.addFilter(lambda r: seen.append(r) or True)
    logger = logging.getLogger(logger_name)
    logger.propagate = False
    logger.handlers = [handler]
    logger.setLevel(1)
    logger.log(level, msg, *args, **kwargs)
    save(case, handler.frames[0], attrs(seen[0]))


def save(case, frame, expect):
    with open(os.path.join(OUT, case + ".bin"), "wb") as f:
        f.write(frame)
    EXPECT[case] = expect


def in_thread():
    emit("thread", "app.thread", logging.INFO, "from a thread")


def in_child(queue):
    handler = Capture()
    seen = []
    handler.addFilter(lambda r: seen.append(r) or True)
    logger = logging.getLogger("app.child")
    logger.propagate = False
    logger.handlers = [handler]
    logger.warning("from child %d", os.getpid())
    queue.put((handler.frames[0], attrs(seen[0])))


class Evil:
    """What an attacker sends: unpickling it runs a shell command."""

    def __reduce__(self):
        return (os.system, ("touch " + MARKER,))


def main():
    emit("plain", "app", logging.INFO, "user %s logged in", "ann")
    emit("extras", "app.extras", logging.WARNING, "typed extras", extra={
        "s": "text", "i": 42, "neg": -7, "f": 3.25, "t": True, "fa": False,
        "n": None, "l": [1, "two", 3.0, None], "empty_l": [], "empty_d": {},
        "d": {"k": "v", "nested": {"deep": [1, {"x": 2}]}},
    })
    try:
        1 / 0
    except ZeroDivisionError:
        emit("exc", "app.exc", logging.ERROR, "division failed", exc_info=True)
    emit("stack", "app.stack", logging.DEBUG, "where am I", stack_info=True)
    emit("unicode", "app.ünï", logging.INFO, "café 😀 日本語 %s", "ß",
         extra={"città": "Zürich", "emoji": "🎉", "cjk": "漢字"})
    emit("bigints", "app.big", logging.INFO, "big", extra={
        "big": 2**100, "negbig": -2**70, "i64max": 2**63 - 1,
        "u64max": 2**64 - 1, "i64min": -2**63,
    })
    logging.addLevelName(25, "NOTICE")
    emit("custom_level", "app", 25, "notice this")
    t = threading.Thread(target=in_thread, name="worker-1")
    t.start()
    t.join()
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=in_child, args=(queue,), name="child-7")
    child.start()
    frame, expect = queue.get(timeout=30)
    child.join(30)
    save("child", frame, expect)
    emit("datetime", "app.dt", logging.INFO, "has a datetime",
         extra={"when": datetime.datetime(2024, 5, 6, 7, 8, 9), "ok": 1})
    emit("bytes", "app.bytes", logging.INFO, "has bytes",
         extra={"raw": b"\x00\xffab", "ok": 1})
    emit("evil", "app.evil", logging.INFO, "evil", extra={"payload": Evil()})
    # The extras record again at every protocol, from the dict makePickle built.
    extras = open(os.path.join(OUT, "extras.bin"), "rb").read()
    d = pickle.loads(extras[4:])
    for proto in range(0, pickle.HIGHEST_PROTOCOL + 1):
        data = pickle.dumps(d, proto)
        save("extras_p%d" % proto, len(data).to_bytes(4, "big") + data, None)
    bigs = open(os.path.join(OUT, "bigints.bin"), "rb").read()
    for proto in (0, 2, 5):
        data = pickle.dumps(pickle.loads(bigs[4:]), proto)
        save("bigints_p%d" % proto, len(data).to_bytes(4, "big") + data, None)
    with open(os.path.join(OUT, "expect.json"), "w") as f:
        json.dump(EXPECT, f)


if __name__ == "__main__":
    main()
