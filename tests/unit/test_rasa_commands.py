"""Rasa's own commands from the repository root, and the endpoints the launcher writes.

endpoints.yml holds the local development defaults, so `rasa shell`, `rasa
test`, `rasa run` and `rasa interactive` work without any environment; the
launcher writes the environment's action server, tracker store and lock store
into a private file of its own (bot/ops/rasa_env.py). Both are read here with
Rasa's own loader. A real `rasa shell`: tests/e2e/test_rasa_shell.py.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml
from rasa.core.lock_store import InMemoryLockStore, LockStore
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.utils.endpoints import EndpointConfig, read_endpoint_config
from sqlalchemy.engine import make_url

from bot.infra.settings import DEV_RASA_TOKEN, ROOT, Settings, load_settings, variables
from bot.ops import rasa_env
from bot.ops.launcher import child_environment, commands
from bot.rasa_runtime.action_server import SECRET_HEADER

COMMITTED = ROOT / "endpoints.yml"
TOKEN = "launcher-test-token-0123456789abcdef"


def section(path: Path, name: str) -> EndpointConfig:
    """One section of an endpoints file, as `rasa run --endpoints` reads it."""
    config = read_endpoint_config(str(path), name)
    assert config is not None, f"no {name} in {path}"
    return config


def endpoints_argument(argv: list[str]) -> Path:
    return Path(argv[argv.index("--endpoints") + 1])


@pytest.fixture
def defaults(monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The settings with no environment at all (what a fresh clone runs with)."""
    for name in variables():
        monkeypatch.delenv(name, raising=False)
    return Settings()


def test_endpoints_yml_holds_the_local_defaults(defaults: Settings) -> None:
    assert "${" not in COMMITTED.read_text(encoding="utf-8")  # no variable to set

    action = section(COMMITTED, "action_endpoint")
    assert action.url == f"{defaults.action_server_base_url}/webhook"
    # the secret the action server checks in development
    assert action.headers == {SECRET_HEADER: defaults.rasa_auth_token}
    assert defaults.rasa_auth_token == DEV_RASA_TOKEN

    tracker = section(COMMITTED, "tracker_store")
    assert (tracker.type, tracker.kwargs["dialect"]) == ("SQL", "sqlite")
    # relative to the repository root: the same file as TRACKER_STORE_URL's default
    database = make_url(tracker.url).database
    assert ROOT / database == Path(make_url(defaults.tracker_store_url).database)

    assert section(COMMITTED, "lock_store").type == "in_memory"
    assert section(COMMITTED, "nlg").type == "bot.rasa_runtime.nlg.LanguageTaggingGenerator"


def production_like(tracker_store_url: str, redis_url: str) -> Settings:
    return load_settings().replace(
        actions="server",
        action_server_url="http://actions:5055",
        tracker_store_url=tracker_store_url,
        redis_url=redis_url,
        rasa_auth_token=TOKEN,
    )


def test_the_launcher_gives_rasa_the_environments_endpoints() -> None:
    settings = production_like(
        "postgresql://rasa:tracker-password@db:5432/rasa", "redis://:redis-password@redis:6380/2"
    )
    argv = commands(settings, Path("m.tar.gz"))["rasa"]
    written = endpoints_argument(argv)

    assert written != COMMITTED
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    for secret in (TOKEN, "tracker-password", "redis-password"):
        assert all(secret not in argument for argument in argv)

    action = section(written, "action_endpoint")
    assert action.url == "http://actions:5055/webhook"
    assert action.headers == {SECRET_HEADER: TOKEN}
    tracker = section(written, "tracker_store")
    assert tracker.url == "postgresql://rasa:tracker-password@db:5432/rasa"
    assert tracker.kwargs["dialect"] == "postgresql"
    lock = section(written, "lock_store")
    assert (lock.type, lock.url) == ("redis", "redis")
    assert lock.kwargs == {"port": 6380, "db": 2, "password": "redis-password"}
    # every other section is the committed file's
    assert section(written, "nlg").type == section(COMMITTED, "nlg").type

    # the endpoints travel in the file only, no longer as variables
    environment = child_environment(settings)
    assert not {"ACTION_ENDPOINT_URL", "TRACKER_DIALECT", "LOCK_STORE_TYPE"} & set(environment)


def test_rasa_builds_its_stores_from_the_written_file(tmp_path: Path) -> None:
    settings = load_settings().replace(
        tracker_store_url=f"sqlite:///{tmp_path / 'tracker.db'}", redis_url=""
    )
    written = rasa_env.write_endpoints(settings)

    store = TrackerStore.create(section(written, "tracker_store"), Domain.empty())
    assert isinstance(store, SQLTrackerStore)
    assert (tmp_path / "tracker.db").exists()
    assert isinstance(LockStore.create(section(written, "lock_store")), InMemoryLockStore)


def test_one_file_per_configuration() -> None:
    first = production_like("sqlite:///a.db", "")
    assert rasa_env.write_endpoints(first) == rasa_env.write_endpoints(first)
    assert rasa_env.write_endpoints(first) != rasa_env.write_endpoints(
        first.replace(tracker_store_url="sqlite:///b.db")
    )


def test_a_redis_url_becomes_the_lock_stores_parts() -> None:
    assert rasa_env._lock_store("") == {"type": "in_memory"}
    assert rasa_env._lock_store("rediss://user:pw@cache.example:6390/3") == {
        "type": "redis",
        "url": "cache.example",
        "port": 6390,
        "db": 3,
        "username": "user",
        "password": "pw",
        "use_ssl": True,
    }
    assert rasa_env._lock_store("redis://127.0.0.1") == {
        "type": "redis",
        "url": "127.0.0.1",
        "port": 6379,
        "db": 0,
    }


def test_the_written_file_is_the_committed_one_with_three_sections_replaced() -> None:
    committed = yaml.safe_load(COMMITTED.read_text(encoding="utf-8"))
    written = rasa_env.endpoints(production_like("sqlite:///a.db", ""))
    replaced = {"action_endpoint", "tracker_store", "lock_store"}
    assert written.keys() == committed.keys()
    assert {k: v for k, v in written.items() if k not in replaced} == {
        k: v for k, v in committed.items() if k not in replaced
    }
