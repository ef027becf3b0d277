"""Every received message is stored before it is answered: nothing lost, nothing answered twice."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

from assistant.messages import IncomingMessage

chat_tables = MetaData()
inbox_table = Table(
    "chat_inbox",
    chat_tables,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("platform", String(32), nullable=False),
    Column("message_id", String(128), nullable=False),
    Column("conversation_id", String(256), nullable=False),
    Column("sender_name", String(128), nullable=False),
    Column("text", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    # received -> answered | failed (Rasa unreachable; kept for a retry or a person)
    Column("status", String(16), nullable=False, default="received"),
    Column("error", Text),
    Column("replies", Text),
    # The whole message as JSON: what a restart needs to answer it.
    Column("payload", Text),
    UniqueConstraint("platform", "message_id", name="uq_inbox_platform_message"),
)


class MessageInbox:
    """A table of received messages keyed by (platform, message id)."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url, future=True)
        if url.startswith("sqlite"):

            @event.listens_for(self.engine, "connect")
            def _sqlite_pragmas(connection: Any, _: Any) -> None:
                cursor = connection.cursor()
                # WAL lets the app read while it writes; NORMAL is durable enough for a chat log.
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.close()

        chat_tables.create_all(self.engine)
        self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        """Inboxes created before a column existed get it (SQLite and PostgreSQL alike)."""
        present = {c["name"] for c in inspect(self.engine).get_columns(inbox_table.name)}
        with self.engine.begin() as connection:
            for column in inbox_table.columns:
                if column.name not in present:
                    kind = column.type.compile(self.engine.dialect)
                    connection.execute(
                        text(f"ALTER TABLE {inbox_table.name} ADD COLUMN {column.name} {kind}")
                    )

    def record(self, message: IncomingMessage) -> bool:
        """Store a received message; False if this platform message id was seen before."""
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    insert(inbox_table).values(
                        platform=message.platform,
                        message_id=message.message_id,
                        conversation_id=message.conversation_id,
                        sender_name=message.sender_name,
                        text=message.text,
                        received_at=message.received_at,
                        status="received",
                        payload=json.dumps(message.to_json(), ensure_ascii=False),
                    )
                )
        except IntegrityError:
            return False
        return True

    def mark_answered(self, message: IncomingMessage, replies: list[str]) -> None:
        self._set(message, status="answered", replies=json.dumps(replies, ensure_ascii=False))

    def mark_failed(self, message: IncomingMessage, error: str) -> None:
        self._set(message, status="failed", error=error)

    def _set(self, message: IncomingMessage, **values: Any) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(inbox_table)
                .where(inbox_table.c.platform == message.platform)
                .where(inbox_table.c.message_id == message.message_id)
                .values(**values)
            )

    def pending(self) -> list[IncomingMessage]:
        """Messages stored but not answered when the app stopped: answered after a restart."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(inbox_table.c.payload)
                .where(inbox_table.c.status == "received")
                .where(inbox_table.c.payload.is_not(None))
                .order_by(inbox_table.c.id)
            ).all()
        return [IncomingMessage.from_json(json.loads(row.payload)) for row in rows]

    def unanswered(self) -> list[dict[str, Any]]:
        """Messages received but not answered (Rasa was down, or the app stopped mid-way)."""
        with self.engine.connect() as connection:
            rows = (
                connection.execute(
                    select(inbox_table)
                    .where(inbox_table.c.status != "answered")
                    .order_by(inbox_table.c.id)
                )
                .mappings()
                .all()
            )
        return [dict(row) for row in rows]
