"""What the skin consultation tells a shopper about their routine, in zh and en.

Kept apart from :mod:`assistant.texts` because the routine's sentences only make sense together
(headings, items, budget and exclusion notes). Sentences avoid absolute claims (Advertising Law).
"""

from __future__ import annotations

from typing import Final

from assistant.language import Language

_TEXTS: Final[dict[str, dict[Language, str]]] = {
    "intro": {
        "zh": "根据你的情况({profile}),为你搭配了这套护肤流程:",
        "en": "Based on what you told me ({profile}), here is a routine for you:",
    },
    "time.am": {"zh": "早上:", "en": "Morning:"},
    "time.pm": {"zh": "晚上:", "en": "Evening:"},
    "time_name.am": {"zh": "早上", "en": "morning"},
    "time_name.pm": {"zh": "晚上", "en": "evening"},
    "step.cleanse": {"zh": "洁面", "en": "Cleanse"},
    "step.treat": {"zh": "功效护理", "en": "Treat"},
    "step.moisturize": {"zh": "保湿", "en": "Moisturise"},
    "step.protect": {"zh": "防晒", "en": "Protect"},
    "item": {
        "zh": "{n}. {step}:{name}(¥{price:g})— {reason}",
        "en": "{n}. {step}: {name} (¥{price:g}): {reason}",
    },
    "item_again": {
        "zh": "{n}. {step}:{name},和早上同一款",
        "en": "{n}. {step}: {name}, the same one as in the morning",
    },
    "step_missing": {
        "zh": "({steps}这一步暂时没有适合你又有货的产品)",
        "en": "(No product for the {steps} step suits you and is in stock right now.)",
    },
    "fragrance_free": {"zh": "无香精", "en": "fragrance-free"},
    "alcohol_free": {"zh": "无酒精", "en": "alcohol-free"},
    "total": {
        "zh": "合计 ¥{total:g}(共 {count} 件)。",
        "en": "Total ¥{total:g} for {count} product(s).",
    },
    "within_budget": {
        "zh": "在你的预算 ¥{budget:g} 以内。",
        "en": "Within your budget of ¥{budget:g}.",
    },
    "budget_dropped": {
        "zh": "¥{budget:g} 的预算放不下完整流程(实惠的完整搭配约 ¥{full:g}),先去掉了:{steps}。",
        "en": "A budget of ¥{budget:g} does not cover the full routine (about ¥{full:g} at the "
        "most affordable), so "
        "I left out: {steps}.",
    },
    "budget_swapped": {
        "zh": "为控制预算换成了更实惠的:{swaps}。",
        "en": "To keep to the budget I chose cheaper options: {swaps}.",
    },
    "swap": {"zh": "{new}(代替{old})", "en": "{new} (instead of {old})"},
    "budget_too_low": {
        "zh": "¥{budget:g} 的预算还不够搭配护肤流程,单件里比较实惠的是 ¥{cheapest:g}。"
        "需要的话告诉我新的预算~",
        "en": "A budget of ¥{budget:g} does not cover a routine; the most affordable single "
        "product here is ¥{cheapest:g}. Tell me another budget if you like.",
    },
    "excluded": {
        "zh": "已避开{names}:{reason}",
        "en": "Left out {names}: {reason}",
    },
    "excluded_contraindication": {
        "zh": "产品本身标注{condition}慎用",
        "en": "the product itself is marked not for {condition}",
    },
    "excluded_not_fragrance_free": {
        "zh": "你想要无香精的,这几款不是无香精配方(或未标明)。",
        "en": "you asked for fragrance-free, and these are not (or do not say so).",
    },
    "excluded_not_alcohol_free": {
        "zh": "你想要无酒精的,这几款不是无酒精配方(或未标明)。",
        "en": "you asked for alcohol-free, and these are not (or do not say so).",
    },
    "excluded_more": {
        "zh": "另有 {count} 款也因为类似原因没有推荐。",
        "en": "{count} more were left out for similar reasons.",
    },
    "whole_time": {"zh": "{time}的流程", "en": "the {time} routine"},
    "time_steps": {"zh": "{time}的{steps}", "en": "the {time} {steps} step(s)"},
    "contains": {"zh": "{name}(含{found})", "en": "{name} (contains {found})"},
    "conflict": {
        "zh": "{time}没有用{name},因为和{other}同时使用不合适:{reason}",
        "en": "{name} is not in your {time} routine alongside {other}: {reason}",
    },
    # follow-ups (action_refine_routine)
    "need_consultation": {
        "zh": "我还不了解你的皮肤情况呢。先告诉我你的肤质和主要困扰(比如“油皮,长痘”),"
        "我帮你搭配一套早晚护肤流程~",
        "en": "I don't know your skin yet. Tell me your skin type and main concern (for example "
        '"oily skin, breakouts") and I\'ll put together a morning and evening routine.',
    },
    "refine_unclear": {
        "zh": "可以帮你调整这套流程:换更实惠的、设个预算(比如“200以内”)、"
        "换成无香精或无酒精的,或者只看早上/晚上。想怎么调整呢?",
        "en": 'I can adjust the routine: cheaper, within a budget (e.g. "under 200"), '
        "fragrance-free or alcohol-free, or morning / evening only. What would you like?",
    },
    "changed.cheaper": {
        "zh": "换成了更实惠的搭配:合计 ¥{old:g} → ¥{new:g}。",
        "en": "Here is a cheaper set: ¥{old:g} → ¥{new:g} in total.",
    },
    "changed.not_cheaper": {
        "zh": "这已经是符合你情况的比较实惠的完整搭配了(¥{total:g});"
        "预算有限的话告诉我一个数字,我帮你精简步骤。",
        "en": "This is already an affordable full routine for your skin (¥{total:g}); give me a "
        "budget and I'll trim the steps to fit.",
    },
    "changed.budget": {
        "zh": "按 ¥{budget:g} 的预算调整了:合计 ¥{old:g} → ¥{new:g}。",
        "en": "Adjusted to your budget of ¥{budget:g}: ¥{old:g} → ¥{new:g} in total.",
    },
    "changed.fragrance_free": {
        "zh": "都换成了无香精的产品。",
        "en": "Everything is now fragrance-free.",
    },
    "changed.alcohol_free": {
        "zh": "都换成了无酒精的产品。",
        "en": "Everything is now alcohol-free.",
    },
    "changed.times": {
        "zh": "这是你{times}的流程。",
        "en": "Here is your {times} routine.",
    },
    "changed.step": {
        "zh": "{time}{step}:{old} → {new}",
        "en": "{time} {step}: {old} → {new}",
    },
    "changed.step_removed": {
        "zh": "{time}{step}:先不用了(原来是{old})",
        "en": "{time} {step}: left out for now (was {old})",
    },
    "changed.nothing": {
        "zh": "原来的搭配已经符合这个要求,不用换。",
        "en": "Your routine already meets that, so nothing needed to change.",
    },
    "rules_unavailable": {
        "zh": "成分规则暂时读取不了,为了稳妥我先不推荐产品。需要的话我帮你转给人工顾问~",
        "en": "I can't read our ingredient rules right now, so to be safe I won't recommend "
        "products. Shall I pass you to a member of our team?",
    },
}


def routine_text(key: str, language: Language, **values: object) -> str:
    """The routine sentence ``key`` in ``language`` with ``values`` filled in."""
    return _TEXTS[key][language].format(**values)
