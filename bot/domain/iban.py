"""Reading an IBAN a customer typed or said, checked as a bank would.

`read_iban("de89 3704 0044 0532 0130 00")` gives a `BankAccount` (the IBAN
normalised, its country, bank code, BIC and bank name when known, a masked
form to read back) or raises `InvalidIban` saying why: check digits, length
or format for the country, an unknown country or one outside SEPA, a German
bank code no bank has. The checks and the bank registry come from
`schwifty`, whose registry ships in the package (nothing is fetched).

The full IBAN is personal data: it is in no log, no `repr` and no error.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schwifty import IBAN
from schwifty import exceptions as schwifty_errors

from bot.domain.errors import IbanProblem, InvalidIban
from bot.domain.parsing import iban_candidates

#: Characters shown at the start (country, check digits) and at the end.
SHOWN_AT_START = 4
SHOWN_AT_END = 4

# schwifty's refusals, most specific first (some are subclasses of others)
_PROBLEMS: tuple[tuple[type[Exception], IbanProblem], ...] = (
    (schwifty_errors.InvalidCountryCode, IbanProblem.UNKNOWN_COUNTRY),
    (schwifty_errors.InvalidLength, IbanProblem.LENGTH),
    (schwifty_errors.InvalidChecksumDigits, IbanProblem.CHECKSUM),
    (schwifty_errors.InvalidBankCode, IbanProblem.BANK_CODE),
    (schwifty_errors.InvalidBranchCode, IbanProblem.BANK_CODE),
    (schwifty_errors.InvalidBBANChecksum, IbanProblem.ACCOUNT_NUMBER),
    (schwifty_errors.InvalidAccountCode, IbanProblem.ACCOUNT_NUMBER),
    (schwifty_errors.InvalidStructure, IbanProblem.FORMAT),
)


@dataclass(frozen=True)
class BankAccount:
    """A checked IBAN with what its bank code tells."""

    iban: str = field(repr=False)  # upper case, no spaces
    country: str  # ISO 3166 code, "DE"
    bank_code: str
    bic: str | None
    bank_name: str | None

    @property
    def masked(self) -> str:
        """The IBAN to read back: "DE89 **** **** **** **30 00"."""
        return mask_iban(self.iban)

    def __repr__(self) -> str:
        return (
            f"BankAccount(iban={self.masked!r}, country={self.country!r}, "
            f"bank_code={self.bank_code!r}, bic={self.bic!r}, bank_name={self.bank_name!r})"
        )


def mask_iban(iban: str) -> str:
    """Country, check digits and the last four shown, in groups of four."""
    hidden = len(iban) - SHOWN_AT_START - SHOWN_AT_END
    shown = iban[:SHOWN_AT_START] + "*" * max(0, hidden) + iban[-SHOWN_AT_END:]
    return " ".join(shown[i : i + 4] for i in range(0, len(shown), 4))


def read_iban(text: str) -> BankAccount:
    """The IBAN in what a customer typed or said, checked; `InvalidIban` says why not.

    With several IBAN-like strings, the first usable one counts; when none is
    usable, the first one's problem is the answer.
    """
    first_problem: IbanProblem | None = None
    for candidate in iban_candidates(text):
        try:
            return check_iban(candidate)
        except InvalidIban as refusal:
            first_problem = first_problem or refusal.problem
    raise InvalidIban(first_problem or IbanProblem.NOT_FOUND)


def check_iban(iban: str) -> BankAccount:
    """`iban` (upper case, no spaces) checked; raises `InvalidIban`."""
    try:
        checked = IBAN(iban, validate_bban=True)
    except schwifty_errors.SchwiftyException as error:
        raise InvalidIban(_problem(error)) from None
    if not checked.in_sepa_zone:
        raise InvalidIban(IbanProblem.NOT_SEPA)
    bank = checked.bank
    if checked.country_code == "DE" and bank is None:
        raise InvalidIban(IbanProblem.BANK_CODE)
    return BankAccount(
        iban=checked.compact,
        country=checked.country_code,
        bank_code=checked.bank_code,
        bic=str(checked.bic) if checked.bic else None,
        bank_name=checked.bank_name,
    )


def _problem(error: Exception) -> IbanProblem:
    for kind, problem in _PROBLEMS:
        if isinstance(error, kind):
            return problem
    return IbanProblem.FORMAT
