"""The whole-system benchmark's report: the targets, the tables and the chart of a result.

A result (bench/results/system.json) holds, per system (`systems`): its
training, load rows (back to back and paced), long conversations, NLU parse
time and memory per process; and the intent scores of ours and stock (`nlu`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.report import table as markdown_table

CAPACITY_FACTOR = 3.0
PACED_P95_MS = 100.0
TURN_RATIO = 1.2
PARSE_MS = 5.0
RASA_MEMORY_MB = 800.0
COLOURS = {"ours": "C0", "stock": "C1", "moodbot": "C2"}


def table(header: list[str], rows: list[list[Any]], right_from: int = 1) -> list[str]:
    """A Markdown table, or a note when this run measured nothing for it."""
    return markdown_table(header, rows, right_from) if rows else ["Not measured in this run."]


def _verdict(met: bool) -> str:
    return "met" if met else "not met"


def load_row(result: dict, name: str, concurrent: int, paced: bool) -> dict | None:
    """The system's load row at `concurrent` conversations, paced or back to back."""
    rows = result["systems"].get(name, {}).get("load", [])
    return next((r for r in rows if r["concurrent"] == concurrent and r["paced"] == paced), None)


def _capacity(result: dict, other: str) -> str:
    what = f"Capacity at 20 concurrent conversations (back to back), ours against {other}"
    ours, theirs = load_row(result, "ours", 20, False), load_row(result, other, 20, False)
    if not (ours and theirs):
        return f"- {what}: not measured in this run."
    factor = ours["turns_per_second"] / theirs["turns_per_second"]
    return (
        f"- {what}: ours {ours['turns_per_second']} turns/s, {other} "
        f"{theirs['turns_per_second']} turns/s: {factor:.2f}× "
        f"(target ≥ {CAPACITY_FACTOR:g}×): {_verdict(factor >= CAPACITY_FACTOR)}."
    )


def _paced(result: dict, concurrent: int) -> str:
    what = f"p95 per turn, {concurrent} concurrent conversations paced like people typing"
    ours = load_row(result, "ours", concurrent, True)
    if not ours:
        return f"- {what}: not measured in this run."
    others = [
        f"{name} {row['p95_ms']} ms"
        for name in result["systems"]
        if name != "ours" and (row := load_row(result, name, concurrent, True))
    ]
    return (
        f"- {what}: ours {ours['p95_ms']} ms (target < {PACED_P95_MS:g} ms): "
        f"{_verdict(ours['p95_ms'] < PACED_P95_MS)}"
        + (f"; for comparison {', '.join(others)}." if others else ".")
    )


def _turns(result: dict) -> str:
    long = result["systems"].get("ours", {}).get("long")
    if not long:
        return "- Turn 50 against turn 1, ours: not measured in this run."
    last, window = long["turns"], long["window"]
    return (
        f"- Turn {last} against turn 1 ({long['conversations']} unloaded conversations of "
        f"{last} turns), ours: turns {last - window + 1}–{last} median "
        f"{long['last_window_ms']} ms against turns 1–{window} {long['first_window_ms']} ms: "
        f"{long['ratio_window']:.2f}× (target ≤ {TURN_RATIO:g}×): "
        f"{_verdict(long['ratio_window'] <= TURN_RATIO)}. The ratio compares the "
        f"{window}-turn medians (the same messages; single turns are few and noisy): "
        f"turn 1 alone {long['turn_1_ms']} ms, turn {last} {long['turn_last_ms']} ms "
        f"({long['ratio_single']:.2f}×)."
    )


def _parse(result: dict) -> str:
    what = "NLU parse per message (model loaded in process, no HTTP), ours"
    parse = result["systems"].get("ours", {}).get("parse")
    if not parse:
        return f"- {what}: not measured in this run."
    return (
        f"- {what}: median {parse['median_ms']} ms, p95 {parse['p95_ms']} ms "
        f"(target ≤ {PARSE_MS:g} ms): {_verdict(parse['median_ms'] <= PARSE_MS)}."
    )


