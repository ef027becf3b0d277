"""Analytics stores on real SQLite and PostgreSQL, next to the commerce store whose handoff
table they read, and a clock the tests move."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from assistant.analytics.store import AnalyticsStore
from assistant.commerce.sql import SqlCommerce
from tests.commerce.factories import FakeClock

POSTGRES_URL = os.environ.get(
    "SIYU_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@dataclass
class Stores:
    analytics: AnalyticsStore
    commerce: SqlCommerce
    clock: FakeClock


@pytest.fixture
def clock() -> FakeClock:
    # 10:00 in China on 2025-11-18.
    return FakeClock(datetime(2025, 11, 18, 2, 0, tzinfo=timezone.utc))


def _postgres_schema() -> tuple[str, str] | None:
    engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError:
        return None
    finally:
        engine.dispose()
    return POSTGRES_URL, f"siyu_analytics_test_{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=["sqlite", "postgresql"])
def stores(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[Stores]:
    """The analytics store and the commerce store on one database, as the app has them."""
    schema: str | None = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'commerce.db'}"
    else:
        found = _postgres_schema()
        if found is None:
            pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
        url, schema = found
    made = Stores(
        analytics=AnalyticsStore(url, schema=schema, clock=clock),
        commerce=SqlCommerce(url, schema=schema, clock=clock),
        clock=clock,
    )
    yield made
    made.analytics.close()
    made.commerce.close()
    if schema is not None:
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


StoresFactory = Callable[[], Stores]


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201 - tests.admin.support.AdminStack
    """The admin tests' real app services (embedding model, knowledge, SQLite), built once."""
    from tests.admin.support import admin_stack

    return admin_stack(tmp_path_factory)
