"""The deployment files in deploy/ agree with the configuration the code runs and tests.

Nothing here starts a container: the files are parsed and compared with what
the code computes for the production topology of `make run-prod`
(scripts/run_prod.sh in production mode): the process names and ports of
`bot.ops.launcher.commands`, the health URLs of `bot.ops.launcher.health_urls`, and
the variable names of `bot.infra.settings.variables`. A renamed variable, a wrong port or a
process missing from one of the files makes a test here fail.
"""

from __future__ import annotations

import ast
import fnmatch
import inspect
import json
import posixpath
import re
import shlex
import sys
from collections.abc import Callable, Mapping
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from bot.infra.settings import (
    ROOT,
    Settings,
    SettingsError,
    load_settings,
    variables,
)
from bot.ops.edge import UPLOAD_OVERHEAD_BYTES, plan_for
from bot.ops.launcher import child_environment, commands, health_urls
from tests.harness.edge import as_here, checked

DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = DEPLOY / "Dockerfile.dockerignore"
COMPOSE = DEPLOY / "docker-compose.yml"
COMPOSE_ENV = DEPLOY / "compose.env.example"
K8S = DEPLOY / "kubernetes"
SYSTEMD = DEPLOY / "systemd"
SYSTEMD_ENV = SYSTEMD / "stadtwerk.env.example"
SYSTEMD_TARGET = SYSTEMD / "stadtwerk.target"
RUN_PROD = ROOT / "scripts" / "run_prod.sh"

# Every settings variable and every variable endpoints.yml reads.
KNOWN_VARIABLES = frozenset(variables())
# Variables of the layers below our settings (Python, pip, Rasa, rasa-sdk,
# TensorFlow): allowed in the Dockerfile and in the units' Environment= lines,
# never in the settings files.
RUNTIME_VARIABLES = frozenset(
    {
        "HOME",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONUNBUFFERED",
        "PIP_NO_CACHE_DIR",
        "PIP_DISABLE_PIP_VERSION_CHECK",
        "RASA_TELEMETRY_ENABLED",
        "TF_CPP_MIN_LOG_LEVEL",
        "SANIC_HOST",
        "SANIC_KEEP_ALIVE_TIMEOUT",
    }
)
# What production refuses to start without (test_secrets_are_what_production_requires).
SECRETS = ("RASA_AUTH_TOKEN", "TWILIO_AUTH_TOKEN", "PSEUDONYM_KEY")
# as long as the longest a secret must be (PSEUDONYM_KEY: 32 characters)
TEST_SECRET = "test-secret-0123456789abcdef0123456789"
TEST_PUBLIC_URL = "https://hotline.test.example"
TEST_CERT, TEST_KEY = "/etc/stadtwerk/tls/fullchain.pem", "/etc/stadtwerk/tls/privkey.pem"
# Connection URLs whose example passwords are placeholders production refuses.
URLS_WITH_PASSWORDS = ("DATABASE_URL", "TRACKER_STORE_URL", "REDIS_URL")
# Liveness that differs from the readiness URL of health_urls(): the web app's
# /ready also asks Rasa, and a Rasa outage must not restart the web app.
LIVENESS_PATHS = {"web": "/health"}
# Our image's services besides the launcher's processes; the rest are images of others.
COMPOSE_INFRASTRUCTURE = {"postgres": "postgres:15", "redis": "redis:7"}
MIGRATE_COMMAND = ["python", "-m", "bot", "migrate"]
# The retention purge (docs/data-protection.md): a daily job in every topology.
PURGE_COMMAND = ["python", "-m", "bot", "purge"]
# Our image's one-off and scheduled jobs in compose (not launcher processes).
COMPOSE_JOBS = {"migrate", "purge"}
ENTRYPOINT = ["python", "-m", "bot.ops.launcher", "--process"]
UNIT_PREFIX = "/opt/stadtwerk/.venv/bin/python -m bot.ops.launcher --process "
UNIT_ENVIRONMENT_FILE = "/etc/stadtwerk/stadtwerk.env"
UNIT_WORKING_DIRECTORY = "/opt/stadtwerk"
UNIT_WRITABLE = "/opt/stadtwerk/var"
DEPENDENCY_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}

SettingsFor = Callable[[Mapping[str, str]], Settings]


# --- what the code says ---------------------------------------------------------------


@pytest.fixture
def settings_for(monkeypatch: pytest.MonkeyPatch) -> SettingsFor:
    """Settings exactly as `load_settings()` builds them from `environment` alone."""

    def build(environment: Mapping[str, str]) -> Settings:
        for name in KNOWN_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        return load_settings()

    return build


def run_prod_exports() -> dict[str, str]:
    """The variables scripts/run_prod.sh exports, with its defaults."""
    text = RUN_PROD.read_text(encoding="utf-8")
    exports = dict(re.findall(r'^export (\w+)="\$\{\1:-([^}]*)\}"$', text, re.MULTILINE))
    assert "RASA_INSTANCES" in exports and "LOG_FORMAT" in exports, "run_prod.sh changed shape"
    return exports


def with_test_secrets(environment: Mapping[str, str]) -> dict[str, str]:
    """The environment as an operator completes it: real secrets, passwords, public URL."""
    completed = {**environment, **dict.fromkeys(SECRETS, TEST_SECRET)}
    for name in URLS_WITH_PASSWORDS:
        if name in completed:
            completed[name] = completed[name].replace(":change-me@", f":{TEST_SECRET}@")
    if not completed.get("PUBLIC_BASE_URL", "").startswith("https://"):
        completed["PUBLIC_BASE_URL"] = TEST_PUBLIC_URL
    if completed.get("EDGE") == "nginx" and not completed.get("EDGE_TLS_CERT"):
        completed.update(EDGE_TLS_CERT=TEST_CERT, EDGE_TLS_KEY=TEST_KEY)
    return completed


@pytest.fixture
def run_prod(settings_for: SettingsFor) -> Settings:
    """The tested production topology: `make run-prod` in production mode."""
    settings = settings_for(with_test_secrets({**run_prod_exports(), "APP_ENV": "production"}))
    return settings


def port_of(argv: list[str]) -> int:
    return int(argv[argv.index("--port") + 1])


def process_ports(settings: Settings) -> dict[str, int]:
    """Each process of the topology and the port its command listens on (the
    edge's: its internal server on RASA_PORT; its public ones: edge_ports())."""
    return {
        name: settings.rasa_port if name == "edge" else port_of(argv)
        for name, argv in commands(settings, Path("model.tar.gz")).items()
    }


def edge_ports(settings: Settings) -> set[int]:
    """The edge's public ports: HTTPS and HTTP."""
    return {settings.edge_https_port, settings.edge_http_port}