def _accuracy(result: dict) -> str:
    """The held-out fifth of our data and each public set: ours against stock."""
    lines = []
    for dataset, scores in result.get("nlu", {}).items():
        what = (
            "Intent accuracy on the held-out fifth of our data"
            if dataset == "ours-held-out"
            else f"Intent accuracy on {dataset} (public set)"
        )
        if not ("ours" in scores and "stock" in scores):
            continue
        ours, stock = scores["ours"], scores["stock"]
        lines.append(
            f"- {what}: ours {ours['accuracy']}, stock {stock['accuracy']} (target: at least "
            f"stock's): {_verdict(ours['accuracy'] >= stock['accuracy'])}; macro-F1 ours "
            f"{ours['macro_f1']}, stock {stock['macro_f1']}."
        )
    if not lines:
        return "- Intent accuracy on the held-out fifth of our data: not measured in this run."
    return "\n".join(lines)


def _memory(result: dict) -> str:
    what = "Memory of the Rasa process, ours"
    rasa = result["systems"].get("ours", {}).get("memory_mb", {}).get("rasa")
    if not rasa:
        return f"- {what}: not measured in this run."
    return (
        f"- {what}: peak {rasa['peak_mb']} MB, at the end {rasa['current_mb']} MB "
        f"(target < {RASA_MEMORY_MB:g} MB): {_verdict(rasa['peak_mb'] < RASA_MEMORY_MB)}."
    )


def targets(result: dict) -> list[str]:
    """The section "Against the targets": one line per target, met or not met."""
    return [
        "## Against the targets",
        "",
        _capacity(result, "stock"),
        _capacity(result, "moodbot"),
        *[_paced(result, concurrent) for concurrent in (20, 100)],
        _turns(result),
        _parse(result),
        _accuracy(result),
        _memory(result),
        "",
    ]


def _load_table(result: dict, paced: bool) -> list[str]:
    header = ["system", "concurrent", "conversations", "turns", "p50 ms", "p95 ms", "p99 ms"]
    header += ["turns/s", "generator CPU s", "generator CPU % of a core"]
    rows = [
        [name, r["concurrent"], r["conversations"], r["turns"], r["p50_ms"], r["p95_ms"]]
        + [r["p99_ms"], r["turns_per_second"], r["generator_cpu_seconds"]]
        + [r["generator_cpu_percent"]]
        for name, system in result["systems"].items()
        for r in system.get("load", [])
        if r["paced"] == paced
    ]
    return table(header, rows)


def _long_table(result: dict) -> list[str]:
    rows = []
    for name, system in result["systems"].items():
        long = system.get("long")
        if long:
            rows.append(
                [name, f"{long['conversations']} × {long['turns']}", long["turn_1_ms"]]
                + [long["turn_last_ms"], f"{long['ratio_single']:.2f}×"]
                + [long["first_window_ms"], long["last_window_ms"]]
                + [f"{long['ratio_window']:.2f}×", long["turns_without_answer"]]
                + [long["generator_cpu_percent"]]
            )
    longs = [s["long"] for s in result["systems"].values() if s.get("long")]
    last, window = (longs[0]["turns"], longs[0]["window"]) if longs else (50, 10)
    late = f"{last - window + 1}–{last}"
    header = ["system", "conversations × turns", "turn 1 ms", f"turn {last} ms"]
    header += [f"turn {last} / 1", f"turns 1–{window} ms", f"turns {late} ms"]
    header += [f"{late} / 1–{window}", "turns without answer", "generator CPU % of a core"]
    return table(header, rows)


def generator_peak(result: dict) -> tuple[float, str] | None:
    """The load generator's highest CPU share of one core over all runs, and which run."""
    runs = [
        (row["generator_cpu_percent"], f"{name}, {_run_name(row)}")
        for name, system in result["systems"].items()
        for row in [*system.get("load", []), *([system["long"]] if system.get("long") else [])]
    ]
    return max(runs) if runs else None


def _run_name(row: dict) -> str:
    if "concurrent" not in row:
        return "long conversations"
    return f"{row['concurrent']} concurrent, {'paced' if row['paced'] else 'back to back'}"


def _generator_line(result: dict) -> list[str]:
    peak = generator_peak(result)
    if peak is None:
        return []
    return [
        "",
        "The load generator (one asyncio loop in the benchmark's own process, CPU "
        "user + system from getrusage) used at most "
        f"{peak[0]} % of one core ({peak[1]}); the tables give every run's share.",
    ]


