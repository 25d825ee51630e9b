"""The domain files (domain/*.yml): one per capability, both languages, protocol payloads.

Rasa merges the directory into one domain; these checks keep the pieces
consistent so that a capability can be added as a file of its own.
"""

from __future__ import annotations

import warnings
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa.shared.core.domain import Domain

from bot.domain.responses import load_responses
from bot.infra.settings import DOMAIN_DIR
from bot.protocol import CUSTOM_KEYS, EXPECTS, Expects

FILES = sorted(DOMAIN_DIR.glob("*.yml"))


@cache
def document(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


@cache
def responses() -> dict[str, list[dict[str, Any]]]:
    return load_responses(DOMAIN_DIR)


def test_the_directory_holds_one_file_per_capability():
    names = {path.stem for path in FILES}
    assert {"identity", "billing", "advance_payment", "handoff", "small_talk"} <= names
    assert not (DOMAIN_DIR.parent / "domain.yml").exists(), "one domain: the directory"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_each_file_says_what_it_is_and_is_rasa_3_1(path):
    text = path.read_text(encoding="utf-8")
    assert text.startswith("#"), f"{path.name} starts with a comment saying what it holds"
    assert document(path).get("version") == "3.1"


def test_nothing_is_defined_twice():
    for key in ("intents", "entities", "slots", "forms", "actions", "responses"):
        names: Counter[str] = Counter()
        for path in FILES:
            section = document(path).get(key) or []
            if isinstance(section, dict):
                section = list(section)
            # an entry with properties ({faq: {is_retrieval_intent: true}}) names its key
            names.update(next(iter(item)) if isinstance(item, dict) else item for item in section)
        twice = [name for name, count in names.items() if count > 1]
        assert not twice, f"{key} defined in more than one file: {twice}"


def test_rasa_reads_the_directory_as_one_domain():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        domain = Domain.load(str(DOMAIN_DIR))
    assert set(responses()) == set(domain.responses)
    assert {"verified_customer", "language", "ap_amount"} <= {slot.name for slot in domain.slots}
    assert {"identity_form", "advance_payment_form"} <= set(domain.form_names)


@pytest.mark.parametrize("name", sorted(responses()))
def test_every_response_speaks_german_and_turkish(name):
    variations = responses()[name]
    conditions = [
        tuple((c.get("name"), c.get("value")) for c in v.get("condition") or []) for v in variations
    ]
    assert () in conditions, f"{name} has no German (unconditioned) variation"
    assert (("language", "tr"),) in conditions, f"{name} has no Turkish variation"


@pytest.mark.parametrize("name", sorted(responses()))
def test_payloads_and_hints_are_the_protocols(name):
    variations = responses()[name]
    for variation in variations:
        assert set(variation.get("custom") or {}) <= CUSTOM_KEYS, name
        hint = (variation.get("metadata") or {}).get(EXPECTS)
        assert hint is None or Expects.parse(hint) is not None, f"{name}: bad hint {hint}"
    # A question expects the same in every language and channel.
    hints = {str((v.get("metadata") or {}).get(EXPECTS)) for v in variations}
    assert len(hints) == 1, f"{name}: variations expect different input: {hints}"


def test_the_identity_questions_carry_their_hints():
    expected = {
        "utter_ask_customer_number": Expects("digits", 8),
        "utter_ask_postcode": Expects("digits", 5),
        "utter_ask_birth_date": Expects("date"),
        "utter_ask_ap_amount": Expects("amount"),
        "utter_ask_ap_confirmed": Expects("yes_no"),
        "utter_ask_ap_contract": Expects("choice"),
    }
    for name, hint in expected.items():
        assert Expects.parse(responses()[name][0]["metadata"][EXPECTS]) == hint, name
