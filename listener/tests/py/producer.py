"""A Python producer for the listener's end-to-end tests: stdlib handlers only.

Sends COUNT records through SocketHandler (TCP or Unix) or DatagramHandler
(UDP or Unix datagram), each with extra fields `producer` and `n`, an
exception every 25th record, and (with --text-out) writes the same records
through a FileHandler with logging.Formatter(PATTERN), so the test can check
the listener's text output against Python's own formatting.
"""
import argparse
import logging
import logging.handlers
import time

p = argparse.ArgumentParser()
g = p.add_mutually_exclusive_group(required=True)
g.add_argument("--tcp")
g.add_argument("--udp")
g.add_argument("--unix")
g.add_argument("--unix-dgram")
p.add_argument("--name", required=True)
p.add_argument("--count", type=int, default=100)
p.add_argument("--text-out")
p.add_argument("--pattern")
p.add_argument("--pace", type=float, default=0.0, help="seconds to sleep between records")
a = p.parse_args()


def hostport(s):
    host, port = s.rsplit(":", 1)
    return host, int(port)


if a.tcp:
    handler = logging.handlers.SocketHandler(*hostport(a.tcp))
elif a.unix:
    handler = logging.handlers.SocketHandler(a.unix, None)
elif a.udp:
    handler = logging.handlers.DatagramHandler(*hostport(a.udp))
else:
    handler = logging.handlers.DatagramHandler(a.unix_dgram, None)

logger = logging.getLogger("py." + a.name)
logger.setLevel(logging.DEBUG)
logger.propagate = False
logger.addHandler(handler)
if a.text_out:
    local = logging.FileHandler(a.text_out)
    local.setFormatter(logging.Formatter(a.pattern))
    logger.addHandler(local)

levels = [logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL]
for n in range(a.count):
    extra = {"producer": a.name, "n": n, "ctx": {"tags": ["a", "b"], "ok": n % 2 == 0}}
    if n % 25 == 0:
        try:
            raise ValueError(f"failure {n} in {a.name}")
        except ValueError:
            logger.exception("record %d from %s failed", n, a.name, extra=extra)
    else:
        logger.log(levels[n % len(levels)], "record %d from %s", n, a.name, extra=extra)
    if a.pace:
        time.sleep(a.pace)
handler.close()
