"""Command line: `python -m bot <command>`.

import-data FILE         load customers, known outages, appointment slots and
                         knowledge-base answers (all or nothing, idempotent)
export-customer NUMBER   print one customer, what the assistant did and their
                         conversations, cases and calls (their copy, Art. 15 GDPR)
forget-customer NUMBER   erase one customer everywhere (Art. 17 GDPR); booking
                         records the law keeps are pseudonymised; --dry-run counts
purge                    delete what is past its retention period (daily job);
                         --dry-run counts, --daily-at HH:MM runs it every day
migrate                  create or upgrade the database schema (and create missing
                         PostgreSQL databases for it and the tracker store)
create-agent USERNAME    add a console login (asks for the password)
create-agent --demo      add the demo agents of data/demo/agents.json (not in production)
shell                    talk to the bot in this terminal (`rasa shell`; the
                         action server from `make run` must be running)
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from bot.domain.errors import DomainError, InvalidRecord, NotFound
from bot.domain.privacy import masked
from bot.domain.responses import load_responses
from bot.domain.services import (
    agents,
    appointments,
    customer_data,
    data_import,
    erasure,
    knowledge,
    retention,
)
from bot.infra.db import ensure_database, get_engine, session_scope
from bot.infra.migrate import upgrade
from bot.infra.settings import DOMAIN_DIR, ROOT, Settings, get_settings

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
    zone = ZoneInfo(get_settings().timezone)
    try:
        with session_scope() as session:
            topics = knowledge.topics_of(load_responses(DOMAIN_DIR))
            sections = data_import.import_document(session, document, zone, topics)
    except InvalidRecord as exc:
        print(f"error: nothing imported, {exc}", file=sys.stderr)
        return 1
    if "customers" in sections:
        counts = sections["customers"]
        print(
            f"imported {counts['customers']} customers, {counts['contracts']} contracts, "
            f"{counts['bills']} bills ({counts['created']} new, {counts['updated']} updated)"
        )
    if "tariffs" in sections:
        counts = sections["tariffs"]
        print(
            f"imported {counts['tariffs']} tariffs "
            f"({counts['created']} new, {counts['updated']} updated)"
        )
    if "outages" in sections:
        counts = sections["outages"]
        print(
            f"imported {counts['outages']} known outages "
            f"({counts['created']} new, {counts['updated']} updated)"
        )
    if "appointment_slots" in sections:
        counts = sections["appointment_slots"]
        print(
            f"imported {counts['slots']} appointment slots ({counts['created']} new, "
            f"{counts['updated']} updated, {counts['kept']} booked and kept)"
        )
    if "knowledge_base" in sections:
        counts = sections["knowledge_base"]
        print(
            f"imported {counts['articles']} knowledge-base answers "
            f"({counts['created']} new, {counts['updated']} updated)"
        )
    return 0


@contextmanager
def _stores(*, dry_run: bool = False) -> Iterator[tuple[Session, Connection]]:
    """Our database and Rasa's tracker store, each in one transaction.

    Both are committed at the end (the tracker store first), or both rolled
    back on an error or for a dry run. One database for both: one transaction.
    """
    settings = get_settings()
    with session_scope() as session:
        if settings.tracker_store_url == settings.database_url:
            yield session, session.connection()
        else:
            with get_engine(settings.tracker_store_url).connect() as tracker:
                transaction = tracker.begin()
                try:
                    yield session, tracker
                except BaseException:
                    transaction.rollback()
                    raise
                if dry_run:
                    transaction.rollback()
                else:
                    transaction.commit()
        if dry_run:
            session.rollback()


def _export(number: str) -> int:
    try:
        with _stores(dry_run=True) as (session, tracker):
            record = customer_data.export_customer(session, number, tracker)
    except NotFound:
        print(f"error: no customer with number {number}", file=sys.stderr)
        return 1
    print(json.dumps(record, ensure_ascii=False, indent=2))
    return 0


def _forget(number: str, dry_run: bool) -> int:
    if not re.fullmatch(r"\d{8}", number):
        print("error: a customer number has eight digits", file=sys.stderr)
        return 2
    pseudonym_key = get_settings().pseudonym_key.encode()  # finds their identity counters
    try:
        with _stores(dry_run=dry_run) as (session, tracker):
            report = erasure.forget_customer(session, tracker, number, pseudonym_key)
    except NotFound:
        print(f"error: no customer with number {number}; nothing changed", file=sys.stderr)
        return 1
    done = "would be erased (dry run, nothing changed)" if dry_run else "erased"
    print(f"customer {masked(number)} {done}:\n{report.text()}")
    return 0


def periods(settings: Settings) -> retention.Periods:
    """The retention periods the settings give."""
    return retention.Periods(
        conversations=dt.timedelta(days=settings.retention_conversation_days),
        phone_turns=dt.timedelta(days=settings.retention_phone_turn_days),
        closed_cases=dt.timedelta(days=settings.retention_case_days),
        audit=dt.timedelta(days=settings.retention_audit_days),
        account_change_years=settings.retention_account_change_years,
        identity_values=dt.timedelta(hours=settings.redact_identity_after_hours),
    )


def _purge_once(dry_run: bool) -> None:
    with _stores(dry_run=dry_run) as (session, tracker):
        settings = get_settings()
        key = settings.pseudonym_key.encode()  # pseudonyms in the records that stay
        report = retention.purge(session, tracker, periods(settings), key)
    done = "would be purged (dry run, nothing changed)" if dry_run else "purged"
    print(f"{done}:\n{report.text()}", flush=True)


def next_run(now: dt.datetime, at: dt.time) -> dt.datetime:
    """The next time of day `at` after `now` (both in the utility's time zone)."""
    today = now.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    return today if today > now else today + dt.timedelta(days=1)


def _purge(dry_run: bool, daily_at: str | None) -> int:
    if daily_at is None:
        _purge_once(dry_run)
        return 0
    try:
        at = dt.time.fromisoformat(daily_at)
    except ValueError:
        print("error: --daily-at takes a time of day, HH:MM", file=sys.stderr)
        return 2
    settings = get_settings()
    while True:  # a container's job: every day, until it is stopped
        wake = next_run(settings.now(), at)
        print(f"next purge at {wake.isoformat(timespec='minutes')}", flush=True)
        time.sleep(max(0.0, (wake - settings.now()).total_seconds()))
        try:
            _purge_once(dry_run)
        except Exception as error:  # noqa: BLE001 - tomorrow's run tries again
            print(f"error: purge failed ({type(error).__name__}); next run tomorrow", flush=True)


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
    """`rasa shell` with the same environment, model and runtime as `make run`.

    It runs through our Rasa entry point, so the custom actions run where
    `make run` runs them (in the shell's own Rasa process by default, else on the
    action server). A child process, not an exec: the endpoints file it is given
    is deleted when it ends.
    """
    import subprocess

    from bot.ops.launcher import BIN, child_environment, latest_model
    from bot.ops.rasa_env import write_endpoints

    settings = get_settings()
    argv = [
        str(BIN / "python"),
        "-m",
        "bot.rasa_runtime",
        "shell",
        "--model",
        str(latest_model()),
        # the action server, tracker and lock store of this environment
        "--endpoints",
        str(write_endpoints(settings)),
        # its own port, so it runs beside the server from `make run`
        "--port",
        str(settings.rasa_port + 10),
    ]
    with subprocess.Popen(argv, cwd=ROOT, env=child_environment(settings)) as shell:
        while True:
            try:
                return shell.wait()
            except KeyboardInterrupt:
                continue  # Ctrl-C reaches the shell too, which ends itself


def _demo_slots(days: int) -> int:
    """Free slots for trying the appointment dialogue (development only)."""
    if not 1 <= days <= 90:
        print("error: --days must be from 1 to 90", file=sys.stderr)
        return 2
    upgrade()
    settings = get_settings()
    planned = appointments.demo_slots(settings.today(), days, ZoneInfo(settings.timezone))
    with session_scope() as session:
        counts = appointments.import_slots(session, planned)
    print(f"planned {counts['slots']} demo appointment slots ({counts['created']} new)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    imp = commands.add_parser(
        "import-data",
        help="import customers, outages, appointment slots and answers from a JSON file",
    )
    imp.add_argument("file")
    exp = commands.add_parser("export-customer", help="print one customer as JSON")
    exp.add_argument("number")
    forget = commands.add_parser("forget-customer", help="erase one customer (Art. 17 GDPR)")
    forget.add_argument("number")
    forget.add_argument("--dry-run", action="store_true", help="count, change nothing")
    purge = commands.add_parser("purge", help="delete what is past its retention period")
    purge.add_argument("--dry-run", action="store_true", help="count, change nothing")
    purge.add_argument("--daily-at", metavar="HH:MM", help="run every day at this local time")
    plan = commands.add_parser(
        "demo-slots", help="plan free demo appointment slots for the coming weeks (idempotent)"
    )
    plan.add_argument("--days", type=int, default=21)
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
    if args.command == "forget-customer":
        return _forget(args.number, args.dry_run)
    if args.command == "purge":
        return _purge(args.dry_run, args.daily_at)
    if args.command == "shell":
        return _shell()
    if args.command == "create-agent":
        return _create_agent(args)
    if args.command == "demo-slots":
        return _demo_slots(args.days)
    settings = get_settings()
    upgrade()
    # Rasa creates its tables itself, but not a missing PostgreSQL database.
    ensure_database(settings.tracker_store_url)
    print("database is at the newest schema")
    return 0
