"""The knowledge base for general questions: topics, their answers, imported replacements.

The shipped answers are responses of the domain (`utter_faq/<topic>` in
domain/faq.yml, with titles `utter_label_faq_<topic>`); the model's
ResponseSelector knows the topics from the questions trained for them. A
utility can replace answers and titles at run time, without training, by
importing a `knowledge_base` section (`import-data`): those are kept here
and win over the shipped text. Answers may name `{hotline_hours}` and
`{emergency_number}`, filled from the settings.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.errors import InvalidRecord
from bot.domain.languages import LANGUAGES
from bot.domain.models import KnowledgeArticle
from bot.domain.records import section_records

RETRIEVAL_INTENT = "faq"
ANSWER_PREFIX = f"utter_{RETRIEVAL_INTENT}/"
TITLE_PREFIX = "utter_label_faq_"
MAX_TITLE = 80
MAX_ANSWER = 1500
#: what an answer may name, filled from the settings
PLACEHOLDERS = frozenset({"hotline_hours", "emergency_number"})


def topics_of(responses: Mapping[str, Any]) -> list[str]:
    """The topics the domain answers (`utter_faq/<topic>`), in the domain's order."""
    return [
        name.removeprefix(ANSWER_PREFIX) for name in responses if name.startswith(ANSWER_PREFIX)
    ]


def topic_of_key(key: str | None) -> str | None:
    """`faq/opening_hours` (the selector's intent response key) → `opening_hours`."""
    if not key or not key.startswith(f"{RETRIEVAL_INTENT}/"):
        return None
    return key.split("/", 1)[1] or None


def fill(text: str, values: Mapping[str, str]) -> str:
    """An answer with its placeholders filled (an unknown one is left as written)."""

    class Keep(dict):
        def __missing__(self, key: str) -> str:
            return "{" + key + "}"

    return string.Formatter().vformat(text, (), Keep(values))


def imported(session: Session, topic: str, language: str) -> KnowledgeArticle | None:
    return session.scalar(
        select(KnowledgeArticle).where(
            KnowledgeArticle.topic == topic, KnowledgeArticle.language == language
        )
    )


def imported_answer(session: Session, topic: str, language: str) -> tuple[str, str] | None:
    """The imported (title, answer) of a topic in a language, if there is one."""
    article = imported(session, topic, language)
    return (article.title, article.answer) if article is not None else None


# --- import ------------------------------------------------------------------------------

_FIELDS = {"topic", "title", "answer"}


def parse_knowledge_base(raw: Any, topics: Iterable[str]) -> list[dict[str, str]]:
    """Validate the `knowledge_base` section: a list of topics with title and answer per
    language. Only topics the model knows are accepted (a new topic needs trained
    questions first)."""
    known = set(topics)
    rows: list[dict[str, str]] = []
    seen: set[str] = set()
    for record, item in section_records(raw, "knowledge_base", _FIELDS):
        topic = item.get("topic")
        if topic not in known:
            raise InvalidRecord(
                record, "topic", f"must be one of the trained topics ({', '.join(sorted(known))})"
            )
        if topic in seen:
            raise InvalidRecord("file", "topic", f"{topic} appears more than once")
        seen.add(topic)
        for field, limit in (("title", MAX_TITLE), ("answer", MAX_ANSWER)):
            texts = item.get(field)
            if not isinstance(texts, dict) or not texts or set(texts) - set(LANGUAGES):
                raise InvalidRecord(record, field, "must be an object with the texts de and/or tr")
            for language, text in texts.items():
                if not isinstance(text, str) or not text.strip() or len(text) > limit:
                    raise InvalidRecord(record, field, f"{language}: 1 to {limit} characters")
                names = {name for _, name, _, _ in string.Formatter().parse(text) if name}
                if names - PLACEHOLDERS:
                    raise InvalidRecord(
                        record, field, f"{language}: unknown placeholder {sorted(names)[0]}"
                    )
        for language in LANGUAGES:
            if language in item["answer"]:
                title = item["title"].get(language) or item["title"].get("de") or topic
                rows.append(
                    {
                        "topic": topic,
                        "language": language,
                        "title": re.sub(r"\s+", " ", title).strip(),
                        "answer": item["answer"][language].strip(),
                    }
                )
    return rows


def import_articles(session: Session, rows: list[dict[str, str]]) -> dict[str, int]:
    """Upsert parsed articles by topic and language."""
    counts = {"articles": 0, "created": 0, "updated": 0}
    for row in rows:
        counts["articles"] += 1
        article = imported(session, row["topic"], row["language"])
        if article is None:
            session.add(KnowledgeArticle(**row))
            counts["created"] += 1
        elif (article.title, article.answer) != (row["title"], row["answer"]):
            article.title, article.answer = row["title"], row["answer"]
            counts["updated"] += 1
    session.flush()
    return counts
