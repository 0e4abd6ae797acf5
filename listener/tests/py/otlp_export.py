"""Logs through the OpenTelemetry Python SDK and its OTLP/HTTP log exporter.

Usage: otlp_export.py ENDPOINT COUNT SERVICE [gzip]

Python's `logging` with the SDK's LoggingHandler, a resource naming the
service, a batch processor exporting to ENDPOINT (`http://HOST:PORT/v1/logs`),
protobuf, gzip-compressed when `gzip` is given. Records at every level, with
`extra=` attributes; the odd ones inside a span (so they carry its trace and
span ids), every tenth with an exception. One JSON line per record on stdout
says what was sent; the last line is `exported N records in K requests` and
the exit status is 1 if any export failed.
"""

import json
import logging
import sys
import warnings

from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExportResult
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

endpoint, count, service = sys.argv[1], int(sys.argv[2]), sys.argv[3]
gzip = len(sys.argv) > 4 and sys.argv[4] == "gzip"


class CountingExporter(OTLPLogExporter):
    """The SDK's exporter, counting requests and failures."""

    requests = 0
    failures = 0
    records = 0

    def export(self, batch):
        result = super().export(batch)
        CountingExporter.requests += 1
        if result == LogRecordExportResult.SUCCESS:
            CountingExporter.records += len(batch)
        else:
            CountingExporter.failures += 1
        return result


provider = LoggerProvider(resource=Resource.create({"service.name": service}))
exporter = CountingExporter(
    endpoint=endpoint,
    timeout=30,
    compression=Compression.Gzip if gzip else Compression.NoCompression,
)
# Small batches, so one run makes several requests.
provider.add_log_record_processor(
    BatchLogRecordProcessor(exporter, max_export_batch_size=25, schedule_delay_millis=50)
)
with warnings.catch_warnings():
    # The SDK's LoggingHandler is deprecated in favour of an instrumentation
    # package, but it is what the SDK ships and what users have.
    warnings.simplefilter("ignore", DeprecationWarning)
    handler = LoggingHandler(level=logging.DEBUG, logger_provider=provider)

log = logging.getLogger("otlp.test")
log.setLevel(logging.DEBUG)
log.propagate = False
log.addHandler(handler)
tracer = TracerProvider().get_tracer("otlp.test")
levels = [logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL]

for i in range(count):
    level = levels[i % len(levels)]
    extra = {"n": i, "half": i / 2, "tag": f"t{i}", "odd": i % 2 == 1}
    sent = {"n": i, "level": logging.getLevelName(level), "msg": f"record {i} of {service}"}

    def emit():
        if i % 10 == 0:
            try:
                raise ValueError(f"boom {i}")
            except ValueError:
                log.log(level, "record %d of %s", i, service, extra=extra, exc_info=True)
        else:
            log.log(level, "record %d of %s", i, service, extra=extra)

    if i % 2 == 1:
        with tracer.start_as_current_span(f"span {i}") as span:
            context = span.get_span_context()
            sent["trace_id"] = f"{context.trace_id:032x}"
            sent["span_id"] = f"{context.span_id:016x}"
            emit()
    else:
        emit()
    print(json.dumps(sent), flush=True)

provider.force_flush()
provider.shutdown()
print(f"exported {CountingExporter.records} records in {CountingExporter.requests} requests", flush=True)
sys.exit(1 if CountingExporter.failures or CountingExporter.records != count else 0)
