"""What every Python bench producer shares with the Rust ones: the record
shape, the start barrier, per-call latency and the JSON report line that
`cargo xtask bench` reads from stdout (see xtask/src/report.rs)."""

import json
import math
import resource
import time

# The same text as xtask/src/shape.rs, so both sides log the same record.
PAYLOAD = "GET /api/v1/items?page=3 status=200 bytes=5120 user=ann"


def cpu_ns():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return int((ru.ru_utime + ru.ru_stime) * 1e9)


def peak_rss_kib():
    """VmHWM of this process: ru_maxrss would carry over the memory of the
    process that started us (Linux keeps it across exec)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def sleep_until(at_ns):
    delay = at_ns - time.time_ns()
    if delay > 0:
        time.sleep(delay / 1e9)


def emit_all(logger, producer, records, start_at_ns):
    """Logs `records` records as `p<producer> #<seq> PAYLOAD` with three
    extra fields, timing each call; returns the latencies and the
    wall-clock times of the first and last emit."""
    sleep_until(start_at_ns)
    latencies = []
    append = latencies.append
    clock = time.perf_counter_ns
    info = logger.info
    first = time.time_ns()
    for seq in range(records):
        t0 = clock()
        info("p%d #%06d %s", producer, seq, PAYLOAD, extra={"user": "ann", "bytes": seq, "ok": True})
        append(clock() - t0)
    return latencies, first, time.time_ns()


def quantile(sorted_values, q):
    """The value at rank ceil(q*n), as the Rust histogram reads it."""
    if not sorted_values:
        return 0
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def report_producer(producer, records, latencies, first, last, cpu_start):
    print(json.dumps(producer_report(producer, records, latencies, first, last, cpu_start)), flush=True)


def producer_report(producer, records, latencies, first, last, cpu_start):
    """The producer's report, as the dict `report_producer` prints."""
    latencies.sort()
    return {
        "kind": "producer",
        "id": producer,
        "records": records,
        "first_emit_ns": first,
        "last_emit_ns": last,
        "cpu_ns": cpu_ns() - cpu_start,
        "maxrss_kib": peak_rss_kib(),
        "p50_ns": quantile(latencies, 0.5),
        "p99_ns": quantile(latencies, 0.99),
    }
