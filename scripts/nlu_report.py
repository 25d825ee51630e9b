"""Cross-validated NLU report per language, and the fallback thresholds it implies.

    python -m scripts.nlu_report [--folds 3] [--config config.yml] [--out reports/nlu]

One bilingual model serves German and Turkish, so the examples of both
languages are split into stratified folds together; every held-out example is
then scored under its own language (the folder it comes from, data/nlu/de or
data/nlu/tr). The report gives per-intent precision, recall and F1, macro-F1
per language, entity F1 per language, and the confidence statistics used to
choose the FallbackClassifier's `threshold` and `ambiguity_threshold`:

- threshold: the highest value at which at most 1 % of correctly classified
  messages would be sent to the fallback (customers who said something clear
  must not be asked to rephrase), rounded down to 0.05;
- ambiguity_threshold: the margin between the two best intents below which
  most of the remaining misclassifications lie, capped so that at most 1 % of
  correct predictions would be asked "which did you mean?".

One in a hundred each, not more: a conversation has many turns (a meter
reading or a move takes ten), and at 2 to 3 % per turn every fifth
conversation would be asked to repeat something that was clear.

Writes `summary.md` (for people), `summary.json` (for scripts),
`misclassified.md` (every held-out message the model got wrong) and a
confusion matrix per language (`confusion-de.png`, `confusion-tr.png`:
scripts/nlu_confusion.py) into --out.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.domain.languages import LANGUAGES
from scripts import nlu_confusion

ROOT = Path(__file__).resolve().parent.parent
MAX_FALSE_FALLBACK = 0.01
MAX_FALSE_CLARIFY = 0.01


@dataclass
class Prediction:
    """One held-out example and what the model made of it."""

    text: str
    language: str
    intent: str
    ranking: list[tuple[str, float]]
    gold_entities: set[tuple[int, int, str]] = field(default_factory=set)
    found_entities: set[tuple[int, int, str]] = field(default_factory=set)

    @property
    def predicted(self) -> str:
        return self.ranking[0][0] if self.ranking else ""

    @property
    def confidence(self) -> float:
        return self.ranking[0][1] if self.ranking else 0.0

    @property
    def margin(self) -> float:
        if len(self.ranking) < 2:
            return self.confidence
        return self.ranking[0][1] - self.ranking[1][1]

    @property
    def correct(self) -> bool:
        return self.predicted == self.intent


def load_examples() -> tuple[Any, dict[str, str]]:
    """All NLU data (with regexes and lookups), and each example text's language."""
    from rasa.shared.nlu.training_data.loading import load_data

    languages: dict[str, str] = {}
    for language in LANGUAGES:
        for example in load_data(str(ROOT / "data" / "nlu" / language)).intent_examples:
            languages.setdefault(example.get("text"), language)
    return load_data(str(ROOT / "data" / "nlu")), languages


def _entities(message: Any) -> set[tuple[int, int, str]]:
    return {(e["start"], e["end"], e["entity"]) for e in message.get("entities") or []}


def evaluate_split(
    config: Path,
    train: list[Any],
    test: list[Any],
    data: Any,
    languages: dict[str, str],
    work: Path,
) -> list[Prediction]:
    """Train on `train` with `config`, then parse every message of `test`."""
    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.training_data import TrainingData

    work.mkdir(parents=True, exist_ok=True)
    train_file = work / "train.yml"
    RasaYAMLWriter().dump(
        train_file,
        TrainingData(
            training_examples=train,
            entity_synonyms=data.entity_synonyms,
            regex_features=data.regex_features,
            lookup_tables=data.lookup_tables,
        ),
    )
    model = train_nlu(
        config=str(config),
        nlu_data=str(train_file),
        output=str(work),
        fixed_model_name="fold",
        domain=str(ROOT / "domain"),
    )
    agent = Agent.load(model)

    async def parse_all() -> list[Prediction]:
        predictions = []
        for example in test:
            text = example.get("text")
            parsed = await agent.parse_message(text)
            ranking = [
                (item["name"], float(item["confidence"]))
                for item in parsed.get("intent_ranking") or []
                if item["name"] != "nlu_fallback"
            ]
            predictions.append(
                Prediction(
                    text=text,
                    language=languages.get(text, "de"),
                    intent=example.get("intent"),
                    ranking=ranking,
                    gold_entities=_entities(example.data),
                    found_entities=_entities(parsed),
                )
            )
        return predictions

    return asyncio.run(parse_all())


