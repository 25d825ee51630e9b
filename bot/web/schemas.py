"""Request bodies of the console's API, checked before a route runs.

A body that does not fit is answered with 422 and a `detail` the console
shows as it is (German, like the console), plus pydantic's `errors` for
scripts. The rules themselves are the domain's (bot/domain/services/agent_queue.py);
these models only apply them at the edge.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, validator

from bot.domain.services import agent_queue
from bot.domain.text import clean_message
from bot.protocol import MAX_MESSAGE_CHARS

# What the console shows when a field is wrong, by the field's name.
FIELD_ERRORS = {
    "text": f"Bitte eine Nachricht mit 1 bis {MAX_MESSAGE_CHARS} Zeichen.",
    "disposition": "Unbekannter Abschluss.",
    "note": f"Bitte eine Notiz (höchstens {agent_queue.MAX_NOTE} Zeichen).",
}
GENERAL_ERROR = "Die Eingabe wurde nicht angenommen. Bitte prüfen Sie Ihre Angaben."


class ReplyBody(BaseModel):
    """An agent's message to the customer."""

    text: str

    @validator("text")
    def _one_message(cls, value: str) -> str:  # noqa: N805
        text = clean_message(value)
        if not text or len(text) > MAX_MESSAGE_CHARS:
            raise ValueError(f"1 to {MAX_MESSAGE_CHARS} characters")
        return text


class CloseBody(BaseModel):
    """How a case ended: one of the dispositions, and a note."""

    disposition: str
    note: str

    @validator("disposition")
    def _known(cls, value: str) -> str:  # noqa: N805
        return _domain_rule(agent_queue.check_disposition, value)

    @validator("note")
    def _note(cls, value: str) -> str:  # noqa: N805
        return _domain_rule(agent_queue.clean_note, value)


def _domain_rule(rule: Any, value: Any) -> Any:
    """Apply a rule of the domain; its refusal becomes a validation error."""
    try:
        return rule(value)
    except agent_queue.InvalidClosing as invalid:
        raise ValueError(str(invalid)) from None


def readable(error: RequestValidationError) -> str:
    """The console's message for the first wrong field."""
    for problem in error.errors():
        field = next((str(part) for part in reversed(problem["loc"]) if part in FIELD_ERRORS), "")
        if field:
            return FIELD_ERRORS[field]
    return GENERAL_ERROR


async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
    """422 with a `detail` a person can read (installed on the app)."""
    return JSONResponse(
        {"detail": readable(error), "errors": jsonable_encoder(error.errors())}, status_code=422
    )