def markdown(result: dict) -> str:
    systems = result["systems"]
    scope = []
    if result.get("quick"):
        scope.append("a quick smoke run (`--quick`)")
    if result.get("only"):
        scope.append(f"only {', '.join(result['only'])} (`--only`)")
    lines = [
        "# Whole-system benchmark: ours, Rasa's stock configuration and the moodbot",
        "",
        f"`python -m bench` on {result['machine']}, {result['cpus']} CPUs, {result['date']}"
        + (f", commit {result['commit']}" if result.get("commit") else "")
        + (f"; {'; '.join(scope)}." if scope else "."),
        "One system at a time; the load generator runs on the same machine.",
        "",
        *[f"- **{name}**: {system['description']}." for name, system in systems.items()],
        "",
        "Ours and stock get the same mix of German and Turkish conversations (bill questions, "
        "advance-payment changes, handoffs) and the same long conversations (ten German "
        "messages over and over); the moodbot gets English conversations along its own stories.",
        "",
        *targets(result),
        "## Capacity: conversations back to back (REST → NLU → dialogue → actions → reply)",
        "",
        *_load_table(result, paced=False),
        "",
        "## Paced like people typing (2 to 6 s before each message)",
        "",
        *_load_table(result, paced=True),
        *_generator_line(result),
        "",
        "## Turn by turn: long conversations, unloaded, one at a time",
        "",
        *_long_table(result),
        "",
        "## NLU parse per message (`Agent.parse_message`, model loaded in a process of its own)",
        "",
        *table(
            ["system", "messages", "median ms", "p95 ms", "mean ms", "model load s (with imports)"],
            [
                [name, p["messages"], p["median_ms"], p["p95_ms"], p["mean_ms"]]
                + [p["model_load_seconds"]]
                for name, system in systems.items()
                if (p := system.get("parse"))
            ],
        ),
        "",
        "## Memory (resident, MB, after the loads)",
        "",
        *table(
            ["system", "process", "peak (VmHWM)", "at the end (VmRSS)"],
            [
                [name, process, mb["peak_mb"], mb["current_mb"]]
                for name, system in systems.items()
                for process, mb in system.get("memory_mb", {}).items()
            ],
            right_from=2,
        ),
        "",
        "## Training time from scratch",
        "",
        *table(
            ["system", "what is timed", "seconds"],
            [
                [name, system["training"]["how"], f"{system['training']['seconds']:.0f}"]
                for name, system in systems.items()
                if system.get("training")
            ],
            right_from=2,
        ),
        "",
        "## Intent classification (top intent), ours against stock",
        "",
        *table(
            ["data", "config", "examples", "accuracy", "macro-F1"],
            [
                [dataset, name, scores["examples"], scores["accuracy"], scores["macro_f1"]]
                for dataset, by_config in result.get("nlu", {}).items()
                for name, scores in by_config.items()
            ],
            right_from=2,
        ),
    ]
    return "\n".join(lines) + "\n"


def _colour(name: str) -> str:
    return COLOURS.get(name, "C7")


def _plain_numbers(axis: Any, *, x: bool = False) -> None:
    """Log-scale ticks as plain numbers (20, not 2×10¹); minor ones only on a short range."""
    from matplotlib.ticker import FuncFormatter, LogFormatter

    for scale in (axis.xaxis, axis.yaxis) if x else (axis.yaxis,):
        scale.set_major_formatter(FuncFormatter(lambda value, _position: f"{value:g}"))
        scale.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))


def _concurrency_panels(result: dict, throughput: Any, latency: Any) -> None:
    from matplotlib.ticker import NullFormatter

    for name, system in result["systems"].items():
        for paced, style in ((False, "-"), (True, "--")):
            rows = sorted(
                (r for r in system.get("load", []) if r["paced"] == paced),
                key=lambda r: r["concurrent"],
            )
            if not rows:
                continue
            levels = [r["concurrent"] for r in rows]
            label = f"{name}, {'paced' if paced else 'back to back'}"
            style_of = {"marker": "o", "color": _colour(name)}
            latency.plot(levels, [r["p95_ms"] for r in rows], style, label=label, **style_of)
            if not paced:
                throughput.plot(
                    levels, [r["turns_per_second"] for r in rows], label=name, **style_of
                )
    throughput.set(title="Capacity (back to back)", xlabel="concurrent conversations")
    throughput.set(ylabel="turns/s", xscale="log")
    throughput.set_ylim(bottom=0)
    latency.set(title="p95 latency per turn (dotted: target)", xlabel="concurrent conversations")
    latency.set(ylabel="ms (log scale)", xscale="log", yscale="log")
    latency.axhline(PACED_P95_MS, color="grey", linestyle=":", linewidth=1)
    levels = sorted(
        {r["concurrent"] for s in result["systems"].values() for r in s.get("load", [])}
    )
    for axis in (throughput, latency):
        axis.set_xticks(levels)
    _plain_numbers(latency, x=True)
    throughput.xaxis.set_major_formatter(latency.xaxis.get_major_formatter())
    throughput.xaxis.set_minor_formatter(NullFormatter())
    latency.xaxis.set_minor_formatter(NullFormatter())


