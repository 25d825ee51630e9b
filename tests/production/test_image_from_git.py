"""The image builds from git alone: deploy/Dockerfile's steps, run on a clean clone.

This machine has the Docker client but no daemon, so the test does what the
Dockerfile does, instruction by instruction, with the same commands. It clones
HEAD (committed files only, like a CI checkout), copies what each COPY names
into a directory that stands for the image's file system, and runs every RUN
that calls scripts/build_image.sh (install, model, check) with this machine's
python3.10. Only the apt-get and useradd lines are skipped: this machine
stands in for them. The runtime stage gets the build stage's virtualenv at the
same path, as in Docker. Then the ENTRYPOINT's Rasa process starts in it and
answers in German and Turkish, and the image's file system is as it was at
USER: the processes wrote only to their VOLUMEs (HOME, /tmp) and the database.

About 4 to 4.5 minutes here (pip from the lock file about 1.5, training about 2).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.domain.language import detect
from bot.infra.settings import variables
from tests.unit.test_deploy import (
    TEST_PUBLIC_URL,
    TEST_SECRET,
    copy_arguments,
    dockerfile_stages,
    run_command,
)

ROOT = Path(__file__).resolve().parents[2]
# RUN lines this machine stands in for: the system's python3.10, the user.
SYSTEM_SETUP = ("apt-get ", "groupadd ")
STEP_TIMEOUT = 900
GREETINGS = {
    "de": "Hallo, ich habe eine Frage zu meiner Rechnung",
    "tr": "merhaba, faturamı öğrenmek istiyorum",
}


def on(root: Path, path: str) -> Path:
    """Where the image's absolute `path` lies in the directory `root` that stands for it."""
    return root / path.lstrip("/")


def snapshot(root: Path) -> dict[str, tuple[int, int] | None]:
    """Every file (size, mtime) and directory (None) under root."""
    entries: dict[str, tuple[int, int] | None] = {}
    for folder, directories, files in os.walk(root):
        for name in directories:
            entries[os.path.relpath(os.path.join(folder, name), root)] = None
        for name in files:
            status = os.lstat(os.path.join(folder, name))
            entries[os.path.relpath(os.path.join(folder, name), root)] = (
                status.st_size,
                status.st_mtime_ns,
            )
    return entries


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_logged(command: list[str], log: Path, **options) -> None:
    with log.open("a") as output:
        output.write(f"\n$ {shlex.join(command)}\n")
        output.flush()
        result = subprocess.run(
            command, stdout=output, stderr=subprocess.STDOUT, timeout=STEP_TIMEOUT, **options
        )
    if result.returncode:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        raise AssertionError(f"{shlex.join(command)} failed ({result.returncode}):\n{tail}")


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Path]:
    """tmp_path, without the clone and the image afterwards (a virtualenv of 3 GB);
    build.log stays."""
    yield tmp_path
    for folder in tmp_path.iterdir():
        if folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)


