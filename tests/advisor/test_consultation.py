"""Recommendations from the running knowledge base never go against the shopper's conditions
and explain themselves."""

from __future__ import annotations

import pytest

from assistant.advisor.consultation import SkinProfile
from assistant.advisor.ingredient_rules import rules_at
from assistant.advisor.routine import RoutineRequest, build_routine
from tests import catalogue


def _routine(services, profile: SkinProfile):  # noqa: ANN001, ANN202 - Services, Routine
    rules = rules_at(services.settings.advisor.ingredient_rules)
    products = services.knowledge.records("product")
    return build_routine(products, rules, RoutineRequest(profile))


@pytest.mark.parametrize(
    "profile",
    [
        SkinProfile("oily", ("acne",), sensitive=False, pregnant_or_nursing=True),
        SkinProfile("dry", ("aging",), sensitive=False, pregnant_or_nursing=True),
        SkinProfile(
            "combination", ("dullness", "pigmentation"), sensitive=True, pregnant_or_nursing=False
        ),
        SkinProfile("sensitive", ("redness",), sensitive=True, pregnant_or_nursing=False),
    ],
)
def test_recommendations_respect_contraindications(services, profile: SkinProfile) -> None:
    routine = _routine(services, profile)
    assert 3 <= len(routine.product_ids) <= 7
    avoided = profile.avoided()
    for product_id in routine.product_ids:
        product = catalogue.record(product_id)
        assert not avoided & set(product.contraindications), product_id
        assert product.stock > 0


def test_each_recommendation_has_a_reason_from_its_own_data(services) -> None:
    profile = SkinProfile("oily", ("acne",), sensitive=False, pregnant_or_nursing=False)
    text = _routine(services, profile).render("en")
    for product_id in _routine(services, profile).product_ids:
        product = catalogue.record(product_id)
        line = next(row for row in text.splitlines() if product.name_en in row and "¥" in row)
        assert any(active.en in line for active in product.key_actives), line


def test_pregnant_shopper_is_told_what_was_left_out(services) -> None:
    profile = SkinProfile("dry", ("aging",), sensitive=False, pregnant_or_nursing=True)
    routine = _routine(services, profile)
    assert routine.excluded
    assert "已避开" in routine.render("zh")
    for exclusion in routine.excluded:
        product = catalogue.record(str(exclusion.product.id))
        assert {"pregnancy", "breastfeeding"} & set(product.contraindications)


def test_blackhead_prone_skin_is_treated_as_acne_prone() -> None:
    assert "acne_prone" in SkinProfile("oily", ("blackheads",), False, False).avoided()
    assert "acne_prone" not in SkinProfile("dry", ("dryness",), False, False).avoided()
