"""Defaults that would leave a production system open (issue 12, finding 10).

Before: production accepted the public development Twilio token, no public
URL (so every real Twilio request failed its signature) and `change-me`
database passwords; development mode, whose tokens are public, listened
wherever it was told without a word; the image started in development mode;
and `make run-prod` in production mode loaded the demo customers and then
stopped at the demo agents. Production now also refuses the public
development PSEUDONYM_KEY and keys shorter than 32 characters.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.domain.models import Agent, Customer
from bot.infra.db import session_scope
from bot.infra.settings import (
    DEV_PSEUDONYM_KEY,
    DEV_TWILIO_TOKEN,
    ROOT,
    Settings,
    SettingsError,
)

PRODUCTION = {
    "app_env": "production",
    "rasa_auth_token": "a-real-secret-0123456789",
    "pseudonym_key": "a-real-pseudonym-key-0123456789abcdef",
    "twilio_auth_token": "a-real-twilio-token-0123",
    "public_base_url": "https://hotline.stadtwerk.example",
    "database_url": "postgresql://stadtwerk:s3cret-pw@db:5432/stadtwerk",
    "tracker_store_url": "postgresql://stadtwerk:s3cret-pw@db:5432/stadtwerk_rasa",
}


def test_a_complete_production_configuration_starts() -> None:
    assert Settings(**PRODUCTION).is_production


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("twilio_auth_token", DEV_TWILIO_TOKEN),
        ("public_base_url", ""),
        ("public_base_url", "http://hotline.stadtwerk.example"),
        ("database_url", "postgresql://stadtwerk:change-me@db:5432/stadtwerk"),
        ("tracker_store_url", "postgresql://stadtwerk:change-me@db:5432/rasa"),
        ("redis_url", "redis://:change-me@redis:6379/0"),
        ("pseudonym_key", ""),  # unset: the public development key
        ("pseudonym_key", DEV_PSEUDONYM_KEY),
        ("pseudonym_key", "change-me"),
        ("pseudonym_key", "only-31-characters-long-0123456"),
    ],
)
def test_production_refuses_public_or_placeholder_values(field: str, value: str) -> None:
    with pytest.raises(SettingsError):
        Settings(**{**PRODUCTION, field: value})


def test_a_refused_pseudonym_key_is_named_not_shown() -> None:
    short = "only-31-characters-long-0123456"
    with pytest.raises(SettingsError, match="PSEUDONYM_KEY") as refused:
        Settings(**{**PRODUCTION, "pseudonym_key": short})
    assert short not in str(refused.value)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::"])
def test_development_beyond_this_machine_says_its_tokens_are_public(host: str) -> None:
    with pytest.warns(UserWarning, match="public development tokens"):
        Settings(bind_host=host)


def test_the_image_is_production_unless_told_otherwise() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^ENV APP_ENV=production\b", dockerfile, re.MULTILINE)


def test_setup_in_production_loads_no_demo_data(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'stadtwerk.db'}"
    environment = {
        **os.environ,
        "APP_ENV": "production",
        "RASA_AUTH_TOKEN": PRODUCTION["rasa_auth_token"],
        "PSEUDONYM_KEY": PRODUCTION["pseudonym_key"],
        "TWILIO_AUTH_TOKEN": PRODUCTION["twilio_auth_token"],
        "PUBLIC_BASE_URL": PRODUCTION["public_base_url"],
        "DATABASE_URL": database,
        "TRACKER_STORE_URL": f"sqlite:///{tmp_path / 'rasa.db'}",
    }
    run = subprocess.run(
        [str(ROOT / "scripts" / "setup.sh")],
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    with session_scope(database) as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 0
        assert session.scalar(select(func.count()).select_from(Agent)) == 0