def _turns_panel(result: dict, axis: Any) -> None:
    for name, system in result["systems"].items():
        long = system.get("long")
        if long:
            series = long["per_turn_median_ms"]
            axis.plot(range(1, len(series) + 1), series, color=_colour(name), label=name)
    axis.set(title="Long conversations: median per turn", xlabel="turn")
    axis.set(ylabel="ms (log scale)", yscale="log")
    _plain_numbers(axis)


def _memory_panel(result: dict, axis: Any) -> None:
    names = list(result["systems"])
    bottoms = [0.0] * len(names)
    processes = sorted(
        {p for s in result["systems"].values() for p in s.get("memory_mb", {})},
        key=lambda p: (p != "rasa", p),
    )
    for shade, process in enumerate(processes):
        peaks = [
            s.get("memory_mb", {}).get(process, {}).get("peak_mb", 0.0)
            for s in result["systems"].values()
        ]
        axis.bar(names, peaks, bottom=bottoms, label=process, color=f"C{shade + 3}")
        bottoms = [b + p for b, p in zip(bottoms, peaks, strict=True)]
    for position, total in enumerate(bottoms):
        axis.annotate(f"{total:.0f}", (position, total), ha="center", va="bottom")
    axis.axhline(RASA_MEMORY_MB, color="grey", linestyle=":", linewidth=1)
    axis.set(title="Peak resident memory per process (dotted: Rasa target)", ylabel="MB")


def _parse_panel(result: dict, axis: Any) -> None:
    measured = {n: s["parse"] for n, s in result["systems"].items() if s.get("parse")}
    positions = range(len(measured))
    width = 0.38
    axis.bar(positions, [p["median_ms"] for p in measured.values()], width, label="median")
    axis.bar(
        [i + width for i in positions], [p["p95_ms"] for p in measured.values()], width, label="p95"
    )
    axis.set_xticks([i + width / 2 for i in positions], list(measured))
    axis.axhline(PARSE_MS, color="grey", linestyle=":", linewidth=1)
    # bars from zero: a bar's height on a log scale would say nothing
    axis.set(title="NLU parse per message (dotted: target)", ylabel="ms")
    axis.set_ylim(bottom=0)


def _nlu_panel(result: dict, axis: Any) -> None:
    nlu = result.get("nlu", {})
    datasets = list(nlu)
    configs = sorted({name for by_config in nlu.values() for name in by_config})
    width = 0.8 / max(1, len(configs))
    for offset, name in enumerate(configs):
        values = [nlu[d].get(name, {}).get("macro_f1", 0.0) for d in datasets]
        positions = [i + offset * width for i in range(len(datasets))]
        axis.bar(positions, values, width, label=name, color=_colour(name))
    axis.set_xticks([i + width * (len(configs) - 1) / 2 for i in range(len(datasets))], datasets)
    axis.set(title="Intent macro-F1", ylim=(0, 1))


def chart(result: dict, path: Path) -> None:
    """The result's panels as a PNG at `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, 3, figsize=(17, 9))
    (throughput, latency, turns), (memory, parse, nlu) = axes
    _concurrency_panels(result, throughput, latency)
    _turns_panel(result, turns)
    _memory_panel(result, memory)
    _parse_panel(result, parse)
    _nlu_panel(result, nlu)
    for axis in axes.flat:
        if axis.has_data():
            axis.legend(fontsize="small")
        else:
            axis.text(0.5, 0.5, "not measured in this run", ha="center", transform=axis.transAxes)
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
