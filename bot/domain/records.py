"""The records of one section of an import file, checked for what every section requires.

A section is a list of objects; an object may hold only the section's fields
and must hold its required ones. Each section's parser then checks the values.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from bot.domain.errors import InvalidRecord


def section_records(
    raw: Any, section: str, fields: Mapping[str, bool] | Iterable[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(`section[i]`, object) for each record; raise InvalidRecord on the first that is no
    object, has an unknown field, or misses a required one.

    `fields`: field name → required (a plain collection: every field is optional)."""
    required = dict(fields) if isinstance(fields, Mapping) else dict.fromkeys(fields, False)
    if not isinstance(raw, list):
        raise InvalidRecord("file", section, "must be a list")
    for index, item in enumerate(raw):
        record = f"{section}[{index}]"
        if not isinstance(item, dict):
            raise InvalidRecord(record, "*", "must be an object")
        unknown = sorted(set(item) - set(required))
        if unknown:
            raise InvalidRecord(record, unknown[0], "is not part of the format")
        for name, needed in required.items():
            if needed and item.get(name) is None:
                raise InvalidRecord(record, name, "is missing")
        yield record, item
