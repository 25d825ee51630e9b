"""The console's request bodies (bot/web/schemas.py): 422 with a detail an agent can read."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.testclient import TestClient

from bot.domain.services.agent_queue import MAX_NOTE
from bot.web import schemas
from bot.web.schemas import CloseBody, ReplyBody


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    app.add_exception_handler(RequestValidationError, schemas.validation_error)

    @app.post("/reply")
    def reply(body: ReplyBody) -> dict[str, str]:
        return {"text": body.text}

    @app.post("/close")
    def close(body: CloseBody) -> dict[str, str]:
        return {"disposition": body.disposition, "note": body.note}

    return TestClient(app)


def test_good_bodies_arrive_cleaned(client: TestClient) -> None:
    assert client.post("/reply", json={"text": " Guten\x00 Tag "}).json() == {"text": "Guten Tag"}
    closed = client.post("/close", json={"disposition": "callback", "note": "  Rückruf  "})
    assert closed.json() == {"disposition": "callback", "note": "Rückruf"}


@pytest.mark.parametrize(
    ("path", "body", "detail"),
    [
        ("/reply", {"text": ""}, schemas.FIELD_ERRORS["text"]),
        ("/reply", {"text": "\u200b \x07"}, schemas.FIELD_ERRORS["text"]),
        ("/reply", {"text": "x" * 2001}, schemas.FIELD_ERRORS["text"]),
        ("/reply", {"text": ["Hallo"]}, schemas.FIELD_ERRORS["text"]),
        ("/reply", {}, schemas.FIELD_ERRORS["text"]),
        ("/close", {"disposition": "resolved", "note": ""}, schemas.FIELD_ERRORS["note"]),
        (
            "/close",
            {"disposition": "resolved", "note": "x" * (MAX_NOTE + 1)},
            schemas.FIELD_ERRORS["note"],
        ),
        ("/close", {"disposition": "deleted", "note": "weg"}, schemas.FIELD_ERRORS["disposition"]),
        ("/close", [], schemas.FIELD_ERRORS["disposition"]),  # missing: the first field's word
    ],
)
def test_wrong_bodies_get_422_with_a_readable_detail(
    client: TestClient, path: str, body: object, detail: str
) -> None:
    answer = client.post(path, json=body)
    assert answer.status_code == 422
    assert answer.json()["detail"] == detail
    assert answer.json()["errors"]  # pydantic's own list, for scripts


def test_a_body_that_is_not_json_gets_the_general_detail(client: TestClient) -> None:
    answer = client.post(
        "/close", content=b"disposition=resolved", headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 422 and answer.json()["detail"] == schemas.GENERAL_ERROR
