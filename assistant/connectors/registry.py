"""Which platforms exist, and building the enabled ones from ``assistant.yml``."""

from __future__ import annotations

import importlib
from typing import Any

from pydantic import ValidationError

from assistant.config import MissingEnvironment, Settings, expand_env
from assistant.connectors.base import Connector

__all__ = ["PLATFORMS", "ConnectorConfigError", "build_connectors", "connector_class"]

# name in assistant.yml -> "module:Class". Imported only when enabled.
PLATFORMS: dict[str, str] = {
    "wecom_bot": "assistant.connectors.wecom_bot:WeComBotConnector",
    "wecom_app": "assistant.connectors.wecom_app:WeComAppConnector",
    "wechat_kf": "assistant.connectors.wechat_kf:WeChatKfConnector",
    "feishu": "assistant.connectors.feishu:FeishuConnector",
    "dingtalk": "assistant.connectors.dingtalk:DingTalkConnector",
    "telegram": "assistant.connectors.telegram:TelegramConnector",
    "line": "assistant.connectors.line:LineConnector",
}


class ConnectorConfigError(ValueError):
    """A ``connectors`` section in assistant.yml that cannot be used; the message says why."""


def connector_class(name: str) -> type[Connector]:
    if name not in PLATFORMS:
        known = ", ".join(sorted(PLATFORMS))
        raise ConnectorConfigError(f"unknown connector {name!r} in assistant.yml (known: {known})")
    module, _, attribute = PLATFORMS[name].partition(":")
    cls: type[Connector] = getattr(importlib.import_module(module), attribute)
    return cls


def build_connector(name: str, raw: dict[str, Any]) -> Connector:
    """One connector from its (unexpanded) settings section."""
    cls = connector_class(name)
    try:
        settings = cls.settings_model.model_validate(expand_env(raw))
    except MissingEnvironment as missing:
        raise ConnectorConfigError(f"connectors.{name}: {missing}") from missing
    except ValidationError as invalid:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in invalid.errors()
        )
        raise ConnectorConfigError(f"connectors.{name}: {problems}") from invalid
    return cls(settings)


def build_connectors(settings: Settings) -> dict[str, Connector]:
    """Every enabled connector, by platform name."""
    connectors: dict[str, Connector] = {}
    for name, raw in settings.connectors.items():
        section = dict(raw or {})
        if section.get("enabled", True) in (False, "false", "0", 0):
            continue
        # Connectors that keep state (WeChat KF's sync cursor) keep it in the app database.
        if "state_url" in connector_class(name).settings_model.model_fields:
            section.setdefault("state_url", settings.commerce_url)
        connector = build_connector(name, section)
        connectors[connector.name] = connector
    return connectors
