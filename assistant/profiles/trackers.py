"""Erase a conversation's history from Rasa: its tracker, through Rasa's HTTP API and store.

``PUT /conversations/{id}/tracker/events`` with ``[]`` replaces a tracker whole in stores that
keep trackers whole (in-memory, Redis). Rasa's SQL tracker store (our default, endpoints.yml)
only ever *appends* the events it has not stored, so the same call deletes nothing there: its
``events`` rows are deleted directly as well. The PUT goes first because Rasa runs it under the
conversation's lock: once it returns, no turn of that conversation is half-way through.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

import aiohttp
import yaml
from sqlalchemy import Column, MetaData, String, Table, create_engine, delete, inspect
from sqlalchemy.engine import URL, Engine

from assistant.config import MissingEnvironment, expand_env

log = logging.getLogger("assistant.profiles.trackers")

_rasa_events = Table("events", MetaData(), Column("sender_id", String(255)))


class TrackerEraseFailed(RuntimeError):
    """Rasa did not confirm that a conversation's history is gone."""


class TrackerEraser(Protocol):
    """Erases one conversation's dialogue history wherever the dialogue engine keeps it."""

    async def erase(self, conversation_id: str) -> None: ...


class RasaTrackerEraser:
    """Replaces a conversation's events with none through Rasa's API (``--enable-api``), then
    deletes its rows from Rasa's SQL tracker store when ``tracker_store_url`` names one."""

    def __init__(
        self,
        rasa_url: str,
        *,
        tracker_store_url: str | None = None,
        timeout_seconds: float = 30.0,
    ) -> None:
        self.rasa_url = rasa_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._engine: Engine | None = (
            create_engine(tracker_store_url, future=True) if tracker_store_url else None
        )

    async def erase(self, conversation_id: str) -> None:
        url = f"{self.rasa_url}/conversations/{quote(conversation_id, safe=':')}/tracker/events"
        try:
            async with (
                aiohttp.ClientSession(timeout=self.timeout) as session,
                session.put(url, json=[]) as response,
            ):
                if response.status != 200:
                    body = (await response.text())[:200]
                    raise TrackerEraseFailed(f"Rasa answered {response.status}: {body}")
        except (aiohttp.ClientError, asyncio.TimeoutError) as problem:
            raise TrackerEraseFailed(f"Rasa unreachable at {self.rasa_url}: {problem}") from None
        if self._engine is not None:
            await asyncio.to_thread(self._delete_rows, conversation_id)

    def _delete_rows(self, conversation_id: str) -> None:
        assert self._engine is not None
        if not inspect(self._engine).has_table(_rasa_events.name):
            return  # Rasa has not stored a single event yet
        with self._engine.begin() as conn:
            conn.execute(delete(_rasa_events).where(_rasa_events.c.sender_id == conversation_id))


def rasa_tracker_store_url(endpoints: Path, rasa_dir: Path) -> str | None:
    """The SQLAlchemy URL of the SQL tracker store configured in Rasa's ``endpoints`` file.

    None when the file configures another store (or none). A relative SQLite path is relative
    to ``rasa_dir``, the folder Rasa runs in.
    """
    if not endpoints.exists():
        return None
    try:
        config = expand_env(yaml.safe_load(endpoints.read_text(encoding="utf-8")) or {})
    except (yaml.YAMLError, MissingEnvironment) as problem:
        log.warning("cannot read the tracker store from %s: %s", endpoints, problem)
        return None
    store = config.get("tracker_store") or {}
    if str(store.get("type", "")).lower() != "sql":
        return None
    dialect = str(store.get("dialect") or "sqlite")
    if dialect == "sqlite":
        database = Path(str(store.get("db") or "rasa.db"))
        return f"sqlite:///{database if database.is_absolute() else rasa_dir / database}"
    driver = "postgresql+psycopg" if dialect in ("postgresql", "postgres") else dialect
    return URL.create(
        driver,
        username=store.get("username"),
        password=store.get("password"),
        host=store.get("url"),
        port=int(store["port"]) if store.get("port") else None,
        database=store.get("db"),
    ).render_as_string(hide_password=False)
