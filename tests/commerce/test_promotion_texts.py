"""Every promotion outcome has a reply in Chinese and English, free of absolute claims."""

from __future__ import annotations

import re
from enum import Enum

import pytest

from assistant.commerce.coupons import ClaimRefusal, RedeemStatus
from assistant.commerce.groupbuys import JoinStatus
from assistant.commerce.promotion_texts import known_outcomes, promotion_text
from assistant.commerce.referrals import BindStatus

_OUTCOMES: list[Enum] = [*ClaimRefusal, *RedeemStatus, *JoinStatus, *BindStatus]
_VALUES = {
    "title": "双11满199减30",
    "starts": "2025-11-20 10:00",
    "codes": "7K3M9Q2P",
    "code": "7K3M9Q2P",
    "amount": "30",
    "min_spend": "199",
    "expires": "2025-11-25",
    "order_id": "DD202511180001",
    "seats_left": 1,
}


@pytest.mark.parametrize("outcome", _OUTCOMES, ids=lambda o: f"{type(o).__name__}.{o.name}")
@pytest.mark.parametrize("language", ["zh", "en"])
def test_outcome_has_a_reply_in_both_languages(outcome: Enum, language: str) -> None:
    text = promotion_text(outcome, language, **_VALUES)  # type: ignore[arg-type]

    assert text.strip()
    assert "{" not in text
    # Advertising Law: no absolute superlatives in anything the assistant says.
    assert not re.search(r"最|第一|国家级", text)
    if language == "en":
        assert not re.search(r"[\u4e00-\u9fff]", text.replace(_VALUES["title"], ""))


def test_claim_reply_tells_the_code_amount_and_expiry() -> None:
    text = promotion_text("claimed", "en", **_VALUES)

    assert "7K3M9Q2P" in text and "CNY 30" in text and "2025-11-25" in text
    assert known_outcomes() >= {o.value for o in _OUTCOMES} | {"claimed"}
