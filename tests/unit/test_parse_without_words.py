"""Messages without words reach the trained model's classifier and get the fallback.

Rasa's logistic regression classifier raised for them (their feature rows are
shorter than the model's); nlu_components/intent_classifier.py gives them no
intent, so the fallback asks what the customer needs.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from rasa.core.agent import Agent

MODEL = Path(__file__).resolve().parents[2] / "models" / "stadtwerk.tar.gz"


@pytest.fixture(scope="module")
def agent() -> Agent:
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make setup` first")
    return Agent.load(str(MODEL))


@pytest.mark.parametrize("text", ["", "   ", "!!!", "\x00\x07", "…", "⚡⚡"])
def test_a_message_without_words_goes_to_the_fallback(agent: Agent, text: str) -> None:
    parsed = asyncio.run(agent.parse_message(text))
    assert parsed["intent"]["name"] == "nlu_fallback"


def test_words_are_still_classified(agent: Agent) -> None:
    parsed = asyncio.run(agent.parse_message("Ich möchte meinen Zählerstand melden"))
    assert parsed["intent"]["name"] == "submit_meter_reading"


def test_knowledge_base_topics_are_classes_of_their_own_reported_as_faq(agent: Agent) -> None:
    """The classifier learnt `faq/<topic>` classes; the ranking names only `faq`, once,
    with their summed probability, and the confidences still add up to one."""
    parsed = asyncio.run(agent.parse_message("Wann ist die Hotline erreichbar?"))
    names = [item["name"] for item in parsed["intent_ranking"] if item["name"] != "nlu_fallback"]
    assert parsed["intent"]["name"] == "faq"
    assert not any("/" in name for name in names) and names.count("faq") == 1
    classifier = next(
        node
        for node in agent.processor.graph_runner._instantiated_nodes.values()  # noqa: SLF001
        if type(node._component).__name__ == "LogisticIntentClassifier"  # noqa: SLF001
    )._component  # noqa: SLF001
    topics = [name for name in classifier.clf.classes_ if name.startswith("faq/")]
    assert len(topics) == 12
