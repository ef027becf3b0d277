"""Shopper-facing sentences in Chinese and English, kept in one place so wording stays consistent."""

from __future__ import annotations

from typing import Any

from assistant.language import Language

# Each key has the Chinese and the English wording; placeholders use str.format.
TEXTS: dict[str, dict[Language, str]] = {
    "not_known": {
        "zh": "这个问题我暂时没有查到确切的资料,不想乱说误导你。需要我帮你转给人工顾问吗?",
        "en": "I couldn't find a reliable answer to that in our product information, and I'd rather "
        "not guess. Shall I pass you to a member of our team?",
    },
    "fallback": {
        "zh": "抱歉,我没太理解你的意思。可以问我产品、护肤推荐、订单物流、退换货或优惠活动;需要转人工顾问吗?",
        "en": "Sorry, I didn't quite get that. I can help with products, skincare advice, order "
        "tracking, returns and offers. Would you like to talk to a person?",
    },
    "which_product": {
        "zh": "你问的是哪一款呢?我们的{category}有:{names}。",
        "en": "Which one do you mean? Our {category} range: {names}.",
    },
    "price": {
        "zh": "{name}:¥{price:g} / {size}。",
        "en": "{name}: ¥{price:g} for {size}.",
    },
    "stock_out": {
        "zh": "目前暂时缺货。",
        "en": "It is out of stock at the moment.",
    },
    "stock_in": {
        "zh": "目前有货。",
        "en": "It is in stock.",
    },
    "safe_for": {
        "zh": "{name}的成分里没有{condition}需要避开的成分,{condition}可以使用;不过每个人情况不同,首次使用建议先局部试用。",
        "en": "{name} has no ingredient that needs avoiding during {condition}, so it can be used; "
        "as with anything new, patch-test first.",
    },
    "not_for": {
        "zh": "{name}不建议{condition}使用:{caution}",
        "en": "{name} is not recommended during {condition}: {caution}",
    },
    "not_for_skin": {
        "zh": "{name}对{condition}需要谨慎:{caution}",
        "en": "{name} needs care on {condition}: {caution}",
    },
    "safe_list": {
        "zh": "适合{condition}的{category}有:{names}。",
        "en": "{category} suitable during {condition}: {names}.",
    },
    "unsafe_list": {
        "zh": "不建议{condition}使用的:{names}。",
        "en": "Not recommended during {condition}: {names}.",
    },
    "ingredients": {
        "zh": "{name}的核心成分:{actives}。全成分:{ingredients}",
        "en": "Key ingredients of {name}: {actives}. Full list: {ingredients}",
    },
    "usage": {
        "zh": "{name}的用法:{usage}",
        "en": "How to use {name}: {usage}",
    },
    "suits": {
        "zh": "{name}适合{skin_types},主要针对{concerns}。",
        "en": "{name} suits {skin_types} and targets {concerns}.",
    },
    "free_of": {
        "zh": "{name}{fragrance},{alcohol}。",
        "en": "{name} is {fragrance} and {alcohol}.",
    },
    "overview": {
        "zh": "{name}(¥{price:g}/{size}):{description}",
        "en": "{name} (¥{price:g}, {size}): {description}",
    },
    "list_intro": {
        "zh": "为你找到这几款:",
        "en": "Here are some that fit:",
    },
    "list_item": {
        "zh": "· {name} ¥{price:g}/{size} — {reason}",
        "en": "· {name}, ¥{price:g} / {size}: {reason}",
    },
    "nothing_matches": {
        "zh": "目前没有完全符合这些条件的产品。需要我帮你转给人工顾问看看吗?",
        "en": "Nothing in our range matches all of that right now. Shall I ask a team member to help?",
    },
    "recommend_intro": {
        "zh": "根据你的情况({profile}),推荐:",
        "en": "Based on what you told me ({profile}), I'd suggest:",
    },
    "recommend_item": {
        "zh": "{n}. {name}(¥{price:g})— {reason}",
        "en": "{n}. {name} (¥{price:g}): {reason}",
    },
    "excluded_note": {
        "zh": "已避开不适合你的产品:{names}。",
        "en": "Left out because they don't suit you: {names}.",
    },
    "faq_answer": {
        "zh": "{answer}",
        "en": "{answer}",
    },
    "order_status": {
        "zh": "订单 {order_id} 当前状态:{status}。{latest}",
        "en": "Order {order_id} is {status}. {latest}",
    },
    "order_latest_event": {
        "zh": "最新物流({time}):{event}{courier}",
        "en": "Latest tracking update ({time}): {event}{courier}",
    },
    "order_no_events": {
        "zh": "暂时还没有物流信息。",
        "en": "There are no tracking updates yet.",
    },
    "order_mismatch": {
        "zh": "订单号和手机尾号没有对上,请核对后重新发一下订单号。",
        "en": "The order number and phone digits don't match our records. Please check and send "
        "the order number again.",
    },
    "order_bad_id": {
        "zh": "订单号好像不太对,应该是 DD 开头加 12 位数字,比如 DD202511180042。",
        "en": "That doesn't look like an order number: it is DD followed by 12 digits, "
        "e.g. DD202511180042.",
    },
    "order_bad_phone": {
        "zh": "请发手机号的后 4 位数字哦。",
        "en": "Please send the last 4 digits of your phone number.",
    },
    "order_too_many_tries": {
        "zh": "多次核对都没有成功,为了账户安全我先不查询了。需要我帮你转人工客服处理吗?",
        "en": "We couldn't verify the order after several tries, so for your account's safety I "
        "have stopped checking. Shall I pass you to our customer service team?",
    },
    "return_policy": {
        "zh": "{policy}",
        "en": "{policy}",
    },
    "return_ask_order": {
        "zh": "如果想查某个订单能不能退,发我订单号和下单手机后4位就可以。",
        "en": "To check whether a specific order can be returned, send me the order number and "
        "the last 4 digits of your phone.",
    },
    "return_eligible": {
        "zh": "订单 {order_id} 可以申请七天无理由退货:已签收 {days_since} 天,截止 {deadline}(还剩 {days_left} 天),商品需未拆封。",
        "en": "Order {order_id} can be returned with no reason needed: delivered {days_since} "
        "day(s) ago, so you have until {deadline} ({days_left} day(s) left). Items must be unopened.",
    },
    "return_not_delivered": {
        "zh": "订单 {order_id} 还没有签收({status}),暂时不能走退货;如果不想要了,可以申请取消或到货时拒收。",
        "en": "Order {order_id} hasn't been delivered yet ({status}), so a return isn't possible "
        "yet; you can ask to cancel it or refuse the parcel on delivery.",
    },
    "return_expired": {
        "zh": "订单 {order_id} 已签收 {days_since} 天,超过了 {window} 天无理由退货期限;如有质量问题,签收 {quality_days} 天内可凭照片申请售后。",
        "en": "Order {order_id} was delivered {days_since} day(s) ago, past the {window}-day "
        "no-reason return window; quality problems can still be reported with photos within "
        "{quality_days} days of delivery.",
    },
    "return_opened": {
        "zh": "订单 {order_id} 的商品已拆封,不适用无理由退货;如有质量问题,可以凭照片申请售后。",
        "en": "The items in order {order_id} have been opened, so a no-reason return doesn't "
        "apply; quality problems can still be reported with photos.",
    },
    "return_closed": {
        "zh": "订单 {order_id} 状态为{status},无需再办理退货。",
        "en": "Order {order_id} is {status}, so there is nothing to return.",
    },
    "promotions_intro": {
        "zh": "现在进行中的活动:",
        "en": "Offers running now:",
    },
    "promotion_item": {
        "zh": "· {title}:{body}{code}(截至 {ends})",
        "en": "· {title}: {body}{code} (until {ends})",
    },
    "promotion_code": {
        "zh": " 优惠码 {code}",
        "en": " Code {code}.",
    },
    "no_promotions": {
        "zh": "目前没有进行中的活动,新活动上线会第一时间在群里通知~",
        "en": "There are no offers running right now; new ones are announced in this group.",
    },
    "handoff_recorded": {
        "zh": "好的,已经帮你转接人工顾问(工单 #{ticket}),工作时间内一般几分钟内回复,请稍等~",
        "en": "Done: I've asked a member of our team to take over (ticket #{ticket}). They usually "
        "reply within a few minutes during working hours.",
    },
    "handoff_declined": {
        "zh": "好的~还有其他问题随时问我。",
        "en": "No problem. Ask me anything else whenever you like.",
    },
    "rasa_down": {
        "zh": "抱歉,系统正在忙,你的消息已记录,请稍后再试一下~",
        "en": "Sorry, I'm having a short hiccup. Your message has been saved; please try again "
        "in a moment.",
    },
    "empty_message": {
        "zh": "好像没有收到文字内容,可以再说一遍吗?",
        "en": "I didn't receive any text. Could you say that again?",
    },
    "too_long": {
        "zh": "消息有点长,我只看了前 {limit} 个字。",
        "en": "That message was long; I read the first {limit} characters.",
    },
    "private_pointer": {
        "zh": "涉及你的订单信息,我已私信发给你了,请查看私聊~",
        "en": "That includes your order details, so I've sent it to you privately.",
    },
    "private_unavailable": {
        "zh": "这条回复涉及你的个人或订单信息,不方便在群里说,请私聊我或联系客服查看~",
        "en": "That answer includes your personal or order details, so I won't post it in the "
        "group. Please message me privately and ask again.",
    },
    "private_failed": {
        "zh": "这条回复涉及你的订单信息,不方便在群里发,但我没能私信到你。请先私聊我一次,然后在私聊里再问我~",
        "en": "That answer includes your order details, so I won't post it here, but I couldn't "
        "reach you privately. Please open a private chat with me and ask again there.",
    },
    "compliance_blocked": {
        "zh": "这个问题我需要请同事确认后再回复你~",
        "en": "Let me check that with a colleague before I answer.",
    },
    "rate_limited": {
        "zh": "消息有点多,我稍后再回复你,请稍等一下再问哦~",
        "en": "You're sending messages faster than I can answer. Give me a moment, then ask again.",
    },
    # Shopper profiles (consent first) and "export / delete my data" (assistant/profiles/).
    "profile_consent_ask": {
        "zh": "要不要把你的肤质档案保存下来?保存后下次咨询(包括在其他群里)就不用再回答一遍。"
        "会保存:肤质、肌肤困扰、是否敏感、过敏成分、是否孕期/哺乳期,只用来给你挑合适的产品,"
        "不会公开。随时发“删除我的数据”就能删除,发“导出我的数据”可以查看。"
        "回复“好”保存,回复“不用”则不保存。",
        "en": "Shall I save your skin profile, so next time (in any of our groups) you don't "
        "have to answer again? I'd keep your skin type, concerns, sensitivity, allergies and "
        "whether you're pregnant or breastfeeding, only to pick products that suit you, never "
        'shown to anyone. Send "delete my data" to erase it or "export my data" to see it at '
        'any time. Reply "yes" to save, "no" to skip.',
    },
    "profile_saved": {
        "zh": "好的,已保存你的肤质档案,下次咨询会直接用上。想删除随时发“删除我的数据”。",
        "en": 'Saved. I\'ll use your skin profile next time; send "delete my data" to erase it '
        "whenever you like.",
    },
    "profile_declined": {
        "zh": "好的,不保存。你的肤质信息只用于这次推荐。",
        "en": "No problem, nothing saved. What you told me is only used for this recommendation.",
    },
    "profile_updated": {
        "zh": "已更新你的肤质档案。",
        "en": "I've updated your saved skin profile.",
    },
    "profile_remembered": {
        "zh": "按你上次保存的档案:{profile}。有变化直接告诉我~",
        "en": "Going by the profile you saved: {profile}. Tell me if anything has changed.",
    },
    "profile_allergies": {
        "zh": "对{names}过敏",
        "en": "allergic to {names}",
    },
    "profile_none": {
        "zh": "没有保存",
        "en": "none saved",
    },
    "consent_given": {
        "zh": "{date} 同意保存",
        "en": "agreed on {date}",
    },
    "data_export": {
        "zh": "你的数据(只私信发给你):\n· 肤质档案:{profile}\n· 保存授权:{consent}\n"
        "· 聊天消息 {messages} 条,来自 {conversations} 个群聊/会话\n"
        "· 未解答的问题 {questions} 条,转人工记录 {handoffs} 条,合规审查记录 {reviews} 条\n"
        "完整数据已导出为文件 {file},会私信发给你。订单是品牌的交易记录,不在本次导出中,"
        "可在订单页查看。",
        "en": "Your data (sent to you privately only):\n· Skin profile: {profile}\n"
        "· Consent to keep it: {consent}\n"
        "· {messages} chat message(s) from {conversations} group(s) or chat(s)\n"
        "· {questions} unanswered question(s), {handoffs} request(s) for a person, {reviews} "
        "compliance review note(s)\nThe full export is file {file}, sent to you privately. "
        "Orders are the brand's business records and are not part of this export; see them "
        "on your order page.",
    },
    "data_delete_ask": {
        "zh": "确定要删除你的个人数据吗?会删除:肤质档案、你在各个群里和我的聊天记录、"
        "未解答的问题和转人工记录,删除后无法恢复。订单是品牌的交易记录,会保留,不会删除。"
        "回复“好”确认删除,回复“不用”取消。",
        "en": "Do you want me to delete your personal data? This erases your skin profile, "
        "your chats with me in every group, your unanswered questions and requests for a "
        "person, and cannot be undone. Orders are the brand's business records and are kept. "
        'Reply "yes" to delete, "no" to cancel.',
    },
    "data_deleted": {
        "zh": "已删除:肤质档案 {profile} 份、聊天消息 {messages} 条、对话记录 {conversations} 段、"
        "未解答的问题 {questions} 条、转人工记录 {handoffs} 条。订单作为交易记录仍然保留。",
        "en": "Deleted: {profile} skin profile(s), {messages} chat message(s), {conversations} "
        "conversation history(ies), {questions} unanswered question(s), {handoffs} request(s) "
        "for a person. Orders stay as the brand's business records.",
    },
    "data_delete_incomplete": {
        "zh": "有 {failed} 段对话记录暂时没能清除,已经记下,工作人员会尽快处理。",
        "en": "{failed} conversation history(ies) could not be erased just now; this is "
        "recorded and our team will finish it shortly.",
    },
    "data_delete_cancelled": {
        "zh": "好的,已取消,你的数据没有删除。",
        "en": "Cancelled: nothing has been deleted.",
    },
    "privacy_failed": {
        "zh": "抱歉,处理你的数据请求时出了问题,数据没有改动,请稍后再试或联系客服。",
        "en": "Sorry, something went wrong with your data request and nothing was changed. "
        "Please try again later or ask our customer service.",
    },
}


def text(key: str, language: Language, **values: Any) -> str:
    """The sentence ``key`` in ``language`` with ``values`` filled in."""
    return TEXTS[key][language].format(**values)
