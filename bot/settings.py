"""One settings object, read from environment variables.

Every process (Rasa launcher, action server, web app, CLI) reads the same
variables; `.env.example` documents each one. Development mode works with no
variables at all; production mode refuses placeholder secrets.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER_SECRETS = {"", "change-me", "dev-token-change-me"}
DEV_RASA_TOKEN = "dev-token-change-me"
# Signs the local phone simulator's requests in development mode only.
DEV_TWILIO_TOKEN = "dev-twilio-token"


class SettingsError(RuntimeError):
    """The environment does not describe a configuration we can start with."""


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from exc


def _default_sqlite(name: str) -> str:
    return f"sqlite:///{ROOT / 'var' / name}"


@dataclass(frozen=True)
class Settings:
    """Configuration shared by all processes."""

    environment: str = "development"
    database_url: str = field(default_factory=lambda: _default_sqlite("stadtwerk.db"))
    tracker_store_url: str = field(default_factory=lambda: _default_sqlite("rasa_tracker.db"))
    redis_url: str = ""
    # the interface every process listens on (0.0.0.0 in containers)
    bind_host: str = "127.0.0.1"
    # where the processes reach each other; empty: this machine's ports
    rasa_address: str = ""
    action_server_address: str = ""
    balancer_upstreams: str = ""
    rasa_port: int = 5005
    # More than one: Rasa instances on the ports after RASA_PORT, a balancer on it.
    rasa_instances: int = 1
    action_port: int = 5055
    app_port: int = 8000
    rasa_auth_token: str = DEV_RASA_TOKEN
    utility_name: str = "Stadtwerke Rheinruhr"
    handoff_wait_minutes: int = 5
    hotline_hours: str = "Mo-Sa 08:00-20:00"
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
    log_format: str = "text"

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def rasa_url(self) -> str:
        """Where clients reach Rasa: the only instance, or the balancer in front of several."""
        return (self.rasa_address or f"http://127.0.0.1:{self.rasa_port}").rstrip("/")

    @property
    def action_server_url(self) -> str:
        return (self.action_server_address or f"http://127.0.0.1:{self.action_port}").rstrip("/")

    @property
    def upstreams(self) -> list[str]:
        """The Rasa instances behind the balancer."""
        if self.balancer_upstreams:
            return [u.strip().rstrip("/") for u in self.balancer_upstreams.split(",") if u.strip()]
        return [f"http://127.0.0.1:{port}" for port in self.rasa_instance_ports]

    @property
    def rasa_instance_ports(self) -> list[int]:
        if self.rasa_instances == 1:
            return [self.rasa_port]
        return [self.rasa_port + number for number in range(1, self.rasa_instances + 1)]

    @property
    def voice_base_url(self) -> str:
        """The public URL Twilio calls (behind a proxy it differs from ours)."""
        return (self.public_base_url or self.rasa_url).rstrip("/")

    @property
    def voice_token(self) -> str:
        """Twilio's auth token; a fixed development token outside production."""
        if self.twilio_auth_token:
            return self.twilio_auth_token
        if self.is_production:
            raise SettingsError("TWILIO_AUTH_TOKEN must be set in production")
        return DEV_TWILIO_TOKEN

    def check(self) -> None:
        """Refuse to run production with placeholder secrets; warn in development."""
        from bot.services.handoff import HotlineHours

        try:
            HotlineHours.parse(self.hotline_hours)
        except ValueError as exc:
            raise SettingsError(f"HOTLINE_HOURS: {exc}") from exc
        if self.rasa_instances < 1:
            raise SettingsError("RASA_INSTANCES must be at least 1")
        if self.rasa_instances > 1 and not self.redis_url:
            raise SettingsError("several Rasa instances need REDIS_URL for the shared lock store")
        if self.rasa_instances > 1 and self.tracker_store_url.startswith("sqlite"):
            raise SettingsError(
                "several Rasa instances need a shared TRACKER_STORE_URL (PostgreSQL), not SQLite"
            )
        if self.log_format not in ("text", "json"):
            raise SettingsError(f"LOG_FORMAT must be 'text' or 'json', got {self.log_format!r}")
        if self.is_production:
            if self.rasa_auth_token in PLACEHOLDER_SECRETS:
                raise SettingsError("RASA_AUTH_TOKEN must be set to a real secret in production")
            if self.twilio_auth_token in PLACEHOLDER_SECRETS:
                raise SettingsError("TWILIO_AUTH_TOKEN must be set to the real token in production")
            if self.database_url.startswith("sqlite"):
                warnings.warn("production mode is running on SQLite", stacklevel=2)
        elif self.environment != "development":
            raise SettingsError(
                f"APP_ENV must be 'development' or 'production', got {self.environment!r}"
            )


