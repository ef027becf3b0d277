"""The web group chat playground in headless Chromium against the real running system
(Rasa + the app, the session's ``system`` fixture)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import browser, kept_screenshots, page  # noqa: F401 - shared fixtures


@pytest.fixture
def page_timeout_ms() -> int:
    # A reply goes through Rasa and the knowledge base: allow for a slow, shared machine.
    return 60_000


@pytest.fixture(scope="session")
def playground_screenshots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Screenshots of this run; SIYU_UPDATE_SCREENSHOTS=1 refreshes the docs' copies."""
    folder = tmp_path_factory.mktemp("playground-screenshots")
    yield folder
    kept_screenshots(folder, "playground")
