"""Real stores for the profile tests (SQLite file, and PostgreSQL in a schema of its own)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import create_engine, text

from assistant.profiles.store import ProfileStore
from tests.commerce.conftest import postgres_url  # noqa: F401 - the shared fixture


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    (tmp_path / "data").mkdir()
    return f"sqlite:///{tmp_path / 'data' / 'commerce.db'}"


@pytest.fixture
def pg_schema(postgres_url: str) -> Iterator[str]:  # noqa: F811
    """A PostgreSQL schema of this test's own, dropped after it."""
    schema = f"siyu_profiles_test_{uuid.uuid4().hex[:12]}"
    yield schema
    engine = create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def profiles(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[ProfileStore]:
    """A profile store on SQLite, then on PostgreSQL."""
    if request.param == "sqlite":
        store = ProfileStore(sqlite_url)
    else:
        url, schema = request.getfixturevalue("postgres_url"), request.getfixturevalue("pg_schema")
        store = ProfileStore(url, schema=schema)
    yield store
    store.close()


class FakeRasa:
    """A real HTTP server answering Rasa's ``PUT /conversations/{id}/tracker/events``,
    recording which conversations were replaced with what; ``failing`` ids get a 500."""

    def __init__(self) -> None:
        self.replaced: dict[str, Any] = {}
        self.failing: set[str] = set()
        app = web.Application()
        app.router.add_put("/conversations/{cid}/tracker/events", self.replace)
        self.server = TestServer(app)

    async def replace(self, request: web.Request) -> web.Response:
        cid = request.match_info["cid"]
        if cid in self.failing:
            return web.json_response({"error": "boom"}, status=500)
        self.replaced[cid] = await request.json()
        return web.json_response({"sender_id": cid, "events": []})

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")


@pytest.fixture
async def rasa() -> Any:
    fake = FakeRasa()
    await fake.server.start_server()
    yield fake
    await fake.server.close()
