"""Test helpers: the real `tributary` binary as a listener on a port the
test chooses (so a restarted listener comes back on the same one), its
output read back, and condition waits with deadlines.

The binary comes from TRIBUTARY_BIN (the Rust test
listener/tests/python_client.rs sets it to the binary cargo built)."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

#: Bounds waits for things that must happen; never what a test measures.
PATIENCE = float(os.environ.get("TRIBUTARY_TEST_PATIENCE", "60"))
CLIENT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tributary_bin():
    path = os.environ.get("TRIBUTARY_BIN")
    if not path or not os.access(path, os.X_OK):
        raise AssertionError(
            "TRIBUTARY_BIN must name the `tributary` binary (got %r): run these tests with "
            "`cargo test -p tributary-listener --all-features --test python_client`, or build it "
            "(`cargo build -p tributary-listener`) and export TRIBUTARY_BIN=target/debug/tributary"
            % (path,))
    return path


def wait_until(what, check, timeout=PATIENCE, interval=0.01):
    """Polls ``check()`` until it returns a true value (returned) or fails
    the test after ``timeout`` seconds, saying what was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def free_port():
    """A loopback port free right now (the listener binds it later)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Listener:
    """`tributary listen --tcp 127.0.0.1:PORT --out out.log` in ``directory``."""

    def __init__(self, directory, port=None, args=()):
        self.dir = directory
        self.port = port or free_port()
        self.args = list(args)
        self.out = os.path.join(directory, "out.log")
        self.proc = None
        self.starts = 0

    def start(self):
        """Starts it and waits for its readiness line; the port may still
        be held by the previous run for a moment, so a failed bind is
        retried until the deadline."""
        deadline = time.monotonic() + PATIENCE
        while True:
            self.starts += 1
            stdout = os.path.join(self.dir, "stdout.%d" % self.starts)
            stderr = os.path.join(self.dir, "stderr.%d" % self.starts)
            with open(stdout, "wb") as so, open(stderr, "wb") as se:
                self.proc = subprocess.Popen(
                    [tributary_bin(), "listen", "--tcp", "127.0.0.1:%d" % self.port,
                     "--out", self.out] + self.args,
                    cwd=self.dir, stdin=subprocess.DEVNULL, stdout=so, stderr=se)
            self.stderr_path = stderr
            while True:
                with open(stdout) as f:
                    if "listening tcp" in f.read():
                        return self
                if self.proc.poll() is not None:
                    break
                if time.monotonic() > deadline:
                    raise AssertionError("the listener did not start: %s" % self.stderr())
                time.sleep(0.01)
            if time.monotonic() > deadline:
                raise AssertionError("the listener kept failing to start: %s" % self.stderr())
            time.sleep(0.05)  # the port is still held: try again

    def stderr(self):
        with open(self.stderr_path, errors="replace") as f:
            return f.read()

    def kill(self):
        """SIGKILL, and reap it."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(PATIENCE)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def pause(self):
        """SIGSTOP, and waits until every thread of it is stopped (a
        signal takes effect asynchronously: a running thread could still
        acknowledge a few records)."""
        self.proc.send_signal(signal.SIGSTOP)
        tasks = "/proc/%d/task" % self.proc.pid

        def stopped():
            states = []
            for t in os.listdir(tasks):
                try:
                    with open("%s/%s/stat" % (tasks, t)) as f:
                        states.append(f.read().rsplit(")", 1)[1].split()[0])
                except FileNotFoundError:
                    pass
            return all(s in ("T", "t") for s in states)

        wait_until("the listener to stop (SIGSTOP)", stopped)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    def stop(self):
        """SIGTERM (writes everything it accepted); returns its stderr."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(PATIENCE)
        if code != 0:
            raise AssertionError("the listener exited with %s: %s" % (code, self.stderr()))
        return self.stderr()

    def size(self):
        try:
            return os.path.getsize(self.out)
        except FileNotFoundError:
            return 0

    def lines(self):
        """The output's complete JSON lines."""
        try:
            with open(self.out, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return []
        return [json.loads(l) for l in data.split(b"\n")[:-1]]

    def wait_lines(self, n, what=None):
        """Waits until the output holds at least ``n`` lines; returns them."""
        return wait_until(what or "%d lines in %s" % (n, self.out),
                          lambda: (lambda ls: ls if len(ls) >= n else None)(self.lines()))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def python(*args, **kw):
    """Starts ``python3 ARGS`` with this client importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = CLIENT_DIR + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.Popen([sys.executable] + list(args), env=env, **kw)
