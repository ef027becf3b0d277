"""What the dialogue asks of promotions, answered with ready-to-send texts in the shopper's tongue.

The desk picks which coupon campaign a "领券" means (the brand's running campaigns, those of the
shopper's lifecycle stage first), starts or joins the group-buy a message is about, hands out and
binds invite codes, and says what a lifecycle stage is offered. It holds no state of its own: the
promotion stores (``SqlPromotions``), ``campaigns.yml`` and ``lifecycle.yml`` do.

People are ``platform:user_id`` (the same person in every group of a platform); chats are
``platform:chat_id``, which is how group-buys are kept, so their outcome can be posted back.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any, Final, Literal

from assistant.advisor.products import category_text, field, joined, localized, product_name
from assistant.commerce.campaigns import CampaignsFile, CouponOffer, GroupBuyDeal
from assistant.commerce.coupons import ClaimRefusal, ClaimResult, Coupon
from assistant.commerce.groupbuys import GroupBuy, GroupBuyEvent, JoinStatus
from assistant.commerce.lifecycle import Lifecycle, load_lifecycle_rules
from assistant.commerce.models import CHINA_TIME
from assistant.commerce.order_events import OrderEvents
from assistant.commerce.promo_codes import normalize_code
from assistant.commerce.promotion_texts import promotion_text
from assistant.commerce.promotions_sql import SqlPromotions
from assistant.language import Language
from assistant.vocabulary import CATEGORIES, find_categories

GroupBuyWish = Literal["start", "join", "status"]

_WISHES: Final[tuple[tuple[GroupBuyWish, re.Pattern[str]], ...]] = (
    ("status", re.compile(r"还差|几个?人|多少人|进度|怎么样了|status|how many|how is", re.I)),
    ("join", re.compile(r"参团|参加|加入|跟团|我也(要|来|拼|参)|\bjoin|count me in", re.I)),
    ("start", re.compile(r"发起|开团|开个团|开一个|\bstart|\bopen (a|one)", re.I)),
)
_CATEGORY_WORDS: Final = {phrase for term in CATEGORIES for phrase in term.phrases}
_ENGLISH_WORD: Final = re.compile(r"[a-z0-9+]{4,}")
_NAME_STOPWORDS: Final = {"澜屿", "lanyu", "with", "daily"}
# Invite codes are typed after a keyword ("邀请码 7K3M9Q2P", "invite code: 7k3m-9q2p").
_CODE_AFTER_KEYWORD: Final = re.compile(
    r"(?:邀请码|推荐码|invite code|invitation code|referral code|code)\s*(?:是|为|:|：)?\s*"
    r"([A-Za-z0-9][A-Za-z0-9-]{1,15})",
    re.I,
)
# Without a keyword, only a token with a digit in it is taken for a code ("AB12CD").
_CODE_ALONE: Final = re.compile(
    r"(?<![A-Za-z0-9])(?=[A-Za-z-]*\d)[A-Za-z0-9-]{4,16}(?![A-Za-z0-9])"
)
_GROUP_BUY_ID: Final = re.compile(r"(?<![A-Za-z0-9])[0-9A-Za-z]{8}(?![A-Za-z0-9])")


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def deadline_text(moment: datetime, language: Language) -> str:
    """A deadline as shoppers in China read it: "11月27日 14:00" / "Nov 27, 14:00 (UTC+8)"."""
    local = moment.astimezone(CHINA_TIME)
    if language == "zh":
        return f"{local.month}月{local.day}日 {local:%H:%M}"
    return f"{local:%b} {local.day}, {local:%H:%M} (UTC+8)"


@dataclass(frozen=True)
class DeskAnswer:
    """What to say. ``private`` goes to the shopper alone (codes); ``text`` is said where they
    wrote (in a group, the short note next to a private reply). ``outcome`` names what happened."""

    text: str
    outcome: str
    private: str = ""
    product_id: str | None = None


class PromotionDesk:
    """Coupons, group-buys, referrals and lifecycle offers as the dialogue uses them."""

    def __init__(
        self,
        store: SqlPromotions,
        campaigns: CampaignsFile,
        lifecycle: Lifecycle,
        *,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.store = store
        self.campaigns = campaigns
        self.lifecycle = lifecycle
        self._clock = clock

    @classmethod
    def open(
        cls, url: str, campaigns_path: str | Path, lifecycle_path: str | Path
    ) -> PromotionDesk:
        """The desk over the promotion tables at ``url`` and the two staff-edited files."""
        store = SqlPromotions(url)
        lifecycle = Lifecycle(store.activity, load_lifecycle_rules(lifecycle_path))
        return cls(store, CampaignsFile(campaigns_path, store.coupons), lifecycle)

    def now(self) -> datetime:
        return self._clock()

    # -- coupons ----------------------------------------------------------------------------

    def claim_coupon(self, person_id: str, brand: str, text: str, language: Language) -> DeskAnswer:
        """Claim the campaign the message means for this person, or say clearly why not."""
        now = self.now()
        offers = self.campaigns.current.coupons_of(brand)
        named = [o for o in offers if o.is_named_in(text)]
        pool = named or offers
        if not pool:
            return DeskAnswer(promotion_text("no_campaign", language), "no_campaign")
        stage = self.lifecycle.stage_of(person_id, now).stage
        audience = self._audiences()
        eligible = [o for o in pool if stage in audience.get(o.campaign_id, {stage})]
        if not eligible:
            title = pool[0].campaign.title(language)
            return DeskAnswer(promotion_text("not_eligible", language, title=title), "not_eligible")
        # The stage's own campaigns first: a welcome coupon means more to a new shopper.
        eligible.sort(key=lambda o: o.campaign_id not in audience)
        running = [o for o in eligible if o.running(now)]
        if not running:
            return self._not_running(eligible, now, language)
        # Every running campaign the person may have, at once: a second "领券" then finds them
        # all claimed and repeats the codes, instead of handing out one more each time.
        claimed: list[Coupon] = []
        refused: list[tuple[CouponOffer, ClaimResult]] = []
        for offer in running:
            result = self.store.coupons.claim(offer.campaign_id, person_id, now)
            if result.coupon is not None:
                claimed.append(result.coupon)
            else:
                refused.append((offer, result))
        if claimed:
            return DeskAnswer(
                promotion_text("claimed_note", language),
                "claimed",
                private="\n".join(_claimed_text(c, language) for c in claimed),
            )
        return self._refusal(refused, language)

    def _audiences(self) -> dict[str, set[str]]:
        """Campaign id → the lifecycle stages it is for; campaigns not listed are for everyone."""
        audience: dict[str, set[str]] = {}
        for stage, offers in self.lifecycle.rules.offers.items():
            for campaign_id in offers.campaigns:
                audience.setdefault(campaign_id, set()).add(stage)
        return audience

    def _not_running(
        self, offers: list[CouponOffer], now: datetime, language: Language
    ) -> DeskAnswer:
        upcoming = sorted(
            (o for o in offers if o.campaign.starts_at > now), key=lambda o: o.campaign.starts_at
        )
        if upcoming:
            first = upcoming[0].campaign
            starts = deadline_text(first.starts_at, language)
            return DeskAnswer(
                promotion_text("not_started", language, title=first.title(language), starts=starts),
                ClaimRefusal.NOT_STARTED.value,
            )
        latest = max(offers, key=lambda o: o.campaign.ends_at or now).campaign
        return DeskAnswer(
            promotion_text("ended", language, title=latest.title(language)),
            ClaimRefusal.ENDED.value,
        )

    @staticmethod
    def _refusal(refused: list[tuple[CouponOffer, ClaimResult]], language: Language) -> DeskAnswer:
        # "You have it already, here is your code" helps more than "sold out".
        held = [
            promotion_text(
                r.refusal,
                language,
                title=o.campaign.title(language),
                codes=", ".join(c.code for c in r.held),
            )
            for o, r in refused
            if r.refusal is ClaimRefusal.ALREADY_CLAIMED
        ]
        if held:
            return DeskAnswer(
                promotion_text("already_claimed_note", language),
                ClaimRefusal.ALREADY_CLAIMED.value,
                private="\n".join(held),
            )
        offer, result = refused[0]
        refusal = result.refusal or ClaimRefusal.UNKNOWN_CAMPAIGN
        title = offer.campaign.title(language)
        return DeskAnswer(promotion_text(refusal, language, title=title, starts=""), refusal.value)

    # -- group-buys -------------------------------------------------------------------------

    def group_buy(
        self,
        chat_key: str,
        person_id: str,
        brand: str,
        text: str,
        language: Language,
        knowledge: Any,
        *,
        context_product_id: str | None = None,
    ) -> DeskAnswer:
        """Start, join or report the group-buy the message is about, in this chat."""
        now = self.now()
        deals = self.campaigns.current.deals_of(brand)
        if not deals:
            return DeskAnswer(promotion_text("group_buy_unavailable", language), "unavailable")
        wish = next((w for w, pattern in _WISHES if pattern.search(text)), None)
        open_now = self.store.group_buys.open_in_chat(chat_key, now)
        product, ineligible = self._product(text, knowledge, deals, context_product_id)
        target = _target(open_now, text, product)
        if wish == "status" or (wish is None and target is not None and product is None):
            if target is None:
                return DeskAnswer(promotion_text("group_buy_none_open", language), "none_open")
            if person_id in target.members or wish == "status":
                return self._status(target, knowledge, language, "status")
        if wish != "start" and target is not None:
            return self._join(target, person_id, knowledge, language)
        if wish == "join" and product is None:
            return DeskAnswer(promotion_text("group_buy_none_open", language), "none_open")
        if product is None:
            return self._which(deals, knowledge, language, ineligible)
        same = next((g for g in open_now if g.product_id == field(product, "id")), None)
        if same is not None:  # one open group-buy per product and chat: friends fill it
            return self._join(same, person_id, knowledge, language)
        if wish == "join":
            return DeskAnswer(promotion_text("group_buy_none_open", language), "none_open")
        deal = self.campaigns.current.deal_for(brand, str(field(product, "id")))
        assert deal is not None  # _product only returns products of a deal
        started = self.store.group_buys.start(
            product_id=str(field(product, "id")),
            chat_id=chat_key,
            starter_id=person_id,
            size=deal.size,
            price=deal.price_for(field(product, "price", 0)),
            deadline=now + timedelta(hours=deal.hours),
            now=now,
        )
        answer = self._status(started, knowledge, language, "started")
        return DeskAnswer(
            _then(promotion_text("group_buy_started", language), answer.text, language),
            "started",
            product_id=started.product_id,
        )

    def _product(
        self, text: str, knowledge: Any, deals: list[GroupBuyDeal], context_product_id: str | None
    ) -> tuple[Any | None, Any | None]:
        """(the deal product the message means, or None; a product meant that has no deal)."""
        eligible = [
            p for p in (knowledge.get(i) for d in deals for i in d.product_ids) if p is not None
        ]
        categories = find_categories(text)
        # A category named too must agree: "保湿面膜" is not the "保湿水".
        scored = [
            (_name_score(text, p), p)
            for p in eligible
            if not categories or field(p, "category") in categories
        ]
        best = max(scored, key=lambda s: s[0], default=(0, None))
        if best[0] > 0:
            return best[1], None
        if categories:
            matching = [p for p in eligible if field(p, "category") in categories]
            if len(matching) == 1:
                return matching[0], None
            return None, None if matching else categories[0]
        if context_product_id:
            eligible_ids = {str(field(p, "id")) for p in eligible}
            if context_product_id in eligible_ids:
                return knowledge.get(context_product_id), None
            return None, knowledge.get(context_product_id)
        return None, None

    def _which(
        self, deals: list[GroupBuyDeal], knowledge: Any, language: Language, ineligible: Any
    ) -> DeskAnswer:
        products = [p for p in (knowledge.get(i) for d in deals for i in d.product_ids) if p]
        names = joined([product_name(p, language) for p in products], language)
        if ineligible is not None:
            what = (
                category_text(ineligible, language)
                if isinstance(ineligible, str)
                else product_name(ineligible, language)
            )
            return DeskAnswer(
                promotion_text("group_buy_not_eligible", language, product=what, names=names),
                "not_eligible",
            )
        example = product_name(products[0], language) if products else ""
        return DeskAnswer(
            promotion_text("group_buy_which", language, names=names, example=example), "which"
        )

    def _join(
        self, group_buy: GroupBuy, person_id: str, knowledge: Any, language: Language
    ) -> DeskAnswer:
        result = self.store.group_buys.join(group_buy.group_buy_id, person_id, self.now())
        current = result.group_buy or group_buy
        if result.status is JoinStatus.FORMED:
            # Said to the whole group by this reply; the sweeper must not say it again.
            self.store.group_buys.claim_announcement(current.group_buy_id)
            return DeskAnswer(
                outcome_text("formed", current, knowledge, language),
                "formed",
                product_id=current.product_id,
            )
        if result.status in (JoinStatus.JOINED, JoinStatus.ALREADY_JOINED):
            lead = promotion_text(result.status, language, seats_left=current.seats_left)
            answer = self._status(current, knowledge, language, result.status.value)
            return DeskAnswer(
                _then(lead, answer.text, language), answer.outcome, product_id=answer.product_id
            )
        key = "group_buy_expired" if result.status is JoinStatus.EXPIRED else result.status
        return DeskAnswer(promotion_text(key, language), result.status.value)

    def _status(
        self, group_buy: GroupBuy, knowledge: Any, language: Language, outcome: str
    ) -> DeskAnswer:
        status = promotion_text(
            "group_buy_status",
            language,
            product=_name_of(knowledge, group_buy.product_id, language),
            id=group_buy.group_buy_id,
            size=group_buy.size,
            price=money(group_buy.price),
            joined=len(group_buy.members),
            seats_left=group_buy.seats_left,
            deadline=deadline_text(group_buy.deadline, language),
        )
        return DeskAnswer(status, outcome, product_id=group_buy.product_id)

    def due_outcomes(self) -> list[tuple[GroupBuyEvent, GroupBuy]]:
        """Group-buys that failed at their deadline (or formed unannounced), each handed out once
        over all app instances, with the group-buy as it closed."""
        outcomes = []
        for event in self.store.group_buys.expire_due(self.now()):
            group_buy = self.store.group_buys.get(event.group_buy_id)
            if group_buy is not None:
                outcomes.append((event, group_buy))
        return outcomes

    # -- referrals --------------------------------------------------------------------------

    def invite_code(self, person_id: str, language: Language) -> DeskAnswer:
        """The person's own, stable invite code with the reward rules."""
        code = self.store.referrals.invite_code(person_id, self.now())
        title = self.campaigns.current.reward_title(language)
        reward = (
            _quoted(title, language) if title else promotion_text("invite_reward_default", language)
        )
        return DeskAnswer(
            promotion_text("invite_code", language, code=code, reward=reward), "invite_code"
        )

    def use_invite_code(self, person_id: str, text: str, language: Language) -> DeskAnswer:
        """Bind the person to the owner of the code in the message (once; never to themselves)."""
        code = invite_code_in(text)
        if code is None:
            return DeskAnswer(promotion_text("invite_code_missing", language), "missing_code")
        result = self.store.referrals.register_invitee(code, person_id, self.now())
        return DeskAnswer(promotion_text(result.status, language), result.status.value)

    # -- lifecycle --------------------------------------------------------------------------

    def stage_offer(self, person_id: str, brand: str, language: Language) -> str:
        """What the person's lifecycle stage is offered: its messages and coupons not yet held."""
        assessment = self.lifecycle.stage_of(person_id, self.now())
        lines = [promotion_text(key, language) for key in assessment.offers.messages]
        held = {c.campaign_id for c in self.store.coupons.coupons_of(person_id)}
        offers = {o.campaign_id: o for o in self.campaigns.current.coupons_of(brand)}
        titles = [
            _quoted(offers[c].campaign.title(language), language)
            for c in assessment.offers.campaigns
            if c in offers and c not in held and offers[c].running(self.now())
        ]
        if titles:
            lines.append(
                promotion_text("stage_campaigns", language, titles=joined(titles, language))
            )
        return "\n".join(lines)

    def order_events(self) -> OrderEvents:
        """The order system's entry point over the same stores, campaigns and clock."""
        return OrderEvents(self.store, lambda: self.campaigns.current, self._clock)

    def note_activity(self, person_id: str) -> None:
        """The person talked to the assistant now (lifecycle stages are computed from this)."""
        self.store.activity.record_activity(person_id, self.now())


