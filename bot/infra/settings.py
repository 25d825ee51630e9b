"""One settings object, declared once and read from environment variables.

Each field's environment variable is its name in capitals (`database_url` is
`DATABASE_URL`); `.env.example` documents each one. Every process (Rasa, the
action server, the web app, the CLI) reads the same variables and validates
them once when it starts: a value that cannot work (a port that is not a
number, hotline hours that do not parse, placeholder secrets in production)
stops the process with a message that names the variable.

Development mode works with no variables at all; production mode refuses
placeholder secrets.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseSettings, Field, ValidationError, root_validator, validator

from bot.domain.errors import InvalidIban
from bot.domain.hotline import HotlineHours
from bot.domain.iban import read_iban
from bot.domain.services import bank_details
from bot.infra.network import trusted_set

ROOT = Path(__file__).resolve().parents[2]
# The domain files (one per capability) Rasa trains from; the web app reads their texts.
DOMAIN_DIR = ROOT / "domain"
PLACEHOLDER_SECRETS = {"", "change-me", "dev-token-change-me"}
DEV_RASA_TOKEN = "dev-token-change-me"
# Signs the local phone simulator's requests in development mode only.
DEV_TWILIO_TOKEN = "dev-twilio-token"
# Keys the stored digests in development mode only (public, so production refuses it).
DEV_PSEUDONYM_KEY = "dev-pseudonym-key-public-not-for-production"
PSEUDONYM_KEY_MIN_LENGTH = 32


class SettingsError(RuntimeError):
    """The environment does not describe a configuration we can start with."""


def _default_sqlite(name: str) -> str:
    return f"sqlite:///{ROOT / 'var' / name}"


class Settings(BaseSettings):
    """Configuration shared by all processes (field name = environment variable)."""

    # development (default) or production
    app_env: Literal["development", "production"] = "development"
    database_url: str = Field(default_factory=lambda: _default_sqlite("stadtwerk.db"))
    tracker_store_url: str = Field(default_factory=lambda: _default_sqlite("rasa_tracker.db"))
    redis_url: str = ""
    # the interface every process listens on (0.0.0.0 in containers)
    bind_host: str = "127.0.0.1"
    # where the processes reach each other; empty: this machine's ports
    rasa_url: str = ""
    action_server_url: str = ""
    # Where Rasa runs the custom actions: `in-process` in its own event loop
    # (no HTTP, no JSON; bot/rasa_runtime/in_process_actions.py) or `server` on
    # the action server (the way to run actions on other machines). Empty: in
    # process, unless ACTION_SERVER_URL names an action server.
    actions: Literal["", "in-process", "server"] = ""
    rasa_port: int = 5005
    # More than one: Rasa instances on the ports after RASA_PORT, the edge's
    # internal server on it (EDGE=nginx).
    rasa_instances: int = 1
    # The edge proxy (bot/ops/edge.py): `nginx` (make run-prod) puts nginx in
    # front of every process, with TLS; `none` (make run): clients reach the
    # processes' own ports.
    edge: Literal["none", "nginx"] = "none"
    # the name in the edge's certificate; empty: PUBLIC_BASE_URL's host, or localhost
    edge_server_name: str = ""
    edge_bind_host: str = "0.0.0.0"
    edge_https_port: int = 8443
    edge_http_port: int = 8080
    # Certificate chain and key (PEM files). Empty: a self-signed certificate
    # for EDGE_SERVER_NAME made in EDGE_DIR (development only).
    edge_tls_cert: str = ""
    edge_tls_key: str = ""
    # where the launcher's nginx keeps its configuration, pid, temporary files
    edge_dir: str = Field(default_factory=lambda: str(ROOT / "var" / "edge"))
    # requests with a larger body get 413 from the edge (receipts: RECEIPT_MAX_BYTES)
    edge_max_body_bytes: int = 1_048_576
    # Where the edge finds the processes (host:port, comma-separated for the Rasa
    # instances) when they run elsewhere (containers); empty: this machine's ports.
    edge_rasa_upstreams: str = ""
    edge_web_upstream: str = ""
    action_port: int = 5055
    app_port: int = 8000
    rasa_auth_token: str = DEV_RASA_TOKEN
    # The secret of the keyed digests (HMAC-SHA256, bot/domain/privacy.py) that
    # stand for customer numbers, client addresses and phone numbers where only
    # their sameness is stored: identity-check counters, cases per source, rate
    # limits in Redis. Production needs a real one of 32+ characters.
    pseudonym_key: str = DEV_PSEUDONYM_KEY
    utility_name: str = "Stadtwerke Rheinruhr"
    # The utility's SEPA creditor identifier (Gläubiger-Identifikationsnummer,
    # from the Bundesbank), named in every direct-debit mandate customers give.
    # Default: the Bundesbank's documented example; production needs its own.
    sepa_creditor_id: str = "DE98ZZZ09999999999"
    # The account customers who pay by transfer pay into (told when they switch).
    stadtwerk_iban: str = "DE21440501990001000012"
    stadtwerk_bank_name: str = "Sparkasse Dortmund"
    handoff_wait_minutes: int = 5
    # a verified customer who is silent this long must prove who they are again
    verification_idle_minutes: int = 15
    # a web chat idle this long is over: its browser token opens nothing any more
    chat_idle_hours: int = 24
    # Retention (`python -m bot purge`, docs/data-protection.md). Conversations:
    # Rasa's tracker events, web chats and their messages, phone calls.
    retention_conversation_days: int = 90
    # the phone's stored answers to Twilio's (re-sent) requests
    retention_phone_turn_days: int = 30
    # closed cases lose transcript, note and customer number (their figures stay)
    retention_case_days: int = 90
    # what agents did (logins, claims, closings) and failed identity checks
    retention_audit_days: int = 365
    # advance-payment changes, counted from the end of the year they were made
    # (AO §147, HGB §257: booking records)
    retention_account_change_years: int = 10
    # typed birth dates, IBANs and customer numbers are blanked in conversations idle this long
    redact_identity_after_hours: int = 24
    hotline_hours: HotlineHours = HotlineHours()
    timezone: str = "Europe/Berlin"
    # Phone channel (Twilio Voice)
    twilio_auth_token: str = ""
    public_base_url: str = ""
    voice_transfer_number: str = ""
    voice_transfer_sip: str = ""
    voice_queue: str = ""
    voice_name_de: str = "Polly.Vicki-Neural"
    voice_name_tr: str = "Polly.Filiz"
    # text (readable) or json (one object per line, for log collectors)
    log_format: Literal["text", "json"] = "text"
    # proxies whose X-Forwarded-For names the client (bot/infra/network.py)
    trusted_proxies: str = "127.0.0.1,::1"
    # webhook messages per client address and minute (REST chat; the phone's Twilio)
    rest_messages_per_minute: int = 60
    voice_requests_per_minute: int = 1200
    # GET /metrics from anywhere but this machine and our proxies needs
    # `Authorization: Bearer <this>` (empty: nobody else may scrape)
    metrics_token: str = ""
    # handoff cases one source (client address, caller) may open: its cases of
    # the last hour and those still in the queue (bot/domain/services/handoff.py)
    handoff_cases_per_source_per_hour: int = 5
    # Console logins (bot/web/logins.py), failures per 5 minutes: per client
    # address and agent (and per browser the agent logged in with before), and
    # per agent from all other browsers together
    login_attempts_per_client: int = 5
    login_attempts_per_agent: int = 20
    # argon2 password checks at once (about 64 MiB each) and logins waiting for one
    login_checks: int = 2
    login_checks_waiting: int = 8
    # Faults wait this long at most (seconds): opening a database connection,
    # one statement (PostgreSQL; SQLite: waiting for its write lock), a free
    # pooled connection, one Redis command or connect.
    database_connect_timeout_seconds: int = 5
    database_statement_timeout_seconds: int = 30
    database_pool_timeout_seconds: int = 10
    redis_timeout_seconds: float = 2.0
    # Reconnection after a supply block (bot/domain/services/reconnection.py): the
    # supply is back this many working days (Mon-Fri) after the payment is confirmed
    reconnection_working_days: int = 1
    # a receipt a customer uploads in the web chat (JPEG, PNG or PDF) is at most this
    # large; larger request bodies are refused before they are read
    receipt_max_bytes: int = 5 * 1024 * 1024
    # The 24-hour emergency line (gas smell, dangerous faults), as customers should
    # write it down; the phone connects callers to it (bot/domain/emergency.py)
    emergency_number: str = "0800 7788 112"
    # Complaints are answered within this many working days (customers are told)
    complaint_answer_working_days: int = 5
    # Where appointments at the customer centre take place (customers are told)
    customer_centre_address: str = "Königstraße 12, 47051 Duisburg"

    class Config:
        frozen = True
        extra = "forbid"
        arbitrary_types_allowed = True

        @classmethod
        def parse_env_var(cls, field_name: str, raw_value: str) -> Any:
            # Pydantic reads structured fields as JSON; the hours are the operators' notation.
            return raw_value

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise SettingsError(_explain(error)) from None

    # --- validation (runs once, when the object is made) ------------------------------

    @validator("*", pre=True)
    def _blank_means_default(cls, value: Any, field: Any) -> Any:  # noqa: N805
        """`VAR=` in an environment file means: not set."""
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return field.get_default()
        return value

    @validator("log_format", pre=True)
    def _lower(cls, value: Any) -> Any:  # noqa: N805
        return value.lower() if isinstance(value, str) else value

    @validator("hotline_hours", pre=True)
    def _parse_hours(cls, value: Any) -> HotlineHours:  # noqa: N805
        return value if isinstance(value, HotlineHours) else HotlineHours.parse(str(value))

    @validator("timezone")
    def _known_zone(cls, value: str) -> str:  # noqa: N805
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}") from error
        return value

    @validator(
        "retention_conversation_days",
        "retention_phone_turn_days",
        "retention_case_days",
        "retention_audit_days",
        "redact_identity_after_hours",
        "login_attempts_per_client",
        "login_attempts_per_agent",
        "login_checks",
        "handoff_cases_per_source_per_hour",
        "receipt_max_bytes",
        "complaint_answer_working_days",
    )
    def _positive(cls, value: int) -> int:  # noqa: N805
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @validator("reconnection_working_days")
    def _working_days(cls, value: int) -> int:  # noqa: N805
        if not 0 <= value <= 30:
            raise ValueError("must be between 0 and 30")
        return value

    @validator("retention_account_change_years")
    def _legal_minimum(cls, value: int) -> int:  # noqa: N805
        if value < 6:
            raise ValueError("must be at least 6 (HGB §257: business letters)")
        return value

    @validator("sepa_creditor_id")
    def _creditor_id(cls, value: str) -> str:  # noqa: N805
        value = value.replace(" ", "").upper()
        if not bank_details.is_creditor_id(value):
            raise ValueError("is not a SEPA creditor identifier (e.g. DE98ZZZ09999999999)")
        return value

    @validator("stadtwerk_iban")
    def _our_iban(cls, value: str) -> str:  # noqa: N805
        try:
            return read_iban(value).iban
        except InvalidIban as refusal:
            raise ValueError(f"is not a usable IBAN ({refusal.problem.value})") from None

    @validator("emergency_number")
    def _emergency_number(cls, value: str) -> str:  # noqa: N805
        value = " ".join(value.split())
        if not re.fullmatch(r"\+?[0-9][0-9 /-]{4,24}", value):
            raise ValueError("is not a telephone number (e.g. 0800 7788 112 or +49 800 7788112)")
        return value

    @validator("trusted_proxies")
    def _proxies(cls, value: str) -> str:  # noqa: N805
        trusted_set(value)  # raises for what is not an address or network
        return value

    @root_validator(skip_on_failure=True)
    def _topology_and_secrets(cls, values: dict[str, Any]) -> dict[str, Any]:  # noqa: N805
        instances = values["rasa_instances"]
        if instances < 1:
            raise SettingsError("RASA_INSTANCES must be at least 1")
        if instances > 1 and not values["redis_url"]:
            raise SettingsError("several Rasa instances need REDIS_URL for the shared lock store")
        if instances > 1 and values["tracker_store_url"].startswith("sqlite"):
            raise SettingsError(
                "several Rasa instances need a shared TRACKER_STORE_URL (PostgreSQL), not SQLite"
            )
        if bool(values["edge_tls_cert"]) != bool(values["edge_tls_key"]):
            raise SettingsError("EDGE_TLS_CERT and EDGE_TLS_KEY go together: set both or neither")
        if values["app_env"] == "production":
            if values["edge"] == "nginx" and not values["edge_tls_cert"]:
                raise SettingsError(
                    "EDGE_TLS_CERT and EDGE_TLS_KEY must name the certificate in production "
                    "(deploy/README.md: certificates)"
                )
            if values["rasa_auth_token"] in PLACEHOLDER_SECRETS:
                raise SettingsError("RASA_AUTH_TOKEN must be set to a real secret in production")
            pseudonym_key = values["pseudonym_key"]
            if (
                pseudonym_key in PLACEHOLDER_SECRETS | {DEV_PSEUDONYM_KEY}
                or len(pseudonym_key) < PSEUDONYM_KEY_MIN_LENGTH
            ):
                raise SettingsError(
                    f"PSEUDONYM_KEY must be a real secret of at least {PSEUDONYM_KEY_MIN_LENGTH} "
                    "characters in production (e.g. openssl rand -hex 32)"
                )
            if values["twilio_auth_token"] in PLACEHOLDER_SECRETS | {DEV_TWILIO_TOKEN}:
                raise SettingsError("TWILIO_AUTH_TOKEN must be set to the real token in production")
            if values["metrics_token"] in PLACEHOLDER_SECRETS - {""}:
                raise SettingsError(
                    "METRICS_TOKEN is a placeholder: set a real secret or leave it empty"
                )
            if not values["public_base_url"].startswith("https://"):
                raise SettingsError(
                    "PUBLIC_BASE_URL must be the https URL Twilio calls in production "
                    "(its requests are signed over it)"
                )
            for name in ("database_url", "tracker_store_url", "redis_url"):
                if _placeholder_password(values[name]):
                    raise SettingsError(f"{name.upper()} has a placeholder password")
            if values["database_url"].startswith("sqlite"):
                warnings.warn("production mode is running on SQLite", stacklevel=2)
        elif not _this_machine(values["bind_host"]):
            # The development tokens are public; the image defaults to production.
            warnings.warn(
                f"development mode listens on {values['bind_host']} with public development "
                "tokens: anyone who reaches it can use them; set APP_ENV=production",
                stacklevel=2,
            )
        return values

    # --- derived values ---------------------------------------------------------------

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    @property
    def rasa_base_url(self) -> str:
        """Where clients reach Rasa: the only instance, or the edge in front of several."""
        return (self.rasa_url or f"http://127.0.0.1:{self.rasa_port}").rstrip("/")

    @property
    def actions_in_process(self) -> bool:
        """Rasa runs the custom actions itself; no action server is started."""
        if self.actions:
            return self.actions == "in-process"
        return not self.action_server_url

    @property
    def action_server_base_url(self) -> str:
        return (self.action_server_url or f"http://127.0.0.1:{self.action_port}").rstrip("/")

    @property
    def edge_upstreams(self) -> tuple[list[str], str]:
        """The Rasa instances and the web app behind the edge, as host:port."""
        rasa = [u.strip() for u in self.edge_rasa_upstreams.split(",") if u.strip()]
        return (
            rasa or [f"127.0.0.1:{port}" for port in self.rasa_instance_ports],
            self.edge_web_upstream or f"127.0.0.1:{self.app_port}",
        )

    @property
    def rasa_instance_ports(self) -> list[int]:
        """Where the Rasa instances listen: RASA_PORT itself for one without the
        edge, else the ports after it (the edge's internal server has RASA_PORT)."""
        if self.rasa_instances == 1 and self.edge == "none":
            return [self.rasa_port]
        return [self.rasa_port + number for number in range(1, self.rasa_instances + 1)]

    @property
    def voice_base_url(self) -> str:
        """The public URL Twilio calls (behind a proxy it differs from ours)."""
        return (self.public_base_url or self.rasa_base_url).rstrip("/")

    @property
    def voice_token(self) -> str:
        """Twilio's auth token; a fixed development token outside production."""
        if self.twilio_auth_token:
            return self.twilio_auth_token
        if self.is_production:
            raise SettingsError("TWILIO_AUTH_TOKEN must be set in production")
        return DEV_TWILIO_TOKEN

    @property
    def emergency_dial(self) -> str:
        """The emergency number as the phone dials it (E.164; a national number is German)."""
        digits = re.sub(r"[^0-9+]", "", self.emergency_number)
        if digits.startswith("+"):
            return digits
        if digits.startswith("00"):
            return f"+{digits[2:]}"
        return f"+49{digits.removeprefix('0')}"

    def now(self) -> dt.datetime:
        """The time in the utility's time zone."""
        return dt.datetime.now(ZoneInfo(self.timezone))

    def today(self) -> dt.date:
        """Today in the utility's time zone (due dates are local dates)."""
        return self.now().date()

    def replace(self, **changes: Any) -> Settings:
        """These settings with some fields changed, validated again."""
        return Settings(**{**self.dict(), **changes})

    def environment(self) -> dict[str, str]:
        """The environment variables that make a child process read these settings."""
        return {name.upper(): str(value) for name, value in self.dict().items()}


def _placeholder_password(url: str) -> bool:
    password = urlsplit(url).password if "://" in url else None
    return password is not None and password in PLACEHOLDER_SECRETS


def _this_machine(host: str) -> bool:
    return host in ("127.0.0.1", "::1", "localhost")


def _explain(error: ValidationError) -> str:
    """Pydantic's errors, with the environment variable each one is about."""
    lines = []
    for problem in error.errors():
        names = [str(part).upper() for part in problem["loc"] if part != "__root__"]
        lines.append(f"{'.'.join(names) or 'settings'}: {problem['msg']}")
    return "; ".join(lines)


def variables() -> tuple[str, ...]:
    """Every environment variable the settings read."""
    return tuple(name.upper() for name in Settings.__fields__)


def load_settings() -> Settings:
    """Settings from the current environment (validated now)."""
    return Settings()


@lru_cache(maxsize=4)
def _settings_for(environment: tuple[str | None, ...]) -> Settings:
    return load_settings()


def get_settings() -> Settings:
    """This process's settings, validated once per environment.

    A process's environment does not change, so this is one validation per
    process; tests that set variables get settings for what they set.
    """
    return _settings_for(tuple(os.environ.get(name) for name in variables()))
