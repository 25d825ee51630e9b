"""The image's two stages, read without building (docs/image.md).

`build` installs the lock file and trains the model with scripts/build_image.sh;
`runtime` is Ubuntu's python3.10 and what it copies: the virtualenv, the model
and the lemma tables from `build`, the code from the build context. It runs as
a non-root user on a read-only root file system, writing only to its declared
volumes, as every Kubernetes pod is set up to. tests/production/test_image_from_git.py
runs the same steps on a clean clone.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from typing import Any

from tests.unit.test_deploy import (
    BUILD_SCRIPT,
    ROOT,
    Stage,
    dockerfile,
    dockerfile_stages,
    image_uid,
    only_container,
    pod_specs,
    script_outputs,
)

# What the runtime stage must not carry: compilers, headers, the venv module, fetchers.
BUILD_TOOLS = re.compile(r"^(build-essential|gcc|g\+\+|make|.*-dev|.*-venv|git|curl|wget)$")


def apt_packages(run: str) -> list[str]:
    """The packages of every `apt-get install` in a RUN command."""
    packages = []
    for command in run.split("&&"):
        words = command.split()
        if "apt-get" in words and "install" in words:
            after = words[words.index("install") + 1 :]
            packages += [word for word in after if not word.startswith("-")]
    return packages


def copied_before(stage: Stage, command: str) -> set[str]:
    """The build-context sources a stage has copied when it runs `command`."""
    sources: set[str] = set()
    for keyword, arguments in stage.instructions:
        if keyword == "RUN" and arguments.endswith(command):
            return sources
        if keyword == "COPY":
            sources |= {source.rstrip("/") for source in shlex.split(arguments)[:-1]}
    raise AssertionError(f"no RUN {command}")


def script_steps() -> set[str]:
    (steps,) = re.findall(r"^case .*\n\s*(.+)\)", BUILD_SCRIPT.read_text(), re.MULTILINE)
    return {step.strip() for step in steps.split("|")}


def test_two_stages_on_the_same_ubuntu() -> None:
    stages = dockerfile_stages()
    assert list(stages) == ["build", "runtime"]
    (base,) = {stage.base for stage in stages.values()}
    assert re.fullmatch(r"ubuntu:\d\d\.04(@sha256:[0-9a-f]{64})?", base), "an LTS, pinned"
    assert {stage.workdir for stage in stages.values()} == {"/opt/stadtwerk"}


def test_apt_installs_only_what_is_named() -> None:
    for stage in dockerfile_stages().values():
        for run in stage.runs():
            if "apt-get install" in run:
                assert "--no-install-recommends" in run, stage.name
                assert "rm -rf /var/lib/apt/lists/*" in run, stage.name


def test_the_build_stage_runs_the_script() -> None:
    build = dockerfile_stages()["build"]
    calls = [run.split() for run in build.runs() if "build_image.sh" in run]
    assert calls == [["scripts/build_image.sh", "install"], ["scripts/build_image.sh", "model"]]
    assert {step for _, step in calls} < script_steps()
    # everything else is the system's Python and compilers
    others = [run for run in build.runs() if "build_image.sh" not in run]
    assert all(run.startswith("apt-get update") for run in others), others
    # the install sees only the lock file and the script (its layer outlives code
    # changes); training sees every input of the model (scripts/train_if_needed.py)
    from scripts.train_if_needed import INPUTS

    assert copied_before(build, "scripts/build_image.sh install") == {
        "requirements.lock",
        "scripts/build_image.sh",
    }
    trained_from = {
        path.split("/")[0] for path in copied_before(build, "scripts/build_image.sh model")
    }
    assert {entry.split("/")[0] for entry in INPUTS} <= trained_from


def test_every_copy_from_the_build_stage_is_made_by_the_script() -> None:
    stages = dockerfile_stages()
    build, runtime = stages["build"], stages["runtime"]
    tracked = set(
        subprocess.run(
            ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split()
    )
    from_build = {
        target: source
        for target, (origin, source) in runtime.copied_to().items()
        if origin is not None
    }
    assert set(from_build) == set(script_outputs())
    for target, source in from_build.items():
        assert runtime.copied_to()[target][0] == "build"
        # at the same path as in the build stage: a virtualenv does not move
        assert source == f"{build.workdir}/{target}", target
        # not in git, not copied into the build stage: only the script's RUN makes it
        assert not any(path == target or path.startswith(f"{target}/") for path in tracked)
        assert target not in build.copied_to()


def test_the_runtime_stage_has_no_build_tools() -> None:
    runtime = dockerfile_stages()["runtime"]
    packages = [package for run in runtime.runs() for package in apt_packages(run)]
    assert "python3.10" in packages
    assert not [package for package in packages if BUILD_TOOLS.match(package)], packages
    assert not [run for run in runtime.runs() if "pip " in run], "no installing at run time"
    assert "requirements.lock" not in runtime.copied_to()


def test_the_runtime_stage_runs_the_virtualenv_as_a_non_root_user() -> None:
    runtime = dockerfile_stages()["runtime"]
    (user,) = runtime.get("USER")
    uid, gid = (int(part) for part in user.split(":"))
    assert uid == image_uid() != 0 and gid != 0
    (useradd,) = [run for run in runtime.runs() if "useradd" in run]
    assert f"--gid {gid}" in useradd and f"--uid {uid}" in useradd
    # `python` of the ENTRYPOINT (and of the Jobs' commands) is the virtualenv's
    environment = " ".join(runtime.get("ENV"))
    assert f"PATH={runtime.workdir}/.venv/bin:$PATH" in environment
    # the image checks itself as that user, after everything is in place
    keywords = [key for key, _ in runtime.instructions]
    assert keywords.index("USER") > max(i for i, key in enumerate(keywords) if key == "COPY")
    assert runtime.runs()[-1] == "scripts/build_image.sh check"


def writable_paths() -> list[str]:
    """The image's VOLUMEs: the only paths its processes write to."""
    (volumes,) = dockerfile("VOLUME")
    return json.loads(volumes)


def test_what_the_processes_write_lies_in_a_volume() -> None:
    runtime = dockerfile_stages()["runtime"]
    environment = dict(
        word.partition("=")[::2]
        for arguments in runtime.get("ENV")
        for word in shlex.split(arguments)
    )
    home = environment["HOME"]
    assert f"--home-dir {home}" in " ".join(runtime.runs())
    assert sorted(writable_paths()) == sorted(["/tmp", home])
    # the edge's nginx.conf (the settings' default, var/edge, is read-only in the image)
    assert any(environment["EDGE_DIR"].startswith(f"{path}/") for path in writable_paths())


def security(container: dict[str, Any]) -> dict[str, Any]:
    return container.get("securityContext", {})


def test_every_pod_runs_read_only_as_the_image_user() -> None:
    (user,) = dockerfile("USER")
    uid, gid = (int(part) for part in user.split(":"))
    for name, pod in pod_specs().items():
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] == uid, name
        assert pod["securityContext"]["runAsGroup"] == gid, name
        container = only_container(pod)
        assert security(container)["readOnlyRootFilesystem"] is True, name
        assert security(container)["allowPrivilegeEscalation"] is False, name
        assert security(container)["capabilities"] == {"drop": ["ALL"]}, name
        # an emptyDir at each of the image's writable paths, and nothing else mounted
        volumes = {volume["name"]: volume for volume in pod["volumes"]}
        mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
        assert sorted(mounts) == sorted(writable_paths()), name
        assert all("emptyDir" in volumes[volume] for volume in mounts.values()), name
