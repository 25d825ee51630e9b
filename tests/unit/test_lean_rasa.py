"""The lean Rasa process: no TensorFlow for our model, lemma tables on disk, and the intent
classifier's own arithmetic giving scikit-learn's probabilities and the ResponseSelector's form."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import spacy_lookups_data
import srsly
from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage
from rasa.engine.constants import PLACEHOLDER_MESSAGE

from nlu_components.bilingual_tokenizer import BilingualTokenizer
from nlu_components.intent_classifier import LogisticIntentClassifier
from nlu_components.lemma_tables import LemmaTable
from tests.harness.servers import MODEL

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = [
    "Wie sind Ihre Öffnungszeiten?",
    "faturamı öğrenmek istiyorum",
    "Ich möchte meinen Abschlag ändern",
    "Wie kann ich Energie sparen?",
    "kündigen und preise",
    "asdf",
    "Hallo",
    "ödeme yöntemleri nelerdir",
]

THE_RASA_PROCESS = """
import asyncio, json, sys
from bot.rasa_runtime import lazy_tensorflow
lazy_tensorflow.defer()
from bot.rasa_runtime import server
server.install()
from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage
from rasa.engine.constants import PLACEHOLDER_MESSAGE
agent = Agent.load(sys.argv[1])
parsed = [asyncio.run(agent.parse_message(t)) for t in ("Hallo", "faturamı öğrenmek istiyorum")]
result = {"intents": [p["intent"]["name"] for p in parsed]}
if "--training-graph" in sys.argv:
    result["training_graph_nodes"] = len(agent.processor.model_metadata.train_schema.nodes) > 0
result["tensorflow_loaded"] = "_deferred_path" not in sys.modules["tensorflow"].__dict__
print(json.dumps(result))
"""


def rasa_process(*arguments: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", THE_RASA_PROCESS, str(MODEL), *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_rasa_process_serves_our_model_without_tensorflow() -> None:
    """Imports, loads and parses as `python -m bot.rasa_runtime` does, in a fresh interpreter."""
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make setup` first")
    assert rasa_process() == {"intents": ["greet", "ask_bill"], "tensorflow_loaded": False}


def test_the_training_graph_is_there_when_asked_for() -> None:
    """Reading it loads its classes (the config validator imports DIET, so TensorFlow)."""
    assert rasa_process("--training-graph") == {
        "intents": ["greet", "ask_bill"],
        "training_graph_nodes": True,
        "tensorflow_loaded": True,
    }


@pytest.mark.parametrize("language", ["de", "tr"])
def test_the_lemma_files_answer_as_the_package_tables(language: str) -> None:
    data = Path(spacy_lookups_data.__file__).parent / "data"
    table = srsly.read_gzip_json(data / f"{language}_lemma_lookup.json.gz")
    on_disk = LemmaTable(language)
    words = list(table)[:: max(1, len(table) // 2000)]
    assert all(on_disk.get(word) == table[word] for word in words)
    assert on_disk.get("xqzvblorp") is None


def test_the_tokenizer_finds_german_lemmas_in_turkish_sentences() -> None:
    tokenizer = BilingualTokenizer(BilingualTokenizer.get_default_config())
    assert tokenizer.lemma("faturalarımızdan", "tr") == "fatura"
    assert tokenizer.lemma("Rechnungen", "tr") == "rechnung"


@pytest.fixture(scope="module")
def agent() -> Agent:
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make setup` first")
    return Agent.load(str(MODEL))


def classifier(agent: Agent) -> LogisticIntentClassifier:
    nodes = agent.processor.graph_runner._instantiated_nodes
    (node,) = [n for name, n in nodes.items() if "LogisticIntentClassifier" in name]
    return node._component


def test_the_probabilities_are_scikit_learns(agent: Agent) -> None:
    """Our arithmetic on the features' columns against `predict_proba` on Rasa's input matrix."""
    component = classifier(agent)
    runner = agent.processor.graph_runner
    (node,) = [n for n in runner._instantiated_nodes if "LogisticIntentClassifier" in n]
    checked = 0
    for text in MESSAGES:
        outputs = runner.run(inputs={PLACEHOLDER_MESSAGE: [UserMessage(text)]}, targets=[node])
        (message,) = outputs[node]
        row = component._row(message)
        if row is None:
            continue
        ours = component._probabilities(row)
        theirs = component.clf.predict_proba(component._create_X([message]))[0]
        assert np.allclose(ours, theirs, rtol=0, atol=1e-12), text
        checked += 1
    assert checked >= len(MESSAGES) - 1  # keyboard mash may have no features


def test_a_general_question_gets_the_response_selectors_answer(agent: Agent) -> None:
    parsed = asyncio.run(agent.parse_message("Wie sind Ihre Öffnungszeiten?"))
    assert parsed["intent"]["name"] == "faq"
    assert parsed["intent"]["full_retrieval_intent_name"] == "faq/opening_hours"
    selected = parsed["response_selector"]
    assert selected["all_retrieval_intents"] == ["faq"]
    best = selected["faq"]["response"]
    assert best["intent_response_key"] == "faq/opening_hours"
    assert best["utter_action"] == "utter_faq/opening_hours"
    assert any("Hotline" in r.get("text", "") for r in best["responses"])
    ranking = selected["faq"]["ranking"]
    assert ranking[0]["intent_response_key"] == "faq/opening_hours"
    assert ranking[0]["confidence"] == best["confidence"] > 0.5
    assert sum(item["confidence"] for item in ranking) <= 1.0 + 1e-9
    assert [r["confidence"] for r in ranking] == sorted(
        (r["confidence"] for r in ranking), reverse=True
    )
