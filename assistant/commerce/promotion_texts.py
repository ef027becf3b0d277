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
    # what the dialogue says around those outcomes (actions/promotions.py)
    "promotions_offline": {
        "zh": "优惠活动暂时查询不到，请稍后再试一下~",
        "en": "Offers are not available right now. Please try again in a moment.",
    },
    "claimed_note": {
        "zh": "领取成功！券码已私信发给你，请查收~",
        "en": "Claimed! I have sent your coupon code to you privately.",
    },
    "already_claimed_note": {
        "zh": "你已经领过这张券啦，券码已再次私信发给你。",
        "en": "You have this coupon already; I have sent your code to you privately again.",
    },
    "no_campaign": {
        "zh": "目前没有可以领取的优惠券，新活动上线会在群里通知~",
        "en": "There is no coupon to claim right now; new ones are announced in this group.",
    },
    "not_eligible": {
        "zh": "「{title}」仅限部分会员领取，你暂时不在范围内，可以看看群里的其他活动~",
        "en": '"{title}" is for some members only, and you are not among them right now. '
        "Have a look at the other offers in the group!",
    },
    "group_buy_status": {
        "zh": "「{product}」拼团(编号 {id}):{size}人成团，拼团价¥{price}，已有{joined}人，"
        "还差{seats_left}人，{deadline}截止。群里回复“参团”即可加入。",
        "en": '"{product}" group-buy ({id}): {size} people needed, group price CNY {price}; '
        '{joined} in, {seats_left} more to go, until {deadline}. Reply "join the group buy" '
        "to join.",
    },
    "group_buy_started": {
        "zh": "已为你发起拼团！",
        "en": "Your group-buy has started!",
    },
    "group_buy_formed": {
        "zh": "「{product}」拼团成功！{size}位成员已凑齐，大家可以按拼团价¥{price}下单了。",
        "en": '"{product}" group-buy is complete: all {size} members are in, and everyone can '
        "order at the group price of CNY {price}.",
    },
    "group_buy_failed": {
        "zh": "「{product}」拼团(编号 {id})到截止时间还差{seats_left}人，未能成团，已自动取消，"
        "已付款的会原路退回。欢迎再发起新的拼团~",
        "en": '"{product}" group-buy ({id}) was still {seats_left} short at its deadline, so it '
        "is cancelled; any payment goes back to where it came from. Feel free to start a new "
        "one!",
    },
    "group_buy_expired": {
        "zh": "这个拼团已经截止了，可以发起一个新的拼团。",
        "en": "That group-buy has closed. You can start a new one.",
    },
    "group_buy_none_open": {
        "zh": "群里现在没有进行中的拼团，回复“发起拼团 商品名”就可以开一个~",
        "en": 'There is no group-buy open in this group. Say "start a group buy" with a '
        "product name to open one.",
    },
    "group_buy_which": {
        "zh": "想拼哪一款呢？可以拼团的有：{names}。例如回复“发起拼团 {example}”。",
        "en": "Which product would you like? These can be bought as a group: {names}. For "
        'example: "start a group buy {example}".',
    },
    "group_buy_not_eligible": {
        "zh": "{product}暂时不参加拼团，可以拼团的有：{names}。",
        "en": "{product} is not in a group-buy at the moment. These are: {names}.",
    },
    "group_buy_unavailable": {
        "zh": "目前没有拼团活动，新活动上线会在群里通知~",
        "en": "There are no group-buys at the moment; new ones are announced in this group.",
    },
    "invite_code": {
        "zh": "你的专属邀请码：{code}\n"
        "邀请规则：好友在第一次下单前，在群里发送“邀请码 {code}”完成绑定；"
        "好友首单付款后，你将获得{reward}。每位好友奖励一次，不能使用自己的邀请码。"
        "请只邀请感兴趣的朋友，不要在无关群聊刷屏哦。",
        "en": "Your invite code: {code}\nHow it works: before their first order, your friend "
        'sends "invite code {code}" here; when that first order is paid, you receive {reward}. '
        "One reward per friend, and your own code does not count. Please invite only friends "
        "who are interested, and do not post it in unrelated groups.",
    },
    "invite_reward_default": {
        "zh": "一份邀请奖励",
        "en": "an invite reward",
    },
    "invite_code_missing": {
        "zh": "请把邀请码一起发给我，例如：邀请码 7K3M9Q2P",
        "en": "Please send the code with your message, for example: invite code 7K3M9Q2P",
    },
    "stage_campaigns": {
        "zh": "为你准备的福利：{titles}，回复“领券”即可领取。",
        "en": 'Just for you: {titles}. Reply "claim the coupon" to get it.',
    },
    # lifecycle.yml message keys
    "lifecycle.new.welcome": {
        "zh": "欢迎加入澜屿！新朋友首单有专属优惠。",
        "en": "Welcome to LANYU! New friends get a special offer on their first order.",
    },
    "lifecycle.new.first_order_guide": {
        "zh": "不确定选哪款？告诉我你的肤质，我帮你挑第一单。",
        "en": "Not sure where to start? Tell me your skin type and I will help you pick.",
    },
    "lifecycle.active.member_perks": {
        "zh": "感谢一直以来的支持！每月18日会员日还有折扣和双倍积分。",
        "en": "Thank you for staying with us! Member day on the 18th brings a discount and "
        "double points.",
    },
    "lifecycle.dormant.caring_nudge": {
        "zh": "好久不见~最近皮肤状态怎么样？换季有什么护肤问题随时问我。",
        "en": "It has been a while! How is your skin doing? Ask me anything about your routine.",
    },
    "lifecycle.churned.ask_why": {
        "zh": "好久没见到你了，是产品哪里不合适吗？欢迎告诉我们，我们会认真改进。",
        "en": "We have not seen you for a long time. Was something not right? We would love "
        "to hear, and we will act on it.",
    },
    "lifecycle.churned.win_back": {
        "zh": "欢迎回来！有新品和活动时我会第一时间告诉你。",
        "en": "Welcome back! I will let you know about new products and offers first.",
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
