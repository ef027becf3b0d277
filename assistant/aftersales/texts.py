"""What the assistant tells shoppers about after-sales tickets and photos, in zh and en."""

from __future__ import annotations

from typing import Any, Final

from assistant.language import Language

_TEXTS: Final[dict[str, dict[Language, str]]] = {
    "ticket_offer": {
        "zh": "要我帮你提交{kind}申请吗?",
        "en": "Shall I submit a {kind} request for you?",
    },
    "quality_eligible": {
        "zh": "订单 {order_id} 在质量问题售后期内(截止 {deadline}),可以凭照片申请售后。",
        "en": "Order {order_id} is within the quality-claim period (until {deadline}): you can "
        "make a claim with photos.",
    },
    "quality_expired": {
        "zh": "订单 {order_id} 已超过签收后 {days} 天的质量问题售后期,暂时不能在线提交;"
        "需要我帮你转人工客服看看吗?",
        "en": "Order {order_id} is past the {days}-day quality-claim period after delivery, so "
        "I can't submit a claim online. Shall I pass you to our customer service team?",
    },
    "ticket_created": {
        "zh": "已为你提交{kind}申请,售后单号 {ticket_id}(订单 {order_id})。"
        "之后问我「我的售后进度」就能查看;商品有破损的话,可以直接把照片发给我。",
        "en": "Your {kind} request is submitted: ticket {ticket_id} (order {order_id}). Ask me "
        '"status of my return" any time; if the item is damaged, just send me photos.',
    },
    "ticket_exists": {
        "zh": "订单 {order_id} 已经有一张处理中的售后单 {ticket_id}({status}),不用重复提交。",
        "en": "Order {order_id} already has an open ticket, {ticket_id} ({status}); no need to "
        "submit another.",
    },
    "ticket_declined": {
        "zh": "好的,先不提交。需要时随时告诉我。",
        "en": "OK, I won't submit anything. Just tell me if you change your mind.",
    },
    "ticket_need_order": {
        "zh": "先告诉我订单号和下单手机后4位,核对后我再帮你提交售后申请。",
        "en": "Please send me the order number and the last 4 digits of your phone first; "
        "once they check out I can submit the request.",
    },
    "ticket_status": {
        "zh": "售后单 {ticket_id}(订单 {order_id},{kind}):{status},更新于 {updated}。",
        "en": "Ticket {ticket_id} (order {order_id}, {kind}): {status}, updated {updated}.",
    },
    "ticket_status_note": {
        "zh": "客服备注:{note}",
        "en": "Note from our team: {note}",
    },
    "ticket_none": {
        "zh": "没有查到你的售后申请。如需办理退换货,发我订单号和下单手机后4位就可以。",
        "en": "I couldn't find any after-sales request of yours. To return or exchange "
        "something, send me the order number and the last 4 digits of your phone.",
    },
    "ticket_not_found": {
        "zh": "没有找到售后单 {ticket_id}。请核对单号;我只能查询你本人提交的申请。",
        "en": "I couldn't find ticket {ticket_id}. Please check the number; I can only look up "
        "requests you submitted yourself.",
    },
    "ticket_failed": {
        "zh": "抱歉,售后申请暂时没能提交成功,请稍后再试,或让我帮你转人工客服。",
        "en": "Sorry, I couldn't submit the request just now. Please try again shortly, or I "
        "can pass you to our customer service team.",
    },
    "photo_saved": {
        "zh": "收到 {count} 张照片,已附在售后单 {ticket_id} 上,工作人员审核时会看到。",
        "en": "Got {count} photo(s) and added them to ticket {ticket_id}; our team will see "
        "them when reviewing it.",
    },
    "photo_duplicate": {
        "zh": "这张照片之前已经收到了,售后单 {ticket_id} 上已有。",
        "en": "I already have that photo on ticket {ticket_id}.",
    },
    "photo_no_ticket": {
        "zh": "先告诉我订单号和下单手机后4位,我帮你提交售后申请后,照片会附在申请上。",
        "en": "Please send me the order number and the last 4 digits of your phone first; "
        "once I've submitted your request, photos are added to it.",
    },
    "photo_not_image": {
        "zh": "这个文件不是图片,请发送 JPG、PNG 等格式的商品照片。",
        "en": "That file isn't a picture. Please send photos as JPG, PNG or similar.",
    },
    "photo_empty": {
        "zh": "这张图片是空的,请重新发送一次。",
        "en": "That picture came through empty. Please send it again.",
    },
    "photo_too_large": {
        "zh": "照片太大了(上限 {limit} MB),请压缩后再发。",
        "en": "That photo is too large (limit {limit} MB). Please send a smaller one.",
    },
    "photo_limit": {
        "zh": "售后单 {ticket_id} 已经有 {limit} 张照片了,工作人员审核时会看到。",
        "en": "Ticket {ticket_id} already has {limit} photos, which our team will review.",
    },
    "photo_unavailable": {
        "zh": "照片没能收到,请稍后重新发送一次。",
        "en": "I couldn't receive that photo. Please send it again in a moment.",
    },
}

_KINDS: Final[dict[str, dict[Language, str]]] = {
    "return": {"zh": "退货", "en": "return"},
    "exchange": {"zh": "换货", "en": "exchange"},
    "quality": {"zh": "质量问题售后", "en": "quality claim"},
}

_STATUSES: Final[dict[str, dict[Language, str]]] = {
    "submitted": {"zh": "已提交,等待审核", "en": "submitted, waiting for review"},
    "reviewing": {"zh": "审核中", "en": "under review"},
    "approved": {"zh": "已同意", "en": "approved"},
    "rejected": {"zh": "未通过", "en": "not approved"},
    "closed": {"zh": "已完结", "en": "closed"},
}


def aftersales_text(key: str, language: Language, **values: Any) -> str:
    """The sentence ``key`` in ``language`` with ``values`` filled in."""
    return _TEXTS[key][language].format(**values)


def kind_label(kind: str, language: Language) -> str:
    return _KINDS.get(kind, _KINDS["return"])[language]


def status_label(status: str, language: Language) -> str:
    return _STATUSES.get(status, {"zh": status, "en": status})[language]
