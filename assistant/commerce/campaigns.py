"""The staff-edited campaigns file (``campaigns.yml``): coupons to claim, group-buy deals, referral.

Staff list here what shoppers can take part in from the group chats; each entry belongs to a
brand (a knowledge base name, ``default`` unless said), so a group sees its own brand's offers.
The file is validated whole (a mistake names its entry and field) and re-read when it changes;
coupon campaigns are then saved into the coupon store, which keeps the count already issued.
"""

from __future__ import annotations

import logging
import re
import threading
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Final

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.commerce.coupons import CouponCampaign, CouponService
from assistant.commerce.models import CHINA_TIME
from assistant.language import Language

logger = logging.getLogger("assistant.promotions")

DEFAULT_BRAND: Final = "default"
_CENT: Final = Decimal("0.01")


class CampaignsFileError(ValueError):
    """The campaigns file is wrong; the message names the entry and field to fix."""


@dataclass(frozen=True)
class CouponOffer:
    """A coupon campaign of one brand, as shoppers can claim it with "领券"."""

    brand: str
    campaign: CouponCampaign

    @property
    def campaign_id(self) -> str:
        return self.campaign.campaign_id

    def is_named_in(self, text: str) -> bool:
        """True when the message names this campaign: its id, a title, or a title's name part
        before its terms ("冬日焕新券" of "冬日焕新券 满199减20", "Winter coupon" of "Winter
        coupon: CNY 20 off 199")."""
        lowered = text.lower()
        zh, en = self.campaign.title_zh, self.campaign.title_en
        names = (self.campaign_id, zh, en, re.split(r"[\s:：]", zh)[0], re.split(r"[:：]", en)[0])
        return any(len(name) >= 2 and name.lower() in lowered for name in names)

    def running(self, now: datetime) -> bool:
        ends = self.campaign.ends_at
        return self.campaign.starts_at <= now and (ends is None or now < ends)


@dataclass(frozen=True)
class GroupBuyDeal:
    """Products of a brand bought as a group of ``size`` shoppers at ``discount`` of the price."""

    deal_id: str
    brand: str
    product_ids: tuple[str, ...]
    size: int
    discount: Decimal
    hours: int

    def price_for(self, list_price: Any) -> Decimal:
        """The group price of a product listed at ``list_price`` CNY."""
        return (Decimal(str(list_price)) * self.discount).quantize(_CENT, ROUND_HALF_UP)


@dataclass(frozen=True)
class Campaigns:
    """Everything in the file, read-only; look-ups are by brand."""

    coupons: tuple[CouponOffer, ...] = ()
    group_buys: tuple[GroupBuyDeal, ...] = ()
    # The campaign a referrer's reward coupon comes from (never claimable with "领券").
    referral_reward: str | None = None

    def coupons_of(self, brand: str) -> list[CouponOffer]:
        """The brand's campaigns shoppers may claim, in file order."""
        return [
            o for o in self.coupons if o.brand == brand and o.campaign_id != self.referral_reward
        ]

    def coupon(self, campaign_id: str) -> CouponOffer | None:
        return next((o for o in self.coupons if o.campaign_id == campaign_id), None)

    def deals_of(self, brand: str) -> list[GroupBuyDeal]:
        return [d for d in self.group_buys if d.brand == brand]

    def deal_for(self, brand: str, product_id: str) -> GroupBuyDeal | None:
        """The brand's first deal that includes the product, or None."""
        return next((d for d in self.deals_of(brand) if product_id in d.product_ids), None)

    def reward_title(self, language: Language) -> str | None:
        offer = self.coupon(self.referral_reward) if self.referral_reward else None
        return offer.campaign.title(language) if offer else None


# -- the file's shape ---------------------------------------------------------------------------


class _Entry(BaseModel):
    # A typo ("min_spent") must be an error, not a silently ignored key.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _CouponEntry(_Entry):
    id: str = Field(min_length=1, max_length=64)
    brand: str = DEFAULT_BRAND
    title_zh: str = Field(min_length=1)
    title_en: str = Field(min_length=1)
    amount: Decimal
    min_spend: Decimal = Decimal("0")
    stock: int = Field(ge=0)
    per_shopper: int = Field(default=1, ge=1)
    # A date means midnight China time; ``ends`` as a date includes that whole day.
    starts: date | datetime
    ends: date | datetime | None = None
    valid_days: int | None = Field(default=None, ge=1)


class _GroupBuyEntry(_Entry):
    id: str = Field(min_length=1, max_length=64)
    brand: str = DEFAULT_BRAND
    products: list[str] = Field(min_length=1)
    size: int = Field(ge=2, le=50)
    discount: Decimal = Field(gt=0, lt=1)
    hours: int = Field(default=24, ge=1, le=24 * 30)


