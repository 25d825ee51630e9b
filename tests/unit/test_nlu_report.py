"""The NLU report's list of the confusions that remain (scripts/nlu_report.py)."""

from __future__ import annotations

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
