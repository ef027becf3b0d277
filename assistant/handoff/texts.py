"""What the shopper is told when a person takes over and when the assistant is back, zh and en."""

from __future__ import annotations

from typing import Final

from assistant.language import Language

_TEXTS: Final[dict[str, dict[Language, str]]] = {
    "started": {
        "zh": "好的,已经帮你转接人工顾问(工单 #{ticket}),工作时间内一般几分钟内回复。"
        "在顾问回复前我先不插话,请稍等~",
        "en": "Done: I've asked a member of our team to take over (ticket #{ticket}). They usually "
        "reply within a few minutes during working hours; I'll stay quiet until then.",
    },
    "started_after_failures": {
        "zh": "抱歉,我好像一直没能理解你的问题。已经帮你转接人工顾问(工单 #{ticket}),请稍等~",
        "en": "Sorry, I keep failing to understand you. I've asked a member of our team to take "
        "over (ticket #{ticket}); they'll be with you shortly.",
    },
    "started_complaint": {
        "zh": "非常抱歉给你带来不好的体验。已经请人工顾问优先处理(工单 #{ticket}),请稍等~",
        "en": "I'm very sorry about this. I've asked a member of our team to look at it first "
        "(ticket #{ticket}); they'll be with you shortly.",
    },
    "closed": {
        "zh": "人工顾问这边已处理完毕,之后的问题可以继续 @ 我哦~",
        "en": "Our team has finished helping you. Mention me any time if you have more questions.",
    },
    "staff_label": {
        "zh": "【人工顾问】",
        "en": "[Our team] ",
    },
}

# Which sentence opens a hand-off, by its reason.
_STARTED_BY_REASON: Final[dict[str, str]] = {
    "repeated_failure": "started_after_failures",
    "low_confidence": "started_after_failures",
    "anger": "started_complaint",
}


def handoff_text(key: str, language: Language, **values: object) -> str:
    """The sentence ``key`` in ``language`` with ``values`` filled in."""
    return _TEXTS[key][language].format(**values)


def started_text(reason: str, language: Language, ticket: int) -> str:
    """What the shopper is told when a hand-off starts for ``reason``."""
    return handoff_text(_STARTED_BY_REASON.get(reason, "started"), language, ticket=ticket)