def invite_code_in(text: str) -> str | None:
    """The invite code a message carries, normalised, or None."""
    match = _CODE_AFTER_KEYWORD.search(text)
    if match is None:
        match = _CODE_ALONE.search(text)
        if match is None:
            return None
        return normalize_code(match.group(0))
    return normalize_code(match.group(1))


def money(amount: Any) -> str:
    """CNY as shoppers write it: "20", "126.65"."""
    return f"{amount:.2f}".removesuffix(".00")


def _claimed_text(coupon: Coupon, language: Language) -> str:
    expires = coupon.expires_at
    if expires.astimezone(CHINA_TIME).time() == time():
        # "valid until Feb 28, 23:59" reads right; "until Mar 1, 00:00" looks like a day more.
        expires -= timedelta(minutes=1)
    return promotion_text(
        "claimed",
        language,
        title=coupon.title(language),
        amount=money(coupon.amount),
        min_spend=money(coupon.min_spend),
        code=coupon.code,
        expires=deadline_text(expires, language),
    )


def _then(first: str, second: str, language: Language) -> str:
    return first + ("" if language == "zh" else " ") + second


def _quoted(title: str, language: Language) -> str:
    return f"「{title}」" if language == "zh" else f'"{title}"'


def outcome_text(kind: str, group_buy: GroupBuy, knowledge: Any, language: Language) -> str:
    """What the whole group is told when a group-buy ``formed`` or ``failed``."""
    return promotion_text(
        f"group_buy_{kind}",
        language,
        product=_name_of(knowledge, group_buy.product_id, language),
        id=group_buy.group_buy_id,
        size=group_buy.size,
        price=money(group_buy.price),
        seats_left=group_buy.seats_left,
    )


