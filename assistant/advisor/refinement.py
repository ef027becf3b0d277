"""Read a shopper's follow-up to a routine ("有便宜一点的吗", "换成无香的", "for night?").

:func:`parse_refinement` turns the text into a :class:`Refinement`; :meth:`Refinement.apply`
turns the last routine's request into the refined one. :func:`parse_budget` is also used at
consultation time ("油皮, 预算300以内").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from assistant.advisor.products import field as rfield
from assistant.advisor.products import joined, product_name
from assistant.advisor.routine import STEPS, TIMES, Routine, RoutineRequest
from assistant.advisor.routine_texts import routine_text
from assistant.language import Language

_CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7}
_CN_DIGITS |= {"八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
_NUMBER = r"(\d+(?:\.\d+)?|[零一二两三四五六七八九十百千万]+)"
# A number is a budget only next to a limit or money word: "SPF50" or "0.5%" are not budgets.
_BUDGET = re.compile(
    rf"(?:预算|不超过|不要超过|别超过|控制在|最多|under|below|less than|within|budget(?: of| is)?|"
    rf"max(?:imum)?|up to|no more than)\s*(?:是|在|为|:|：)?\s*(?:¥|￥|rmb|cny|\$)?\s*{_NUMBER}"
    rf"|(?:¥|￥)\s*{_NUMBER}"
    rf"|{_NUMBER}\s*(?:块钱|块|元|rmb|cny|yuan)?\s*(?:以内|以下|之内|内|左右|上下|封顶)",
    re.I,
)
_CHEAPER = re.compile(
    r"便宜|实惠|平价|划算|性价比|省钱|太贵|有点贵|贵了|预算(?:有限|不多|少)|学生党|"
    r"cheaper|less expensive|more affordable|affordable|too expensive|too pricey|lower price|"
    r"\bcheap\b|save money",
    re.I,
)
_FRAGRANCE_FREE = re.compile(
    r"无香|不含香|没有香|没香|不要香|不带香|去掉香|"
    r"fragrance[- ]?free|no fragrance|without fragrance|unscented|no perfume|perfume[- ]free|"
    r"scent[- ]?free|no scent",
    re.I,
)
_ALCOHOL_FREE = re.compile(
    r"无酒精|不含酒精|没有酒精|没酒精|不要酒精|不带酒精|去掉酒精|"
    r"alcohol[- ]?free|no alcohol|without alcohol",
    re.I,
)
_NIGHT = re.compile(r"晚上|晚间|夜间|夜里|睡前|晚霜|night|evening|bedtime|\bpm\b", re.I)
_MORNING = re.compile(r"早上|早晨|早间|白天|日间|上午|morning|daytime|\bam\b", re.I)
_BOTH = re.compile(
    r"早晚|全套|完整|整套|一整天|morning and (?:night|evening)|full routine|"
    r"whole routine|day and night",
    re.I,
)


@dataclass(frozen=True)
class Refinement:
    """What a follow-up asks to change; all empty means it was not understood."""

    cheaper: bool = False
    budget: float | None = None
    fragrance_free: bool = False
    alcohol_free: bool = False
    times: tuple[str, ...] | None = None

    @property
    def empty(self) -> bool:
        return self == Refinement()

    def apply(self, request: RoutineRequest, previous_total: float) -> RoutineRequest:
        """``request`` refined: a named budget is kept to (steps may go); "cheaper" only swaps
        to cheaper products, keeping every step; preferences and times are remembered."""
        changes: dict[str, Any] = {}
        if self.budget is not None:
            changes |= {"budget": self.budget, "strict_budget": True}
        elif self.cheaper:
            changes |= {"budget": max(previous_total - 1, 0.0), "strict_budget": False}
        if self.fragrance_free:
            changes["fragrance_free"] = True
        if self.alcohol_free:
            changes["alcohol_free"] = True
        if self.times is not None:
            changes["times"] = self.times
        return replace(request, **changes)


def _chinese_number(text: str) -> float | None:
    """ "三百" → 300, "两百五" → 250, "一千二" → 1200; None when it is not a number."""
    total, current, last_unit = 0, 0, 1
    for char in text:
        if char in _CN_DIGITS:
            current = _CN_DIGITS[char]
        elif char in _CN_UNITS:
            unit = _CN_UNITS[char]
            total += (current or 1) * unit
            current, last_unit = 0, unit
        else:
            return None
    if current:
        # A trailing digit after a unit is the next place down: 两百五 = 250.
        total += current * (last_unit // 10 if last_unit >= 100 else 1)
    return float(total) or None


def parse_budget(text: str) -> float | None:
    """A budget the shopper states ("预算300以内", "under 300", "三百块以内"), else None."""
    for match in _BUDGET.finditer(text):
        number = next((g for g in match.groups() if g), None)
        if number is None:
            continue
        value = float(number) if number[0].isdigit() else _chinese_number(number)
        # "预算一般" reads as 一 = 1: no routine costs under ¥10, so such numbers are not budgets.
        if value and value >= 10:
            return value
    return None


def parse_refinement(text: str) -> Refinement:
    """What ``text`` asks to change about the last routine (see :class:`Refinement`)."""
    if _BOTH.search(text) or (_NIGHT.search(text) and _MORNING.search(text)):
        times: tuple[str, ...] | None = TIMES
    elif _NIGHT.search(text):
        times = ("pm",)
    elif _MORNING.search(text):
        times = ("am",)
    else:
        times = None
    return Refinement(
        cheaper=bool(_CHEAPER.search(text)),
        budget=parse_budget(text),
        fragrance_free=bool(_FRAGRANCE_FREE.search(text)),
        alcohol_free=bool(_ALCOHOL_FREE.search(text)),
        times=times,
    )


def describe_changes(
    previous: Mapping[str, Any],
    refinement: Refinement,
    routine: Routine,
    products: Mapping[str, Any],
    language: Language,
) -> str:
    """What the refinement changed: the headline per request, then each step that changed.

    ``previous`` is the ``routine`` slot of the last routine; ``products`` maps ids to records
    (to name products that are no longer chosen).
    """
    old_total = float(previous.get("total") or 0)
    lines = []
    if refinement.budget is not None:
        lines.append(
            routine_text(
                "changed.budget",
                language,
                budget=refinement.budget,
                old=old_total,
                new=routine.total,
            )
        )
    elif refinement.cheaper:
        key = "changed.cheaper" if routine.total < old_total else "changed.not_cheaper"
        lines.append(routine_text(key, language, old=old_total, new=routine.total, total=old_total))
    steps = _step_changes(previous.get("chosen") or {}, routine, products, language)
    if refinement.fragrance_free or refinement.alcohol_free:
        if steps:
            lines += [
                routine_text(f"changed.{flag}", language)
                for flag in ("fragrance_free", "alcohol_free")
                if getattr(refinement, flag)
            ]
        elif not (refinement.cheaper or refinement.budget):
            lines.append(routine_text("changed.nothing", language))
    if refinement.times is not None:
        names = [routine_text(f"time_name.{t}", language) for t in refinement.times]
        lines.append(routine_text("changed.times", language, times=joined(names, language)))
    return "\n".join(lines + steps)


def _step_changes(
    chosen: Mapping[str, Mapping[str, str]],
    routine: Routine,
    products: Mapping[str, Any],
    language: Language,
) -> list[str]:
    """One line per step whose product changed or went, at the times shown now."""
    lines = []
    for time in routine.request.times:
        for step in STEPS[time]:
            old_id = (chosen.get(time) or {}).get(step)
            if not old_id:
                continue
            old = products.get(old_id)
            old_name = product_name(old, language) if old is not None else old_id
            when = routine_text(f"time_name.{time}", language)
            what = routine_text(f"step.{step}", language)
            new = routine.slots.get((time, step))
            if new is None:
                lines.append(
                    routine_text(
                        "changed.step_removed", language, time=when, step=what, old=old_name
                    )
                )
            elif str(rfield(new, "id")) != old_id:
                lines.append(
                    routine_text(
                        "changed.step",
                        language,
                        time=when,
                        step=what,
                        old=old_name,
                        new=product_name(new, language),
                    )
                )
    return lines
