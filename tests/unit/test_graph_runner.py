"""The sequential graph runner gives exactly Rasa's own (dask) results with the trained model."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import rasa.core.processor
from rasa.core.agent import Agent
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa_runtime.graph_runner import SequentialGraphRunner
from tests.harness.servers import MODEL

MESSAGES = [
    "Ich möchte meinen Abschlag ändern",
    "faturamı öğrenmek istiyorum",
    "Abschlag'ımı 80 avroya düşürmek istiyorum",
    "mein zählerstand ist 12345 kwh strom",
    "asdfghjkl",
    "",
    "ja",
    "hayır",
]


def load(runner: type[DaskGraphRunner]) -> Agent:
    rasa.core.processor.DaskGraphRunner = runner
    try:
        return Agent.load(str(MODEL))
    finally:
        rasa.core.processor.DaskGraphRunner = DaskGraphRunner


@pytest.fixture(scope="module")
def agents() -> Iterator[tuple[Agent, Agent]]:
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make setup` first")
    yield load(DaskGraphRunner), load(SequentialGraphRunner)


def test_the_sequential_runner_is_used(agents: tuple[Agent, Agent]) -> None:
    rasas, ours = agents
    assert type(ours.processor.graph_runner) is SequentialGraphRunner
    assert type(rasas.processor.graph_runner) is DaskGraphRunner


@pytest.mark.parametrize("text", MESSAGES)
def test_parsing_is_the_same(agents: tuple[Agent, Agent], text: str) -> None:
    rasas, ours = agents
    expected = asyncio.run(rasas.parse_message(text))
    assert asyncio.run(ours.parse_message(text)) == expected


def tracker(language: str) -> DialogueStateTracker:
    """A conversation just started in `language`."""
    return DialogueStateTracker.from_events(
        "graph-runner-test",
        [
            ActionExecuted("action_session_start"),
            SessionStarted(),
            ActionExecuted("action_listen"),
            SlotSet("language", language),
        ],
    )


@pytest.mark.parametrize(
    ("text", "language"),
    [("Ich möchte meinen Abschlag ändern", "de"), ("faturamı öğrenmek istiyorum", "tr")],
)
def test_predictions_are_the_same(agents: tuple[Agent, Agent], text: str, language: str) -> None:
    rasas, ours = agents
    predictions = []
    for agent in (rasas, ours):
        state = tracker(language)
        parsed = asyncio.run(agent.parse_message(text))
        state.update(UserUttered(text, parsed["intent"], parsed["entities"], parse_data=parsed))
        prediction = agent.processor._predict_next_with_tracker(state)
        predictions.append(
            (prediction.max_confidence_index, prediction.policy_name, prediction.probabilities)
        )
    assert predictions[0] == predictions[1]
    assert predictions[0][1] is not None  # a policy decided
