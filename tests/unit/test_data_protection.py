"""The pure rules of data protection: what is masked, when records expire, when the job runs."""

from __future__ import annotations

import datetime as dt
import hashlib
from zoneinfo import ZoneInfo

import pytest

from bot.domain.privacy import MASKED_DATE, is_pseudonym, pseudonym, pseudonymous_key, redact
from bot.domain.services.retention import account_changes_expire_before, blank_identity
from bot.infra.settings import Settings, SettingsError
from bot.ops.cli import next_run

TODAY = dt.date(2026, 12, 5)


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("10000011 45130 05.10.1940", f"******11 45130 {MASKED_DATE}"),
        (
            "Kundennummer 1000 0011, geboren 5. Oktober 1940",
            f"Kundennummer ******11, geboren {MASKED_DATE}",
        ),
        ("doğum tarihim 5 Ekim 1940", f"doğum tarihim {MASKED_DATE}"),
        ("geb. 1940-10-05", f"geb. {MASKED_DATE}"),
        ("IBAN DE89 3704 0044 0532 0130 00 bitte", "IBAN ******************3000 bitte"),
        ("de89370400440532013000", "******************3000"),
        # said on the phone letter by letter, or in Turkish with a word after it
        ("D E 89 3704 0044 0532 0130 00", "******************3000"),
        ("ibanım TR33 0006 1005 1978 6457 8413 26 tamam", "ibanım " + "*" * 22 + "1326 tamam"),
        # what an agent needs stays: amounts, postcodes, recent dates, bill numbers
        ("ab 01.03.2027 bitte 85,50 €", "ab 01.03.2027 bitte 85,50 €"),
        (
            "Rechnung R-2026-000017 vom 15.01.2026, PLZ 44137",
            "Rechnung R-2026-000017 vom 15.01.2026, PLZ 44137",
        ),
    ],
)
def test_redact_masks_identity_values_only(typed: str, kept: str) -> None:
    assert redact(typed, TODAY) == kept
    assert redact(kept, TODAY) == kept  # masking twice changes nothing


def test_pseudonyms_are_stable_recognisable_and_keyed() -> None:
    key = b"a-pseudonym-key-0123456789abcdef"
    assert pseudonym("rest-abc", key) == pseudonym("rest-abc", key) != pseudonym("rest-abd", key)
    assert is_pseudonym(pseudonym("my.name@example.org", key))
    assert not is_pseudonym("p-not-one") and not is_pseudonym("10000011")
    # Whoever holds the records but not the key cannot try candidates for a conversation id.
    plain = "p-" + hashlib.sha256(b"my.name@example.org").hexdigest()[:20]
    assert pseudonym("my.name@example.org", key) != plain
    assert pseudonym("rest-abc", key) != pseudonym("rest-abc", b"another-key-0123456789abcdef")


def test_pseudonymous_keys_are_stable_under_one_key_and_nothing_without_it() -> None:
    key, other = b"a-pseudonym-key-0123456789abcdef", b"another-key-0123456789abcdef"
    stored = pseudonymous_key("customer", "10000002", key)
    assert stored == pseudonymous_key("customer", "10000002", key)
    assert stored.startswith("customer:") and "10000002" not in stored
    assert stored != pseudonymous_key("customer", "10000002", other)
    assert stored.partition(":")[2] != pseudonymous_key("source", "10000002", key).partition(":")[2]
    with pytest.raises(ValueError):
        pseudonymous_key("customer", "10000002", b"")


def test_account_changes_expire_a_full_period_after_their_years_end() -> None:
    now = dt.datetime(2026, 3, 1, 12)
    cutoff = account_changes_expire_before(now, 10)
    assert cutoff == dt.datetime(2016, 1, 1)
    # made on 31 December 2015: its ten years ended with 2025
    assert dt.datetime(2015, 12, 31, 23) < cutoff
    # made on 1 January 2016: kept until the end of 2026
    assert not dt.datetime(2016, 1, 1) < cutoff


def test_blanking_a_stored_event() -> None:
    slot = {"event": "slot", "name": "birth_date", "value": "1940-10-05", "timestamp": 1.0}
    assert blank_identity(slot) == {**slot, "value": None}
    assert blank_identity({**slot, "value": None}) is None
    assert blank_identity({"event": "slot", "name": "language", "value": "de"}) is None
    user = {
        "event": "user",
        "text": "10000011 45130 05.10.1940",
        "parse_data": {
            "text": "10000011 45130 05.10.1940",
            "entities": [{"entity": "customer_number", "value": "10000011"}],
        },
    }
    blanked = blank_identity(user)
    assert blanked is not None and "1940" not in str(blanked) and "10000011" not in str(blanked)
    assert blank_identity(blanked) is None
    assert (
        blank_identity({"event": "user", "text": "Hallo", "parse_data": {"text": "Hallo"}}) is None
    )


def test_the_daily_job_runs_at_its_time() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    at = dt.time(3, 30)
    before = dt.datetime(2026, 3, 28, 1, 0, tzinfo=berlin)
    assert next_run(before, at) == dt.datetime(2026, 3, 28, 3, 30, tzinfo=berlin)
    after = dt.datetime(2026, 3, 28, 3, 30, tzinfo=berlin)
    assert next_run(after, at) == dt.datetime(2026, 3, 29, 3, 30, tzinfo=berlin)


def test_retention_settings_refuse_what_cannot_work() -> None:
    assert Settings().retention_conversation_days == 90
    assert Settings().retention_account_change_years == 10
    with pytest.raises(SettingsError, match="RETENTION_CONVERSATION_DAYS"):
        Settings(retention_conversation_days=0)
    with pytest.raises(SettingsError, match="RETENTION_ACCOUNT_CHANGE_YEARS"):
        Settings(retention_account_change_years=3)
