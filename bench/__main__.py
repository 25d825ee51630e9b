"""The whole-system benchmark: our configuration against Rasa's stock one, side by side.

    python -m bench [--quick]

In one run, on this machine:
1. trains both configurations on our data and domain from scratch (own
   caches), timing each;
2. runs the same conversation mix against the full system with each model
   (bench/system_load.py): 1, 20 and 100 concurrent conversations back to
   back, and 20 paced like people typing; p50/p95/p99, turns per second,
   peak memory per process;
3. compares intent classification on a held-out split of our data and on
   the public sets in ../shared/benchmarks (bench/nlu_compare.py).

Writes bench/results/system.json, system.md and system.png. `--quick` runs
fewer conversations, skips 100 concurrent and MASSIVE (a smoke test).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.nlu_compare import compare
from bench.report import RESULTS, machine, table, write, yes_no
from bench.system_load import measure
from bot.infra.settings import ROOT

CONFIGS = {"ours": ROOT / "config.yml", "stock": ROOT / "bench" / "stock_config.yml"}


def train(config: Path, out: Path, name: str) -> tuple[Path, float]:
    """Train a full model from scratch (its own empty cache); the model and the seconds."""
    env = {**os.environ, "RASA_CACHE_DIRECTORY": str(out / f"cache-{name}")}
    started = time.monotonic()
    subprocess.run(
        [
            str(Path(sys.executable).parent / "rasa"),
            "train",
            "--config",
            str(config),
            "--domain",
            str(ROOT / "domain"),
            "--data",
            str(ROOT / "data"),
            "--out",
            str(out),
            "--fixed-model-name",
            name,
        ],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return out / f"{name}.tar.gz", time.monotonic() - started


def _row(result: dict, config: str, concurrent: int, paced: bool) -> dict | None:
    rows = result["system"].get(config, {}).get("load", [])
    return next((r for r in rows if r["concurrent"] == concurrent and r["paced"] == paced), None)


def against_target(result: dict) -> list[str]:
    """The issue's target, ours against stock: throughput, latency, accuracy."""
    lines = ["## Against the target", ""]
    ours, stock = _row(result, "ours", 20, False), _row(result, "stock", 20, False)
    if ours and stock:
        ratio = ours["turns_per_second"] / stock["turns_per_second"]
        lines.append(
            f"- Throughput at 20 concurrent conversations (back to back): ours "
            f"{ours['turns_per_second']} turns/s, stock {stock['turns_per_second']} turns/s: "
            f"{ratio:.2f}× (target 3×)."
        )
    paced = {name: _row(result, name, 20, True) for name in CONFIGS}
    if all(paced.values()):
        lines.append(
            "- p95 per turn with 20 conversations at once, paced like people typing: ours "
            f"{paced['ours']['p95_ms']} ms, stock {paced['stock']['p95_ms']} ms (target < 100 ms)."
        )
    held_out = result["nlu"].get("ours-held-out")
    if held_out:
        lines.append(
            f"- Intent accuracy on the held-out fifth of our data: ours "
            f"{held_out['ours']['accuracy']}, stock {held_out['stock']['accuracy']} "
            "(target: at least as good)."
        )
    return [*lines, ""]