def load_settings() -> Settings:
    """Build settings from the current environment."""
    defaults = Settings()
    return Settings(
        environment=os.environ.get("APP_ENV", defaults.environment).strip(),
        database_url=os.environ.get("DATABASE_URL") or defaults.database_url,
        tracker_store_url=os.environ.get("TRACKER_STORE_URL") or defaults.tracker_store_url,
        redis_url=os.environ.get("REDIS_URL", "").strip(),
        bind_host=os.environ.get("BIND_HOST") or defaults.bind_host,
        rasa_address=os.environ.get("RASA_URL", "").strip(),
        action_server_address=os.environ.get("ACTION_SERVER_URL", "").strip(),
        balancer_upstreams=os.environ.get("BALANCER_UPSTREAMS", "").strip(),
        rasa_port=_int("RASA_PORT", defaults.rasa_port),
        rasa_instances=_int("RASA_INSTANCES", defaults.rasa_instances),
        action_port=_int("ACTION_PORT", defaults.action_port),
        app_port=_int("APP_PORT", defaults.app_port),
        rasa_auth_token=os.environ.get("RASA_AUTH_TOKEN") or defaults.rasa_auth_token,
        utility_name=os.environ.get("UTILITY_NAME") or defaults.utility_name,
        handoff_wait_minutes=_int("HANDOFF_WAIT_MINUTES", defaults.handoff_wait_minutes),
        hotline_hours=os.environ.get("HOTLINE_HOURS") or defaults.hotline_hours,
        timezone=os.environ.get("TIMEZONE") or defaults.timezone,
        twilio_auth_token=os.environ.get("TWILIO_AUTH_TOKEN", "").strip(),
        public_base_url=os.environ.get("PUBLIC_BASE_URL", "").strip(),
        voice_transfer_number=os.environ.get("VOICE_TRANSFER_NUMBER", "").strip(),
        voice_transfer_sip=os.environ.get("VOICE_TRANSFER_SIP", "").strip(),
        voice_queue=os.environ.get("VOICE_QUEUE", "").strip(),
        voice_name_de=os.environ.get("VOICE_NAME_DE") or defaults.voice_name_de,
        voice_name_tr=os.environ.get("VOICE_NAME_TR") or defaults.voice_name_tr,
        log_format=(os.environ.get("LOG_FORMAT") or defaults.log_format).strip().lower(),
    )


def settings_environment(settings: Settings) -> dict[str, str]:
    """The environment variables that make `load_settings()` return `settings`.

    Child processes (Rasa, action server, app) read their configuration from
    the environment; this is how a parent hands its settings on.
    """
    return {
        "APP_ENV": settings.environment,
        "DATABASE_URL": settings.database_url,
        "TRACKER_STORE_URL": settings.tracker_store_url,
        "REDIS_URL": settings.redis_url,
        "BIND_HOST": settings.bind_host,
        "RASA_URL": settings.rasa_address,
        "ACTION_SERVER_URL": settings.action_server_address,
        "BALANCER_UPSTREAMS": settings.balancer_upstreams,
        "RASA_PORT": str(settings.rasa_port),
        "RASA_INSTANCES": str(settings.rasa_instances),
        "ACTION_PORT": str(settings.action_port),
        "APP_PORT": str(settings.app_port),
        "RASA_AUTH_TOKEN": settings.rasa_auth_token,
        "UTILITY_NAME": settings.utility_name,
        "HANDOFF_WAIT_MINUTES": str(settings.handoff_wait_minutes),
        "HOTLINE_HOURS": settings.hotline_hours,
        "TIMEZONE": settings.timezone,
        "TWILIO_AUTH_TOKEN": settings.twilio_auth_token,
        "PUBLIC_BASE_URL": settings.public_base_url,
        "VOICE_TRANSFER_NUMBER": settings.voice_transfer_number,
        "VOICE_TRANSFER_SIP": settings.voice_transfer_sip,
        "VOICE_QUEUE": settings.voice_queue,
        "VOICE_NAME_DE": settings.voice_name_de,
        "VOICE_NAME_TR": settings.voice_name_tr,
        "LOG_FORMAT": settings.log_format,
    }
