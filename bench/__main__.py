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
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.nlu_compare import compare
from bench.system_load import measure
from bot.settings import ROOT

RESULTS = ROOT / "bench" / "results"
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
            str(ROOT / "domain.yml"),
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


def markdown(result: dict) -> str:
    lines = [
        "# Whole-system benchmark: ours against Rasa's stock configuration",
        "",
        f"`python -m bench` on {result['machine']}, {result['cpus']} CPUs, {result['date']}.",
        "",
        "## Turns (REST → NLU → dialogue → actions → database → reply)",
        "",
        "| config | concurrent | paced | turns | p50 ms | p95 ms | p99 ms | turns/s |",
        "|---|---:|:---:|---:|---:|---:|---:|---:|",
    ]
    for name, system in result["system"].items():
        for row in system["load"]:
            lines.append(
                f"| {name} | {row['concurrent']} | {'yes' if row['paced'] else 'no'} | {row['turns']} "
                f"| {row['p50_ms']} | {row['p95_ms']} | {row['p99_ms']} | {row['turns_per_second']} |"
            )
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
        "| data | config | examples | accuracy | macro-F1 |",
        "|---|---|---:|---:|---:|",
    ]
    for dataset, by_config in result["nlu"].items():
        for name, scores in by_config.items():
            lines.append(
                f"| {dataset} | {name} | {scores['examples']} | {scores['accuracy']} | {scores['macro_f1']} |"
            )
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller smoke run")
    args = parser.parse_args()
    levels = [1, 20] if args.quick else [1, 20, 100]
    per_level = 12 if args.quick else 60
    result: dict = {
        "machine": f"{platform.machine()}, {platform.system()}, Python {platform.python_version()}",
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d"),
        "quick": args.quick,
        "training_seconds": {},
        "system": {},
        "nlu": {},
    }
    stem = "system-quick" if args.quick else "system"
    RESULTS.mkdir(parents=True, exist_ok=True)

    def save() -> None:  # after every phase: a long run's work is never lost
        (RESULTS / f"{stem}.json").write_text(json.dumps(result, indent=2), "utf-8")

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
    (RESULTS / f"{stem}.md").write_text(markdown(result), "utf-8")
    chart(result, RESULTS / f"{stem}.png")
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
