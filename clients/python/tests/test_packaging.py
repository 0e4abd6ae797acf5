"""The package builds with nothing but the standard library (the in-tree
PEP 517 backend pip uses for `pip install ./clients/python`, offline), and
the wheel it makes holds a working package with consistent metadata."""

import base64
import hashlib
import os
import subprocess
import sys
import tempfile
import unittest
import zipfile

CLIENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(CLIENT, "build_backend"))
import tributary_build  # noqa: E402


class Packaging(unittest.TestCase):
    def test_the_wheel_installs_a_working_package(self):
        self.assertEqual(tributary_build.get_requires_for_build_wheel(), [])
        with tempfile.TemporaryDirectory() as d:
            name = tributary_build.build_wheel(d)
            self.assertEqual(name, "tributary_logging-0.1.0-py3-none-any.whl")
            with zipfile.ZipFile(os.path.join(d, name)) as z:
                names = set(z.namelist())
                sources = {"tributary_logging/%s" % f
                           for f in os.listdir(os.path.join(CLIENT, "tributary_logging"))
                           if f.endswith(".py")}
                info = "tributary_logging-0.1.0.dist-info/"
                self.assertEqual(names, sources | {info + "METADATA", info + "WHEEL",
                                                   info + "RECORD"})
                metadata = z.read(info + "METADATA").decode()
                self.assertIn("Name: tributary-logging\n", metadata)
                self.assertIn("Requires-Python: >=3.9\n", metadata)
                self.assertNotIn("Requires-Dist", metadata)
                for line in z.read(info + "RECORD").decode().splitlines():
                    path, digest, size = line.split(",")
                    if path.endswith("RECORD"):
                        continue
                    data = z.read(path)
                    want = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
                    self.assertEqual(digest, "sha256=" + want.decode(), path)
                    self.assertEqual(int(size), len(data), path)
                site = os.path.join(d, "site")
                z.extractall(site)
            # Importable from the unpacked wheel alone, in a clean interpreter.
            out = subprocess.run(
                [sys.executable, "-I", "-c",
                 "import sys; sys.path.insert(0, %r); import tributary_logging as t; "
                 "print(t.__file__, t.AcknowledgedSocketHandler.__name__)" % site],
                capture_output=True, text=True, check=True).stdout
            self.assertTrue(out.startswith(os.path.join(site, "tributary_logging")), out)
            self.assertIn("AcknowledgedSocketHandler", out)

    def test_the_sdist_carries_what_a_build_needs(self):
        import tarfile
        with tempfile.TemporaryDirectory() as d:
            name = tributary_build.build_sdist(d)
            with tarfile.open(os.path.join(d, name)) as tar:
                names = set(tar.getnames())
        base = "tributary_logging-0.1.0/"
        for rel in ("pyproject.toml", "README.md", "PKG-INFO", "build_backend/tributary_build.py",
                    "tributary_logging/handler.py"):
            self.assertIn(base + rel, names)


if __name__ == "__main__":
    unittest.main()
