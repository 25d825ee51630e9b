"""Identity check: customer number, postcode and birth date must belong together.

The answer is the same whichever value is wrong, and whether or not the
customer number exists, so the check cannot be used to probe for customers.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.errors import VerificationFailed
from bot.domain.models import Customer

MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class VerifiedCustomer:
    customer_number: str
    first_name: str
    last_name: str
    preferred_language: str


def verify(
    session: Session, customer_number: str, postcode: str, birth_date: dt.date
) -> VerifiedCustomer:
    """Return the customer if all three values match, else raise `VerificationFailed`."""
    customer = session.scalar(select(Customer).where(Customer.customer_number == customer_number))
    expected = (
        f"{customer.postcode}|{customer.birth_date.isoformat()}" if customer else "-----|----------"
    )
    given = f"{postcode}|{birth_date.isoformat()}"
    if not hmac.compare_digest(expected, given) or customer is None:
        raise VerificationFailed()
    return VerifiedCustomer(
        customer_number=customer.customer_number,
        first_name=customer.first_name,
        last_name=customer.last_name,
        preferred_language=customer.preferred_language,
    )


def customers_with_phone(session: Session, phone: str) -> list[str]:
    """Customer numbers registered with exactly this phone number."""
    return list(session.scalars(select(Customer.customer_number).where(Customer.phone == phone)))
