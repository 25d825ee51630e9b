"""spaCy's lemma lookup tables, read from indexed SQLite files instead of held in memory.

The tables of the `spacy-lookups-data` package hold 1.3 million Turkish and
355,000 German words. Loaded as Python dicts they take about 350 MB of every
process that tokenizes (each Rasa instance, every training run). The same
tables in indexed SQLite files cost a few MB (the pages read) and a few
microseconds per lookup, with exactly the same answers.

A language's file is built from the package's table the first time it is
needed, in a separate process (so the memory of reading the table is given
back at once), under var/lemmas/, named for the package's version; a new
version builds new files. Building writes a temporary file and renames it,
so processes starting together never read a half-built file.

    python -m nlu_components.lemma_tables tr var/lemmas/tr-1.0.5.sqlite
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIRECTORY = ROOT / "var" / "lemmas"
PACKAGE = "spacy-lookups-data"
WORDS_REMEMBERED = 50_000


def table_file(language: str) -> Path:
    """The language's SQLite file, built first if it is not there."""
    path = DIRECTORY / f"{language}-{version(PACKAGE)}.sqlite"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "nlu_components.lemma_tables", language, str(path)],
            check=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    return path


def build(language: str, path: Path) -> None:
    """Write the package's lemma table for `language` to the SQLite file `path`."""
    import spacy_lookups_data
    import srsly

    data = Path(spacy_lookups_data.__file__).parent / "data"
    table: dict[str, str] = srsly.read_gzip_json(data / f"{language}_lemma_lookup.json.gz")
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with sqlite3.connect(partial) as connection:
        connection.execute(
            "CREATE TABLE lemmas (word TEXT PRIMARY KEY, lemma TEXT NOT NULL) WITHOUT ROWID"
        )
        connection.executemany("INSERT INTO lemmas VALUES (?, ?)", table.items())
    os.replace(partial, path)


class LemmaTable:
    """One language's word → lemma table, read from its SQLite file."""

    def __init__(self, language: str) -> None:
        self.language = language
        path = table_file(language)
        self._connection = sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, check_same_thread=False
        )
        self._lock = threading.Lock()
        # the words customers use are few: most lookups are answered from memory
        self.get = lru_cache(maxsize=WORDS_REMEMBERED)(self._get)  # type: ignore[method-assign]

    def get(self, word: str) -> str | None:
        """The lemma of `word` as the table writes it, or None if the table lacks it."""
        return self._get(word)

    def _get(self, word: str) -> str | None:
        with self._lock:
            row = self._connection.execute(
                "SELECT lemma FROM lemmas WHERE word = ?", (word,)
            ).fetchone()
        return row[0] if row else None


if __name__ == "__main__":
    build(sys.argv[1], Path(sys.argv[2]))
