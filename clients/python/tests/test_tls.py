"""Acknowledged delivery over a TLS input: the handler wraps its
connection with the ssl.SSLContext it is given, checks the listener's
certificate, and loses nothing across a listener restart. The throwaway
certificate is made with the openssl command-line tool."""

import logging
import os
import shutil
import ssl
import subprocess
import tempfile
import unittest

from listener import Listener, PATIENCE
from tributary_logging import AcknowledgedSocketHandler


def make_certificate(directory):
    openssl = shutil.which("openssl")
    if openssl is None:
        raise AssertionError("the TLS test needs the openssl command-line tool to make a "
                             "certificate: install it (Debian: apt-get install openssl)")
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True)
    return cert, key


class Tls(unittest.TestCase):
    def test_acknowledged_delivery_over_tls_survives_a_restart(self):
        with tempfile.TemporaryDirectory() as d:
            cert, key = make_certificate(d)
            with Listener(d, args=["--tls-cert", cert, "--tls-key", key]) as listener:
                listener.start()
                context = ssl.create_default_context(cafile=cert)
                h = AcknowledgedSocketHandler("127.0.0.1", listener.port,
                                              ssl_context=context, server_hostname="localhost")
                log = logging.getLogger("tls.app")
                log.propagate = False
                log.setLevel(logging.INFO)
                log.addHandler(h)
                for n in range(500):
                    log.info("over tls %d", n, extra={"n": n})
                self.assertEqual(h.wait_acknowledged(PATIENCE), 0)
                listener.kill()
                for n in range(500, 1000):
                    log.info("over tls %d", n, extra={"n": n})
                listener.start()
                log.removeHandler(h)
                self.assertEqual(h.close(), 0)
                listener.stop()
                ns = [l["fields"]["n"] for l in listener.lines()]
        self.assertEqual(ns, list(range(1000)))

    def test_an_untrusted_listener_gets_nothing(self):
        with tempfile.TemporaryDirectory() as d:
            cert, key = make_certificate(d)
            with Listener(d, args=["--tls-cert", cert, "--tls-key", key]) as listener:
                listener.start()
                h = AcknowledgedSocketHandler("127.0.0.1", listener.port,
                                              ssl_context=ssl.create_default_context(),
                                              close_timeout=0.5)
                log = logging.getLogger("tls.untrusted")
                log.propagate = False
                log.addHandler(h)
                log.error("secret")
                log.removeHandler(h)
                self.assertEqual(h.close(), 1)
                self.assertIn("CERTIFICATE_VERIFY_FAILED", h.last_error)
                listener.stop()
                self.assertEqual(listener.lines(), [])


if __name__ == "__main__":
    unittest.main()
