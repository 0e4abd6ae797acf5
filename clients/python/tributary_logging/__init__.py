"""Lossless delivery of Python ``logging`` records to a Tributary listener.

``AcknowledgedSocketHandler`` is a drop-in ``logging.Handler`` speaking
Tributary's acknowledged-delivery protocol: records are kept until the
listener says they are written, and sent again after a reconnect, so a
listener restart (even ``kill -9``) loses and duplicates nothing.
Standard library only.
"""

from .handler import AcknowledgedSocketHandler, default_producer_id, new_epoch
from .record import TRUNCATED_MARKER
from .spool import SpoolError
from .wire import ProtocolError

__all__ = [
    "AcknowledgedSocketHandler",
    "ProtocolError",
    "SpoolError",
    "TRUNCATED_MARKER",
    "default_producer_id",
    "new_epoch",
]
__version__ = "0.1.0"
