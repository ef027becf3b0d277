"""One SQLAlchemy engine set-up for every commerce store: SQLite file by default, PostgreSQL by URL.

SQLite writers take the write lock up front (``BEGIN IMMEDIATE``), so concurrent writers queue
instead of failing half-way with "database is locked"; PostgreSQL writers run at READ COMMITTED,
where a conditional ``UPDATE`` waits for the row and re-checks its ``WHERE`` on the newest version:
the promotion stores rely on exactly that to never over-issue.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, Engine, MetaData, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool
from sqlalchemy.schema import CreateSchema
from sqlalchemy.sql.expression import text as sql_text

# Execution option our SQLite "begin" hook reads: writers take the write lock up front
# (BEGIN IMMEDIATE) so SQLite waits for it instead of failing half-way with "database is locked".
SQLITE_BEGIN: Final = "siyu_sqlite_begin"
# PostgreSQL advisory lock key ("siyu" + a number) so app instances starting together create the
# tables once; the same key as the order store's, so all commerce DDL takes turns.
DDL_LOCK: Final = 0x73697975_0001


def sqlite_engine(url: str, database: str | None) -> Engine:
    """An engine for a SQLite URL with WAL, foreign keys, a busy timeout and our own BEGIN."""
    in_memory = database in (None, "", ":memory:")
    if not in_memory and database is not None and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    extra: dict[str, Any] = {"poolclass": StaticPool} if in_memory else {}
    # Connections move between threads through the pool; SQLAlchemy serialises their use.
    engine = create_engine(url, connect_args={"check_same_thread": False}, **extra)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN away from the sqlite3 module (it skips it for SELECTs) and emit it ourselves,
        # so a read of several statements is one consistent snapshot.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not in_memory:
            # WAL lets the assistant read while a sync writes.
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


class SqlDatabase:
    """A reader and a writer engine over one URL, creating the given tables on first use.

    ``url`` is a SQLAlchemy URL (``sqlite:///.var/commerce.db`` or
    ``postgresql+psycopg://user@host/db``); ``schema`` puts the tables in a PostgreSQL schema,
    created if missing. Every ``read()``/``write()`` block is one short transaction, and one
    instance may be shared by threads.
    """

    def __init__(
        self, url: str, metadata: Iterable[MetaData], *, schema: str | None = None
    ) -> None:
        self._metadata = tuple(metadata)
        self._schema = schema
        self._ready = False
        self._ready_lock = threading.Lock()
        parsed = make_url(url)
        self.dialect: str = parsed.get_backend_name()
        if self.dialect == "sqlite":
            if schema is not None:
                raise ValueError("schema is a PostgreSQL option; SQLite keeps one file per store")
            base = sqlite_engine(url, parsed.database)
            self._reader = base
            self._writer = base.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
        else:
            base = create_engine(url, pool_pre_ping=True)
            if schema is not None:
                base = base.execution_options(schema_translate_map={None: schema})
            # Reads of several SELECTs see one snapshot; writes stay READ COMMITTED so a
            # conditional UPDATE re-checks its WHERE against the row another writer just committed.
            self._reader = base.execution_options(isolation_level="REPEATABLE READ")
            self._writer = base
        self._engine = base

    @property
    def is_postgres(self) -> bool:
        """True on PostgreSQL (advisory locks, ``ON CONFLICT``)."""
        return self.dialect == "postgresql"

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction that sees one consistent snapshot."""
        self._ensure_tables()
        with self._reader.begin() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction, committed when the block ends and rolled back if it raises."""
        self._ensure_tables()
        with self._writer.begin() as conn:
            yield conn

    def close(self) -> None:
        """Close pooled connections; the database can still be used afterwards and reconnects."""
        self._engine.dispose()

    def _ensure_tables(self) -> None:
        if self._ready:
            return
        with self._ready_lock:
            if self._ready:
                return
            with self._writer.begin() as conn:
                if self.is_postgres:
                    # Several app instances may start together; one creates, the others wait.
                    conn.execute(sql_text("SELECT pg_advisory_xact_lock(:key)"), {"key": DDL_LOCK})
                if self._schema is not None:
                    conn.execute(CreateSchema(self._schema, if_not_exists=True))
                for metadata in self._metadata:
                    metadata.create_all(conn, checkfirst=True)
            self._ready = True


def insert_if_absent(conn: Connection, table: Table, values: Mapping[str, Any]) -> bool:
    """Insert one row unless it clashes with a unique key; True if this call inserted it.

    On PostgreSQL and SQLite it is ``INSERT ... ON CONFLICT DO NOTHING``: a writer racing us for
    the same key waits for ours to commit and then inserts nothing, without aborting the
    transaction. Other databases get a savepoint that absorbs the clash.
    """
    name = conn.dialect.name
    if name in ("postgresql", "sqlite"):
        dialect_insert = postgresql.insert if name == "postgresql" else sqlite.insert
        statement = (
            dialect_insert(table)
            .values(**values)
            .on_conflict_do_nothing()
            # RETURNING says whether a row went in; an INSERT's rowcount is not reliable (-1).
            .returning(*table.primary_key.columns)
        )
        return conn.execute(statement).first() is not None
    try:
        with conn.begin_nested():
            conn.execute(table.insert().values(**values))
    except IntegrityError:
        return False
    return True
