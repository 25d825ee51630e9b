"""Picking the text of a domain response in the customer's language.

Every response in `domain.yml` has a German default and a Turkish variation
conditioned on `language: tr`. Actions and channels that need a response's
text outside Rasa's own response selection use this one function.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def response_text(
    responses: Mapping[str, Sequence[Mapping[str, Any]]], name: str, language: str
) -> str:
    """The text of response `name` for `language`, else its unconditioned text."""
    default = ""
    for variation in responses.get(name) or []:
        conditions = variation.get("condition") or []
        if not conditions:
            default = default or variation.get("text", "")
        elif any(c.get("name") == "language" and c.get("value") == language for c in conditions):
            return variation.get("text", "")
    return default or name
