"""Everything the promotions say, and the campaign titles staff wrote, pass the compliance guard."""

from __future__ import annotations

import pytest

from assistant.commerce.campaigns import load_campaigns
from assistant.commerce.lifecycle import load_lifecycle_rules
from assistant.commerce.promotion_texts import known_outcomes, promotion_text
from assistant.compliance.guard import check_text
from assistant.config import REPO_ROOT

SAMPLE = {
    "title": "冬日焕新券",
    "starts": "3月1日 10:00",
    "codes": "7K3M9Q2P",
    "code": "7K3M9Q2P",
    "amount": "20",
    "min_spend": "199",
    "expires": "2月28日 23:59",
    "order_id": "DD202611260001",
    "seats_left": 1,
    "product": "积雪草舒缓面膜",
    "id": "MY0QCK5M",
    "size": 3,
    "price": "101.15",
    "joined": 2,
    "deadline": "11月27日 12:00",
    "names": "积雪草舒缓面膜、维C焕亮精华液",
    "example": "积雪草舒缓面膜",
    "reward": "「邀请有礼 满99减30」",
    "titles": "「新朋友专享 满99减20」",
}


@pytest.mark.parametrize("key", sorted(known_outcomes()))
def test_promotion_texts_pass_the_guard_in_both_languages(key: str) -> None:
    for language in ("zh", "en"):
        sentence = promotion_text(key, language, **SAMPLE)
        assert check_text(sentence) == [], (key, language)


def test_campaign_titles_pass_the_guard() -> None:
    campaigns = load_campaigns(REPO_ROOT / "campaigns.yml")
    for offer in campaigns.coupons:
        for language in ("zh", "en"):
            assert check_text(offer.campaign.title(language)) == [], offer.campaign_id


def test_lifecycle_messages_have_texts() -> None:
    rules = load_lifecycle_rules(REPO_ROOT / "lifecycle.yml")
    for offers in rules.offers.values():
        for key in offers.messages:
            assert promotion_text(key, "zh") and promotion_text(key, "en")
