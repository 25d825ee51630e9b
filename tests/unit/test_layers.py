"""The layers of the code, as docs/architecture.md draws them, checked on the source.

Read with `ast`, nothing imported: every import of every module of ours
(also the ones inside functions), the classes they define and the strings
they contain.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "actions", "connectors", "nlu_components")
FRAMEWORKS = ("rasa", "rasa_sdk", "sanic", "fastapi", "starlette", "uvicorn", "twilio")
# Vocabulary of the protocol that happens to be a slot's name too: the
# metadata key a channel uses to say which language the customer chose.
PROTOCOL_WORDS = {"language"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, ast.Module]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts and "versions" in path.parts:
                continue
            found[module_name(path)] = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return found


def imports(tree: ast.Module, name: str) -> Iterator[str]:
    """Every module `tree` imports (absolute names), wherever the import stands."""
    package = name if name in modules() and _is_package(name) else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            for alias in node.names:
                yield f"{base}.{alias.name}"


def _is_package(name: str) -> bool:
    return (ROOT / Path(*name.split(".")) / "__init__.py").exists()


def own_imports(name: str) -> set[str]:
    """The modules of ours that `name` imports."""
    return {target for target in imports(modules()[name], name) if target in modules()} - {name}


def third_party(name: str) -> set[str]:
    return {target.split(".")[0] for target in imports(modules()[name], name)}


def test_there_is_no_import_cycle():
    graph = {name: own_imports(name) for name in modules()}
    try:
        list(TopologicalSorter(graph).static_order())
    except CycleError as cycle:
        pytest.fail(f"import cycle: {' -> '.join(cycle.args[1])}")


def test_the_check_sees_imports_inside_functions():
    assert "bot.infra.settings" in own_imports("bot.rasa_runtime.server")


@pytest.mark.parametrize("name", [n for n in sorted(modules()) if n.startswith("bot.domain")])
def test_the_domain_imports_no_framework_channel_web_or_infrastructure(name):
    forbidden = {t for t in third_party(name) if t in FRAMEWORKS or t in ("actions", "connectors")}
    ours = {
        t
        for t in own_imports(name)
        if not t.startswith("bot.domain") and t != "bot"  # `bot` itself is only its docstring
    }
    assert not forbidden and not ours, f"{name} imports {sorted(forbidden | ours)}"


def test_the_protocol_imports_nothing_of_ours_and_no_framework():
    assert not own_imports("bot.protocol") - {"bot"}
    assert not third_party("bot.protocol") & {*FRAMEWORKS, "sqlalchemy", "pydantic"}


@pytest.mark.parametrize("name", ["bot.infra.settings", "bot.infra.db"])
def test_infrastructure_imports_no_web_channel_or_runtime_code(name):
    assert all(t.startswith(("bot.infra", "bot.domain")) for t in own_imports(name) - {"bot"})


def slot_names() -> set[str]:
    names = {"requested_slot"}
    for path in (ROOT / "domain").glob("*.yml"):
        names |= set((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("slots") or {})
    return names


def channel_modules() -> list[str]:
    return [name for name in sorted(modules()) if name.startswith("connectors")]


def test_the_slot_check_knows_the_slots():
    assert {"verified_customer", "birth_date", "ap_amount", "language"} <= slot_names()


@pytest.mark.parametrize("name", channel_modules())
def test_no_channel_names_a_slot_or_reads_the_tracker(name):
    tree = modules()[name]
    strings = {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    named = strings & (slot_names() - PROTOCOL_WORDS)
    assert not named, f"{name} names slots {sorted(named)}"
    attributes = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    assert not attributes & {"get_slot", "slots", "current_slot_values"}, name


def classes_named(wanted: str) -> list[str]:
    return [
        f"{name}.{node.name}"
        for name, tree in modules().items()
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef) and node.name == wanted
    ]


def test_one_class_defines_the_bots_reply_and_one_the_settings():
    assert classes_named("BotReply") == ["bot.protocol.BotReply"]
    assert classes_named("Settings") == ["bot.infra.settings.Settings"]


def test_channels_read_replies_only_through_the_protocol():
    """No channel or web module picks Rasa's `custom` payloads apart itself."""
    readers = []
    for name, tree in modules().items():
        if name == "bot.protocol" or not name.startswith(("connectors", "bot.web")):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in ("custom", "end_conversation"):
                readers.append(name)
    assert not readers, f"these read Rasa's payloads themselves: {sorted(set(readers))}"