def probe_paths(settings: Settings) -> dict[str, str]:
    """Where a probe asks each process whether it is ready.

    health_urls() is what the launcher and the tests poll. A URL that carries
    the API token (Rasa's /status) is not for probes, which hold no secrets:
    they use Rasa's `/`, which answers 200 once the model is loaded.
    """
    ports = process_ports(settings)
    paths = {}
    for name, url in health_urls(settings).items():
        parts = urlsplit(url)
        assert parts.port == ports[name], f"health URL of {name} is not on its port"
        paths[name] = "/" if "token=" in parts.query else parts.path
    assert set(paths) == set(ports)
    return paths


def liveness_paths(settings: Settings) -> dict[str, str]:
    return {**probe_paths(settings), **LIVENESS_PATHS}


def process_on(settings: Settings, port: int) -> str:
    (name,) = [name for name, own in process_ports(settings).items() if own == port]
    return name


def rasa_instances(settings: Settings) -> set[str]:
    ports = process_ports(settings)
    return {name for name, port in ports.items() if port in settings.rasa_instance_ports}


def host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname and parts.port, f"{url} needs a host and a port"
    return parts.hostname, parts.port


def assert_known_variables(names: set[str], where: str) -> None:
    unknown = sorted(set(names) - KNOWN_VARIABLES)
    assert not unknown, f"{where}: variables the settings do not know: {unknown}"


def assert_production_values(environment: Mapping[str, str], where: str) -> None:
    assert environment.get("APP_ENV") == "production", where
    assert environment.get("LOG_FORMAT") == "json", where


def refused(settings_for: SettingsFor, environment: Mapping[str, str]) -> bool:
    """Whether production refuses to start with `environment` (secrets included)."""
    try:
        settings_for(environment)
    except SettingsError:
        return True
    return False


def assert_placeholder_secrets(
    settings_for: SettingsFor, environment: Mapping[str, str], where: str
) -> None:
    """An example file's secrets are placeholders that production refuses."""
    valid = with_test_secrets(environment)
    assert not refused(settings_for, valid), where
    for name in SECRETS:
        assert refused(settings_for, {**valid, name: environment[name]}), f"{where}: {name}"
    for name in URLS_WITH_PASSWORDS:
        if ":change-me@" in environment.get(name, ""):
            assert refused(settings_for, {**valid, name: environment[name]}), f"{where}: {name}"


def test_secrets_are_what_production_requires(
    settings_for: SettingsFor, run_prod: Settings
) -> None:
    environment = run_prod.environment()
    assert not refused(settings_for, environment)
    for name in SECRETS:
        assert refused(settings_for, {**environment, name: ""}), name


def test_health_urls_cover_every_process(run_prod: Settings) -> None:
    assert set(health_urls(run_prod)) == set(process_ports(run_prod))


def test_the_web_app_serves_its_probe_paths(settings_for: SettingsFor) -> None:
    from bot.web.app import create_app

    settings = settings_for({})
    paths = {getattr(route, "path", None) for route in create_app().routes}
    assert {probe_paths(settings)["web"], LIVENESS_PATHS["web"]} <= paths


# --- Dockerfile -----------------------------------------------------------------------
# Two stages (docs/image.md): `build` installs the lock file and trains the model
# with scripts/build_image.sh; `runtime` gets the virtualenv, the model and the
# lemma tables from it, and the code from the build context.

BUILD_SCRIPT = ROOT / "scripts" / "build_image.sh"
SETUP_SCRIPT = ROOT / "scripts" / "setup.sh"
# Ubuntu 22.04's own python3.10 gets security fixes until 2027 (python:3.10 images do not).
IMAGE_BASE = "ubuntu:22.04"
# The image's own variable besides the runtime's: PATH puts the virtualenv first.
IMAGE_VARIABLES = frozenset({"PATH"})


def dockerfile_instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines = [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if not line.lstrip().startswith("#")
    ]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    result = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, arguments = line.strip().partition(" ")
            result.append((keyword.upper(), " ".join(arguments.split())))
    return result


def dockerfile(keyword: str) -> list[str]:
    """The arguments of every `keyword` instruction, all stages together."""
    return [arguments for key, arguments in dockerfile_instructions() if key == keyword]


def run_command(arguments: str) -> str:
    """A RUN's shell command, without options such as --mount=..."""
    return re.sub(r"^(--\S+\s+)*", "", arguments)


def copy_arguments(arguments: str) -> tuple[str | None, list[str], str]:
    """A COPY's --from stage (None: the build context), sources and destination."""
    words = shlex.split(arguments)
    options = dict(word[2:].partition("=")[::2] for word in words if word.startswith("--"))
    *sources, destination = [word for word in words if not word.startswith("--")]
    return options.get("from"), sources, destination


class Stage:
    """One `FROM base AS name` section of the Dockerfile."""

    def __init__(self, base: str, name: str) -> None:
        self.base, self.name = base, name
        self.instructions: list[tuple[str, str]] = []

    def get(self, keyword: str) -> list[str]:
        return [arguments for key, arguments in self.instructions if key == keyword]

    @property
    def workdir(self) -> str:
        return self.get("WORKDIR")[-1]

    def runs(self) -> list[str]:
        return [run_command(arguments) for arguments in self.get("RUN")]

    def copies(self) -> list[tuple[str | None, list[str], str]]:
        return [copy_arguments(arguments) for arguments in self.get("COPY")]

    def copied_to(self) -> dict[str, tuple[str | None, str]]:
        """Path each COPY writes (relative to WORKDIR) -> (--from stage, source)."""
        targets = {}
        for origin, sources, destination in self.copies():
            for source in sources:
                target = destination
                if destination.endswith("/") and not source.endswith("/"):
                    target = destination + source.rstrip("/").rsplit("/", 1)[-1]
                absolute = posixpath.normpath(posixpath.join(self.workdir, target))
                targets[posixpath.relpath(absolute, self.workdir)] = (origin, source)
        return targets


def dockerfile_stages(path: Path = DOCKERFILE) -> dict[str, Stage]:
    stages: dict[str, Stage] = {}
    for keyword, arguments in dockerfile_instructions(path):
        if keyword == "FROM":
            base, _, name = arguments.partition(" AS ")
            stages[name] = Stage(base, name)
        else:
            list(stages.values())[-1].instructions.append((keyword, arguments))
    return stages


def context_sources() -> list[str]:
    """What the COPYs take from the build context (not from another stage)."""
    return [
        source.rstrip("/")
        for stage in dockerfile_stages().values()
        for origin, sources, _ in stage.copies()
        if origin is None
        for source in sources
    ]


