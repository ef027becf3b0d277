"""Typed settings of the assistant app, read from `assistant.yml` with environment overrides."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field

REPO_ROOT = Path(__file__).resolve().parent.parent


class KnowledgeSettings(BaseModel):
    directory: Path = REPO_ROOT / "knowledge"
    name: str = "default"
    # A sentence-transformers model: hub name or local folder; empty = the offline default.
    embedding_model: str = ""
    product_similarity: float = 0.80
    faq_similarity: float = 0.91


class RasaSettings(BaseModel):
    url: str = "http://localhost:5005"
    timeout_seconds: float = 10.0


class ChatSettings(BaseModel):
    max_message_chars: int = 2000
    assistant_name: str = "澜屿小助手"
    # Words that address the assistant in a group without an @-mention (empty: mention needed).
    keywords: list[str] = Field(default_factory=list)


class Settings(BaseModel):
    """Everything of ours that can be configured; the defaults run on a fresh machine."""

    data_dir: Path = REPO_ROOT / ".var"
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = ""
    knowledge: KnowledgeSettings = Field(default_factory=KnowledgeSettings)
    rasa: RasaSettings = Field(default_factory=RasaSettings)
    chat: ChatSettings = Field(default_factory=ChatSettings)

    @property
    def commerce_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'commerce.db'}"


_ENV_OVERRIDES = {
    "SIYU_DATA_DIR": ("data_dir",),
    "SIYU_PORT": ("port",),
    "SIYU_HOST": ("host",),
    "SIYU_DATABASE_URL": ("database_url",),
    "SIYU_RASA_URL": ("rasa", "url"),
    "SIYU_KNOWLEDGE_DIR": ("knowledge", "directory"),
    "SIYU_EMBEDDING_MODEL": ("knowledge", "embedding_model"),
}


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Read ``assistant.yml`` if present, then ``SIYU_*`` environment variables, then overrides."""
    path = path or Path(os.environ.get("SIYU_CONFIG", REPO_ROOT / "assistant.yml"))
    raw: dict[str, Any] = {}
    if path.exists():
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for variable, keys in _ENV_OVERRIDES.items():
        if variable in os.environ:
            target = raw
            for key in keys[:-1]:
                target = target.setdefault(key, {})
            target[keys[-1]] = os.environ[variable]
    raw.update(overrides)
    settings = Settings.model_validate(raw)
    # Relative paths in the file mean "next to the file", not "wherever the command ran".
    base = path.parent
    settings.data_dir = (base / settings.data_dir).resolve()
    settings.knowledge.directory = (base / settings.knowledge.directory).resolve()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings
