"""`assistant kb` while the app runs: changes go through the app, so shoppers see them at once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from assistant.cli import app
from tests.admin.support import BRAND_B, BRAND_B_PRODUCTS, AdminStack
from tests.console.conftest import LiveApp

runner = CliRunner()


@pytest.fixture
def running(stack: AdminStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    live = LiveApp(stack)
    # The app announces the port it was configured with, as `assistant serve` does.
    live.stack = AdminStack(
        stack.settings.model_copy(update={"port": live.port}), stack.services, stack.root
    )
    live.start()
    config = tmp_path / "assistant.yml"
    config.write_text(yaml.safe_dump({"data_dir": str(stack.settings.data_dir)}), encoding="utf-8")
    monkeypatch.setenv("SIYU_CONFIG", str(config))
    monkeypatch.delenv("SIYU_DATA_DIR", raising=False)
    before = stack.services.library.history(BRAND_B, 1)[0].version
    try:
        yield live.url
    finally:
        live.stop()
        stack.services.library.rollback(BRAND_B, before, actor="test-cleanup")
        stack.write_brand_b("products.yaml", "product", BRAND_B_PRODUCTS)
        stack.services.library.sync_directory(BRAND_B, actor="test-cleanup")


def kb(*args: str) -> tuple[int, object]:
    result = runner.invoke(app, ["kb", *args, "--kb", BRAND_B, "--json"])
    return result.exit_code, json.loads(result.stdout)


def test_cli_changes_go_live_through_the_running_app(running: str, stack: AdminStack) -> None:
    library = stack.services.library
    products_before = library.base(BRAND_B).stats().by_kind.get("product", 0)
    stack.write_brand_b(
        "products.yaml",
        "product",
        [
            *BRAND_B_PRODUCTS,
            {
                "id": "BB-SU-001",
                "name_zh": "海盐清透防晒乳",
                "name_en": "Sea Salt Sheer Sunscreen",
                "category": "sunscreen",
                "price": 99,
                "skin_types": ["oily"],
            },
        ],
    )
    code, change = kb("sync")
    # Made by the app (the local token's name), so the app's own index has it now.
    assert code == 0 and change["added"] == ["BB-SU-001"] and change["actor"] == "local"
    assert library.search(BRAND_B, "防晒", k=1)[0].id == "BB-SU-001"

    code, hits = kb("search", "海盐防晒")
    assert code == 0 and hits[0]["id"] == "BB-SU-001"
    code, shown = kb("show", "BB-SU-001")
    assert code == 0 and shown["record"]["price"] == 99

    code, deleted = kb("delete", "BB-SU-001", "NO-SUCH-ID")
    assert code == 0 and deleted["deleted"] == ["BB-SU-001"]
    assert library.get(BRAND_B, "BB-SU-001") is None

    code, versions = kb("history")
    assert code == 0 and [v["action"] for v in versions[:2]] == ["delete", "sync"]
    code, restored = kb("rollback", str(versions[1]["version"]))
    assert code == 0 and restored["added"] == ["BB-SU-001"]
    assert library.get(BRAND_B, "BB-SU-001") is not None

    code, stats = kb("stats")
    assert code == 0 and stats["by_kind"]["product"] == products_before + 1

    code, refused = kb("rollback", "99999")
    assert code == 2 and "99999" in refused["error"]