def cross_validate(
    config: Path, folds: int, seed: int = 7, only_first: bool = False
) -> list[Prediction]:
    """Held-out predictions of every fold (or of the first only: a quick look)."""
    from sklearn.model_selection import StratifiedKFold

    data, languages = load_examples()
    examples = data.intent_examples
    # Stratify by language and intent, so every fold holds both languages.
    strata = [f"{languages.get(e.get('text'), 'de')}:{e.get('intent')}" for e in examples]
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    predictions: list[Prediction] = []
    with tempfile.TemporaryDirectory(prefix="nlu-report-") as tmp:
        for number, (train_idx, test_idx) in enumerate(splitter.split(examples, strata), 1):
            started = time.monotonic()
            predictions += evaluate_split(
                config,
                [examples[i] for i in train_idx],
                [examples[i] for i in test_idx],
                data,
                languages,
                Path(tmp) / f"fold{number}",
            )
            print(f"fold {number}/{folds} done in {time.monotonic() - started:.0f} s")
            if only_first:
                break
    return predictions


def intent_scores(predictions: list[Prediction]) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support per intent."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"tp": 0, "fp": 0, "fn": 0})
    for p in predictions:
        if p.correct:
            counts[p.intent]["tp"] += 1
        else:
            counts[p.intent]["fn"] += 1
            counts[p.predicted]["fp"] += 1
    scores = {}
    for intent, c in sorted(counts.items()):
        support = c["tp"] + c["fn"]
        if not support:
            continue
        precision = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0
        recall = c["tp"] / support
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores[intent] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    return scores


def entity_f1(predictions: list[Prediction]) -> dict[str, float]:
    gold = sum(len(p.gold_entities) for p in predictions)
    found = sum(len(p.found_entities) for p in predictions)
    hits = sum(len(p.gold_entities & p.found_entities) for p in predictions)
    precision = hits / found if found else 0.0
    recall = hits / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": gold}


def choose_thresholds(predictions: list[Prediction]) -> dict[str, float]:
    """Fallback and ambiguity thresholds from held-out confidences (see module doc)."""
    # A confidence of 0 is our rules' fallback (unknown words, fillers): sent
    # back whatever the threshold, so it does not count in choosing one.
    scored = [p for p in predictions if p.confidence > 0]
    right = sorted(p.confidence for p in scored if p.correct)
    wrong = [p for p in scored if not p.correct]
    threshold = 0.1
    for candidate in [x / 100 for x in range(10, 96, 5)]:
        if sum(c < candidate for c in right) / len(right) <= MAX_FALSE_FALLBACK:
            threshold = candidate
    kept_wrong = [p for p in wrong if p.confidence >= threshold]
    right_margins = sorted(p.margin for p in scored if p.correct and p.confidence >= threshold)
    ambiguity = 0.05
    for candidate in [x / 100 for x in range(5, 51, 5)]:
        if (
            sum(m < candidate for m in right_margins) / max(1, len(right_margins))
            <= MAX_FALSE_CLARIFY
        ):
            ambiguity = candidate
    return {
        "threshold": threshold,
        "ambiguity_threshold": ambiguity,
        "correct_sent_to_fallback": sum(c < threshold for c in right) / len(right),
        "errors_caught_by_fallback": (len(wrong) - len(kept_wrong)) / len(wrong) if wrong else 1.0,
        "errors_caught_by_clarify": (
            sum(p.margin < ambiguity for p in kept_wrong) / len(kept_wrong) if kept_wrong else 1.0
        ),
    }


def summarise(
    predictions: list[Prediction], config: Path, folds: int, seconds: float, quick: bool = False
) -> dict[str, Any]:
    per_language = {}
    for language in LANGUAGES:
        subset = [p for p in predictions if p.language == language]
        scores = intent_scores(subset)
        per_language[language] = {
            "examples": len(subset),
            "accuracy": sum(p.correct for p in subset) / len(subset),
            "macro_f1": sum(s["f1"] for s in scores.values()) / len(scores),
            "intents": scores,
            "entities": entity_f1(subset),
            "confusions": _confusions(subset),
        }
    return {
        "config": str(config.relative_to(ROOT) if config.is_relative_to(ROOT) else config),
        "folds": folds,
        "folds_scored": "first only" if quick else "all",
        "seconds": round(seconds),
        "languages": per_language,
        "fallback": choose_thresholds(predictions),
    }


