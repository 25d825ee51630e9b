"""Bank details and SEPA direct debit: a new account to debit, or paying by transfer.

A customer who pays by direct debit has one active SEPA mandate: their
account (IBAN), its holder, and their permission for the utility (creditor
id) to debit it. A new account is a new mandate: the IBAN is checked as a
bank would (`bot/domain/iban.py`), the mandate gets a reference the customer
keeps, and the mandate it replaces is revoked. A change to paying by
transfer revokes the active mandate. Either change takes effect from the
next advance payment due at least five days ahead (as a changed advance
payment does), is stored exactly once per request id, and leaves an audit
entry that names the records, never the account.

The full IBAN goes into the mandate and nowhere else: what this module
returns carries it masked (`DE89 **** **** **** **30 00`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.domain.errors import (
    ChangedMeanwhile,
    InvalidAccountHolder,
    NotFound,
    NothingToRevoke,
    UnchangedBankAccount,
)
from bot.domain.iban import BankAccount, check_iban, mask_iban, read_iban
from bot.domain.models import AuditEntry, Contract, Customer, SepaMandate
from bot.domain.parsing import iban_candidates
from bot.domain.references import new_reference
from bot.domain.services.advance_payments import LEAD_DAYS, effective_date
from bot.domain.text import clean_message, fold

#: The dialogue's slots that hold a full IBAN while it asks (actions/bank_details.py):
#: cleared when the request ends, blanked by retention in conversations kept longer.
VALUES = ("bd_iban",)
#: A SEPA account holder's name has at most 70 characters.
HOLDER_MAX_CHARS = 70
#: What a German IBAN is after its "DE": 20 digits (the phone's keypad gives only these).
GERMAN_DIGITS = 20
MANDATE_CREATED = "sepa_mandate_created"
SWITCHED_TO_TRANSFER = "payment_method_transfer"
DIRECT_DEBIT, TRANSFER = "direct_debit", "transfer"

# Asking to pay by transfer, in folded text (bot/domain/text.py: no umlauts or
# Turkish letters): transfer itself, or the end of the direct debit.
_DEBIT_WORDS = r"(?:lastschrift|einzug|bankeinzug|abbuchung|sepa|mandat)"
_TRANSFER_WISH = re.compile(
    r"\w*ue?berweis\w*|\bhavale\w*|\beft\b"
    rf"|\b{_DEBIT_WORDS}\w*\s+(?:\w+\s+){{0,2}}?(?:widerruf|kundig|beend|stopp|loschen)\w*"
    rf"|\b(?:widerruf|kundig|beend|stopp)\w*\s+(?:\w+\s+){{0,2}}?{_DEBIT_WORDS}\w*"
    rf"|\bkein\w*\s+(?:\w+\s+)?{_DEBIT_WORDS}\w*"
    r"|\bnicht\s+mehr\s+(?:\w+\s+)?(?:abbuch|abgebucht|einzieh|eingezogen|abzieh)\w*"
    r"|\b(?:selbst|selber)\s+(?:\w+\s+)?(?:zahlen|bezahlen|uberweis)\w*"
    r"|\b(?:otomatik\s+)?(?:lastschrift|odeme|talimat|cekim|sepa)\S*\s+(?:\w+\s+){0,2}?"
    r"(?:iptal|durdur|kaldir|istemiyorum|bitir)\w*"
    r"|\bcekilmesin\b|\bkendim\s+(?:\w+\s+)?(?:odeyecegim|odemek|yatir|ode)\w*"
)
# Asking for a new account to debit.
_DEBIT_WISH = re.compile(
    r"lastschrift|abbuch|einzug|\biban|konto|bankverbindung|\bbank|mandat|\bsepa"
    r"|\bhesap\s+(?:numara|bilgi|degis)|\byeni\s+hesab?|banka|otomatik|talimat"
)

# "Kontoinhaberin ist ...", "hesap sahibi: ..." before the name itself
_HOLDER_LEAD = re.compile(
    r"^(?:(?:der|die)\s+)?(?:konto)?inhaber(?:in)?(?:\s+ist|\s*:)?\s+"
    r"|^(?:das\s+)?konto\s+l(?:ä|ae|a)uft\s+auf\s+(?:den\s+namen\s+)?"
    r"|^hesap\s+sahibi(?:\s*:|\s+de)?\s+",
    re.IGNORECASE,
)
_MARKUP = re.compile(r"<[^>]*>")
# what a name may hold besides letters and spaces
_NAME_PUNCTUATION = ".,'’&/-"
# Words of greetings, thanks and goodbyes, which no name is made of (folded).
_NOT_IN_NAMES = frozenset(
    fold(word)
    for word in [
        "hallo",
        "hi",
        "hey",
        "guten",
        "gute",
        "tag",
        "morgen",
        "abend",
        "nacht",
        "danke",
        "dank",
        "vielen",
        "besten",
        "tschüss",
        "tschüs",
        "wiedersehen",
        "wiederhören",
        "bye",
        "servus",
        "moin",
        "merhaba",
        "selam",
        "günaydın",
        "teşekkür",
        "teşekkürler",
        "sağol",
        "sağolun",
        "sağ",
        "olun",
        "iyi",
        "günler",
        "akşamlar",
        "hoşça",
        "kal",
        "kalın",
        "görüşürüz",
    ]
)
_CREDITOR_ID = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{3}[A-Z0-9]{1,28}")


@dataclass(frozen=True)
class MandateView:
    """A mandate as it may be shown: the IBAN masked."""

    reference: str
    bank_name: str | None
    masked_iban: str
    account_holder: str
    creditor_id: str
    signed_on: dt.date


@dataclass(frozen=True)
class PaymentSetup:
    """How a customer pays now, and from when a change would apply."""

    full_name: str
    payment_method: str  # direct_debit | transfer
    mandate: MandateView | None  # the active mandate
    applies_from: dt.date


@dataclass(frozen=True)
class MandateGiven:
    mandate: MandateView
    revoked: MandateView | None  # the mandate it replaced
    applies_from: dt.date
    already_applied: bool  # a repeated request id: nothing new was stored


@dataclass(frozen=True)
class TransferChosen:
    revoked: MandateView
    applies_from: dt.date
    already_applied: bool


# --- values from what the customer said ------------------------------------------------


def with_country(text: str) -> str:
    """`text`, read as a German IBAN when it is only the 20 digits after "DE".

    The phone's keypad has no letters: 20 keyed digits are "DE" and those
    digits. Anything else is left as it is.
    """
    digits = re.sub(r"\s", "", text)
    if len(digits) == GERMAN_DIGITS and digits.isdigit():
        return "DE" + digits
    return text


def payment_wish(text: str) -> str | None:
    """What the customer asks for in `text`: `transfer`, `direct_debit`, or None when unclear.

    "lieber überweisen", "keine Lastschrift mehr", "havale ile" ask for
    transfer; "neue IBAN", "Lastschrift einrichten", "yeni banka hesabı" for
    a new account to debit. A message that asks for both ("Lastschrift statt
    Überweisung") is unclear: the customer is asked.
    """
    folded = fold(text)
    rest = _TRANSFER_WISH.sub(" ", folded)
    transfer = rest != folded
    debit = bool(_DEBIT_WISH.search(rest)) or any(iban_candidates(text))
    if transfer and not debit:
        return TRANSFER
    if debit and not transfer:
        return DIRECT_DEBIT
    return None


def account_holder(text: str) -> str:
    """The account holder's name in what the customer typed; `InvalidAccountHolder` if none.

    Lead-ins ("Kontoinhaberin ist ..."), markup and characters no name has are dropped;
    a name with digits is refused (an IBAN or a number typed at the wrong
    question), and so is one longer than SEPA allows.
    """
    text = _HOLDER_LEAD.sub("", clean_message(_MARKUP.sub(" ", text)))
    kept = "".join(
        ch if ch.isalpha() or ch.isspace() or ch in _NAME_PUNCTUATION or ch.isdigit() else " "
        for ch in text
    )
    name = re.sub(r"\s+", " ", kept).strip(" " + _NAME_PUNCTUATION)
    if any(ch.isdigit() for ch in name):
        raise InvalidAccountHolder("digits")
    if sum(ch.isalpha() for ch in name) < 2:
        raise InvalidAccountHolder("empty")
    if len(name) > HOLDER_MAX_CHARS:
        raise InvalidAccountHolder("too_long")
    return name


def looks_like_a_name(text: str) -> bool:
    """Whether `text` reads as a person's name: two to six capitalised words.

    The intent classifier may take an unfamiliar name ("Sören Bäcker") for a
    goodbye or a greeting; asked for the account holder, such a message is
    taken as the name unless one of its words is a greeting or thanks.
    """
    words = [word.strip(".,!") for word in clean_message(text).split()]
    if not 2 <= len(words) <= 6 or "?" in text:
        return False
    if any(fold(word) in _NOT_IN_NAMES for word in words):
        return False
    return all(
        word and word[0].isupper() and all(ch.isalpha() or ch in "-'’." for ch in word)
        for word in words
    )


def is_creditor_id(value: str) -> bool:
    """Whether `value` is a well-formed SEPA creditor identifier (Gläubiger-ID).

    Country, two check digits, three characters of business code (not
    checked) and the national identifier; the check digits are ISO 7064
    MOD 97-10 over the national identifier and the country.
    """
    if not _CREDITOR_ID.fullmatch(value):
        return False
    national = value[7:] + value[:2] + "00"
    number = int("".join(str(int(ch, 36)) for ch in national))
    return 98 - number % 97 == int(value[2:4])


# --- reading the customer's setup --------------------------------------------------------


def _customer(session: Session, customer_number: str, *, for_update: bool = False) -> Customer:
    query = select(Customer).where(Customer.customer_number == customer_number)
    if for_update:  # PostgreSQL: one change of a customer's payment at a time
        query = query.with_for_update()
    customer = session.scalar(query)
    if customer is None:
        raise NotFound(customer_number)
    return customer


def _active_mandate(session: Session, customer: Customer) -> SepaMandate | None:
    return session.scalars(
        select(SepaMandate)
        .where(SepaMandate.customer_id == customer.id, SepaMandate.status == "active")
        .order_by(SepaMandate.signed_on.desc(), SepaMandate.id.desc())
    ).first()


def _view(mandate: SepaMandate) -> MandateView:
    return MandateView(
        reference=mandate.mandate_reference,
        bank_name=mandate.bank_name,
        masked_iban=mask_iban(mandate.iban),
        account_holder=mandate.account_holder,
        creditor_id=mandate.creditor_id,
        signed_on=mandate.signed_on,
    )


def applies_from(session: Session, customer: Customer, today: dt.date) -> dt.date:
    """The first advance payment due at least LEAD_DAYS ahead, over the customer's contracts."""
    due_days = session.scalars(
        select(Contract.advance_due_day).where(Contract.customer_id == customer.id)
    ).all()
    if not due_days:
        return today + dt.timedelta(days=LEAD_DAYS)
    return min(effective_date(day, today) for day in due_days)


def payment_setup(session: Session, customer_number: str, today: dt.date) -> PaymentSetup:
    """How the customer pays now: the method and the active mandate (masked)."""
    customer = _customer(session, customer_number)
    mandate = _active_mandate(session, customer)
    return PaymentSetup(
        full_name=customer.full_name,
        payment_method=customer.payment_method,
        mandate=_view(mandate) if mandate is not None else None,
        applies_from=applies_from(session, customer, today),
    )


def new_account(session: Session, customer_number: str, text: str) -> BankAccount:
    """The IBAN in `text`, checked, as a new account to debit.

    Raises `InvalidIban` (with the reason) or `UnchangedBankAccount` when the
    active mandate already debits this account.
    """
    account = read_iban(with_country(text))
    mandate = _active_mandate(session, _customer(session, customer_number))
    if mandate is not None and mandate.iban == account.iban:
        raise UnchangedBankAccount()
    return account


# --- the changes -----------------------------------------------------------------------


def give_mandate(
    session: Session,
    *,
    customer_number: str,
    iban: str,
    holder: str,
    creditor_id: str,
    request_id: str,
    channel: str,
    conversation_id: str,
    today: dt.date,
) -> MandateGiven:
    """A new SEPA mandate for `iban`, signed today; the active one revoked.

    Once per request id: a repeated request changes nothing and returns what
    the first one stored. Raises `InvalidIban`, `InvalidAccountHolder`,
    `UnchangedBankAccount`, or `ChangedMeanwhile` when another change of the
    customer's mandate came first.
    """
    existing = session.scalar(select(SepaMandate).where(SepaMandate.request_id == request_id))
    if existing is not None:
        return _given(session, existing, today)
    customer = _customer(session, customer_number, for_update=True)
    account = check_iban(iban)
    name = account_holder(holder)
    previous = _active_mandate(session, customer)
    if previous is not None and previous.iban == account.iban:
        raise UnchangedBankAccount()
    mandate = SepaMandate(
        customer_id=customer.id,
        mandate_reference=_reference(session),
        iban=account.iban,
        bic=account.bic,
        bank_name=account.bank_name,
        account_holder=name,
        creditor_id=creditor_id,
        signed_on=today,
        status="active",
        source="assistant",
        channel=channel,
        conversation_id=conversation_id,
        request_id=request_id,
    )
    try:
        with session.begin_nested():
            if previous is not None:
                _revoke(session, previous, today)
            session.add(mandate)
            customer.payment_method = "direct_debit"
            session.flush()
            _audit(
                session,
                MANDATE_CREATED,
                request_id,
                channel,
                sepa_mandate=mandate.id,
                revoked_mandate=previous.id if previous is not None else None,
            )
    except IntegrityError:
        # The same confirmation delivered twice at once: the first one stored it.
        session.expire_all()
        existing = session.scalar(select(SepaMandate).where(SepaMandate.request_id == request_id))
        if existing is None:
            raise
        return _given(session, existing, today)
    return MandateGiven(
        mandate=_view(mandate),
        revoked=_view(previous) if previous is not None else None,
        applies_from=applies_from(session, customer, today),
        already_applied=False,
    )


def pay_by_transfer(
    session: Session,
    *,
    customer_number: str,
    request_id: str,
    channel: str,
    conversation_id: str,
    today: dt.date,
) -> TransferChosen:
    """Revoke the active mandate: the customer pays by transfer from now on.

    Once per request id. Raises `NothingToRevoke` when no mandate is active
    (the customer pays by transfer already).
    """
    customer = _customer(session, customer_number, for_update=True)
    done = _audit_of(session, SWITCHED_TO_TRANSFER, request_id)
    if done is not None:
        revoked = session.get(SepaMandate, done.detail.get("revoked_mandate"))
        return TransferChosen(_view(revoked), applies_from(session, customer, today), True)
    mandate = _active_mandate(session, customer)
    if mandate is None:
        raise NothingToRevoke()
    with session.begin_nested():
        _revoke(session, mandate, today)
        customer.payment_method = "transfer"
        session.flush()
        _audit(session, SWITCHED_TO_TRANSFER, request_id, channel, revoked_mandate=mandate.id)
    session.refresh(mandate)
    return TransferChosen(
        revoked=_view(mandate),
        applies_from=applies_from(session, customer, today),
        already_applied=False,
    )


def _revoke(session: Session, mandate: SepaMandate, today: dt.date) -> None:
    """Revoke `mandate` if it is still active (another change may have come first)."""
    revoked = session.execute(
        update(SepaMandate)
        .where(SepaMandate.id == mandate.id, SepaMandate.status == "active")
        .values(status="revoked", revoked_on=today)
        .execution_options(synchronize_session=False)
    )
    if revoked.rowcount != 1:
        raise ChangedMeanwhile(mandate.mandate_reference)


def _reference(session: Session) -> str:
    def taken(reference: str) -> bool:
        found = session.scalar(
            select(SepaMandate.id).where(SepaMandate.mandate_reference == reference)
        )
        return found is not None

    return new_reference("mandate", taken)


def _audit(session: Session, action: str, request_id: str, channel: str, **records: object) -> None:
    """The audit entry of a change: the records and the channel, never the account."""
    detail = {**records, "channel": channel, "request_id": request_id}
    session.add(AuditEntry(agent_id=None, action=action, case_id=None, detail=detail))
    session.flush()


def _audit_of(session: Session, action: str, request_id: str) -> AuditEntry | None:
    return session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == action,
            AuditEntry.detail["request_id"].as_string() == request_id,
        )
    ).first()


def _given(session: Session, mandate: SepaMandate, today: dt.date) -> MandateGiven:
    """What a repeated request for an already stored mandate answers."""
    entry = _audit_of(session, MANDATE_CREATED, mandate.request_id or "")
    revoked_id = entry.detail.get("revoked_mandate") if entry is not None else None
    revoked = session.get(SepaMandate, revoked_id) if revoked_id else None
    return MandateGiven(
        mandate=_view(mandate),
        revoked=_view(revoked) if revoked is not None else None,
        applies_from=applies_from(session, mandate.customer, today),
        already_applied=True,
    )
