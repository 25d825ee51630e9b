"""The response generator: Rasa's own, with the language of each text in its metadata.

Every response has a German variation (no condition) and a Turkish one
(condition `language: tr`). Rasa picks the variation; this generator notes in
the message's metadata which language the chosen text is in, so a channel
knows how to speak or show it (a Turkish voice, the widget's language)
without reading the conversation's slots. Configured in endpoints.yml
(`nlg: type: bot.rasa_runtime.nlg.LanguageTaggingGenerator`).
"""

from __future__ import annotations

from typing import Any

from rasa.core.nlg import TemplatedNaturalLanguageGenerator

from bot.domain.languages import DEFAULT_LANGUAGE
from bot.protocol import LANGUAGE


def language_of(variation: dict[str, Any]) -> str:
    """The language a response variation is written in: its condition's, else German."""
    for condition in variation.get("condition") or []:
        if condition.get("name") == LANGUAGE and isinstance(condition.get("value"), str):
            return condition["value"]
    return DEFAULT_LANGUAGE


class LanguageTaggingGenerator(TemplatedNaturalLanguageGenerator):
    """Rasa's templated responses, each marked with the language of its text."""

    def __init__(self, endpoint_config: Any = None, domain: Any = None) -> None:
        super().__init__(domain.responses if domain is not None else {})

    def generate_from_slots(
        self,
        utter_action: str,
        filled_slots: dict[str, Any],
        output_channel: str,
        **kwargs: Any,
    ) -> dict[str, Any] | None:
        response = super().generate_from_slots(utter_action, filled_slots, output_channel, **kwargs)
        if response is not None:
            metadata = response.get("metadata")
            response["metadata"] = {
                **(metadata if isinstance(metadata, dict) else {}),
                LANGUAGE: language_of(response),
            }
        return response