def test_the_image_builds_from_a_clean_clone(workspace: Path) -> None:
    log = workspace / "build.log"
    context = workspace / "context"
    subprocess.run(
        ["git", "-c", "advice.detachedHead=false", "clone", "--quiet", str(ROOT), str(context)],
        check=True,
    )
    python = subprocess.run(
        [str(context / "scripts" / "find_python.sh")], capture_output=True, text=True, check=True
    ).stdout.strip()
    stages = dockerfile_stages(context / "deploy" / "Dockerfile")
    (volumes,) = stages["runtime"].get("VOLUME")
    # each VOLUME of the image is a directory of its own here, outside the image
    writable = {path: workspace / f"volume{n}" for n, path in enumerate(json.loads(volumes))}
    for folder in writable.values():
        folder.mkdir()
    image = workspace / "image"  # the file system of the stage being built
    durations: dict[str, float] = {}
    at_user: dict[str, tuple[int, int] | None] = {}

    for number, stage in enumerate(stages.values()):
        if number:  # the previous stage stays, under its name, for COPY --from
            image.rename(workspace / list(stages)[number - 1])
        image.mkdir()
        environment = {**clean_environment(), "PYTHON": python}
        workdir = "/"
        for keyword, arguments in stage.instructions:
            if keyword == "ENV":
                for name, _, value in (word.partition("=") for word in shlex.split(arguments)):
                    environment[name] = in_image(image, writable, name, value)
            elif keyword == "WORKDIR":
                workdir = arguments
                on(image, workdir).mkdir(parents=True, exist_ok=True)
            elif keyword == "COPY":
                origin, sources, destination = copy_arguments(arguments)
                target = on(image, os.path.join(workdir, destination))
                for source in sources:
                    if origin:  # moved, not copied: the virtualenv has 3 GB
                        built = on(workspace / origin, source)
                        assert built.exists(), f"the {origin} stage made no {source}"
                        target.parent.mkdir(parents=True, exist_ok=True)
                        shutil.move(built, target)
                    else:
                        copy(context / source, target, into_directory=destination.endswith("/"))
            elif keyword == "USER":  # from here on nothing may change the image
                at_user = snapshot(image)
            elif keyword == "RUN":
                command = run_command(arguments)
                if command.startswith(SYSTEM_SETUP):
                    continue
                assert command.startswith("scripts/build_image.sh "), command
                started = time.monotonic()
                run_logged(["sh", "-c", command], log, cwd=on(image, workdir), env=environment)
                durations[command] = time.monotonic() - started

    # The ENTRYPOINT with the process of a Kubernetes pod (`args: ["rasa"]`), in
    # production mode, on SQLite files outside the image (PostgreSQL's stand-in).
    port = free_port()
    settings = {
        "APP_ENV": "production",
        "BIND_HOST": "127.0.0.1",
        "RASA_PORT": str(port),
        "DATABASE_URL": f"sqlite:///{workspace / 'stadtwerk.db'}",
        "TRACKER_STORE_URL": f"sqlite:///{workspace / 'tracker.db'}",
        "RASA_AUTH_TOKEN": TEST_SECRET,
        "TWILIO_AUTH_TOKEN": TEST_SECRET,
        "PSEUDONYM_KEY": TEST_SECRET,
        "PUBLIC_BASE_URL": TEST_PUBLIC_URL,
        "TMPDIR": str(writable["/tmp"]),
    }
    (entrypoint,) = stages["runtime"].get("ENTRYPOINT")
    started = time.monotonic()
    with log.open("a") as output:
        rasa = subprocess.Popen(
            [*json.loads(entrypoint), "rasa"],
            cwd=on(image, workdir),
            env={**environment, **settings},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        replies = talk(rasa, port, log)
    finally:
        rasa.send_signal(signal.SIGTERM)
        try:
            rasa.wait(timeout=30)
        except subprocess.TimeoutExpired:
            rasa.kill()
    durations["the ENTRYPOINT's Rasa: start, one message per language"] = time.monotonic() - started
    print("\n" + "\n".join(f"{seconds:5.0f} s  {step}" for step, seconds in durations.items()))

    for language, reply in replies.items():
        assert detect(reply) == language, (language, reply)
    after = snapshot(image)
    changed = sorted(
        path
        for path in after.keys() | at_user.keys()
        if after.get(path, "gone") != at_user.get(path, "gone")
    )
    assert not changed, f"written to the read-only image: {changed[:20]}"


def clean_environment() -> dict[str, str]:
    """This process's environment without our settings and PYTHONPATH, as a
    Docker build starts: the image's code and settings only."""
    dropped = {*variables(), "PYTHONPATH"}
    return {name: value for name, value in os.environ.items() if name not in dropped}


def in_image(image: Path, writable: dict[str, Path], name: str, value: str) -> str:
    """An ENV value with the image's paths where they lie here: PATH's directories
    (then this machine's PATH for $PATH), and paths in a VOLUME (HOME, EDGE_DIR)
    in its directory."""
    if name == "PATH":
        return ":".join(
            os.environ["PATH"] if part == "$PATH" else str(on(image, part))
            for part in value.split(":")
        )
    for path, folder in writable.items():
        if value == path or value.startswith(f"{path}/"):
            return str(folder / os.path.relpath(value, path))
    return value


def copy(source: Path, target: Path, into_directory: bool) -> None:
    """Docker's COPY from the context: a directory's contents, or a file (into the
    directory if the destination ends with /)."""
    if source.is_dir():
        shutil.copytree(source, target, dirs_exist_ok=True)
        return
    if into_directory:
        target = target / source.name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)


def talk(rasa: subprocess.Popen, port: int, log: Path) -> dict[str, str]:
    """One message per language over the REST channel, once Rasa answers on /."""
    deadline = time.monotonic() + 180
    while True:
        assert rasa.poll() is None, "Rasa exited:\n" + log.read_text(errors="replace")[-3000:]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "Rasa did not answer on / within 3 minutes"
        time.sleep(1)
    replies = {}
    for language, text in GREETINGS.items():
        answer = httpx.post(
            f"http://127.0.0.1:{port}/webhooks/rest/webhook",
            json={"sender": f"image-{language}", "message": text},
            timeout=30,
        ).json()
        replies[language] = " ".join(message.get("text", "") for message in answer)
    return replies
