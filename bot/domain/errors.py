"""Domain errors that actions and the CLI turn into customer-facing answers."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


class DomainError(Exception):
    """Base class: something the customer asked for cannot be done."""


class VerificationFailed(DomainError):
    """The identity values do not belong together (never says which one)."""


class NotFound(DomainError):
    """A customer or contract the caller named does not exist."""


class ChangeNotAllowed(DomainError):
    """An advance-payment change breaks a rule."""


@dataclass
class AmountOutOfRange(ChangeNotAllowed):
    minimum: Decimal
    maximum: Decimal


@dataclass
class ReductionTooLarge(ChangeNotAllowed):
    recommended: Decimal
    lowest_allowed: Decimal


class UnchangedAmount(ChangeNotAllowed):
    """The new amount equals the current one."""


class ChangedMeanwhile(ChangeNotAllowed):
    """Another change of the same contract came first; this one was checked against the old amount."""


@dataclass
class InvalidRecord(DomainError):
    """An import record breaks the data contract."""

    record: str
    field: str
    problem: str

    def __str__(self) -> str:
        return f"{self.record}: field '{self.field}' {self.problem}"