def _confusions(predictions: list[Prediction], top: int = 8) -> list[dict[str, Any]]:
    pairs: dict[tuple[str, str], int] = defaultdict(int)
    for p in predictions:
        if not p.correct:
            pairs[(p.intent, p.predicted)] += 1
    ranked = sorted(pairs.items(), key=lambda item: -item[1])[:top]
    return [{"intent": a, "predicted": b, "count": n} for (a, b), n in ranked]


def markdown(summary: dict[str, Any]) -> str:
    lines = [
        "# NLU report (cross-validated)",
        "",
        f"Made by `python -m scripts.nlu_report` with `{summary['config']}`: "
        + (
            f"{summary['folds']}-fold stratified cross-validation over both languages"
            if summary["folds_scored"] == "all"
            else f"the first of {summary['folds']} stratified folds only (a quick comparison)"
        )
        + f" ({summary['seconds']} s). Each held-out message is scored under its own language.",
        "",
        "| language | examples | accuracy | macro-F1 (intents) | entity F1 |",
        "|---|---:|---:|---:|---:|",
    ]
    for language, data in summary["languages"].items():
        lines.append(
            f"| {language} | {data['examples']} | {data['accuracy']:.3f} | "
            f"{data['macro_f1']:.3f} | {data['entities']['f1']:.3f} |"
        )
    fallback = summary["fallback"]
    lines += [
        "",
        "## Fallback thresholds chosen from the held-out confidences",
        "",
        f"- `threshold: {fallback['threshold']:.2f}`: "
        f"{fallback['correct_sent_to_fallback']:.1%} of correct predictions fall below it; "
        f"it catches {fallback['errors_caught_by_fallback']:.1%} of the misclassifications.",
        f"- `ambiguity_threshold: {fallback['ambiguity_threshold']:.2f}`: the bot asks which "
        f"intent was meant for {fallback['errors_caught_by_clarify']:.1%} of the "
        "misclassifications left above the threshold.",
    ]
    for language, data in summary["languages"].items():
        lines += [
            "",
            f"## {language}: per intent",
            "",
            "| intent | precision | recall | F1 | support |",
            "|---|---:|---:|---:|---:|",
        ]
        for intent, s in data["intents"].items():
            lines.append(
                f"| {intent} | {s['precision']:.3f} | {s['recall']:.3f} | "
                f"{s['f1']:.3f} | {s['support']} |"
            )
        if data["confusions"]:
            lines += [
                "",
                "Most frequent confusions: "
                + ", ".join(
                    f"{c['intent']} → {c['predicted']} ({c['count']})" for c in data["confusions"]
                ),
            ]
    return "\n".join(lines) + "\n"


def misclassified_markdown(predictions: list[Prediction]) -> str:
    """Every held-out message the model got wrong, by language and intent: the
    confusions that remain, to read when adding training data."""
    lines = [
        "# Misclassified held-out messages",
        "",
        "Written with summary.md by `python -m scripts.nlu_report`: what the "
        "cross-validated model predicted for each message it got wrong.",
    ]
    for language in LANGUAGES:
        wrong = sorted(
            (p for p in predictions if p.language == language and not p.correct),
            key=lambda p: (p.intent, p.predicted, p.text),
        )
        lines += ["", f"## {language} ({len(wrong)})"]
        intent = None
        for p in wrong:
            if p.intent != intent:
                intent = p.intent
                lines += ["", f"### {intent}", ""]
            lines.append(f"- {p.text!r} → {p.predicted} ({p.confidence:.2f})")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--config", type=Path, default=ROOT / "config.yml")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "nlu")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="train and score the first fold only (to compare configurations fast)",
    )
    args = parser.parse_args()
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    logging.getLogger("rasa").setLevel(logging.WARNING)
    started = time.monotonic()
    predictions = cross_validate(args.config.resolve(), args.folds, only_first=args.quick)
    summary = summarise(
        predictions, args.config.resolve(), args.folds, time.monotonic() - started, args.quick
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    (args.out / "summary.md").write_text(markdown(summary), encoding="utf-8")
    (args.out / "misclassified.md").write_text(
        misclassified_markdown(predictions), encoding="utf-8"
    )
    for language in LANGUAGES:
        nlu_confusion.draw(predictions, language, args.out / f"confusion-{language}.png")
    print(markdown(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
