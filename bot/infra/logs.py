"""JSON log lines for production: one object per line, conversation id as a field.

`LOG_FORMAT=json` makes the launcher pass `bot/infra/logging_json.yml` to Rasa, the
action server and uvicorn, so every process writes the same shape:
`{"time", "level", "logger", "message", "conversation_id"?, "exception"?}`.
Our code logs conversations as `conversation=<id>` and never logs personal
data (see bot/domain/privacy.py); the formatter lifts the id into its own field.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re

from bot.infra.settings import ROOT

CONFIG_FILE = ROOT / "bot" / "infra" / "logging_json.yml"
_CONVERSATION = re.compile(r"\bconversation=([\w.:-]+)")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
        }
        conversation = getattr(record, "conversation_id", None)
        if conversation is None:
            found = _CONVERSATION.search(message)
            conversation = found[1] if found else None
        if conversation:
            entry["conversation_id"] = conversation
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)
