"""Intent classification of two configurations on the same splits: ours and Rasa's stock.

- Our data: a stratified held-out fifth of data/nlu (both languages).
- Public data (../shared/benchmarks, protocol of its README): MASSIVE de-DE
  (train on dev, test on test) and xSID German and Turkish (train on valid,
  test on test).

Each configuration is trained NLU-only on the training part and scored on
the test part: accuracy and macro-F1 of the top intent, and training time.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bot.infra.settings import ROOT
from scripts.nlu_report import Prediction, evaluate_split, load_examples

PUBLIC = ROOT.parent / "shared" / "benchmarks"


def macro_f1(predictions: list[Prediction]) -> float:
    labels = {p.intent for p in predictions}
    scores = []
    for label in labels:
        tp = sum(1 for p in predictions if p.intent == label and p.predicted == label)
        fp = sum(1 for p in predictions if p.intent != label and p.predicted == label)
        fn = sum(1 for p in predictions if p.intent == label and p.predicted != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(scores) / len(scores) if scores else 0.0


def score(predictions: list[Prediction], seconds: float) -> dict[str, float]:
    correct = sum(1 for p in predictions if p.correct)
    return {
        "examples": len(predictions),
        "accuracy": round(correct / len(predictions), 3),
        "macro_f1": round(macro_f1(predictions), 3),
        "train_and_test_seconds": round(seconds, 1),
    }


def _messages(pairs: list[tuple[str, str]]) -> list[Any]:
    from rasa.shared.nlu.training_data.message import Message

    return [Message(data={"text": text, "intent": intent}) for text, intent in pairs]


def _massive(part: str) -> list[tuple[str, str]]:
    lines = (PUBLIC / "massive" / f"de-DE.{part}.jsonl").read_text("utf-8").splitlines()
    return [(row["utt"], row["intent"]) for row in map(json.loads, lines) if row.get("utt")]


def _xsid(language: str, part: str) -> list[tuple[str, str]]:
    pairs, text = [], None
    for line in (PUBLIC / "xsid" / f"{language}.{part}.conll").read_text("utf-8").splitlines():
        if line.startswith("# text ="):
            text = line.split("=", 1)[1].strip()
        elif line.startswith("# intent =") and text:
            # Rasa intent names cannot hold "/": weather/find → weather__find
            pairs.append((text, line.split("=", 1)[1].strip().replace("/", "__")))
            text = None
    return pairs


def public_sets(quick: bool) -> Iterator[tuple[str, list[tuple[str, str]], list[tuple[str, str]]]]:
    if not PUBLIC.is_dir():
        return
    yield "xsid-de", _xsid("de", "valid"), _xsid("de", "test")
    yield "xsid-tr", _xsid("tr", "valid"), _xsid("tr", "test")
    if not quick:
        yield "massive-de", _massive("dev"), _massive("test")


def _evaluate(
    config: Path, train: list[Any], test: list[Any], data: Any, languages: dict, work: Path
) -> dict:
    started = time.monotonic()
    predictions = evaluate_split(config, train, test, data, languages, work)
    return score(predictions, time.monotonic() - started)


def compare(configs: dict[str, Path], work: Path, quick: bool = False) -> dict[str, dict]:
    """{dataset: {config name: scores}} for our held-out split and the public sets."""
    from rasa.shared.nlu.training_data.training_data import TrainingData
    from sklearn.model_selection import train_test_split

    results: dict[str, dict] = {}
    data, languages = load_examples()
    examples = data.intent_examples
    strata = [f"{languages.get(e.get('text'), 'de')}:{e.get('intent')}" for e in examples]
    train, test = train_test_split(examples, test_size=0.2, stratify=strata, random_state=7)
    results["ours-held-out"] = {
        name: _evaluate(config, train, test, data, languages, work / f"ours-{name}")
        for name, config in configs.items()
    }
    for dataset, train_pairs, test_pairs in public_sets(quick):
        public = TrainingData()
        results[dataset] = {
            name: _evaluate(
                config,
                _messages(train_pairs),
                _messages(test_pairs),
                public,
                {},
                work / f"{dataset}-{name}",
            )
            for name, config in configs.items()
        }
    return results
