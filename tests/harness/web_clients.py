"""Python clients of the web app, speaking to it as browsers do.

`Widget` is one tab with the chat widget (the WebSocket protocol of
docs/web-chat-protocol.md); `Console` is an agent's browser on the console
(cookies, CSRF token, JSON API, live updates). The end-to-end tests and the
web chat benchmark use them.
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets


def ws_url(app_url: str, path: str) -> str:
    return app_url.replace("https://", "wss://").replace("http://", "ws://") + path


def _tls(context: ssl.SSLContext | None) -> dict[str, Any]:
    """websockets' argument for a wss URL trusting `context` (none: its default)."""
    return {"ssl": context} if context else {}


@dataclass
class Widget:
    """One browser tab with the chat widget, speaking the WebSocket protocol."""

    app_url: str
    language: str = "de"
    token: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # e.g. what our proxy adds
    session: dict[str, Any] = field(default_factory=dict)
    frames: list[dict[str, Any]] = field(default_factory=list)
    socket: Any = None
    tls: ssl.SSLContext | None = None  # whom to trust behind an https URL (the edge)

    async def __aenter__(self) -> Widget:
        self.socket = await websockets.connect(
            ws_url(self.app_url, "/chat/ws"), extra_headers=self.headers, **_tls(self.tls)
        )
        await self.send(type="hello", token=self.token, language=self.language)
        self.session = await self.next("session")
        self.token = self.session["token"]
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.socket.close()

    async def send(self, **frame: Any) -> None:
        await self.socket.send(json.dumps(frame))

    async def next(self, kind: str, timeout: float = 30) -> dict[str, Any]:
        """The next frame of this type (frames before it are kept in `frames`)."""

        async def read() -> dict[str, Any]:
            while True:
                frame = json.loads(await self.socket.recv())
                self.frames.append(frame)
                if frame["type"] == kind:
                    return frame

        return await asyncio.wait_for(read(), timeout)

    async def say(self, text: str, payload: str | None = None) -> list[dict[str, Any]]:
        """Send a message; the bot's messages of that turn."""
        await self.send(type="message", text=text, **({"payload": payload} if payload else {}))
        start = len(self.frames)
        while True:
            frame = await self.next("typing")
            if frame["from"] == "bot" and frame["active"] is False:
                break
        return [f for f in self.frames[start:] if f["type"] == "message" and f["from"] == "bot"]

    async def from_agent(self) -> dict[str, Any]:
        """The next message an agent wrote (notices and the bot's before it are kept)."""
        message = await self.next("message")
        while message["from"] != "agent":
            message = await self.next("message")
        return message

    async def texts(self, text: str) -> str:
        return " ".join(m["text"] for m in await self.say(text)).replace("\xa0", " ")


async def customer_message(live: Any, timeout: float = 15) -> dict[str, Any]:
    """The next frame on a console's live socket that carries a customer's message."""

    async def read() -> dict[str, Any]:
        while True:
            frame = json.loads(await live.recv())
            if frame["type"] == "message" and frame["message"]["from"] == "customer":
                return frame

    return await asyncio.wait_for(read(), timeout)


class Console:
    """An agent's browser on the console: cookies, CSRF token, JSON API."""

    def __init__(self, app_url: str, tls: ssl.SSLContext | None = None) -> None:
        self.http = httpx.Client(base_url=app_url, timeout=60, verify=tls or True)
        self.tls = tls
        self.csrf = ""

    def login(self, username: str, password: str) -> httpx.Response:
        page = self.http.get("/agent/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token, page.text
        answer = self.http.post(
            "/agent/login",
            data={"username": username, "password": password, "csrf_token": token[1]},
        )
        if answer.status_code == 303:
            console = self.http.get("/agent")
            meta = re.search(r'<meta name="csrf-token" content="([^"]+)"', console.text)
            assert meta, console.text
            self.csrf = meta[1]
        return answer

    def get(self, path: str) -> httpx.Response:
        return self.http.get(path)

    def post(self, path: str, body: Any = None, csrf: bool = True) -> httpx.Response:
        headers = {"X-CSRF-Token": self.csrf} if csrf else {}
        return self.http.post(path, json=body if body is not None else {}, headers=headers)

    def case_of(self, conversation_or_case: str) -> dict[str, Any] | None:
        for case in self.get("/agent/api/cases").json():
            if case["case_id"] == conversation_or_case:
                return case
        return None

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.http.cookies.items())

    async def live(self) -> Any:
        """The console's WebSocket for live updates."""
        return await websockets.connect(
            ws_url(str(self.http.base_url), "/agent/ws"),
            extra_headers={"Cookie": self.cookie_header()},
            **_tls(self.tls),
        )
