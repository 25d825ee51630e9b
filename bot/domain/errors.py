"""Domain errors that actions and the CLI turn into customer-facing answers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum


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


class IbanProblem(str, Enum):
    """Why an IBAN was refused; each gets its own answer."""

    NOT_FOUND = "not_found"  # nothing IBAN-like in what the customer said
    UNKNOWN_COUNTRY = "unknown_country"  # no country with IBANs has this code
    NOT_SEPA = "not_sepa"  # a real IBAN, but no SEPA direct debit from there
    LENGTH = "length"  # too short or too long for its country
    FORMAT = "format"  # letters where the country has digits, or the reverse
    CHECKSUM = "checksum"  # the two check digits do not match: a typo
    BANK_CODE = "bank_code"  # a German bank code no bank has
    ACCOUNT_NUMBER = "account_number"  # the bank's own check digit of the account number fails


@dataclass
class InvalidIban(DomainError):
    """An IBAN the customer gave cannot be used; never carries the IBAN itself."""

    problem: IbanProblem

    def __str__(self) -> str:
        return f"invalid IBAN: {self.problem.value}"


class BankDetailsRefused(DomainError):
    """A change of bank details or payment method cannot be made as asked."""


class UnchangedBankAccount(BankDetailsRefused):
    """The IBAN given is the one the active mandate already debits."""


class NothingToRevoke(BankDetailsRefused):
    """A change to paying by transfer, but no mandate is active: the customer pays so already."""


@dataclass
class InvalidAccountHolder(BankDetailsRefused):
    """No usable account holder's name: `problem` is `empty`, `digits` or `too_long`."""

    problem: str


class ReadingRefused(DomainError):
    """A meter reading cannot be stored as given."""


@dataclass
class InvalidReading(ReadingRefused):
    """Not a possible meter reading; `problem` says why, each gets its own answer:
    `not_a_number`, `negative`, `too_large` (more than nine digits before the point),
    `future_date`, `before_last_reading` (dated before the meter's last reading)."""

    problem: str


@dataclass
class ImplausibleReading(ReadingRefused):
    """Below the last reading or far above the expected consumption: stored only once confirmed."""

    verdict: str
    last_value: Decimal | None
    consumption: Decimal | None
    expected: Decimal | None


class ArrangementRefused(DomainError):
    """A payment arrangement (instalments, deferral) breaks a rule; nothing is stored."""


@dataclass
class BalanceTooSmall(ArrangementRefused):
    """The open balance is not over the minimum for an arrangement."""

    total: Decimal
    minimum: Decimal


@dataclass
class ArrangementExists(ArrangementRefused):
    """The customer has an arrangement running; no second one."""

    reference: str


@dataclass
class InstalmentsOutOfRange(ArrangementRefused):
    """Too few or too many instalments (or instalments below the smallest amount)."""

    minimum: int
    maximum: int
    smallest_amount: Decimal


@dataclass
class DeferralOutOfRange(ArrangementRefused):
    """A deferral date in the past (`problem` "past") or too far ahead ("too_late")."""

    problem: str
    latest: dt.date


@dataclass
class DeferralAlreadyUsed(ArrangementRefused):
    """A deferral was agreed within the last year; the next one is possible from a date."""

    agreed_on: dt.date
    possible_from: dt.date


class MoveRefused(DomainError):
    """A move cannot be recorded as given."""


@dataclass
class MoveDateOutOfRange(MoveRefused):
    """The moving date lies before `earliest` or after `latest`."""

    earliest: dt.date
    latest: dt.date
    too_early: bool


@dataclass
class InvalidPostcode(MoveRefused):
    """Not a German postcode (five digits)."""

    postcode: str


@dataclass
class OutsideSupplyArea(MoveRefused):
    """A postcode we do not supply, where the move needs one we do."""

    postcode: str
