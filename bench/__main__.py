"""The whole-system benchmark: ours, Rasa's stock configuration and the moodbot, side by side.

    python -m bench [--quick] [--only NAME[,NAME]] [--render]

In one run, on this machine, one system after another (bench/systems.py):
ours (config.yml, served as `make run` serves it), stock (Rasa's default
configuration on our data and domain, served the stock way) and moodbot
(what `rasa init` makes). For each:
1. training from scratch (own empty cache), timed;
2. the system started, and against it (bench/system_load.py): 1, 20 and
   100 concurrent conversations back to back; 20 and 100 paced like
   people typing; long conversations of 50 turns, unloaded; then the
   memory of its processes;
3. the NLU parse per message in a process of its own (bench/parse_time.py).
Then intent classification, ours against stock, on a held-out split of our
data and the public sets in ../shared/benchmarks (bench/nlu_compare.py).

Writes bench/results/system.json, system.md and system.png (the report:
bench/system_report.py). `--quick` is a smoke run (fewer conversations,
levels 1 and 20, paced 20, 2 long conversations, no MASSIVE) and writes
system-quick.*; `--only` runs some of the systems and writes system-only.*
(system-quick.* with `--quick`); `--render` rewrites the report and chart
from the JSON of the same flags.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench import parse_time
from bench.nlu_compare import compare
from bench.progress import Progress
from bench.report import RESULTS, machine, write
from bench.system_load import Plan, measure
from bench.system_report import chart, markdown
from bench.systems import CONFIGS, NAMES, SYSTEMS, environment, serve, train_system
from bot.infra.settings import ROOT

__all__ = ["main", "markdown", "render"]

FULL = Plan(
    levels=[1, 20, 100], per_level=60, paced_levels=[20, 100], long_conversations=5, long_turns=50
)
QUICK = Plan(levels=[1, 20], per_level=12, paced_levels=[20], long_conversations=2, long_turns=50)
PARSE_MESSAGES = {False: 200, True: 50}
KEPT_LOGS = ROOT / "var" / "bench-logs"


# Progress lines on stderr with the time since the start (a full run takes more
# than an hour); the phases, one per system and the intent classification, are
# set by main().
PROGRESS = Progress([])


def say(line: str) -> None:
    """A progress line, at once."""
    PROGRESS.say(line)


def stem(quick: bool, only: list[str] | None) -> str:
    """The results' file name: a smaller or partial run never overwrites the full one."""
    if quick:
        return "system-quick"
    return "system-only" if only else "system"


def _commit() -> str | None:
    """The checked-out commit the run measures (None outside a git checkout)."""
    try:
        found = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        )
    except OSError:
        return None
    return found.stdout.strip() or None


def render(name: str, result: dict) -> str:
    """Write the Markdown report and the chart of `result`; the report."""
    text = markdown(result)
    write(name, result, text)
    chart(result, RESULTS / f"{name}.png")
    return text


def run_system(name: str, work: Path, plan: Plan, parse_messages: int) -> dict:
    """Train, load and measure one system in `work`; its results."""
    system = SYSTEMS[name]
    say(f"{name}: training from scratch ...")
    trained = train_system(name, work)
    say(f"{name}: trained in {trained.seconds:.0f} s")
    result: dict = {
        "description": system.description,
        "training": {"seconds": round(trained.seconds, 1), "how": system.training},
    }
    say(f"{name}: starting the servers ...")
    with serve(trained, work) as running:
        say(f"{name}: running, processes {', '.join(running.processes)}")
        result.update(
            measure(
                running,
                system.conversations,
                system.long_cycle,
                system.long_language,
                plan,
                say=lambda line: say(f"{name}: {line}"),
            )
        )
    say(f"{name}: stopped; NLU parse of {parse_messages} messages in a process of its own ...")
    result["parse"] = parse_time.measure(
        name,
        trained.model,
        trained.nlu_data,
        environment(trained, work),
        work,
        parse_messages,
        ours=name == "ours",
    )
    say(
        f"{name}: parse median {result['parse']['median_ms']} ms, p95 {result['parse']['p95_ms']} ms"
    )
    return result


def _keep_logs(work: Path) -> Path:
    """Copy the run's logs out of its temporary directory (after a failure)."""
    kept = KEPT_LOGS / time.strftime("%Y%m%d-%H%M%S")
    for log in work.rglob("*.log"):
        target = kept / log.relative_to(work)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(log, target)
    return kept


def _names(value: str) -> list[str]:
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = set(names) - set(NAMES)
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(NAMES)}")
    return [n for n in NAMES if n in names]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller smoke run")
    parser.add_argument("--only", type=_names, help=f"some of {','.join(NAMES)}")
    parser.add_argument(
        "--render", action="store_true", help="only rewrite the report and chart from the JSON"
    )
    args = parser.parse_args()
    name = stem(args.quick, args.only)
    if args.render:
        print(render(name, json.loads((RESULTS / f"{name}.json").read_text("utf-8"))))
        return 0
    plan = QUICK if args.quick else FULL
    result: dict = {
        **machine(),
        "date": time.strftime("%Y-%m-%d"),
        "commit": _commit(),
        "quick": args.quick,
        "only": args.only,
        "plan": {**vars(plan), "parse_messages": PARSE_MESSAGES[args.quick]},
        "systems": {},
        "nlu": {},
    }
    systems = args.only or NAMES
    configs = {n: CONFIGS[n] for n in systems if n in CONFIGS}
    classification = f"intent classification of {', '.join(configs)}"
    PROGRESS.phases = [*systems, *([classification] if configs else [])]
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)
        try:
            for system in systems:
                (work / system).mkdir()
                with PROGRESS.phase(system):
                    result["systems"][system] = run_system(
                        system, work / system, plan, PARSE_MESSAGES[args.quick]
                    )
                write(name, result)  # after every system: a long run's work is never lost
            if configs:
                with PROGRESS.phase(classification):
                    result["nlu"] = compare(configs, work / "nlu", quick=args.quick)
        except BaseException:
            say(f"failed; logs kept in {_keep_logs(work)}")
            raise
    print(render(name, result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
