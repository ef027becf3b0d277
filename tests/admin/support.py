"""One real knowledge library for the admin API and console tests, built once per test run.

It is the app's own ``build_services`` (real embedding model, Chroma, SQLite) over a copy of the
demo brand's knowledge plus a small second brand, in a temporary data directory: the tests edit,
upload, break and roll back freely without touching the repository's files or ``.var``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from assistant.config import REPO_ROOT, Settings, load_settings

EDITOR_TOKEN = "editor-token-for-the-admin-tests"
VIEWER_TOKEN = "viewer-token-for-the-admin-tests"
EDITOR_NAME = "anna-editor"
VIEWER_NAME = "victor-viewer"
BRAND_B = "brand-b"
# Small, so the size-limit test needs only a small file.
MAX_UPLOAD_BYTES = 200 * 1024

BRAND_B_PRODUCTS = [
    {
        "id": "BB-CL-001",
        "name_zh": "海盐净澈洗面奶",
        "name_en": "Sea Salt Clear Face Wash",
        "category": "cleanser",
        "price": 69,
        "skin_types": ["oily", "combination"],
        "description_zh": "海盐泡沫洗面奶，清爽控油。",
    },
    {
        "id": "BB-MO-001",
        "name_zh": "燕麦舒缓面霜",
        "name_en": "Oat Soothing Cream",
        "category": "moisturizer",
        "price": 129,
        "skin_types": ["dry", "sensitive"],
        "description_zh": "燕麦面霜，舒缓干燥。",
    },
]
BRAND_B_FAQS = [
    {
        "id": "BB-FAQ-001",
        "category": "shipping",
        "question_zh": "多久发货?",
        "answer_zh": "付款后48小时内发货。",
    }
]


@dataclass
class AdminStack:
    settings: Settings
    services: Any  # runtime.Services
    root: Path

    @property
    def brand_b_dir(self) -> Path:
        return self.root / BRAND_B

    def write_brand_b(self, name: str, kind: str, records: list[dict[str, Any]]) -> Path:
        path = self.brand_b_dir / name
        path.write_text(
            yaml.safe_dump({"kind": kind, "records": records}, allow_unicode=True),
            encoding="utf-8",
        )
        return path


_BUILT: dict[str, AdminStack] = {}


def admin_stack(tmp_path_factory: pytest.TempPathFactory) -> AdminStack:
    """The shared stack; the first caller of the run builds it (about a minute: embeddings)."""
    if "stack" in _BUILT:
        return _BUILT["stack"]
    from assistant.bootstrap import build_services

    root = tmp_path_factory.mktemp("admin-stack")
    shutil.copytree(REPO_ROOT / "knowledge", root / "knowledge")
    (root / BRAND_B).mkdir()
    stack = AdminStack(settings=None, services=None, root=root)  # type: ignore[arg-type]
    stack.write_brand_b("products.yaml", "product", BRAND_B_PRODUCTS)
    stack.write_brand_b("faqs.yaml", "faq", BRAND_B_FAQS)
    settings = load_settings(
        data_dir=root / "data",
        database_url="",
        knowledge={
            "directory": root / "knowledge",
            "name": "default",
            "watch": False,  # the tests sync on purpose, and check what a failed sync shows
            "bases": {BRAND_B: {"directory": root / BRAND_B}},
        },
        admin={
            "tokens": [
                {"name": EDITOR_NAME, "role": "editor", "token": EDITOR_TOKEN},
                {"name": VIEWER_NAME, "role": "viewer", "token": VIEWER_TOKEN},
            ],
            "max_upload_bytes": MAX_UPLOAD_BYTES,
        },
    )
    stack.settings = settings
    stack.services = build_services(settings)
    _BUILT["stack"] = stack
    return stack


def editor() -> dict[str, str]:
    return {"Authorization": f"Bearer {EDITOR_TOKEN}"}


def viewer() -> dict[str, str]:
    return {"Authorization": f"Bearer {VIEWER_TOKEN}"}
