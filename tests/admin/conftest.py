"""The admin API against the real knowledge library, through aiohttp's test client."""

from __future__ import annotations

from typing import Any

import pytest

from tests.admin.support import AdminStack, admin_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> AdminStack:
    return admin_stack(tmp_path_factory)


@pytest.fixture
async def client(stack: AdminStack, aiohttp_client: Any) -> Any:
    from assistant.app import create_app

    return await aiohttp_client(create_app(stack.settings, stack.services))
