"""One JSON object per line, for log stores that index fields (production's format).

Only named fields leave the process: the time, level, logger, the formatted message, the
request and user ids (glmweb.log_context), a GLM call's fields (record.glm, see
glm/call_log.py), an HTTP request's summary (record.http, see glmweb.request_log) and a
traceback. Arbitrary `extra=` attributes are left out, so nothing reaches the log store that
was not chosen for it.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

# Structured fields a record may carry, copied as they are.
_STRUCTURED = ("glm", "http")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "user_id": getattr(record, "user_id", None),
        }
        for name in _STRUCTURED:
            value = getattr(record, name, None)
            if isinstance(value, dict):
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # default=str: a value that is not JSON (a Decimal, a lazy string) is shown, not fatal.
        return json.dumps(entry, ensure_ascii=False, default=str)
