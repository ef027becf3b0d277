"""Routines built from the real catalogue under the shipped ingredient rules: complete, safe for
the shopper's conditions, within budget, and honest about what was left out and why."""

from __future__ import annotations

import itertools

import pytest

from assistant.advisor.consultation import SkinProfile
from assistant.advisor.ingredient_rules import load_ingredient_rules
from assistant.advisor.routine import STEPS, RoutineRequest, build_routine
from assistant.config import REPO_ROOT
from assistant.knowledge.loader import load_records
from tests import catalogue

RULES = load_ingredient_rules(REPO_ROOT / "ingredient_rules.yml")
PRODUCTS = catalogue.products()
ROSE = [r for r in load_records(REPO_ROOT / "tests" / "data" / "knowledge-rose")]

PROFILES = [
    SkinProfile("oily", ("acne",), sensitive=False, pregnant_or_nursing=False),
    SkinProfile("oily", ("acne", "pores"), sensitive=True, pregnant_or_nursing=False),
    SkinProfile("dry", ("aging",), sensitive=False, pregnant_or_nursing=True),
    SkinProfile("combination", ("aging", "pores"), sensitive=False, pregnant_or_nursing=False),
    SkinProfile(
        "combination", ("dullness", "pigmentation"), sensitive=True, pregnant_or_nursing=False
    ),
    SkinProfile("sensitive", ("redness",), sensitive=True, pregnant_or_nursing=True),
    SkinProfile("normal", ("general",), sensitive=False, pregnant_or_nursing=False),
]


def _build(profile: SkinProfile, **request: object):  # noqa: ANN202 - Routine
    return build_routine(PRODUCTS, RULES, RoutineRequest(profile, **request))  # type: ignore[arg-type]


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: f"{p.skin_type}-{'+'.join(p.concerns)}")
def test_every_step_morning_and_night_with_products_that_suit(profile: SkinProfile) -> None:
    routine = _build(profile)
    for time, steps in STEPS.items():
        for step in steps:
            if step == "treat" and (time, step) in routine.missing:
                continue  # a treatment only when one targets the shopper's concern
            product = routine.slots[(time, step)]
            assert product.stock is None or product.stock > 0
            assert not product.time_of_day or time in product.time_of_day, product.id
            assert profile.skin_type in product.skin_types, product.id
            assert not profile.avoided() & set(product.contraindications), product.id
    assert ("am", "protect") in routine.slots  # sunscreen every morning


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: f"{p.skin_type}-{'+'.join(p.concerns)}")
def test_no_conflicting_pair_in_one_routine(profile: SkinProfile) -> None:
    routine = _build(profile)
    for time in STEPS:
        chosen = {p.id: p for (t, _), p in routine.slots.items() if t == time}
        for a, b in itertools.combinations(chosen.values(), 2):
            assert RULES.conflict(RULES.contains(a), RULES.contains(b)) is None, (time, a.id, b.id)


def test_a_conflicting_product_is_moved_out_and_the_shopper_is_told_why() -> None:
    # Combination skin with fine lines and pores: a retinol serum at night, so the salicylic
    # acid cleanser that fits pores best stays a morning product.
    profile = SkinProfile("combination", ("aging", "pores"), False, False)
    routine = _build(profile)
    night = [p for (t, _), p in routine.slots.items() if t == "pm"]
    assert any("retinoids" in RULES.contains(p) for p in night)
    assert not any({"aha", "bha"} & set(RULES.contains(p)) for p in night)
    text = routine.render("zh")
    assert "晚上没有用" in text and "维A类和果酸" in text


def test_pregnant_shopper_gets_no_retinoid_and_hears_what_was_left_out() -> None:
    profile = SkinProfile("dry", ("aging",), sensitive=False, pregnant_or_nursing=True)
    routine = _build(profile)
    assert not any("retinoids" in RULES.contains(p) for p in routine.products)
    left_out = [e.product for e in routine.excluded]
    assert left_out and all("retinoids" in RULES.contains(p) for p in left_out)
    text = routine.render("zh")
    recommended, note = text.split("已避开", 1)
    assert "孕期和哺乳期不建议使用维A类成分" in note
    assert all(p.name_zh in note for p in left_out)
    assert not any(p.name_zh in recommended for p in left_out)


def test_sensitive_shopper_gets_nothing_fragranced_or_with_drying_alcohol() -> None:
    profile = SkinProfile("oily", ("acne",), sensitive=True, pregnant_or_nursing=False)
    routine = _build(profile)
    for product in routine.products:
        assert product.fragrance_free is not False, product.id
        assert not {"fragrance", "essential_oils", "drying_alcohol"} & set(
            RULES.contains(product)
        ), product.id
    assert "drying alcohol can leave sensitive skin" in routine.render("en")
    # Oil-prone normal skin would otherwise get a fragranced cleanser and lotion.
    routine = _build(SkinProfile("normal", ("oiliness",), True, False))
    assert all(p.fragrance_free is not False for p in routine.products)
    left_out = "".join(r for r in routine.render("en").splitlines() if "Left out" in r)
    assert "fragrance and essential oils are common irritants" in left_out
    assert "(contains Parfum)" in left_out


