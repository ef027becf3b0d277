"""Real SQLite and PostgreSQL stores for the commerce tests, plus a clock the tests can move."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from assistant.commerce.promotions_sql import SqlPromotions
from assistant.commerce.seed import ProductRef
from assistant.commerce.sql import SqlCommerce
from tests.commerce.factories import FakeClock

POSTGRES_URL = os.environ.get(
    "SIYU_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

StoreFactory = Callable[..., SqlCommerce]
PromotionsFactory = Callable[..., SqlPromotions]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2025, 11, 18, 2, 0, tzinfo=timezone.utc))


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test server's URL, or a skip saying why it cannot be used."""
    engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc.orig}")
    finally:
        engine.dispose()
    return POSTGRES_URL


@pytest.fixture
def sqlite_factory(tmp_path: Path) -> Iterator[StoreFactory]:
    """Stores on one SQLite file in a fresh folder (each call is a new instance, same data)."""
    made: list[SqlCommerce] = []

    def make(**kwargs: Any) -> SqlCommerce:
        store = SqlCommerce(f"sqlite:///{tmp_path / 'data' / 'commerce.db'}", **kwargs)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture
def postgres_factory(postgres_url: str) -> Iterator[StoreFactory]:
    """Stores on the PostgreSQL test database, in a schema of this test's own, dropped after."""
    schema = f"siyu_commerce_test_{uuid.uuid4().hex[:12]}"
    made: list[SqlCommerce] = []

    def make(**kwargs: Any) -> SqlCommerce:
        store = SqlCommerce(postgres_url, schema=schema, **kwargs)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()
    engine = create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def store_factory(request: pytest.FixtureRequest) -> StoreFactory:
    return request.getfixturevalue(f"{request.param}_factory")


@pytest.fixture
def store(store_factory: StoreFactory) -> SqlCommerce:
    return store_factory()


@pytest.fixture
def sqlite_promotions(tmp_path: Path) -> Iterator[PromotionsFactory]:
    """Promotion stores on one SQLite file (each call is a new app instance, same data)."""
    made: list[SqlPromotions] = []

    def make(**kwargs: Any) -> SqlPromotions:
        promotions = SqlPromotions(f"sqlite:///{tmp_path / 'data' / 'commerce.db'}", **kwargs)
        made.append(promotions)
        return promotions

    yield make
    for promotions in made:
        promotions.close()


@pytest.fixture
def postgres_promotions(postgres_url: str) -> Iterator[PromotionsFactory]:
    """Promotion stores on the PostgreSQL test database, in a schema of their own, dropped after."""
    schema = f"siyu_promo_test_{uuid.uuid4().hex[:12]}"
    made: list[SqlPromotions] = []

    def make(**kwargs: Any) -> SqlPromotions:
        promotions = SqlPromotions(postgres_url, schema=schema, **kwargs)
        made.append(promotions)
        return promotions

    yield make
    for promotions in made:
        promotions.close()
    engine = create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def promotions_factory(request: pytest.FixtureRequest) -> PromotionsFactory:
    return request.getfixturevalue(f"{request.param}_promotions")


@pytest.fixture
def promotions(promotions_factory: PromotionsFactory) -> SqlPromotions:
    return promotions_factory()


@pytest.fixture
def products() -> list[ProductRef]:
    return [
        ProductRef("LY-CL-001", "澜屿氨基酸洁面乳", "LANYU Amino Acid Cleanser", Decimal("89.00")),
        ProductRef("LY-TN-002", "澜屿积雪草爽肤水", "LANYU Centella Toner", Decimal("129.00")),
        ProductRef("LY-SR-003", "澜屿烟酰胺精华", "LANYU Niacinamide Serum", Decimal("239.00")),
        ProductRef("LY-MS-004", "澜屿神经酰胺面霜", "LANYU Ceramide Cream", Decimal("199.90")),
        ProductRef("LY-SS-005", "澜屿清透防晒乳", "LANYU Sunscreen SPF50+", Decimal("159.00")),
        ProductRef("LY-MK-006", "澜屿修护面膜", "LANYU Repair Sheet Mask", Decimal("99.00")),
    ]
