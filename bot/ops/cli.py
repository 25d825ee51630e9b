"""Command line: `python -m bot <command>`.

import-data FILE         load customers (all or nothing, idempotent)
export-customer NUMBER   print one customer and what the assistant did
migrate                  create or upgrade the database schema (and create missing
                         PostgreSQL databases for it and the tracker store)
create-agent USERNAME    add a console login (asks for the password)
create-agent --demo      add the demo agents of data/demo/agents.json (not in production)
shell                    talk to the bot in this terminal (`rasa shell`; the
                         action server from `make run` must be running)
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path

from bot.domain.errors import DomainError, InvalidRecord, NotFound
from bot.domain.services import agents, customer_data
from bot.infra.db import ensure_database, session_scope
from bot.infra.migrate import upgrade
from bot.infra.settings import ROOT, get_settings

DEMO_AGENTS = ROOT / "data" / "demo" / "agents.json"


def _import(path: str) -> int:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        print(f"error: file not found: {path}", file=sys.stderr)
        return 2
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        print(f"error: {path} is not valid JSON: {exc}", file=sys.stderr)
        return 2
    upgrade()
    try:
        with session_scope() as session:
            counts = customer_data.import_customers(session, document)
    except InvalidRecord as exc:
        print(f"error: nothing imported, {exc}", file=sys.stderr)
        return 1
    print(
        f"imported {counts['customers']} customers, {counts['contracts']} contracts, "
        f"{counts['bills']} bills ({counts['created']} new, {counts['updated']} updated)"
    )
    return 0


def _export(number: str) -> int:
    try:
        with session_scope() as session:
            record = customer_data.export_customer(session, number)
    except NotFound:
        print(f"error: no customer with number {number}", file=sys.stderr)
        return 1
    print(json.dumps(record, ensure_ascii=False, indent=2))
    return 0


def _create_agent(args: argparse.Namespace) -> int:
    upgrade()
    if args.demo:
        return _demo_agents()
    if not args.username or not args.first_name or not args.last_name:
        print("error: give USERNAME, --first-name and --last-name (or --demo)", file=sys.stderr)
        return 2
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("error: the passwords differ", file=sys.stderr)
            return 2
    try:
        with session_scope() as session:
            agent = agents.create_agent(
                session,
                username=args.username,
                first_name=args.first_name,
                last_name=args.last_name,
                password=password,
            )
    except (DomainError, ValueError) as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"created agent {agent.username} ({agent.first_name} {agent.last_name})")
    return 0


def _demo_agents() -> int:
    """The demo team (known passwords): refused in production."""
    if get_settings().app_env == "production":
        print("error: demo agents are not created in production", file=sys.stderr)
        return 1
    created = 0
    with session_scope() as session:
        for record in json.loads(DEMO_AGENTS.read_text(encoding="utf-8")):
            try:
                agents.create_agent(session, **record)
                created += 1
            except agents.AgentExists:
                continue
    print(f"demo agents: {created} new")
    return 0


def _shell() -> int:
    """`rasa shell` with the same environment and model as `make run`."""
    import os

    from bot.ops.launcher import BIN, child_environment, latest_model

    settings = get_settings()
    argv = [
        str(BIN / "rasa"),
        "shell",
        "--model",
        str(latest_model()),
        "--endpoints",
        str(ROOT / "endpoints.yml"),
        # its own port, so it runs beside the server from `make run`
        "--port",
        str(settings.rasa_port + 10),
    ]
    os.chdir(ROOT)
    os.execve(argv[0], argv, child_environment(settings))
    return 0  # not reached: execve replaces this process


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    imp = commands.add_parser("import-data", help="import customers from a JSON file")
    imp.add_argument("file")
    exp = commands.add_parser("export-customer", help="print one customer as JSON")
    exp.add_argument("number")
    commands.add_parser("migrate", help="create or upgrade the database schema")
    commands.add_parser("shell", help="talk to the bot in this terminal (rasa shell)")
    agent = commands.add_parser("create-agent", help="add a login for the agent console")
    agent.add_argument("username", nargs="?")
    agent.add_argument("--first-name")
    agent.add_argument("--last-name")
    agent.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    agent.add_argument("--demo", action="store_true", help="add the demo agents")
    args = parser.parse_args(argv)
    if args.command == "import-data":
        return _import(args.file)
    if args.command == "export-customer":
        return _export(args.number)
    if args.command == "shell":
        return _shell()
    if args.command == "create-agent":
        return _create_agent(args)
    settings = get_settings()
    upgrade()
    # Rasa creates its tables itself, but not a missing PostgreSQL database.
    ensure_database(settings.tracker_store_url)
    print("database is at the newest schema")
    return 0
