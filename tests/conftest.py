"""Session fixtures: the real running system, and in-process services for unit tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stack import RunningSystem, start_system


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


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Show the held-out NLU figures in every run, passing or not."""
    from tests.e2e.test_nlu_quality import REPORTS

    for report in REPORTS:
        terminalreporter.write_line(report)
