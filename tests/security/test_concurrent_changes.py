"""Two changes of one contract at the same moment (issue 12, finding 5).

Before: `apply_change` read the contract without a lock, so two
conversations changing it at once both recorded the same old amount, and
the reduction rule was checked against a stale value. Now PostgreSQL locks
the row, and on both databases a change lands only if the amount it was
checked against is still the contract's.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.domain.errors import ChangedMeanwhile
from bot.domain.models import AdvancePaymentChange, Contract
from bot.domain.services import advance_payments as ap
from bot.infra.db import get_engine, session_scope

ROESSLER, POWER = "10000024", "30000036"  # electricity, 91,00 € (no other test changes it)


def race(url: str, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Both changes read the contract before either writes (where the database lets them)."""
    barrier = threading.Barrier(2, timeout=3)
    checked = ap.preview_change

    def check_then_wait(*args: object, **kwargs: object) -> object:
        preview = checked(*args, **kwargs)
        # PostgreSQL holds the second change at its row lock: the wait breaks off.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()
        return preview

    monkeypatch.setattr(ap, "preview_change", check_then_wait)

    def change(amount: str) -> object:
        try:
            with session_scope(url) as session:
                return ap.apply_change(
                    session,
                    customer_number=ROESSLER,
                    contract_number=POWER,
                    new_amount=Decimal(amount),
                    request_id=f"race-{amount}-{url[-8:]}",
                    channel="rest",
                    conversation_id=f"race-{amount}",
                    today=dt.date.today(),
                )
        except ChangedMeanwhile:
            return "changed meanwhile"

    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(change, ["95.00", "105.00"]))


def assert_changes_follow_each_other(url: str) -> None:
    with session_scope(url) as session:
        contract = session.scalar(select(Contract).where(Contract.contract_number == POWER))
        rows = session.scalars(
            select(AdvancePaymentChange)
            .where(AdvancePaymentChange.contract_id == contract.id)
            .order_by(AdvancePaymentChange.id)
        ).all()
        amount = Decimal("91.00")
        for row in rows:
            assert row.old_amount == amount, "a change was checked against a stale amount"
            amount = row.new_amount
        assert contract.advance_amount == amount
        assert rows, "at least one change landed"


def test_simultaneous_changes_on_sqlite(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    outcomes = race(database_url, monkeypatch)
    assert "changed meanwhile" in outcomes  # SQLite: the later one is refused
    assert_changes_follow_each_other(database_url)


def test_simultaneous_changes_on_postgresql(
    postgres_urls: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data, _ = postgres_urls
    race(data, monkeypatch)
    assert_changes_follow_each_other(data)
    get_engine(data).dispose()
