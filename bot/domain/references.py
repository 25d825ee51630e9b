"""Reference numbers customers keep for what the assistant recorded for them.

A reference is a prefix for the kind of record and eight digits
(`UM-48213907` for a move), easy to read out on the phone and to type; it
says nothing about the customer. Uniqueness is checked against the table
that stores it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

PREFIXES = {
    "move": "UM",
    "instalments": "RZ",
    "deferral": "ST",
    "reconnection": "EN",
    "supply_block": "SP",
    "mandate": "STW",
    "fault": "SM",
    "complaint": "BS",
    "appointment": "TE",
    "tariff_switch": "TW",
}
DIGITS = 8
ATTEMPTS = 20


def new_reference(kind: str, taken: Callable[[str], bool]) -> str:
    """A fresh reference for `kind`; `taken(reference)` says whether one is in use."""
    prefix = PREFIXES[kind]
    for _ in range(ATTEMPTS):
        reference = f"{prefix}-{secrets.randbelow(10**DIGITS):0{DIGITS}d}"
        if not taken(reference):
            return reference
    raise RuntimeError(f"no free {kind} reference after {ATTEMPTS} attempts")


def spoken(reference: str) -> str:
    """The reference for speech: letters and digits one by one, in groups."""
    prefix, _, number = reference.partition("-")
    groups = [number[i : i + 2] for i in range(0, len(number), 2)]
    return ", ".join([" ".join(prefix), *(" ".join(g) for g in groups)])
