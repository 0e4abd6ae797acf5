"""A NATS client in Python's standard library only (the protocol over a TCP
socket), to prove the stream tributary publishes can be read without our
code: it reads every message of a JetStream stream with the JetStream API
(`$JS.API.STREAM.MSG.GET`), checks each message against the format in
docs/protocol.md, and prints a JSON summary. With --publish-foreign it
instead publishes two messages that are not tributary batches; with
--publish-large one such message (no headers) of BYTES bytes.

Usage: nats_stream.py HOST:PORT STREAM [--publish-foreign SUBJECT | --publish-large SUBJECT BYTES]
"""
import base64
import json
import socket
import sys


class Nats:
    def __init__(self, hostport):
        host, port = hostport.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        self.buf = b""
        info = self.line()
        assert info.startswith(b"INFO "), info
        self.send(b'CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true,"protocol":1}\r\nPING\r\n')
        while True:
            line = self.line()
            if line == b"PONG":
                break
            if line.startswith(b"-ERR"):
                raise SystemExit(line.decode())
        self.send(b"SUB _INBOX.test.* 1\r\n")
        self.n = 0

    def send(self, data):
        self.sock.sendall(data)

    def fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise SystemExit("connection closed")
        self.buf += chunk

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def exact(self, n):
        while len(self.buf) < n + 2:
            self.fill()
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def request(self, subject, payload):
        self.n += 1
        inbox = "_INBOX.test.%d" % self.n
        self.send(b"PUB %s %s %d\r\n%s\r\n" % (subject.encode(), inbox.encode(), len(payload), payload))
        while True:
            line = self.line()
            if line == b"PING":
                self.send(b"PONG\r\n")
                continue
            if line.startswith(b"MSG "):
                parts = line.split()
                body = self.exact(int(parts[-1]))
                if parts[1].decode() == inbox:
                    return json.loads(body)
            elif line.startswith(b"HMSG "):
                parts = line.split()
                self.exact(int(parts[-1]))
            elif line.startswith(b"-ERR"):
                raise SystemExit(line.decode())

    def publish(self, subject, headers, payload):
        if headers is None:
            self.send(b"PUB %s %d\r\n%s\r\n" % (subject.encode(), len(payload), payload))
        else:
            h = b"NATS/1.0\r\n" + b"".join(b"%s: %s\r\n" % (k.encode(), v.encode()) for k, v in headers) + b"\r\n"
            self.send(b"HPUB %s %d %d\r\n%s%s\r\n" % (subject.encode(), len(h), len(h) + len(payload), h, payload))


def parse_headers(raw):
    lines = raw.decode().split("\r\n")
    assert lines[0].startswith("NATS/1.0"), lines[0]
    out = {}
    for line in lines[1:]:
        if line:
            k, v = line.split(":", 1)
            out[k.strip()] = v.strip()
    return out


def main():
    nats = Nats(sys.argv[1])
    stream = sys.argv[2]
    if len(sys.argv) > 5 and sys.argv[3] == "--publish-large":
        size = int(sys.argv[5])
        nats.publish(sys.argv[4], None, b"x" * (size - 1) + b"\n")
        nats.send(b"PING\r\n")
        while nats.line() != b"PONG":
            pass
        print(json.dumps({"published": 1}))
        return
    if len(sys.argv) > 3 and sys.argv[3] == "--publish-foreign":
        subject = sys.argv[4]
        nats.publish(subject, None, b"garbage without headers\n")
        nats.publish(subject, [("Tributary-Host", "intruder"), ("Tributary-Format", "json-lines")], b"{not json\n")
        nats.send(b"PING\r\n")
        while nats.line() != b"PONG":
            pass
        print(json.dumps({"published": 2}))
        return
    info = nats.request("$JS.API.STREAM.INFO." + stream, b"")
    if "error" in info:
        raise SystemExit("stream info: %s" % info["error"])
    state = info["state"]
    summary = {"messages": 0, "records": 0, "ids": 0, "duplicate_ids": 0, "hosts": {},
               "subjects_ok": True, "counts_ok": True, "lines_ok": True}
    seen = set()
    for seq in range(state["first_seq"], state["last_seq"] + 1):
        reply = nats.request("$JS.API.STREAM.MSG.GET." + stream, json.dumps({"seq": seq}).encode())
        if "error" in reply:
            continue  # deleted
        msg = reply["message"]
        headers = parse_headers(base64.b64decode(msg["hdrs"]))
        body = base64.b64decode(msg.get("data", ""))
        host = headers["Tributary-Host"]
        msg_id = headers["Nats-Msg-Id"]
        if not msg_id.startswith(host + "/") or len(msg_id.split("/")) != 3:
            summary["subjects_ok"] = False
        if msg["subject"] != "tributary." + host:
            summary["subjects_ok"] = False
        if headers.get("Tributary-Format") != "json-lines":
            summary["lines_ok"] = False
        lines = body.split(b"\n")
        if lines[-1] != b"":
            summary["lines_ok"] = False
        lines = lines[:-1]
        for line in lines:
            json.loads(line)
        if len(lines) != int(headers["Tributary-Records"]):
            summary["counts_ok"] = False
        if msg_id in seen:
            summary["duplicate_ids"] += 1
        seen.add(msg_id)
        summary["messages"] += 1
        summary["records"] += len(lines)
        summary["hosts"][host] = summary["hosts"].get(host, 0) + len(lines)
    summary["ids"] = len(seen)
    print(json.dumps(summary))


main()
