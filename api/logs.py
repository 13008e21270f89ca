"""One structured line per request and per subscription.

Each line is a JSON object on the ``conveyor.access`` logger, so that log
collectors can index its fields (operation, duration, rows, outcome) without
parsing prose.
"""

import json
import logging
from datetime import UTC, datetime

access_logger = logging.getLogger("conveyor.access")


def log_access(event: str, **fields: object) -> None:
    """Writes one line: ``{"time": …, "event": event, **fields}``."""
    if access_logger.isEnabledFor(logging.INFO):
        line = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"), "event": event}
        access_logger.info(json.dumps(line | fields, default=str, separators=(",", ":")))
