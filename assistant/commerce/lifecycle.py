"""Lifecycle stages (new / active / dormant / churned) from a shopper's activity and staff's rules.

The rules are data staff edit (``lifecycle.yml`` at the repository root): how many days without
activity make a shopper dormant or churned, how many paid orders make them active, and what each
stage is offered (coupon campaign ids and message keys). A stage is the first that applies:

1. **churned**: no activity (message or paid order) for ``churned_after_days``;
2. **dormant**: no activity for ``dormant_after_days``;
3. **new**: fewer than ``active_min_paid_orders`` paid orders (a shopper never seen is new too);
4. **active**: everyone else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Literal, Protocol, get_args, runtime_checkable

import yaml

from assistant.commerce.models import as_utc

Stage = Literal["new", "active", "dormant", "churned"]
STAGES: Final[tuple[Stage, ...]] = get_args(Stage)
_THRESHOLD_KEYS: Final = ("dormant_after_days", "churned_after_days", "active_min_paid_orders")
_OFFER_KEYS: Final = ("campaigns", "messages")


class LifecycleRulesError(ValueError):
    """The rules file is wrong; ``field`` names the offending entry (``thresholds.x``)."""

    def __init__(self, source: str, field_name: str, problem: str) -> None:
        super().__init__(f"{source}: {field_name}: {problem}")
        self.source = source
        self.field = field_name
        self.problem = problem


@dataclass(frozen=True)
class ShopperActivity:
    """What the stage is computed from. ``last_order_at`` is None before the first paid order."""

    shopper_id: str
    first_seen: datetime
    last_active: datetime
    paid_orders: int = 0
    last_order_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "first_seen", as_utc(self.first_seen, "first_seen"))
        object.__setattr__(self, "last_active", as_utc(self.last_active, "last_active"))
        if self.last_order_at is not None:
            object.__setattr__(self, "last_order_at", as_utc(self.last_order_at, "last_order_at"))

    @property
    def last_activity(self) -> datetime:
        """The later of the last message and the last paid order."""
        if self.last_order_at is None:
            return self.last_active
        return max(self.last_active, self.last_order_at)


@dataclass(frozen=True)
class StageOffers:
    """What a stage is offered: coupon campaign ids to claim from, and message keys to send."""

    campaigns: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()


@dataclass(frozen=True)
class LifecycleRules:
    """Thresholds and per-stage offers; build from the YAML file with ``load_lifecycle_rules``."""

    dormant_after_days: int = 60
    churned_after_days: int = 180
    active_min_paid_orders: int = 1
    offers: Mapping[Stage, StageOffers] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.churned_after_days <= self.dormant_after_days:
            raise LifecycleRulesError(
                "lifecycle rules",
                "thresholds.churned_after_days",
                f"must be more than thresholds.dormant_after_days ({self.dormant_after_days}),"
                f" got {self.churned_after_days}",
            )

    def stage(self, activity: ShopperActivity | None, now: datetime) -> Stage:
        """The shopper's stage at ``now`` (see the module docstring for the order of rules)."""
        if activity is None:
            return "new"
        idle_days = (as_utc(now, "now") - activity.last_activity).days
        if idle_days >= self.churned_after_days:
            return "churned"
        if idle_days >= self.dormant_after_days:
            return "dormant"
        if activity.paid_orders < self.active_min_paid_orders:
            return "new"
        return "active"

    def offers_for(self, stage: Stage) -> StageOffers:
        """What the stage is offered (nothing if the rules list nothing for it)."""
        if stage not in STAGES:
            raise ValueError(f"unknown lifecycle stage {stage!r}; stages are {', '.join(STAGES)}")
        return self.offers.get(stage, StageOffers())

    @classmethod
    def from_mapping(cls, data: Any, source: str = "lifecycle rules") -> LifecycleRules:
        """Validate the parsed YAML; any problem raises ``LifecycleRulesError`` naming the field."""
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise LifecycleRulesError(source, "(top level)", "must be a mapping")
        _no_unknown_keys(source, "", data, ("thresholds", "stages"))
        thresholds = data.get("thresholds") or {}
        if not isinstance(thresholds, Mapping):
            raise LifecycleRulesError(source, "thresholds", "must be a mapping")
        _no_unknown_keys(source, "thresholds.", thresholds, _THRESHOLD_KEYS)
        numbers: dict[str, int] = {}
        for key in _THRESHOLD_KEYS:
            if key in thresholds:
                value = thresholds[key]
                # A day threshold of 0 would make every shopper dormant at once.
                least = 0 if key == "active_min_paid_orders" else 1
                if isinstance(value, bool) or not isinstance(value, int) or value < least:
                    raise LifecycleRulesError(
                        source,
                        f"thresholds.{key}",
                        f"must be a whole number >= {least}, got {value!r}",
                    )
                numbers[key] = value
        stages = data.get("stages") or {}
        if not isinstance(stages, Mapping):
            raise LifecycleRulesError(source, "stages", "must be a mapping")
        _no_unknown_keys(source, "stages.", stages, STAGES)
        offers: dict[Stage, StageOffers] = {}
        for stage in STAGES:
            entry = stages.get(stage) or {}
            if not isinstance(entry, Mapping):
                raise LifecycleRulesError(source, f"stages.{stage}", "must be a mapping")
            _no_unknown_keys(source, f"stages.{stage}.", entry, _OFFER_KEYS)
            offers[stage] = StageOffers(
                campaigns=_names(source, f"stages.{stage}.campaigns", entry.get("campaigns")),
                messages=_names(source, f"stages.{stage}.messages", entry.get("messages")),
            )
        try:
            return cls(**numbers, offers=offers)
        except LifecycleRulesError as exc:
            raise LifecycleRulesError(source, exc.field, exc.problem) from None