def _target(open_now: list[GroupBuy], text: str, product: Any | None) -> GroupBuy | None:
    """The open group-buy a message means: by its id, else by its product, else the soonest."""
    ids = {normalize_code(m) for m in _GROUP_BUY_ID.findall(text)}
    by_id = next((g for g in open_now if g.group_buy_id in ids), None)
    if by_id is not None:
        return by_id
    if product is not None:
        return next((g for g in open_now if g.product_id == field(product, "id")), None)
    return open_now[0] if open_now else None


def _name_score(text: str, product: Any) -> int:
    """How clearly the message names ``product``: its full name, else its distinctive words."""
    lowered = text.lower()
    name_zh = str(field(product, "name_zh", ""))
    name_en = str(field(product, "name_en", "")).lower()
    if (name_zh and name_zh in text) or (name_en and name_en in lowered):
        return 100
    # Chinese names by two-character pieces ("维C焕亮精华液" is named by "维c精华"), English by
    # whole words; category words ("精华", "serum") name no product in particular.
    compact = name_zh.lower().replace(" ", "")
    words = {compact[i : i + 2] for i in range(len(compact) - 1)}
    words |= set(_ENGLISH_WORD.findall(name_en))
    words -= _CATEGORY_WORDS | _NAME_STOPWORDS
    # English words must stand alone ("sheer", not inside "sheerly"); Chinese has no spaces.
    english = set(_ENGLISH_WORD.findall(lowered))
    return sum(1 for w in words if len(w) >= 2 and (w in english if w.isascii() else w in lowered))


def _name_of(knowledge: Any, product_id: str, language: Language) -> str:
    product = knowledge.get(product_id) if knowledge is not None else None
    return localized(product, "name", language) if product is not None else product_id
