"""The NLU report's list of the confusions that remain (scripts/nlu_report.py) and its
confusion matrices (scripts/nlu_confusion.py)."""

from __future__ import annotations

from pathlib import Path

from scripts import nlu_confusion
from scripts.nlu_report import Prediction, misclassified_markdown


def test_every_wrong_held_out_message_is_listed_under_its_language_and_intent():
    predictions = [
        Prediction("neue IBAN", "de", "change_bank_details", [("change_bank_details", 0.9)]),
        Prediction("DE44 5001", "de", "inform", [("change_bank_details", 0.61), ("inform", 0.3)]),
        Prediction("taksit", "tr", "payment_arrangement", [("ask_bill", 0.55)]),
    ]
    text = misclassified_markdown(predictions)
    german = text[text.index("## de") : text.index("## tr")]
    turkish = text[text.index("## tr") :]
    assert "## de (1)" in german and "### inform" in german
    assert "- 'DE44 5001' → change_bank_details (0.61)" in german
    assert "neue IBAN" not in text
    assert "## tr (1)" in turkish and "- 'taksit' → ask_bill (0.55)" in turkish


def test_thresholds_send_at_most_one_in_a_hundred_clear_messages_back():
    from scripts.nlu_report import choose_thresholds

    # 197 sure correct predictions, 3 unsure ones (1.5 %: confidence 0.5, margin
    # 0.25) that must not be sent back, and wrong ones at low confidence.
    sure = [("greet", 0.99), ("thank", 0.01)]
    unsure = [("greet", 0.5), ("thank", 0.25)]
    right = [Prediction(f"r{i}", "de", "greet", sure) for i in range(197)]
    right += [Prediction(f"u{i}", "de", "greet", unsure) for i in range(3)]
    wrong = [
        Prediction(f"w{i}", "de", "thank", [("greet", 0.3), ("thank", 0.25)]) for i in range(5)
    ]
    chosen = choose_thresholds(right + wrong)
    assert chosen["threshold"] == 0.5
    assert chosen["ambiguity_threshold"] == 0.25
    assert chosen["correct_sent_to_fallback"] == 0.0
    assert chosen["errors_caught_by_fallback"] == 1.0


def sample_predictions() -> list[Prediction]:
    return [
        Prediction("neue IBAN", "de", "change_bank_details", [("change_bank_details", 0.9)]),
        Prediction("Kontowechsel", "de", "change_bank_details", [("change_bank_details", 0.8)]),
        Prediction("DE44 5001", "de", "inform", [("change_bank_details", 0.61), ("inform", 0.3)]),
        Prediction("Hallo", "de", "greet", [("greet", 0.97)]),
        Prediction("taksit", "tr", "payment_arrangement", [("ask_bill", 0.55)]),
        Prediction("merhaba", "tr", "greet", []),  # no ranking at all
    ]


def test_the_confusion_matrix_counts_each_language_apart():
    labels, counts = nlu_confusion.confusion(sample_predictions(), "de")
    assert labels == ["change_bank_details", "greet", "inform"]
    assert counts == [[2, 0, 0], [0, 1, 0], [1, 0, 0]]  # rows: the example's intent
    labels, counts = nlu_confusion.confusion(sample_predictions(), "tr")
    assert labels == ["(none)", "ask_bill", "greet", "payment_arrangement"]
    assert counts[labels.index("payment_arrangement")][labels.index("ask_bill")] == 1
    assert counts[labels.index("greet")][labels.index("(none)")] == 1


def test_a_png_is_drawn_per_language_with_examples(tmp_path: Path):
    for language in ("de", "tr"):
        path = tmp_path / f"confusion-{language}.png"
        assert nlu_confusion.draw(sample_predictions(), language, path)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000
    assert not nlu_confusion.draw(sample_predictions(), "en", tmp_path / "none.png")
    assert not (tmp_path / "none.png").exists()