def load_lifecycle_rules(path: str | Path) -> LifecycleRules:
    """Read and validate a rules file; a missing file is an error, not a silent default."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise LifecycleRulesError(source, "(file)", f"cannot be read: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise LifecycleRulesError(source, "(syntax)", f"is not valid YAML: {exc}") from exc
    return LifecycleRules.from_mapping(data, source)


@runtime_checkable
class ShopperActivityStore(Protocol):
    """Where stages get their facts. ``SqlShopperActivity`` implements it; so can a CRM."""

    def record_activity(self, shopper_id: str, now: datetime) -> None:
        """The shopper wrote to the assistant (or did something else that counts) at ``now``."""
        ...

    def record_paid_order(self, shopper_id: str, order_id: str, paid_at: datetime) -> None:
        """The shopper paid an order; reporting the same order again changes nothing."""
        ...

    def activity_of(self, shopper_id: str) -> ShopperActivity | None:
        """What is known about the shopper, or None for a shopper never seen."""
        ...


@dataclass(frozen=True)
class StageAssessment:
    """A shopper's stage at a moment, with the facts behind it and what the stage is offered."""

    shopper_id: str
    stage: Stage
    activity: ShopperActivity | None
    offers: StageOffers


class Lifecycle:
    """Stages of shoppers from an activity store and the staff's rules."""

    def __init__(self, activity: ShopperActivityStore, rules: LifecycleRules) -> None:
        self._activity = activity
        self.rules = rules

    def stage_of(self, shopper_id: str, now: datetime) -> StageAssessment:
        """The shopper's stage at ``now`` and what it is offered."""
        activity = self._activity.activity_of(shopper_id)
        stage = self.rules.stage(activity, now)
        return StageAssessment(shopper_id, stage, activity, self.rules.offers_for(stage))

    def offers_for(self, stage: Stage) -> StageOffers:
        """What the stage is offered under the current rules."""
        return self.rules.offers_for(stage)


def _no_unknown_keys(
    source: str, prefix: str, data: Mapping[Any, Any], known: tuple[str, ...]
) -> None:
    for key in data:
        if key not in known:
            # A typo ("dormant_after_day") would otherwise silently keep the default.
            raise LifecycleRulesError(
                source, f"{prefix}{key}", f"is not a known key; expected one of {', '.join(known)}"
            )


def _names(source: str, field_name: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise LifecycleRulesError(source, field_name, "must be a list of non-empty names")
    return tuple(v.strip() for v in value)
