"""Shared by the browser tests: Debian's Chromium through Playwright, and the widget's parts.

Playwright drives `chromium` by its executable path (scripts/ensure_chromium.sh
installs the Debian package) and never downloads a browser. Screenshots go
to test-artifacts/browser/.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import ROOT

ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium per test module (Playwright's sync API runs an event loop while it
    lives, which the asyncio tests of other modules must not find)."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: run scripts/ensure_chromium.sh")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


def customer_writes(page: Page, text: str) -> None:
    page.get_by_test_id("chat-input").fill(text)
    page.get_by_test_id("chat-input").press("Enter")


def messages(page: Page, sender: str):  # type: ignore[no-untyped-def]
    return page.locator(f"[data-testid='chat-message'][data-from='{sender}']")
