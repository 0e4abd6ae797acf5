"""Python's stdlib logging to a tributary TLS input, from another host: the
stdlib SocketHandler with its socket wrapped in `ssl`. Nothing else changes;
the framing is the stdlib's own.

    tributary listen --tcp 0.0.0.0:9020 \\
        --tls-cert server.pem --tls-key server.key \\
        [--tls-client-ca ca.pem]         # require client certificates
    python3 tls_producer.py HOST:PORT CA.pem [CLIENT.pem CLIENT.key]
"""
import logging
import logging.handlers
import ssl
import sys


class TLSSocketHandler(logging.handlers.SocketHandler):
    """SocketHandler over TLS: the listener's certificate is checked
    against `context` and the host name given."""

    def __init__(self, host, port, context):
        super().__init__(host, port)
        self.context = context

    def makeSocket(self, timeout=1):
        sock = super().makeSocket(timeout)
        return self.context.wrap_socket(sock, server_hostname=self.host)


def main():
    host, _, port = sys.argv[1].rpartition(":")
    context = ssl.create_default_context(cafile=sys.argv[2])
    if len(sys.argv) > 4:  # a client certificate, for --tls-client-ca
        context.load_cert_chain(sys.argv[3], sys.argv[4])
    log = logging.getLogger("app.remote")
    log.addHandler(TLSSocketHandler(host, int(port), context))
    log.setLevel(logging.INFO)
    for n in range(100):
        log.info("event %d over TLS", n, extra={"n": n})


if __name__ == "__main__":
    main()