def script_outputs() -> list[str]:
    """OUTPUTS of scripts/build_image.sh: what the runtime stage takes from the build stage."""
    (outputs,) = re.findall(r"^OUTPUTS=\(([^)]*)\)", BUILD_SCRIPT.read_text(), re.MULTILINE)
    return outputs.split()


# pip options that change only what pip prints
PIP_OUTPUT_OPTIONS = frozenset({"--quiet", "-q", "--disable-pip-version-check"})


def pip_commands(script: Path) -> list[list[str]]:
    """Each `python -m pip ...` of a shell script: its arguments up to a pipe or a
    redirection, without the options that change only pip's output."""
    text = re.sub(r"\\\n", " ", script.read_text(encoding="utf-8"))
    commands = []
    for line in re.findall(r"-m pip (.+)$", text, re.MULTILINE):
        words = shlex.split(line)
        ends = [i for i, word in enumerate(words) if re.match(r"\d*[|&;<>]", word)]
        words = words[: ends[0]] if ends else words
        commands.append([word for word in words if word not in PIP_OUTPUT_OPTIONS])
    return commands


def image_uid() -> int:
    (user,) = dockerfile("USER")
    return int(user.split(":")[0])


def test_dockerfile_base_image_matches_this_python() -> None:
    major, minor = sys.version_info[:2]
    stages = dockerfile_stages().values()
    assert [stage.base for stage in stages] == [IMAGE_BASE] * len(stages)
    for stage in stages:
        installs = [run for run in stage.runs() if "apt-get install" in run]
        assert any(f" python{major}.{minor} " in f"{run} " for run in installs), stage.name


def test_dockerfile_entrypoint_is_the_launcher() -> None:
    (entrypoint,) = dockerfile("ENTRYPOINT")
    assert json.loads(entrypoint) == ENTRYPOINT
    assert not dockerfile("CMD"), "the container's command must be the process name"


def test_dockerfile_installs_the_lock_file_without_resolving() -> None:
    build = dockerfile_stages()["build"]
    assert "requirements.lock" in build.copied_to()
    assert "scripts/build_image.sh install" in build.runs()
    # the same pip, the same install and the same check as `make setup`
    assert pip_commands(BUILD_SCRIPT) == pip_commands(SETUP_SCRIPT)
    assert ["install", "--no-deps", "-r", "requirements.lock"] in pip_commands(BUILD_SCRIPT)


def test_dockerfile_runs_as_a_non_root_user() -> None:
    runtime = dockerfile_stages()["runtime"]
    assert image_uid() != 0
    assert runtime.get("USER") == dockerfile("USER"), "the runtime stage sets the user"
    assert any(f"--uid {image_uid()}" in run for run in runtime.runs())
    keywords = [key for key, _ in runtime.instructions]
    assert keywords.index("USER") < keywords.index("ENTRYPOINT")


def test_dockerfile_installs_nginx_for_the_edge(run_prod: Settings) -> None:
    assert "edge" in process_ports(run_prod), "run-prod has an edge; the image runs it"
    (install,) = [run for run in dockerfile_stages()["runtime"].runs() if "apt-get install" in run]
    assert " nginx " in f"{install} "


def test_dockerfile_copies_the_model_where_the_launcher_looks() -> None:
    from tests.harness.servers import MODEL

    model = MODEL.relative_to(ROOT).as_posix()
    stages = dockerfile_stages()
    # trained in the build stage (scripts/build_image.sh model), at the same path
    assert stages["runtime"].copied_to()[model] == ("build", f"{stages['build'].workdir}/{model}")
    assert model in script_outputs()
    # latest_model() takes the newest models/*.tar.gz
    assert fnmatch.fnmatch(model, "models/*.tar.gz")


def first_party_names() -> set[str]:
    names = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}
    return names | {p.stem for p in ROOT.glob("*.py")}


def runtime_needs(packages: list[str]) -> set[str]:
    """Top-level repository entries the copied packages import or open via ROOT / "..."."""
    needs: set[str] = set()
    first_party = first_party_names()
    for package in packages:
        for path in (ROOT / package).rglob("*.py"):
            source = path.read_text(encoding="utf-8")
            needs |= set(re.findall(r"""ROOT\s*/\s*["']([^"'/]+)""", source))
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Import):
                    needs |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    needs.add(node.module.split(".")[0])
    return {need for need in needs if need in first_party or (ROOT / need).exists()}


def command_needs(settings: Settings) -> set[str]:
    """Top-level repository entries the launcher's commands run or read."""
    from tests.harness.servers import MODEL

    needs = set()
    for argv in commands(settings, MODEL).values():
        for previous, argument in pairwise(argv):
            if argument.startswith(str(ROOT)):
                needs.add(Path(argument).relative_to(ROOT).parts[0])
            elif previous in ("-m", "--actions") or re.fullmatch(r"[\w.]+:\w+", argument):
                needs.add(argument.split(".")[0].split(":")[0])
    return needs


def test_dockerfile_copies_what_the_processes_read(run_prod: Settings) -> None:
    copied = dockerfile_stages()["runtime"].copied_to()
    for target, (origin, source) in copied.items():
        if origin is None:
            assert (ROOT / source).exists(), f"COPY {source}: no such file"
        else:
            assert target in script_outputs(), f"COPY --from={origin} {source}: nothing builds it"
    packages = [
        target
        for target, (origin, _) in copied.items()
        if origin is None and (ROOT / target / "__init__.py").exists()
    ]
    needs = runtime_needs(packages) | command_needs(run_prod)
    assert {"bot", "connectors", "actions", "models"} <= needs, "the scan finds too little"
    top_level = {target.split("/")[0] for target in copied}
    for need in needs:
        assert need in top_level, f"the image lacks {need}"


def test_dockerignore_keeps_secrets_out_and_copied_files_in() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    # secrets, and a work tree's virtualenv, model and databases (the build makes its own)
    assert {".env", ".venv", ".git", "models", "var"} <= set(patterns)
    for source in context_sources():
        for pattern in patterns:
            assert not fnmatch.fnmatch(source.split("/")[0], pattern), (source, pattern)


def test_dockerfile_exposes_every_port_and_names_known_variables(run_prod: Settings) -> None:
    exposed = {int(port) for arguments in dockerfile("EXPOSE") for port in arguments.split()}
    assert set(process_ports(run_prod).values()) | edge_ports(run_prod) <= exposed
    names = {match for arguments in dockerfile("ENV") for match in re.findall(r"(\w+)=", arguments)}
    assert names <= KNOWN_VARIABLES | RUNTIME_VARIABLES | IMAGE_VARIABLES


# --- docker compose -------------------------------------------------------------------