def test_acne_prone_shopper_gets_no_comedogenic_oil() -> None:
    for skin in ("dry", "normal", "combination"):
        routine = _build(SkinProfile(skin, ("acne", "dryness"), False, False))
        assert routine.products
        for product in routine.products:
            assert "comedogenic_oils" not in RULES.contains(product), product.id


def test_each_item_explains_itself_from_its_actives_and_the_answers() -> None:
    profile = SkinProfile("oily", ("acne",), sensitive=False, pregnant_or_nursing=False)
    routine = _build(profile)
    text = routine.render("en")
    for product in routine.products:
        line = next(row for row in text.splitlines() if product.name_en in row and "¥" in row)
        assert "oily skin" in line
        assert any(active.en in line for active in product.key_actives), line
    treat = routine.slots[("am", "treat")]
    assert "acne" in treat.concerns
    assert "breakouts" in next(r for r in text.splitlines() if treat.name_en in r)


def test_a_product_used_morning_and_night_is_paid_for_once() -> None:
    routine = _build(SkinProfile("dry", ("dryness",), False, False))
    assert routine.slots[("am", "cleanse")].id == routine.slots[("pm", "cleanse")].id
    assert routine.total == sum(p.price for p in routine.products)
    assert "和早上同一款" in routine.render("zh")


@pytest.mark.parametrize("budget", [900, 600, 400])
def test_budget_is_respected(budget: int) -> None:
    profile = SkinProfile("dry", ("aging",), sensitive=False, pregnant_or_nursing=False)
    unlimited = _build(profile)
    assert unlimited.total > budget  # the budget really binds
    routine = _build(profile, budget=budget)
    assert 0 < routine.total <= budget
    assert ("am", "protect") in routine.slots
    assert f"¥{budget}" in routine.render("zh")


def test_a_budget_too_small_for_a_full_routine_says_what_was_dropped() -> None:
    profile = SkinProfile("normal", ("general",), sensitive=False, pregnant_or_nursing=False)
    routine = _build(profile, budget=250)
    assert routine.total <= 250 and routine.dropped
    assert ("am", "protect") in routine.slots  # sunscreen is the last to go
    text = routine.render("zh")
    assert "放不下完整流程" in text and "先去掉了" in text


def test_a_budget_below_any_product_says_so_instead_of_an_empty_routine() -> None:
    routine = _build(SkinProfile("oily", ("acne",), False, False), budget=20)
    assert not routine.slots
    assert "¥20" in routine.render("zh") and "不够" in routine.render("zh")


def test_fragrance_free_preference_only_takes_products_that_say_so() -> None:
    profile = SkinProfile("normal", ("oiliness",), sensitive=False, pregnant_or_nursing=False)
    assert any(p.fragrance_free is False for p in _build(profile).products)
    routine = _build(profile, fragrance_free=True)
    assert routine.products and all(p.fragrance_free is True for p in routine.products)


def test_night_only_routine_has_no_morning_steps() -> None:
    routine = _build(SkinProfile("dry", ("aging",), False, False), times=("pm",))
    assert routine.slots and all(t == "pm" for t, _ in routine.slots)
    assert "早上" not in routine.render("zh")


def test_request_survives_the_slot_round_trip() -> None:
    profile = SkinProfile("oily", ("acne", "pores"), True, False)
    request = RoutineRequest(profile, budget=300, fragrance_free=True, times=("am",))
    routine = build_routine(PRODUCTS, RULES, request)
    value = routine.slot_value()
    assert RoutineRequest.from_dict(value) == request
    assert value["product_ids"] == [p.id for p in routine.products]
    assert set(value["chosen"]) == {"am"}


def test_second_brand_without_routine_fields_still_gets_a_routine() -> None:
    # No stock, routine_step, time_of_day or fragrance facts: steps come from categories, and
    # an untracked stock counts as available.
    routine = build_routine(
        ROSE, RULES, RoutineRequest(SkinProfile("dry", ("dryness",), False, False))
    )
    assert {p.id for p in routine.products} >= {"ROSE-001"}
    assert routine.render("zh")
    # Nothing there says it is fragrance-free, so a fragrance-free wish finds nothing, honestly.
    strict = build_routine(
        ROSE,
        RULES,
        RoutineRequest(SkinProfile("dry", ("dryness",), False, False), fragrance_free=True),
    )
    assert not strict.slots
