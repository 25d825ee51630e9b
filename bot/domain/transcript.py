"""A conversation's transcript for agents: what the customer and the bot said.

Built from the conversation's events as Rasa stores them (dicts with `event`,
`text`, `timestamp`, `parse_data`), so actions and channels hand over the
same lines. What the customer typed is shown with birth dates, IBANs and
customer numbers masked (bot/domain/privacy.py): the case names the verified
customer, the agent needs no more.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from bot.domain.privacy import redact


def transcript(events: Iterable[dict[str, Any]], *, masked: bool = True) -> list[dict[str, Any]]:
    """What the customer and the bot said, in order, from a conversation's events.

    `masked=False` gives the customer's words as typed (their own copy, Art. 15 GDPR).
    """
    lines: list[dict[str, Any]] = []
    for event in events:
        kind = event.get("event")
        text = event.get("text")
        if kind not in ("user", "bot") or not text:
            continue
        timestamp = event.get("timestamp")
        line = {
            "from": "customer" if kind == "user" else "bot",
            "text": redact(text) if kind == "user" and masked else text,
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