def markdown(result: dict) -> str:
    lines = [
        "# Whole-system benchmark: ours against Rasa's stock configuration",
        "",
        f"`python -m bench` on {result['machine']}, {result['cpus']} CPUs, {result['date']}"
        + (f", commit {result['commit']}." if result.get("commit") else "."),
        "",
        *against_target(result),
        "## Turns (REST → NLU → dialogue → actions → database → reply)",
        "",
        *table(
            ["config", "concurrent", "paced", "turns", "p50 ms", "p95 ms", "p99 ms", "turns/s"],
            [
                [name, r["concurrent"], yes_no(r["paced"]), r["turns"], r["p50_ms"]]
                + [r["p95_ms"], r["p99_ms"], r["turns_per_second"]]
                for name, system in result["system"].items()
                for r in system["load"]
            ],
        ),
    ]
    lines += [
        "",
        "Peak memory (MB): "
        + "; ".join(
            f"{name}: " + ", ".join(f"{p} {mb}" for p, mb in system["peak_memory_mb"].items())
            for name, system in result["system"].items()
        ),
    ]
    lines += [
        "",
        "## Training time (from scratch)",
        "",
        *[f"- {name}: {seconds:.0f} s" for name, seconds in result["training_seconds"].items()],
        "",
        "## Intent classification (top intent)",
        "",
        *table(
            ["data", "config", "examples", "accuracy", "macro-F1"],
            [
                [dataset, name, scores["examples"], scores["accuracy"], scores["macro_f1"]]
                for dataset, by_config in result["nlu"].items()
                for name, scores in by_config.items()
            ],
            right_from=2,
        ),
    ]
    return "\n".join(lines) + "\n"


def chart(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (throughput, latency, nlu) = plt.subplots(1, 3, figsize=(15, 4.5))
    for name, system in result["system"].items():
        rows = [r for r in system["load"] if not r["paced"]]
        levels = [r["concurrent"] for r in rows]
        throughput.plot(levels, [r["turns_per_second"] for r in rows], marker="o", label=name)
        latency.plot(levels, [r["p95_ms"] for r in rows], marker="o", label=name)
    throughput.set(title="Throughput", xlabel="concurrent conversations", ylabel="turns/s")
    latency.set(title="p95 latency per turn", xlabel="concurrent conversations", ylabel="ms")
    datasets = list(result["nlu"])
    width = 0.38
    for offset, name in enumerate(CONFIGS):
        values = [result["nlu"][d][name]["macro_f1"] for d in datasets]
        nlu.bar([i + offset * width for i in range(len(datasets))], values, width, label=name)
    nlu.set_xticks([i + width / 2 for i in range(len(datasets))], datasets)
    nlu.set(title="Intent macro-F1", ylim=(0, 1))
    for axis in (throughput, latency, nlu):
        axis.legend()
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def _commit() -> str | None:
    """The checked-out commit the run measures (None outside a git checkout)."""
    try:
        found = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        )
    except OSError:
        return None
    return found.stdout.strip() or None


def render(stem: str, result: dict) -> str:
    """Write the Markdown report and the chart of `result`; the report."""
    text = markdown(result)
    write(stem, result, text)
    chart(result, RESULTS / f"{stem}.png")
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller smoke run")
    parser.add_argument(
        "--render", action="store_true", help="only rewrite the report and chart from the JSON"
    )
    args = parser.parse_args()
    stem = "system-quick" if args.quick else "system"
    if args.render:
        print(render(stem, json.loads((RESULTS / f"{stem}.json").read_text("utf-8"))))
        return 0
    levels = [1, 20] if args.quick else [1, 20, 100]
    per_level = 12 if args.quick else 60
    result: dict = {
        **machine(),
        "date": time.strftime("%Y-%m-%d"),
        "commit": _commit(),
        "quick": args.quick,
        "training_seconds": {},
        "system": {},
        "nlu": {},
    }

    def save() -> None:  # after every phase: a long run's work is never lost
        write(stem, result)

    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)
        models = {}
        for name, config in CONFIGS.items():
            models[name], seconds = train(config, work / "models", name)
            result["training_seconds"][name] = round(seconds, 1)
            print(f"trained {name} in {seconds:.0f} s", flush=True)
            save()
        for name, model in models.items():
            result["system"][name] = measure(model, levels, paced_level=20, per_level=per_level)
            print(f"load on {name}: {result['system'][name]['load']}", flush=True)
            save()
        result["nlu"] = compare(CONFIGS, work / "nlu", quick=args.quick)
        save()
    print(render(stem, result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
