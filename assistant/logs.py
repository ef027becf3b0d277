"""Structured (JSON-lines) logging for the app, so logs can be searched by conversation.

Every line has personal data masked (mobile numbers, ID numbers, e-mails, street addresses:
:mod:`assistant.compliance.masking`), in the message, every ``extra`` field and tracebacks, so
a shopper's number typed into a group never lands in log files.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

from assistant.compliance.masking import mask_personal_data, mask_value

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any ``extra`` fields, with
    personal data masked."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": mask_personal_data(record.getMessage()),
        }
        entry.update({k: mask_value(v) for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = mask_personal_data(self.formatException(record.exc_info))
        # Objects JSON cannot encode are written as str(): masked the same way.
        return json.dumps(entry, ensure_ascii=False, default=_masked_str)


def _masked_str(value: object) -> str:
    return mask_personal_data(str(value))


class PersonalDataFilter(logging.Filter):
    """Masks personal data in a record in place, for handlers that do not use
    :class:`JsonFormatter` (a plain-text handler a deployment adds, a test's capture)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_personal_data(record.getMessage())
        record.args = None
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD:
                setattr(record, key, mask_value(value))
        return True


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiohttp.access", "chromadb", "httpx", "sentence_transformers", "jieba"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
