#!/usr/bin/env python3
"""The logging cookbook's socket receiver, written from its description
("Sending and receiving logging events across a network",
https://docs.python.org/3/howto/logging-cookbook.html): a
socketserver.ThreadingTCPServer with one thread per connection; each
handler reads a 4-byte big-endian length and that many bytes, unpickles
them, rebuilds the record with logging.makeLogRecord and hands it to the
named logger, whose FileHandler writes the cookbook's format.

One fix over the cookbook's code: the 4-byte header is read exactly
(the cookbook treats a short recv(4) as end of stream).

    cookbook_receiver.py --port 0 --out FILE

Prints `listening tcp 127.0.0.1:PORT` when ready; SIGTERM or SIGINT stops
accepting, lets every connection finish, flushes and exits 0.
"""

import argparse
import logging
import logging.handlers
import pickle
import signal
import socketserver
import struct
import threading

FORMAT = "%(asctime)s %(processName)-10s %(name)s %(levelname)-8s %(message)s"


class LogRecordStreamHandler(socketserver.StreamRequestHandler):
    """Handler for a streaming logging request."""

    def handle(self):
        while True:
            chunk = self.read_exact(4)
            if chunk is None:
                break
            slen = struct.unpack(">L", chunk)[0]
            data = self.read_exact(slen)
            if data is None:
                break
            obj = pickle.loads(data)
            record = logging.makeLogRecord(obj)
            self.handle_log_record(record)

    def read_exact(self, n):
        data = self.connection.recv(n)
        if not data:
            return None
        while len(data) < n:
            more = self.connection.recv(n - len(data))
            if not more:
                return None
            data += more
        return data

    def handle_log_record(self, record):
        # As the cookbook: EVERY record gets logged (Logger.handle applies
        # the logger's filters, not its level).
        name = self.server.logname or record.name
        logging.getLogger(name).handle(record)


class LogRecordSocketReceiver(socketserver.ThreadingTCPServer):
    """Simple TCP socket-based logging receiver."""

    allow_reuse_address = True

    def __init__(self, host, port, handler=LogRecordStreamHandler):
        socketserver.ThreadingTCPServer.__init__(self, (host, port), handler)
        self.logname = None


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--port", type=int, default=logging.handlers.DEFAULT_TCP_LOGGING_PORT)
    p.add_argument("--out", required=True)
    args = p.parse_args()

    handler = logging.FileHandler(args.out)
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)

    # Signals are taken by sigwait in the main thread only.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    server = LogRecordSocketReceiver("127.0.0.1", args.port)
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2})
    serving.start()
    print("listening tcp 127.0.0.1:%d" % server.server_address[1], flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    server.shutdown()
    server.server_close()  # joins the connection threads: everything sent is written
    serving.join()
    logging.shutdown()


if __name__ == "__main__":
    main()