def compose() -> dict[str, Any]:
    (document,) = list(yaml.safe_load_all(COMPOSE.read_text(encoding="utf-8")))
    return document


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def uses_our_image(service: Mapping[str, Any]) -> bool:
    build = service.get("build") or {}
    dockerfile_path = COMPOSE.parent / build.get("context", "") / build.get("dockerfile", "")
    return bool(build) and dockerfile_path.resolve() == DOCKERFILE.resolve()


def app_services() -> dict[str, dict[str, Any]]:
    """Our image's services that run a launcher process (not the jobs: migrate, purge)."""
    return {
        name: service
        for name, service in services().items()
        if uses_our_image(service) and name not in COMPOSE_JOBS
    }


def interpolate(value: str) -> str:
    """Compose's ${VAR:?message} / ${VAR:-default} / ${VAR}, with test values for the required."""

    def one(match: re.Match[str]) -> str:
        name, operator, argument = match.group(1), match.group(2), match.group(3)
        if operator == ":-":
            return argument
        if name == "PUBLIC_BASE_URL":
            return TEST_PUBLIC_URL
        return f"test-{name.lower().replace('_', '-')}-0123456789abcdef0123456789"

    return re.sub(r"\$\{(\w+)(?:(:\?|:-)([^}]*))?\}", one, value)


def compose_environment() -> dict[str, str]:
    return {name: interpolate(str(value)) for name, value in compose()["x-environment"].items()}


def strings_in(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings_in(item)]
    if isinstance(value, list):
        return [s for item in value for s in strings_in(item)]
    return [value] if isinstance(value, str) else []


def interpolated_names() -> set[str]:
    """The variables compose substitutes (${NAME...}; $$ escapes a dollar)."""
    names = set()
    for value in strings_in(compose()):
        names |= set(re.findall(r"(?<!\$)\$\{(\w+)", value))
    return names


