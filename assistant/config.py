"""Typed settings of the assistant app, read from `assistant.yml` with environment overrides."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field

from assistant.groupchat.ratelimit import RateLimits

REPO_ROOT = Path(__file__).resolve().parent.parent


class KnowledgeBaseSettings(BaseModel):
    """One more brand / tenant knowledge base besides the default one."""

    directory: Path | None = None  # files synced into it; None: edited through API/console only


class KnowledgeSettings(BaseModel):
    directory: Path = REPO_ROOT / "knowledge"
    name: str = "default"
    # Further knowledge bases by name, each isolated from the others.
    bases: dict[str, KnowledgeBaseSettings] = Field(default_factory=dict)
    # Which knowledge base a chat sees: "<platform>:<chat id>" (or "<platform>:*") -> name.
    # Chats not listed see the default knowledge base.
    groups: dict[str, str] = Field(default_factory=dict)
    # Sync a knowledge directory when one of its files is saved.
    watch: bool = True
    # Chroma server ("http://host:port"); empty: the embedded store under data_dir/chroma.
    chroma_url: str = ""
    # A sentence-transformers model: hub name or local folder; empty = the offline default.
    embedding_model: str = ""
    # Embed shopper queries with an int8 copy of the model: 8 ms instead of 23 per query on
    # 2 cores, for up to 0.009 nDCG@10 in Chinese (docs/benchmarks.md). Off by default: answer
    # quality first; turn it on for very large catalogues. Passages always stay float32.
    quantized_queries: bool = False
    product_similarity: float = 0.80
    faq_similarity: float = 0.91


class RasaSettings(BaseModel):
    url: str = "http://localhost:5005"
    timeout_seconds: float = 10.0


class GroupPolicy(BaseModel):
    """How the assistant behaves in one group."""

    # Answer questions naming a product category, skin type or concern without an @-mention.
    product_questions: bool = False
    keywords: list[str] = Field(default_factory=list)


class ChatSettings(BaseModel):
    max_message_chars: int = 2000
    assistant_name: str = "澜屿小助手"
    # Words that address the assistant in a group without an @-mention (empty: mention needed).
    keywords: list[str] = Field(default_factory=list)
    # Per group ("platform:chat_id", or "platform:*" for all of a platform's groups).
    groups: dict[str, GroupPolicy] = Field(default_factory=dict)
    rate_limits: RateLimits = Field(default_factory=RateLimits)
    # Messages answered at once (Rasa's own concurrency is the real limit).
    workers: int = Field(default=16, ge=1, le=256)


class AdminToken(BaseModel):
    """A bearer token for the admin API and console; editors may write, viewers only read."""

    name: str
    role: Literal["editor", "viewer"]
    token: str = Field(min_length=16)


class AdminSettings(BaseModel):
    # Extra tokens (SIYU_ADMIN_TOKENS="editor:<token>,viewer:<token>"). A local editor token
    # is always generated in data_dir/admin-token for the CLI and the demo.
    tokens: list[AdminToken] = Field(default_factory=list)
    max_upload_bytes: int = 10 * 1024 * 1024


class ComplianceSettings(BaseModel):
    """The outgoing guard (docs/compliance.md): wording rules and personal-data masking."""

    enabled: bool = True
    # The staff-edited rules; reloaded within a second of being saved.
    rules_path: Path = REPO_ROOT / "compliance.yml"


class AnalyticsSettings(BaseModel):
    """Staff analytics (docs/analytics.md): day boundaries and tracked product links."""

    # Reports count days in this time zone.
    timezone: str = "Asia/Shanghai"
    # Public address of this app (e.g. "https://shop-assistant.example.com"): recommendation
    # replies may then carry short tracked links <link_base>/go/<token>. Empty: no links.
    link_base: str = ""
    # Where a tracked link leads: a shop page with "{id}" for the product id. Empty: the
    # app's own product detail page.
    product_url: str = ""


class HandoffSettings(BaseModel):
    """Hand-offs to staff (docs/handoff.md): when an unanswered one is escalated, and to whom."""

    # A hand-off nobody answered for this long is escalated once (a warning in the log).
    escalate_after_minutes: float = Field(default=10.0, gt=0)
    # Optional URL that gets a JSON POST for each escalation (a team chat's incoming webhook).
    escalation_webhook: str = ""
    # How often the app looks for overdue hand-offs.
    check_seconds: float = Field(default=30.0, gt=0)


class PromotionSettings(BaseModel):
    """Coupons, group-buys and referrals (docs/promotions.md): the staff-edited files."""

    # Coupon campaigns, group-buy deals and the referral reward; re-read when saved.
    campaigns_path: Path = REPO_ROOT / "campaigns.yml"
    # Lifecycle stage thresholds and what each stage is offered.
    lifecycle_path: Path = REPO_ROOT / "lifecycle.yml"
    # How often group-buys past their deadline are closed and their groups told.
    sweep_seconds: float = Field(default=30.0, gt=0)


class AdvisorSettings(BaseModel):
    """Skin consultation (docs/skin-consultation.md)."""

    # The staff-edited ingredient rules (conflicts, cautions); re-read when saved.
    ingredient_rules: Path = REPO_ROOT / "ingredient_rules.yml"


class Settings(BaseModel):
    """Everything of ours that can be configured; the defaults run on a fresh machine."""

    data_dir: Path = REPO_ROOT / ".var"
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = ""
    knowledge: KnowledgeSettings = Field(default_factory=KnowledgeSettings)
    rasa: RasaSettings = Field(default_factory=RasaSettings)
    chat: ChatSettings = Field(default_factory=ChatSettings)
    admin: AdminSettings = Field(default_factory=AdminSettings)
    compliance: ComplianceSettings = Field(default_factory=ComplianceSettings)
    advisor: AdvisorSettings = Field(default_factory=AdvisorSettings)
    promotions: PromotionSettings = Field(default_factory=PromotionSettings)
    handoff: HandoffSettings = Field(default_factory=HandoffSettings)
    analytics: AnalyticsSettings = Field(default_factory=AnalyticsSettings)
    # Platform connectors by name (wecom_bot, wecom_app, wechat_kf, feishu, dingtalk, telegram,
    # line); each is validated by its connector's settings model when the app starts.
    connectors: dict[str, dict[str, Any]] = Field(default_factory=dict)

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
    "SIYU_CHROMA_URL": ("knowledge", "chroma_url"),
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
    if os.environ.get("SIYU_ADMIN_TOKENS"):
        raw.setdefault("admin", {}).setdefault("tokens", []).extend(
            _tokens_from_env(os.environ["SIYU_ADMIN_TOKENS"])
        )
    raw.update(overrides)
    # Connector secrets are read when that connector starts: a disabled one needs no variables.
    connectors = raw.pop("connectors", None) or {}
    raw = {**expand_env(raw), "connectors": connectors}
    settings = Settings.model_validate(raw)
    # Relative paths in the file mean "next to the file", not "wherever the command ran".
    base = path.parent
    settings.data_dir = (base / settings.data_dir).resolve()
    settings.knowledge.directory = (base / settings.knowledge.directory).resolve()
    settings.compliance.rules_path = (base / settings.compliance.rules_path).resolve()
    settings.advisor.ingredient_rules = (base / settings.advisor.ingredient_rules).resolve()
    settings.promotions.campaigns_path = (base / settings.promotions.campaigns_path).resolve()
    settings.promotions.lifecycle_path = (base / settings.promotions.lifecycle_path).resolve()
    for extra in settings.knowledge.bases.values():
        if extra.directory is not None:
            extra.directory = (base / extra.directory).resolve()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings


_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class MissingEnvironment(ValueError):
    """``assistant.yml`` refers to an environment variable that is not set."""


def expand_env(value: Any) -> Any:
    """Replace ``${NAME}`` (or ``${NAME:-default}``) in strings with the environment's value,
    so secrets live in the environment and never in the file."""
    if isinstance(value, dict):
        return {k: expand_env(v) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_env(v) for v in value]
    if not isinstance(value, str) or "${" not in value:
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise MissingEnvironment(f"assistant.yml needs the environment variable {name}")

    return _ENV_REFERENCE.sub(substitute, value)


def _tokens_from_env(value: str) -> list[dict[str, str]]:
    """``"editor:abc…,viewer:def…"`` -> token entries named after their position."""
    tokens = []
    for index, item in enumerate(part.strip() for part in value.split(",") if part.strip()):
        role, _, token = item.partition(":")
        tokens.append({"name": f"env-{index + 1}", "role": role.strip(), "token": token.strip()})
    return tokens
