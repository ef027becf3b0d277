"""The web group chat playground in headless Chromium against the real running system
(Rasa + the app, the session's ``system`` fixture)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import kept_screenshots, launched_browser, opened_page


# Module scope: Playwright's sync API keeps an event loop running in this thread while it is
# open, which would break every later test that starts its own loop.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launched_browser() as launched:
        yield launched


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    # A reply goes through Rasa and the knowledge base: allow for a slow, shared machine.
    with opened_page(browser, timeout_ms=60_000) as opened:
        yield opened


@pytest.fixture(scope="session")
def playground_screenshots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Screenshots of this run; SIYU_UPDATE_SCREENSHOTS=1 refreshes the docs' copies."""
    folder = tmp_path_factory.mktemp("playground-screenshots")
    yield folder
    kept_screenshots(folder, "playground")
