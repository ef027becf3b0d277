"""Recommendations never go against the shopper's conditions and explain themselves."""

from __future__ import annotations

import pytest

from assistant.advisor.consultation import SkinProfile, recommend
from tests import catalogue


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
    result = recommend(services.knowledge, profile, "zh")
    assert 1 <= len(result.product_ids) <= 3
    avoided = profile.avoided()
    for product_id in result.product_ids:
        product = catalogue.record(product_id)
        assert not avoided & set(product.contraindications), product_id
        assert product.stock > 0


def test_each_recommendation_has_a_reason_from_its_own_data(services) -> None:
    profile = SkinProfile("oily", ("acne",), sensitive=False, pregnant_or_nursing=False)
    result = recommend(services.knowledge, profile, "en")
    for product_id in result.product_ids:
        product = catalogue.record(product_id)
        line = next(row for row in result.text.splitlines() if product.name_en in row)
        assert any(active.en in line for active in product.key_actives), line


def test_pregnant_shopper_is_told_what_was_left_out(services) -> None:
    profile = SkinProfile("dry", ("aging",), sensitive=False, pregnant_or_nursing=True)
    result = recommend(services.knowledge, profile, "zh")
    assert result.excluded_ids
    assert "已避开" in result.text
    for product_id in result.excluded_ids:
        assert {"pregnancy", "breastfeeding"} & set(catalogue.record(product_id).contraindications)