class _ReferralEntry(_Entry):
    reward_campaign: str | None = None


class _CampaignsFile(_Entry):
    coupons: list[_CouponEntry] = Field(default_factory=list)
    group_buys: list[_GroupBuyEntry] = Field(default_factory=list)
    referral: _ReferralEntry = Field(default_factory=_ReferralEntry)


def _moment(value: date | datetime, *, end_of_day: bool) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=CHINA_TIME)
    day = value + timedelta(days=1) if end_of_day else value
    return datetime.combine(day, time(), CHINA_TIME)


def parse_campaigns(data: Any, source: str = "campaigns") -> Campaigns:
    """Validate parsed YAML; any problem raises ``CampaignsFileError`` naming entry and field."""
    try:
        parsed = _CampaignsFile.model_validate(data or {})
    except ValidationError as problem:
        first = problem.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise CampaignsFileError(f"{source}: {where}: {first['msg']}") from None
    offers = []
    for index, entry in enumerate(parsed.coupons):
        try:
            campaign = CouponCampaign(
                campaign_id=entry.id,
                title_zh=entry.title_zh,
                title_en=entry.title_en,
                total_stock=entry.stock,
                amount=entry.amount,
                min_spend=entry.min_spend,
                starts_at=_moment(entry.starts, end_of_day=False),
                ends_at=None if entry.ends is None else _moment(entry.ends, end_of_day=True),
                valid_days=entry.valid_days,
                per_shopper_limit=entry.per_shopper,
            )
        except ValueError as problem:
            raise CampaignsFileError(f"{source}: coupons.{index} ({entry.id}): {problem}") from None
        offers.append(CouponOffer(entry.brand, campaign))
    _unique(source, "coupons", [o.campaign_id for o in offers])
    deals = tuple(
        GroupBuyDeal(d.id, d.brand, tuple(d.products), d.size, d.discount, d.hours)
        for d in parsed.group_buys
    )
    _unique(source, "group_buys", [d.deal_id for d in deals])
    reward = parsed.referral.reward_campaign
    if reward and reward not in {o.campaign_id for o in offers}:
        raise CampaignsFileError(
            f"{source}: referral.reward_campaign: {reward!r} is not one of the coupons"
        )
    return Campaigns(tuple(offers), deals, reward or None)


def _unique(source: str, section: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for index, item in enumerate(ids):
        if item in seen:
            raise CampaignsFileError(f"{source}: {section}.{index}: id {item!r} is used twice")
        seen.add(item)


def load_campaigns(path: str | Path) -> Campaigns:
    """Read and validate a campaigns file."""
    source = str(path)
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as problem:
        raise CampaignsFileError(f"{source}: cannot be read: {problem.strerror}") from None
    except yaml.YAMLError as problem:
        raise CampaignsFileError(f"{source}: not valid YAML: {problem}") from None
    return parse_campaigns(data, source)


class CampaignsFile:
    """The campaigns of one file, re-read when it changes and saved into the coupon store.

    A missing file means no campaigns. A bad file at start is raised (the operator sees it at
    once); a bad edit later is logged and the previous campaigns stay in force, so a typo never
    takes the offers away from shoppers.
    """

    def __init__(self, path: str | Path, coupons: CouponService) -> None:
        self.path = Path(path)
        self._coupons = coupons
        self._lock = threading.Lock()
        self.last_error: str | None = None
        self._stamp = self._stat()
        self._campaigns = Campaigns() if self._stamp is None else load_campaigns(self.path)
        self._save(self._campaigns)

    @property
    def current(self) -> Campaigns:
        """The campaigns in force, after re-reading the file if it changed since last time."""
        if self._stat() != self._stamp:
            with self._lock:
                self._reload()
        return self._campaigns

    def _stat(self) -> tuple[int, int] | None:
        """When and how big the file was last saved; None while there is no file."""
        with suppress(FileNotFoundError):
            saved = self.path.stat()
            return saved.st_mtime_ns, saved.st_size
        return None

    def _reload(self) -> None:
        stamp = self._stat()
        if stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            campaigns = Campaigns() if stamp is None else load_campaigns(self.path)
        except CampaignsFileError as problem:
            self.last_error = str(problem)
            logger.error("campaigns file refused; the previous ones stay in force: %s", problem)
            return
        self._save(campaigns)
        self._campaigns, self.last_error = campaigns, None
        logger.info("campaigns reloaded", extra={"coupons": len(campaigns.coupons)})

    def _save(self, campaigns: Campaigns) -> None:
        for offer in campaigns.coupons:
            try:
                self._coupons.save_campaign(offer.campaign)
            except ValueError as problem:  # stock lowered below what was already claimed
                self.last_error = str(problem)
                logger.error("campaign %s not changed: %s", offer.campaign_id, problem)
