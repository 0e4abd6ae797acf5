"""An acknowledged Python producer the test drives line by line on stdin,
for watching its acknowledgements (tributary_logging's
AcknowledgedSocketHandler, standard library only).

Commands, one per line; each answers one line on stdout:
  log N    logs the next N records (extra fields `producer` and `n`),
           answers `sent S pending P`
  pending  answers `sent S pending P` (P: records not yet acknowledged)
  close    waits up to 120 s for every acknowledgement, closes,
           answers `left P`, and exits
"""
import logging
import sys

from tributary_logging import AcknowledgedSocketHandler

host, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
handler = AcknowledgedSocketHandler(host, port, producer_id=name, buffer=1_000_000,
                                    ack_timeout=300.0, close_timeout=120.0)
logger = logging.getLogger("py." + name)
logger.setLevel(logging.INFO)
logger.propagate = False
logger.addHandler(handler)
sent = 0
for line in sys.stdin:
    words = line.split()
    if words[0] == "log":
        for _ in range(int(words[1])):
            logger.info("record %d from %s", sent, name, extra={"producer": name, "n": sent})
            sent += 1
    elif words[0] == "close":
        left = handler.wait_acknowledged(120.0)
        handler.close()
        print("left %d" % left, flush=True)
        break
    print("sent %d pending %d" % (sent, handler.pending()), flush=True)
