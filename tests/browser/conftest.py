"""What every browser test shares: Debian's Chromium under Playwright, the screenshot taker, the log-in.

Every page the app serves has a screenshot, taken by a browser test and kept under SCREENSHOT_DIR: PAGES names
each screenshot and the endpoint it shows. `shots` checks, as it takes one, that the page on screen is that
endpoint; tests/browser/test_every_page.py checks that every GET page route of the app has a screenshot."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

# screenshot name -> the endpoint (Flask's name of the view) the page on screen belongs to
PAGES: dict[str, str] = {
    "01-console-cases": "console.cases",
    "02-console-case": "console.case_page",
    "03-console-reports": "console.reports",
    "04-workbench-queue": "workbench.queue",
    "05-workbench-assignment": "workbench.assignment_page",
    "06-board-list": "board.index",
    "07-board-lookup": "board.lookup_form",  # the look-up's answer (a POST to the same address)
    "08-console-merge-undone": "console.case_page",
    "08-console-ledger-links": "console.cases",
    "09-console-absorbed-case-back": "console.case_page",
    "10-workbench-signed": "workbench.assignment_page",
    "11-workbench-replied": "workbench.assignment_page",
    "12-board-post-form": "board_form.post_form",
    "13-board-thanks": "board_form.post_form",  # the answer to the form's POST
    "14-board-lookup-new-case": "board.lookup_form",
    "20-console-token-created": "account.api_tokens",
    "21-console-audit-log": "console.audit_log",
    "20-phone-board-post": "board_form.post_form",
    "21-phone-lookup": "board.lookup_form",
    "30-login": "account.login_page",
    "31-console-users": "account.users",
    "32-console-merge-proposals": "console.merges",
    "33-console-triage": "console.triage",
    "34-console-replies": "console.replies",
    "35-console-supervision": "console.supervision",
    "36-console-operator-home": "console.operator_home",
    "37-operator-entry": "operator.entry_form",
    "38-board-case": "board.case",
    "39-board-lookup-form": "board.lookup_form",
    "40-console-case-photos": "console.case_page",
    "41-console-photo-approved": "console.case_page",
    "42-board-case-photo": "board.case",
    "43-board-lookup-own-photo": "board.lookup_form",
    "44-console-knowledge": "console.knowledge_entries",
    "45-console-knowledge-entry": "console.knowledge_entry",
    "46-console-case-recording": "console.case_page",
    "50-operator-knowledge-answer": "operator.entry_form",
    "51-operator-closed-on-the-call": "operator.entry_form",  # the answer to the form's POST
    "52-operator-suggestion-beside-the-form": "operator.entry_form",
    "53-operator-calls": "calls.page",
    "54-operator-call-taken": "calls.page",
    "55-operator-call-done": "calls.page",
}


# An expectation waits up to a minute (Playwright's default, 5 s, is short for a form's POST and its page on a busy
# machine); a failing one still ends.
expect.set_options(timeout=60_000)


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Debian's Chromium under Playwright. CI installs it and must run these; elsewhere they wait for it."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser tests: install Debian's chromium package (.ci/run does)")
        pytest.skip("browser flows need Debian's chromium package (apt-get install chromium); CI runs them")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def shots(app: Any, tmp_path: Path) -> Any:
    """Save a full-page PNG of a page into SCREENSHOT_DIR (or the test's tmp folder); return its path. The name
    must be in PAGES, and the page on screen must be the endpoint PAGES gives it."""
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    urls = app.url_map.bind("localhost")

    def take(page: Page, name: str) -> Path:
        assert name in PAGES, f"name the screenshot {name!r} and its endpoint in tests/browser/conftest.py PAGES"
        endpoint, _ = urls.match(urlsplit(page.url).path, method="GET")
        assert endpoint == PAGES[name], f"{name} shows {endpoint} ({page.url}), PAGES says {PAGES[name]}"
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000  # a rendered page, not a blank one
        return path

    return take


def log_in(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
