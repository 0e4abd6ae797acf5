"""The writer's pause during reloads under load.

4 Rust producers (listener/examples/producer.rs: QueueHandler in front of
SocketHandler, the s1 workload's shape) log flat out into `tributary
listen` while it is reloaded 20 times with SIGHUP, alternating two
configurations (an output added and removed, a level and a pattern
changed, a second TCP input added and removed). Prints the longest and the
median writer pause of the switches (each `reloaded:` line's `writer
paused`) and of closing the removed outputs (`reload: closed` lines).

    cargo build [--release] -p tributary-listener --bin tributary --example producer
    python3 bench/reload_pause.py target/debug/tributary target/debug/examples/producer WORKDIR 50000000

Arguments: the listener, the producer, a scratch directory, records per
producer (enough to outlast the reloads; the producers are stopped after
the last one).
"""
import os, re, signal, subprocess, sys, time
tributary, producer, work = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(work, exist_ok=True)
A = 'tcp = ["127.0.0.1:0"]\nout = "main.log"\n[[output]]\nfile = "text.log"\nformat = "text"\npattern = "A %(message)s"\n'
B = 'tcp = ["127.0.0.1:0", "127.0.0.2:0"]\nout = "main.log"\nlevel = "WARNING"\n[[output]]\nfile = "text.log"\nformat = "text"\npattern = "B %(message)s"\n[[output]]\nfile = "extra.log"\nlevel = "ERROR"\n'
def put(text):
    with open(os.path.join(work, "c.tmp"), "w") as f: f.write(text)
    os.rename(os.path.join(work, "c.tmp"), os.path.join(work, "conf.toml"))
put(A)
t = subprocess.Popen([tributary, "listen", "--config", "conf.toml"], cwd=work, stdout=subprocess.PIPE, stderr=open(os.path.join(work, "stderr"), "w"), text=True)
line = t.stdout.readline()
addr = line.split()[-1]
ps = [subprocess.Popen([producer, "--tcp", addr, "--count", sys.argv[4], "--name", f"p{i}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i in range(4)]
time.sleep(1.0)
latency = []
for k in range(1, 21):
    put(B if k % 2 else A)
    sent = time.time()
    t.send_signal(signal.SIGHUP)
    deadline = time.time() + 60
    while open(os.path.join(work, "stderr")).read().count("reloaded: ") < k:
        assert time.time() < deadline, open(os.path.join(work, "stderr")).read()
        time.sleep(0.01)
    latency.append(time.time() - sent)
    time.sleep(0.2)
busy = all(p.poll() is None for p in ps)
for p in ps: p.terminate(); p.wait()
t.send_signal(signal.SIGTERM); t.wait()
err = open(os.path.join(work, "stderr")).read()
sw = [float(x) for x in re.findall(r"reloaded: .*writer paused ([0-9.]+) ms", err)]
cl = [float(x) for x in re.findall(r"reload: closed .*writer paused ([0-9.]+) ms", err)]
summary = [l for l in err.splitlines() if "summary" in l]
print(f"producers still logging at the last reload: {busy}")
print(f"reloads {len(sw)}; switch pause max {max(sw):.2f} ms median {sorted(sw)[len(sw)//2]:.2f} ms; close pause max {max(cl) if cl else 0:.2f} ms over {len(cl)}")
print(f"SIGHUP to `reloaded:` line: max {max(latency) * 1e3:.0f} ms median {sorted(latency)[len(latency)//2] * 1e3:.0f} ms (the queue ahead of the switch is written first)")
print(summary[0][:400] if summary else err[-2000:])
