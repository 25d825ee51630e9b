"""The customer-facing texts of the domain files, and picking one in a language.

Every response in `domain/*.yml` has a German default and a Turkish variation
conditioned on `language: tr`. Actions, channels and the web app that need a
response's text outside Rasa's own response selection use `response_text`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml


def load_responses(directory: Path) -> dict[str, Any]:
    """Every response of the domain files in `directory` (one file per capability)."""
    responses: dict[str, Any] = {}
    for path in sorted(directory.glob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        responses.update(document.get("responses") or {})
    return responses


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
