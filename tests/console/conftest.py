"""The staff console in headless Chromium (Debian's, through Playwright) against the real app."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.admin.support import AdminStack, admin_stack
from tests.browser import browser, kept_screenshots, page  # noqa: F401 - shared fixtures


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveApp:
    """The real app on a free port, served from its own event loop in a background thread."""

    def __init__(self, stack: AdminStack) -> None:
        self.stack = stack
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._failed: BaseException | None = None
        self._thread = threading.Thread(target=self._serve, name="console-app", daemon=True)

    def _serve(self) -> None:
        from assistant.app import create_app

        asyncio.set_event_loop(self._loop)
        runner: web.AppRunner | None = None
        try:
            runner = web.AppRunner(create_app(self.stack.settings, self.stack.services))
            self._loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", self.port)
            self._loop.run_until_complete(site.start())
        except BaseException as exc:  # noqa: BLE001 - reported to the test thread
            self._failed = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())
        self._loop.close()

    def start(self) -> LiveApp:
        self._thread.start()
        self._ready.wait(60)
        if self._failed is not None:
            raise RuntimeError("the app did not start") from self._failed
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> AdminStack:
    return admin_stack(tmp_path_factory)


@pytest.fixture(scope="session")
def live_app(stack: AdminStack) -> Iterator[LiveApp]:
    app = LiveApp(stack).start()
    try:
        yield app
    finally:
        app.stop()


@pytest.fixture
def page_timeout_ms() -> int:
    return 15_000


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Screenshots of this run; SIYU_UPDATE_SCREENSHOTS=1 refreshes the README's copies."""
    folder = tmp_path_factory.mktemp("screenshots")
    yield folder
    kept_screenshots(folder, "console")
