"""A conversation's transcript for agents: what the customer and the bot said.

Built from the conversation's events as Rasa stores them (dicts with `event`,
`text`, `timestamp`, `parse_data`), so actions and channels hand over the
same lines.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any


def transcript(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the customer and the bot said, in order, from a conversation's events."""
    lines: list[dict[str, Any]] = []
    for event in events:
        kind = event.get("event")
        text = event.get("text")
        if kind not in ("user", "bot") or not text:
            continue
        timestamp = event.get("timestamp")
        line = {
            "from": "customer" if kind == "user" else "bot",
            "text": text,
            "time": dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).isoformat(
                timespec="seconds"
            )
            if timestamp
            else None,
        }
        if kind == "user":
            line["intent"] = (event.get("parse_data") or {}).get("intent", {}).get("name")
        lines.append(line)
    return lines
