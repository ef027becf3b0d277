"""Follow-ups to a routine, as shoppers write them in Chinese and English."""

from __future__ import annotations

import pytest

from assistant.advisor.consultation import SkinProfile
from assistant.advisor.refinement import Refinement, parse_budget, parse_refinement
from assistant.advisor.routine import RoutineRequest


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("有便宜一点的吗", Refinement(cheaper=True)),
        ("太贵了", Refinement(cheaper=True)),
        ("cheaper?", Refinement(cheaper=True)),
        ("anything more affordable", Refinement(cheaper=True)),
        ("预算200以内", Refinement(budget=200)),
        ("三百块以内吧", Refinement(budget=300)),
        ("两百五左右", Refinement(budget=250)),
        ("under 300", Refinement(budget=300)),
        ("budget of ¥450 please", Refinement(budget=450)),
        ("有点贵,¥250以内有吗", Refinement(cheaper=True, budget=250)),
        ("换成无香的", Refinement(fragrance_free=True)),
        ("不要香精", Refinement(fragrance_free=True)),
        ("no fragrance please", Refinement(fragrance_free=True)),
        ("fragrance-free ones?", Refinement(fragrance_free=True)),
        ("要无酒精的", Refinement(alcohol_free=True)),
        ("alcohol free?", Refinement(alcohol_free=True)),
        ("晚上用什么", Refinement(times=("pm",))),
        ("what about for night?", Refinement(times=("pm",))),
        ("早上呢", Refinement(times=("am",))),
        ("morning only", Refinement(times=("am",))),
        ("早晚都要", Refinement(times=("am", "pm"))),
        (
            "晚上的有没有便宜点的无香款",
            Refinement(cheaper=True, fragrance_free=True, times=("pm",)),
        ),
    ],
)
def test_follow_ups_are_understood(text: str, expected: Refinement) -> None:
    assert parse_refinement(text) == expected


@pytest.mark.parametrize(
    "text", ["谢谢", "ok thanks", "SPF50 的那个", "含0.5%水杨酸吗", "预算一般"]
)
def test_other_messages_change_nothing(text: str) -> None:
    assert parse_refinement(text).empty


@pytest.mark.parametrize(
    ("text", "budget"),
    [
        ("油皮, 预算300以内", 300),
        ("budget is 500", 500),
        ("不超过 400 元", 400),
        ("一千以内", 1000),
        ("油皮长痘", None),
        ("我买过一个 SPF50 的防晒", None),
    ],
)
def test_budget_at_consultation_time(text: str, budget: float | None) -> None:
    assert parse_budget(text) == budget


def test_cheaper_keeps_every_step_but_a_named_budget_may_cost_steps() -> None:
    request = RoutineRequest(SkinProfile("oily", ("acne",), False, False), times=("pm",))
    cheaper = Refinement(cheaper=True).apply(request, previous_total=500)
    assert cheaper.budget == 499 and not cheaper.strict_budget
    assert cheaper.times == ("pm",)  # the shopper was looking at the night routine
    named = Refinement(budget=200, fragrance_free=True).apply(cheaper, previous_total=499)
    assert named.budget == 200 and named.strict_budget and named.fragrance_free
