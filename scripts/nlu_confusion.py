"""Confusion matrices of the cross-validated NLU report, one PNG per language.

Rows are the intents the examples have, columns what the model predicted;
each row is coloured by its share (a row sums to 1) and every cell that is
not empty carries its count, so the few confusions stand out against the
diagonal. Written by `python -m scripts.nlu_report` as
`confusion-<language>.png` next to `summary.md`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol


class Scored(Protocol):
    language: str
    intent: str

    @property
    def predicted(self) -> str: ...


def confusion(predictions: list[Any], language: str) -> tuple[list[str], list[list[int]]]:
    """The intents (true and predicted, sorted) and the counts [true][predicted] of a language."""
    mine = [p for p in predictions if p.language == language]
    labels = sorted({p.intent for p in mine} | {p.predicted or "(none)" for p in mine})
    index = {label: number for number, label in enumerate(labels)}
    counts = [[0] * len(labels) for _ in labels]
    for p in mine:
        counts[index[p.intent]][index[p.predicted or "(none)"]] += 1
    return labels, counts


def draw(predictions: list[Any], language: str, path: Path) -> bool:
    """Write the language's matrix to `path`; False when it has no examples."""
    labels, counts = confusion(predictions, language)
    if not labels:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shares = [[c / max(1, sum(row)) for c in row] for row in counts]
    side = max(6.0, 0.32 * len(labels) + 2)
    figure, axis = plt.subplots(figsize=(side + 1.5, side))
    image = axis.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    axis.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    axis.set_yticks(range(len(labels)), labels, fontsize=7)
    for row, values in enumerate(counts):
        for column, count in enumerate(values):
            if count:
                dark = shares[row][column] > 0.6
                colour = "white" if dark else "black"
                axis.text(column, row, count, ha="center", va="center", fontsize=6, color=colour)
    total = sum(map(sum, counts))
    correct = sum(counts[i][i] for i in range(len(labels)))
    axis.set(
        xlabel="predicted intent",
        ylabel="intent of the example",
        title=f"{language}: {correct} of {total} held-out examples right",
    )
    figure.colorbar(image, ax=axis, fraction=0.04, label="share of the row")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True
