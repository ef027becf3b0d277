"""What to tell a shopper about a claim, a join, an invite code or a reward, in zh and en.

Keyed by the enum values of the promotion services, so a reply never depends on parsing text.
Sentences avoid absolute claims (Advertising Law) and say what the shopper can do next.
"""

from __future__ import annotations

from enum import Enum
from typing import Final

from assistant.language import Language

_TEXTS: Final[dict[str, dict[Language, str]]] = {
    # coupons: ClaimRefusal and RedeemStatus
    "unknown_campaign": {
        "zh": "没有找到这个优惠活动，请确认活动名称。",
        "en": "We could not find that offer. Please check its name.",
    },
    "not_started": {
        "zh": "「{title}」还没开始，{starts}起可以领取哦。",
        "en": '"{title}" has not started yet; you can claim it from {starts}.',
    },
    "ended": {
        "zh": "「{title}」已经结束了，下次活动再来吧。",
        "en": '"{title}" has ended. Watch the group for the next one!',
    },
    "out_of_stock": {
        "zh": "「{title}」的优惠券已经领完了。",
        "en": 'All "{title}" coupons have been claimed.',
    },
    "already_claimed": {
        "zh": "您已经领过「{title}」了，券码：{codes}。",
        "en": 'You have already claimed "{title}". Your code: {codes}.',
    },
    "claimed": {
        "zh": "领取成功！「{title}」满{min_spend}元减{amount}元，券码 {code}，{expires}前有效。",
        "en": 'Done! "{title}": CNY {amount} off orders of CNY {min_spend}+, code {code}, '
        "valid until {expires}.",
    },
    "redeemed": {
        "zh": "优惠券 {code} 已用于订单 {order_id}。",
        "en": "Coupon {code} is applied to order {order_id}.",
    },
    "already_redeemed": {
        "zh": "这张优惠券已经用过了。",
        "en": "This coupon has already been used.",
    },
    "unknown_coupon": {
        "zh": "没有找到这张优惠券，请核对券码。",
        "en": "We could not find that coupon. Please check the code.",
    },
    "expired": {
        "zh": "这张优惠券已过期。",
        "en": "This coupon has expired.",
    },
    "below_min_spend": {
        "zh": "订单满{min_spend}元才能用这张券哦。",
        "en": "This coupon needs an order of at least CNY {min_spend}.",
    },
    # group-buys: JoinStatus
    "joined": {
        "zh": "已加入拼团，还差{seats_left}人成团。",
        "en": "You are in! {seats_left} more needed for the group-buy.",
    },
    "formed": {
        "zh": "拼团成功！人已凑齐，大家可以按拼团价下单了。",
        "en": "The group-buy is complete with you! Everyone can order at the group price.",
    },
    "already_joined": {
        "zh": "您已经在这个拼团里了。",
        "en": "You are already in this group-buy.",
    },
    "full": {
        "zh": "这个拼团已经满员了，可以自己发起一个新的拼团。",
        "en": "This group-buy is already full. You can start a new one.",
    },
    "unknown_group_buy": {
        "zh": "没有找到这个拼团。",
        "en": "We could not find that group-buy.",
    },
    # referrals: BindStatus and RewardStatus
    "bound": {
        "zh": "邀请码已生效，首单完成后邀请人会获得奖励。",
        "en": "Invite code accepted. Your friend is rewarded when you complete your first order.",
    },
    "already_bound": {
        "zh": "您已经填写过邀请码了，每人只能绑定一位邀请人。",
        "en": "You have already used an invite code; each shopper can have one inviter.",
    },
    "unknown_code": {
        "zh": "邀请码无效，请核对后再试。",
        "en": "That invite code is not valid. Please check it and try again.",
    },
    "self_invite": {
        "zh": "不能使用自己的邀请码哦。",
        "en": "You cannot use your own invite code.",
    },
    "circular": {
        "zh": "您邀请过这位好友，不能再用对方的邀请码。",
        "en": "You invited this friend, so you cannot use their code.",
    },
    "existing_customer": {
        "zh": "邀请码仅限新朋友首单使用，感谢您一直以来的支持！",
        "en": "Invite codes are for first orders of new shoppers. Thank you for staying with us!",
    },
}


def promotion_text(outcome: str | Enum, language: Language, **values: object) -> str:
    """The reply for an outcome (an enum member or its value), filled with ``values``.

    Raises ``KeyError`` for an outcome without a text, so a missing translation shows up in the
    tests rather than as an empty reply.
    """
    key = outcome.value if isinstance(outcome, Enum) else outcome
    return _TEXTS[key][language].format(**values)


def known_outcomes() -> frozenset[str]:
    """The outcomes that have replies (for tests that check every enum member is covered)."""
    return frozenset(_TEXTS)