def healthcheck_url(service: Mapping[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    command = " ".join(test) if isinstance(test, list) else test
    (url,) = re.findall(r"https?://[^'\"\s]+", command)
    return url


@pytest.fixture
def compose_settings(settings_for: SettingsFor) -> Settings:
    return settings_for(compose_environment())


def test_compose_runs_the_launcher_processes(run_prod: Settings) -> None:
    assert set(app_services()) == set(process_ports(run_prod))
    assert set(services()) == set(app_services()) | COMPOSE_JOBS | set(COMPOSE_INFRASTRUCTURE)
    for name, image in COMPOSE_INFRASTRUCTURE.items():
        assert services()[name]["image"].startswith(image)
    for name, service in app_services().items():
        assert service["command"] == [name]
    images = {service["image"] for service in services().values() if uses_our_image(service)}
    assert len(images) == 1, "one image for every process"


def test_compose_migrate_runs_the_migration() -> None:
    from bot.ops.cli import main

    migrate = services()["migrate"]
    assert uses_our_image(migrate)
    assert [*migrate["entrypoint"], *migrate["command"]] == MIGRATE_COMMAND
    assert migrate["restart"] == "no"
    with pytest.raises(SystemExit) as exit_:
        main([*MIGRATE_COMMAND[3:], "--help"])
    assert exit_.value.code == 0


def test_compose_ports_are_the_launchers(run_prod: Settings, compose_settings: Settings) -> None:
    assert process_ports(compose_settings) == process_ports(run_prod)
    for name, port in process_ports(run_prod).items():
        service = app_services()[name]
        assert str(port) in [str(p) for p in service.get("expose", [])], name
        own = edge_ports(compose_settings) if name == "edge" else {port}
        for published in service.get("ports", []):
            assert int(str(published).split(":")[-1]) in own, (name, published)


def test_compose_publishes_only_the_edge(compose_settings: Settings) -> None:
    """Only the edge (TLS; Rasa's channels only) is reachable from outside: on
    443 its HTTPS server, on 80 its redirect. Rasa, the actions, the web app none."""
    published = {name: s["ports"] for name, s in services().items() if s.get("ports")}
    assert published == {
        "edge": [
            f"443:{compose_settings.edge_https_port}",
            f"80:{compose_settings.edge_http_port}",
        ]
    }
    mounted = services()["edge"]["volumes"][0]
    assert mounted.endswith(f":{Path(compose_settings.edge_tls_cert).parent}:ro")
    assert Path(compose_settings.edge_tls_key).parent == Path(compose_settings.edge_tls_cert).parent


def test_compose_healthchecks_ask_the_health_paths(run_prod: Settings) -> None:
    ports = process_ports(run_prod)
    for name, path in probe_paths(run_prod).items():
        url = urlsplit(healthcheck_url(app_services()[name]))
        assert (url.hostname, url.port, url.path) == ("127.0.0.1", ports[name], path), name
        assert "token" not in url.query


def test_compose_environment_is_shared_and_known() -> None:
    shared = compose()["x-environment"]
    assert_known_variables(set(shared), "compose x-environment")
    assert_production_values(shared, "compose")
    assert shared["BIND_HOST"] == "0.0.0.0"
    assert all(isinstance(value, str) for value in shared.values())
    for name, service in services().items():
        if uses_our_image(service):
            assert service["environment"] == shared, f"{name} must use the x-environment anchor"


def test_compose_requires_the_secrets() -> None:
    shared = compose()["x-environment"]
    for name in SECRETS:
        assert re.fullmatch(rf"\$\{{{name}:\?[^}}]*\}}", shared[name]), name
    example = read_env_file(COMPOSE_ENV)
    assert set(example) == interpolated_names()
    assert all(value == "" for value in example.values()), "no values in the example"


def test_compose_configuration_passes_the_production_check(
    run_prod: Settings, compose_settings: Settings
) -> None:
    assert compose_settings.is_production
    assert compose_settings.rasa_instances == run_prod.rasa_instances
    assert compose_settings.log_format == run_prod.log_format


def test_compose_processes_find_each_other(compose_settings: Settings) -> None:
    ports = process_ports(compose_settings)
    rasa_front = process_on(compose_settings, compose_settings.rasa_port)
    assert host_port(compose_settings.rasa_base_url) == (rasa_front, ports[rasa_front])
    actions = process_on(compose_settings, compose_settings.action_port)
    assert host_port(compose_settings.action_server_base_url) == (actions, ports[actions])
    rasa, web = compose_settings.edge_upstreams
    upstreams = {host_port(f"http://{address}") for address in rasa}
    assert upstreams == {(name, ports[name]) for name in rasa_instances(compose_settings)}
    assert host_port(f"http://{web}") == ("web", ports["web"])
    for url, service in [
        (compose_settings.database_url, "postgres"),
        (compose_settings.tracker_store_url, "postgres"),
        (compose_settings.redis_url, "redis"),
    ]:
        assert urlsplit(url).hostname == service


def depends_on(name: str) -> dict[str, str]:
    return {
        target: spec["condition"] for target, spec in services()[name].get("depends_on", {}).items()
    }


def test_compose_start_order(compose_settings: Settings) -> None:
    for name, service in services().items():
        for target, condition in depends_on(name).items():
            assert condition in DEPENDENCY_CONDITIONS, (name, target)
            if condition == "service_healthy":
                assert "healthcheck" in services()[target], (name, target)
            if condition == "service_completed_successfully":
                assert target == "migrate", (name, target)
        if uses_our_image(service) and name not in COMPOSE_JOBS:
            assert "healthcheck" in service, name
    assert depends_on("migrate") == {"postgres": "service_healthy"}
    migrated = {"migrate": "service_completed_successfully"}
    stores = {"postgres": "service_healthy", "redis": "service_healthy"}
    for instance in rasa_instances(compose_settings):
        assert depends_on(instance).items() >= {**migrated, **stores}.items(), instance
    rasa_front = process_on(compose_settings, compose_settings.rasa_port)
    if rasa_front not in rasa_instances(compose_settings):
        expected = dict.fromkeys(rasa_instances(compose_settings), "service_healthy")
        assert depends_on(rasa_front).items() >= expected.items()
    web = process_on(compose_settings, compose_settings.app_port)
    assert depends_on(web).items() >= migrated.items()
    # the edge needs the web app's name to exist (started), the web app's
    # readiness needs the edge: healthy would wait forever
    assert depends_on(rasa_front)[web] == "service_started"
    actions = process_on(compose_settings, compose_settings.action_port)
    assert depends_on(actions).items() >= migrated.items()


def test_compose_purges_every_day() -> None:
    from bot.ops.cli import main

    purge = services()["purge"]
    assert uses_our_image(purge)
    argv = [*purge["entrypoint"], *purge["command"]]
    assert argv[: len(PURGE_COMMAND)] == PURGE_COMMAND
    assert argv[len(PURGE_COMMAND) :] == ["--daily-at", "03:30"], "a long-running daily loop"
    assert purge["restart"] == "unless-stopped"
    assert depends_on("purge") == {
        "migrate": "service_completed_successfully",
        "postgres": "service_healthy",
    }
    with pytest.raises(SystemExit) as exit_:
        main([*argv[3:], "--help"])
    assert exit_.value.code == 0


# --- Kubernetes -----------------------------------------------------------------------


def k8s_documents() -> list[dict[str, Any]]:
    documents = []
    for path in sorted(K8S.glob("*.yaml")):
        documents += [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    return documents


def k8s_objects(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in k8s_documents() if d["kind"] == kind}


def pod_specs() -> dict[str, dict[str, Any]]:
    workloads = {**k8s_objects("Deployment"), **k8s_objects("Job")}
    pods = {name: w["spec"]["template"]["spec"] for name, w in workloads.items()}
    for name, cron in k8s_objects("CronJob").items():
        pods[name] = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return pods


def only_container(pod: Mapping[str, Any]) -> dict[str, Any]:
    (container,) = pod["containers"]
    return container


def container_port(container: Mapping[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    (number,) = [p["containerPort"] for p in container["ports"] if p.get("name") == port]
    return number


def k8s_environment() -> dict[str, str]:
    (config,) = k8s_objects("ConfigMap").values()
    (secret,) = k8s_objects("Secret").values()
    return {**config["data"], **secret["stringData"]}


def deployment_processes() -> dict[str, str]:
    """Deployment name -> the launcher process its container runs."""
    processes = {}
    for name, deployment in k8s_objects("Deployment").items():
        container = only_container(deployment["spec"]["template"]["spec"])
        assert "command" not in container, f"{name}: the image's entrypoint is the launcher"
        (processes[name],) = container["args"]
    return processes


@pytest.fixture
def k8s_settings(settings_for: SettingsFor) -> Settings:
    return settings_for(with_test_secrets(k8s_environment()))


def selects(selector: Mapping[str, str], deployment: Mapping[str, Any]) -> bool:
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    return selector.items() <= labels.items()


def test_k8s_settings_are_known_and_secrets_stay_in_the_secret(
    settings_for: SettingsFor,
) -> None:
    (config,) = k8s_objects("ConfigMap").values()
    (secret,) = k8s_objects("Secret").values()
    assert_known_variables(set(config["data"]) | set(secret["stringData"]), "kubernetes")
    assert_production_values(config["data"], "kubernetes ConfigMap")
    assert config["data"]["BIND_HOST"] == "0.0.0.0"
    assert all(isinstance(value, str) for value in config["data"].values())
    assert not set(SECRETS) & set(config["data"])
    assert_placeholder_secrets(settings_for, k8s_environment(), "secret.example.yaml")
    for name, value in config["data"].items():
        assert not urlsplit(value).password, f"{name} carries a password: put it in the Secret"


def test_k8s_runs_the_launcher_processes(k8s_settings: Settings) -> None:
    assert set(deployment_processes().values()) == set(process_ports(k8s_settings))
    images = {only_container(pod)["image"] for pod in pod_specs().values()}
    assert len(images) == 1, "one image for every process"
    (config,) = k8s_objects("ConfigMap")
    (secret,) = k8s_objects("Secret")
    for name, pod in pod_specs().items():
        sources = only_container(pod)["envFrom"]
        assert {"configMapRef": {"name": config}} in sources, name
        assert {"secretRef": {"name": secret}} in sources, name
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == image_uid(), name


def test_k8s_ports_and_probes_match_the_launcher(k8s_settings: Settings) -> None:
    ports = process_ports(k8s_settings)
    ready, alive = probe_paths(k8s_settings), liveness_paths(k8s_settings)
    for name, process in deployment_processes().items():
        container = only_container(k8s_objects("Deployment")[name]["spec"]["template"]["spec"])
        assert [p["containerPort"] for p in container["ports"]] == [ports[process]], name
        expected = {"readinessProbe": ready[process], "livenessProbe": alive[process]}
        if "startupProbe" in container:
            expected["startupProbe"] = ready[process]
        for probe, path in expected.items():
            get = container[probe]["httpGet"]
            assert get["path"] == path, (name, probe)
            assert container_port(container, get["port"]) == ports[process], (name, probe)


def test_k8s_services_reach_the_processes(k8s_settings: Settings) -> None:
    ports = process_ports(k8s_settings)
    deployments = k8s_objects("Deployment")
    by_process = {process: name for name, process in deployment_processes().items()}
    for name, process in deployment_processes().items():
        service = k8s_objects("Service")[name]["spec"]
        assert selects(service["selector"], deployments[name]), name
        others = [d for other, d in deployments.items() if other != name]
        assert not any(selects(service["selector"], d) for d in others), name
        (port,) = service["ports"]
        container = only_container(deployments[name]["spec"]["template"]["spec"])
        assert container_port(container, port["targetPort"]) == ports[process], name
    for url, port in [
        (k8s_settings.rasa_base_url, k8s_settings.rasa_port),
        (k8s_settings.action_server_base_url, k8s_settings.action_port),
    ]:
        host, url_port = host_port(url)
        service = k8s_objects("Service")[host]["spec"]
        assert [p["port"] for p in service["ports"]] == [url_port]
        assert by_process[process_on(k8s_settings, port)] == host, url
    assert k8s_settings.edge == "none", "the Service `rasa` and the ingress are the edge"


def test_k8s_rasa_scales_on_shared_stores(run_prod: Settings, k8s_settings: Settings) -> None:
    rasa = next(n for n, p in deployment_processes().items() if p in rasa_instances(k8s_settings))
    deployment = k8s_objects("Deployment")[rasa]
    assert deployment["spec"]["replicas"] >= run_prod.rasa_instances
    (hpa,) = [
        h
        for h in k8s_objects("HorizontalPodAutoscaler").values()
        if h["spec"]["scaleTargetRef"]
        == {"apiVersion": "apps/v1", "kind": "Deployment", "name": rasa}
    ]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["minReplicas"] >= run_prod.rasa_instances
    assert hpa["spec"]["maxReplicas"] >= hpa["spec"]["minReplicas"]
    assert any(m["resource"]["name"] == "cpu" for m in hpa["spec"]["metrics"])
    container = only_container(deployment["spec"]["template"]["spec"])
    assert container["resources"]["requests"]["cpu"], "CPU utilization needs a CPU request"
    # As many Rasa processes as the HPA allows: the checks for several instances
    # (Redis lock store, PostgreSQL tracker store) must pass.
    k8s_settings.replace(rasa_instances=hpa["spec"]["maxReplicas"])


def test_k8s_web_replicas_share_redis(k8s_settings: Settings) -> None:
    # Several web processes act as one only through Redis (hub, rate limits).
    web = process_on(k8s_settings, k8s_settings.app_port)
    (name,) = [n for n, p in deployment_processes().items() if p == web]
    deployment = k8s_objects("Deployment")[name]
    assert deployment["spec"]["replicas"] >= 2
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert k8s_settings.redis_url


def test_k8s_migrate_job_runs_the_migration() -> None:
    (job,) = k8s_objects("Job").values()
    container = only_container(job["spec"]["template"]["spec"])
    assert [*container["command"], *container["args"]] == MIGRATE_COMMAND


def test_k8s_purge_runs_every_night() -> None:
    (cron,) = k8s_objects("CronJob").values()
    minute, hour, *every_day = cron["spec"]["schedule"].split()
    assert every_day == ["*", "*", "*"] and minute.isdigit() and hour.isdigit()
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    container = only_container(pod)
    assert [*container["command"], *container["args"]] == PURGE_COMMAND
    assert pod["restartPolicy"] in ("Never", "OnFailure")


# What must stay inside the cluster: Rasa's HTTP API, the web app's own channel to
# Rasa, the action server's webhook. What the public may reach, and where.
INTERNAL_PATHS = [
    "/conversations/someone/tracker",
    "/conversations/someone/tracker/events",
    "/conversations/someone/execute",
    "/model",
    "/model/parse",
    "/status",
    "/version",
    "/webhooks/web/turn",
    "/webhooks/rest/",
    "/webhook",
]
PUBLIC_PATHS = {
    "/webhooks/rest/webhook": "rasa",
    "/webhooks/voice/webhook": "rasa",
    "/webhooks/voice/status": "rasa",
    "/": "web",
    "/chat/ws": "web",
    "/agent/login": "web",
    "/static/widget.js": "web",
}
INGRESS_CONTROLLER = ("namespace", "ingress-nginx")


def ingress_backend(path: str) -> str | None:
    """The Service the Ingresses send `path` to (Kubernetes' matching over all
    of them: the longest path wins, Exact before Prefix; Prefix by whole path
    elements)."""
    best: tuple[tuple[int, bool], str] | None = None
    for ingress in k8s_objects("Ingress").values():
        assert "defaultBackend" not in ingress["spec"]
    entries = [
        entry
        for ingress in k8s_objects("Ingress").values()
        for rule in ingress["spec"]["rules"]
        for entry in rule["http"]["paths"]
    ]
    for entry in entries:
        own, kind = entry["path"], entry["pathType"]
        assert kind in ("Exact", "Prefix"), own
        prefix = own.rstrip("/")
        if kind == "Exact":
            matched = path == own
        else:
            matched = own == "/" or path == prefix or path.startswith(prefix + "/")
        rank = (len(own), kind == "Exact")
        if matched and (best is None or rank > best[0]):
            best = (rank, entry["backend"]["service"]["name"])
    return best[1] if best else None


def web_app_routes(path: str) -> bool:
    """Whether the web app has a route for `path` (else it answers 404)."""
    from starlette.routing import Match

    from bot.web.app import create_app

    scope = {"type": "http", "path": path, "method": "GET", "root_path": ""}
    return any(route.matches(scope)[0] != Match.NONE for route in create_app().routes)


def test_k8s_services_stay_inside_the_cluster() -> None:
    for name, service in k8s_objects("Service").items():
        assert service["spec"].get("type", "ClusterIP") == "ClusterIP", name
        assert "externalIPs" not in service["spec"], name


def test_k8s_ingress_exposes_only_the_public_entry_points(settings_for: SettingsFor) -> None:
    settings_for({})
    for path, service in PUBLIC_PATHS.items():
        assert ingress_backend(path) == service, path
    for path in INTERNAL_PATHS:
        assert ingress_backend(path) == "web", path  # never Rasa, never the action server
        assert not web_app_routes(path), path  # where it gets 404
    for ingress in k8s_objects("Ingress").values():
        for rule in ingress["spec"]["rules"]:
            for entry in rule["http"]["paths"]:
                backend = entry["backend"]["service"]
                assert backend["name"] in ("web", "rasa"), entry
                (port,) = k8s_objects("Service")[backend["name"]]["spec"]["ports"]
                assert backend["port"] == {"name": port["name"]}, entry


def _megabytes(size: str) -> int:
    """ingress-nginx's body size notation ("1m") in bytes."""
    assert re.fullmatch(r"\d+m", size), size
    return int(size[:-1]) * 1024 * 1024


def test_k8s_ingress_body_limits_fit_what_the_app_takes(settings_for: SettingsFor) -> None:
    """Receipts (RECEIPT_MAX_BYTES and the form around them) pass the ingress;
    every other request is held to the edge's limit, as behind nginx elsewhere."""
    settings = settings_for({})
    limits = {}
    for ingress in k8s_objects("Ingress").values():
        size = _megabytes(
            ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"]
        )
        for rule in ingress["spec"]["rules"]:
            for entry in rule["http"]["paths"]:
                limits[entry["path"]] = size
    assert limits.pop("/chat/receipt") >= settings.receipt_max_bytes + UPLOAD_OVERHEAD_BYTES
    assert set(limits.values()) == {settings.edge_max_body_bytes}
    hosts = {
        (rule["host"], tls["secretName"])
        for ingress in k8s_objects("Ingress").values()
        for rule, tls in zip(ingress["spec"]["rules"], ingress["spec"]["tls"], strict=True)
    }
    assert len(hosts) == 1, "one host, one certificate"


def pod_labels() -> dict[str, dict[str, str]]:
    """Each of our workloads (Deployments, Jobs, CronJobs) -> its pods' labels."""
    labels = {}
    for kind in ("Deployment", "Job"):
        for name, workload in k8s_objects(kind).items():
            labels[name] = workload["spec"]["template"]["metadata"]["labels"]
    for name, cron in k8s_objects("CronJob").items():
        labels[name] = cron["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    return labels


def policies(direction: str, labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """The NetworkPolicies for `direction` (Ingress, Egress) that select pods with `labels`."""
    return [
        policy
        for policy in k8s_objects("NetworkPolicy").values()
        if direction in policy["spec"]["policyTypes"]
        and policy["spec"]["podSelector"].get("matchLabels", {}).items() <= labels.items()
    ]


def peers(direction: str, labels: Mapping[str, str]) -> set[tuple[str, str, int]]:
    """Who pods with `labels` may hear from (Ingress) or talk to (Egress):
    ("pods", component, port), ("namespace", name, port), or ("anywhere", "", port)."""
    allowed = set()
    for policy in policies(direction, labels):
        for rule in policy["spec"].get(direction.lower(), []):
            ports = [port["port"] for port in rule["ports"]]  # a rule names its ports
            found = rule.get("from" if direction == "Ingress" else "to", [])
            assert found or direction == "Egress", f"{policy['metadata']['name']}: from anyone"
            for peer in found or [{}]:
                assert "ipBlock" not in peer, policy["metadata"]["name"]
                if "namespaceSelector" in peer:
                    names = peer["namespaceSelector"]["matchLabels"]
                    who = ("namespace", names["kubernetes.io/metadata.name"])
                elif "podSelector" in peer:
                    selector = peer["podSelector"]["matchLabels"]
                    assert selector["app.kubernetes.io/name"] == "stadtwerk", policy
                    who = ("pods", selector["app.kubernetes.io/component"])
                else:
                    who = ("anywhere", "")
                allowed |= {(*who, port) for port in ports}
    return allowed


def test_k8s_nothing_comes_in_unless_a_policy_lets_it() -> None:
    deny = [
        p
        for p in k8s_objects("NetworkPolicy").values()
        if p["spec"]["podSelector"] == {} and "Ingress" in p["spec"]["policyTypes"]
    ]
    assert deny and all(not p["spec"].get("ingress") for p in deny)
    for name, labels in pod_labels().items():
        assert any(p in deny for p in policies("Ingress", labels)), name


def test_k8s_only_rasa_reaches_the_action_server_and_rasa_only_the_web_and_ingress(
    k8s_settings: Settings,
) -> None:
    rasa, actions, web = (pod_labels()[name] for name in ("rasa", "actions", "web"))
    controller = INGRESS_CONTROLLER
    assert peers("Ingress", actions) == {("pods", "rasa", k8s_settings.action_port)}
    assert peers("Ingress", rasa) == {
        ("pods", "web", k8s_settings.rasa_port),
        (*controller, k8s_settings.rasa_port),
    }
    assert peers("Ingress", web) == {(*controller, k8s_settings.app_port)}
    for job in set(pod_labels()) - {"rasa", "actions", "web"}:
        assert peers("Ingress", pod_labels()[job]) == set(), job


def test_k8s_pods_go_out_only_to_dns_the_databases_and_each_other(
    k8s_settings: Settings,
) -> None:
    base = {("anywhere", "", 5432), ("anywhere", "", 6379)}
    dns = {("namespace", "kube-system", 53)}
    expected = {
        "web": base | dns | {("pods", "rasa", k8s_settings.rasa_port)},
        "rasa": base | dns | {("pods", "actions", k8s_settings.action_port)},
    }
    for name, labels in pod_labels().items():
        assert peers("Egress", labels) == expected.get(name, base | dns), name
    # The databases the Secret names are reached on the ports let out.
    for url in (k8s_environment()["DATABASE_URL"], k8s_environment()["REDIS_URL"]):
        assert ("anywhere", "", host_port(url)[1]) in base, url


# --- systemd --------------------------------------------------------------------------


def read_unit(path: Path) -> dict[str, list[tuple[str, str]]]:
    """A unit file as {section: [(key, value), ...]}; keys may repeat."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            sections.setdefault(current, [])
            continue
        key, separator, value = line.partition("=")
        assert separator and current, f"{path.name}: cannot read {raw!r}"
        sections[current].append((key.strip(), value.strip()))
    return sections


def unit_values(path: Path, section: str, key: str) -> list[str]:
    return [value for k, value in read_unit(path).get(section, []) if k == key]


def unit_value(path: Path, section: str, key: str) -> str:
    (value,) = unit_values(path, section, key)
    return value


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines (systemd's EnvironmentFile and compose's --env-file syntax)."""
    values = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        key, separator, value = line.partition("=")
        assert separator and re.fullmatch(r"[A-Z_][A-Z0-9_]*", key), f"{path.name}: {raw!r}"
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key] = value
    return values


def target_wants() -> list[str]:
    return [u for value in unit_values(SYSTEMD_TARGET, "Unit", "Wants") for u in value.split()]


def target_units() -> list[str]:
    """The services the target starts (its timers start the scheduled jobs)."""
    return [unit for unit in target_wants() if unit.endswith(".service")]


def unit_processes() -> dict[str, str]:
    """Unit the target wants -> the launcher process it runs."""
    processes = {}
    for unit in target_units():
        if "@" in unit:
            template, instance = re.fullmatch(r"(.+@)(.+)\.service", unit).groups()
            path = SYSTEMD / f"{template}.service"
        else:
            path, instance = SYSTEMD / unit, ""
        command = unit_value(path, "Service", "ExecStart").replace("%i", instance)
        assert command.startswith(UNIT_PREFIX), f"{path.name}: {command}"
        processes[unit] = command.removeprefix(UNIT_PREFIX)
    return processes


def process_unit_files() -> list[Path]:
    return [p for p in SYSTEMD.glob("*.service") if "--process" in p.read_text(encoding="utf-8")]


@pytest.fixture
def systemd_settings(settings_for: SettingsFor) -> Settings:
    return settings_for(with_test_secrets(read_env_file(SYSTEMD_ENV)))


def test_systemd_environment_file_is_run_prod_in_production(
    settings_for: SettingsFor, run_prod: Settings
) -> None:
    environment = read_env_file(SYSTEMD_ENV)
    assert_placeholder_secrets(settings_for, environment, SYSTEMD_ENV.name)
    systemd_settings = settings_for(with_test_secrets(environment))
    assert_known_variables(set(environment), SYSTEMD_ENV.name)
    assert_production_values(environment, SYSTEMD_ENV.name)
    assert set(run_prod_exports()) <= set(environment)
    assert process_ports(systemd_settings) == process_ports(run_prod)
    assert systemd_settings.rasa_instances == run_prod.rasa_instances


def test_systemd_target_starts_the_launcher_processes(
    run_prod: Settings, systemd_settings: Settings
) -> None:
    processes = list(unit_processes().values())
    assert sorted(processes) == sorted(process_ports(systemd_settings))
    assert sorted(processes) == sorted(process_ports(run_prod))


def test_systemd_units_are_alike_and_hardened() -> None:
    files = process_unit_files()
    assert {SYSTEMD / re.sub(r"@.+\.", "@.", unit) for unit in target_units()} == set(files)
    jobs = [SYSTEMD / "stadtwerk-migrate.service", SYSTEMD / "stadtwerk-purge.service"]
    for path in [*files, *jobs]:
        expected = {
            "EnvironmentFile": UNIT_ENVIRONMENT_FILE,
            "WorkingDirectory": UNIT_WORKING_DIRECTORY,
            "NoNewPrivileges": "yes",
            "ProtectSystem": "strict",
            "PrivateTmp": "yes",
        }
        for key, value in expected.items():
            assert unit_value(path, "Service", key) == value, (path.name, key)
        assert unit_value(path, "Service", "User") not in ("", "root", "0"), path.name
        assert UNIT_WRITABLE in unit_value(path, "Service", "ReadWritePaths").split()
        names = {v.split("=")[0] for v in unit_values(path, "Service", "Environment")}
        assert names <= KNOWN_VARIABLES | RUNTIME_VARIABLES, path.name
    for path in files:
        assert unit_value(path, "Service", "Restart") == "on-failure", path.name
        assert unit_value(path, "Unit", "PartOf") == SYSTEMD_TARGET.name, path.name
        assert unit_value(path, "Install", "WantedBy") == SYSTEMD_TARGET.name, path.name
        assert "stadtwerk-migrate.service" in unit_value(path, "Unit", "Requires").split()
        assert "stadtwerk-migrate.service" in unit_value(path, "Unit", "After").split()


def test_systemd_migration_runs_first() -> None:
    path = SYSTEMD / "stadtwerk-migrate.service"
    assert unit_value(path, "Service", "Type") == "oneshot"
    python = UNIT_PREFIX.split(" -m ")[0]
    assert unit_value(path, "Service", "ExecStart") == " ".join([python, *MIGRATE_COMMAND[1:]])


def test_systemd_timer_purges_every_night() -> None:
    timer = SYSTEMD / "stadtwerk-purge.timer"
    assert "stadtwerk-purge.timer" in target_wants()
    assert set(target_wants()) - set(target_units()) == {timer.name}, "only the purge timer"
    assert re.fullmatch(r"\*-\*-\* \d\d:\d\d:\d\d", unit_value(timer, "Timer", "OnCalendar"))
    assert unit_value(timer, "Timer", "Persistent") == "true"
    service = SYSTEMD / unit_value(timer, "Timer", "Unit")
    assert service.name == "stadtwerk-purge.service"
    assert unit_value(service, "Service", "Type") == "oneshot"
    python = UNIT_PREFIX.split(" -m ")[0]
    assert unit_value(service, "Service", "ExecStart") == " ".join([python, *PURGE_COMMAND[1:]])


def test_systemd_edge_starts_after_the_instances_and_the_web_app(
    systemd_settings: Settings,
) -> None:
    by_process = {process: unit for unit, process in unit_processes().items()}
    front = process_on(systemd_settings, systemd_settings.rasa_port)
    path = SYSTEMD / by_process[front]
    after = unit_value(path, "Unit", "After").split()
    assert {by_process[name] for name in rasa_instances(systemd_settings)} <= set(after)
    assert by_process["web"] in after
    # 443 and 80 as the unprivileged user: that capability and no other
    assert unit_value(path, "Service", "AmbientCapabilities") == "CAP_NET_BIND_SERVICE"
    assert unit_value(path, "Service", "CapabilityBoundingSet") == "CAP_NET_BIND_SERVICE"
    assert edge_ports(systemd_settings) == {443, 80}


def test_action_server_listens_on_bind_host(systemd_settings: Settings) -> None:
    # rasa-sdk binds SANIC_HOST (default 0.0.0.0), not BIND_HOST: the launcher
    # hands BIND_HOST on as SANIC_HOST to every process it starts.
    import rasa_sdk.endpoint

    assert "SANIC_HOST" in inspect.getsource(rasa_sdk.endpoint.run)
    assert child_environment(systemd_settings)["SANIC_HOST"] == systemd_settings.bind_host


# --- the edge -----------------------------------------------------------------------------


@pytest.mark.parametrize("topology", ["run-prod", "compose", "systemd"])
def test_each_topologys_edge_passes_nginx_t(
    topology: str,
    run_prod: Settings,
    compose_settings: Settings,
    systemd_settings: Settings,
    tmp_path: Path,
) -> None:
    """The nginx configuration each topology's settings give, checked by nginx
    itself (with this machine's certificate files, addresses and ports in place
    of the deployment's, which nginx -t would open and resolve)."""
    settings = {"run-prod": run_prod, "compose": compose_settings, "systemd": systemd_settings}
    plan = plan_for(settings[topology])
    assert plan.tls_cert == settings[topology].edge_tls_cert  # production names its own
    assert checked(as_here(plan, tmp_path), tmp_path) == (0, "")
    assert len(plan.rasa) == settings[topology].rasa_instances


# --- README ---------------------------------------------------------------------------


def test_readme_names_every_deployment_file() -> None:
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    for path in DEPLOY.rglob("*"):
        if path.is_file() and path.name != "README.md":
            assert path.name in readme, f"deploy/README.md does not mention {path.name}"
