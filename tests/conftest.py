"""Session fixtures: the real running system, and in-process services for unit tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.stack import KnownOrder, RunningSystem, known_orders, start_system


@pytest.fixture(scope="session")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    """Rasa + the app, started once per test session on a fresh data directory."""
    running = start_system(Path(tmp_path_factory.mktemp("system")))
    try:
        yield running
    finally:
        running.stack.stop()


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201 - runtime.Services
    """The app's services built in this process (embedding model, knowledge base, commerce)."""
    from assistant.bootstrap import build_services
    from assistant.config import load_settings

    settings = load_settings(data_dir=Path(tmp_path_factory.mktemp("services")))
    return build_services(settings)


@pytest.fixture(scope="session")
def rasa_url(request: pytest.FixtureRequest) -> str:
    """Rasa's URL: an already running test stack's (``SIYU_TEST_RASA_URL``, started with
    ``python -m tests.connectors.shared_stack``), else the session's own ``system``."""
    url = os.environ.get("SIYU_TEST_RASA_URL")
    if url:
        return url.rstrip("/")
    return str(request.getfixturevalue("system").rasa_url)


@pytest.fixture(scope="session")
def orders() -> dict[str, KnownOrder]:
    """The orders every test stack is seeded with (ids and phone digits are fixed)."""
    return known_orders(datetime.now(timezone.utc))[1]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Show the held-out NLU figures in every run, passing or not."""
    from tests.e2e.test_nlu_quality import REPORTS

    for report in REPORTS:
        terminalreporter.write_line(report)
