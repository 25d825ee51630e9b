"""Checking a custom action's answer against Rasa's schema, each event against its own type.

Rasa checks every answer with `jsonschema` against
`RemoteAction.action_response_format_spec()`, in which an event must match
exactly one of 23 event schemas (`oneOf`), so every event is checked against
all 23, and the schema itself was checked against the meta-schema on every
call. The 23 differ in the constant of `event`, so at most one of them can
match: an event is valid exactly when it matches the part all events share
and the schema of its own type. That is checked first; an answer it does not
pass goes through the whole schema, which finds the error Rasa reports.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jsonschema import validators
from jsonschema.exceptions import best_match
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL


@lru_cache(maxsize=1)
def whole_schema() -> Any:
    """A validator of Rasa's schema, checked against the meta-schema once."""
    schema = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


@lru_cache(maxsize=1)
def by_event_type() -> tuple[Any, dict[str, Any]]:
    """A validator of the answer without its events, and one per event type."""
    schema = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    event_schema = schema["properties"]["events"]["items"]
    shared = {key: value for key, value in event_schema.items() if key != "oneOf"}
    per_type: dict[str, Any] = {}
    for alternative in event_schema["oneOf"]:
        type_name = alternative["properties"]["event"]["const"]
        if type_name in per_type:  # two schemas for one type: only the whole schema can tell
            return whole_schema(), {}
        per_type[type_name] = validator_class({"allOf": [shared, alternative]})
    answer = {**schema, "properties": {**schema["properties"], "events": {"type": "array"}}}
    return validator_class(answer), per_type


def passes_by_type(answer: Any) -> bool:
    """True only for an answer Rasa's schema accepts (False: not decided here)."""
    outline, per_type = by_event_type()
    if not per_type or not outline.is_valid(answer):
        return False
    for event in answer.get("events", []):
        kind = event.get("event") if isinstance(event, dict) else None
        checker = per_type.get(kind) if isinstance(kind, str) else None
        if checker is None or not checker.is_valid(event):
            return False
    return True


def validate(_action: RemoteAction, answer: dict[str, Any]) -> bool:
    """`RemoteAction._validate_action_result`: True, or Rasa's error for an invalid answer."""
    if passes_by_type(answer):
        return True
    error = best_match(whole_schema().iter_errors(answer))
    if error is None:
        return True
    error.message += (
        ". Failed to validate Action server response from API, make sure your "
        "response from the Action endpoint is valid. For more information about "
        f"the format visit {DOCS_BASE_URL}/custom-actions"
    )
    raise error
