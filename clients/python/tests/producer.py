"""A producer process for the tests: logs COUNT records with extra fields
``producer`` (its name) and ``n`` (0..COUNT-1, offset by --first) through
the acknowledged handler or the stdlib SocketHandler, then closes the
handler and prints one JSON line: what close() reported."""

import argparse
import json
import logging
import logging.handlers
import sys

from tributary_logging import AcknowledgedSocketHandler

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--name", required=True)
p.add_argument("--count", type=int, required=True)
p.add_argument("--first", type=int, default=0)
p.add_argument("--handler", choices=("ack", "stdlib"), default="ack")
p.add_argument("--spool")
p.add_argument("--close-timeout", type=float, default=10.0)
p.add_argument("--block-timeout", type=float, default=1.0)
p.add_argument("--buffer", type=int, default=10000)
a = p.parse_args()

if a.handler == "ack":
    handler = AcknowledgedSocketHandler(
        "127.0.0.1", a.port, spool=a.spool, close_timeout=a.close_timeout,
        block_timeout=a.block_timeout, buffer=a.buffer)
else:
    handler = logging.handlers.SocketHandler("127.0.0.1", a.port)
log = logging.getLogger("test." + a.name)
log.setLevel(logging.DEBUG)
log.propagate = False
log.addHandler(handler)
for n in range(a.first, a.first + a.count):
    log.info("record %d of %s", n, a.name, extra={"producer": a.name, "n": n})
report = {"name": a.name}
if a.handler == "ack":
    report.update(producer=handler.producer_id, epoch=handler.epoch)
    report["left"] = handler.close()
    report["dropped"] = handler.dropped
else:
    handler.close()
log.removeHandler(handler)
print(json.dumps(report))
sys.stdout.flush()
