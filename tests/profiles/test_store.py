"""The profile store: nothing kept without consent; what a shopper told is there next time."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from assistant.profiles.consent import CONSENT_VERSION, Consent, ConsentRequired
from assistant.profiles.identity import NotAPerson, person_of
from assistant.profiles.store import ProfileStore, ShopperProfile

WHEN = datetime(2025, 11, 18, 2, 0, tzinfo=timezone.utc)
OILY = ShopperProfile(
    skin_type="oily",
    concerns=("acne",),
    sensitive=False,
    allergies=("fragrance",),
    pregnant_or_nursing=False,
    language="zh",
)


def consent(version: str = CONSENT_VERSION) -> Consent:
    return Consent(WHEN, version, "web:g1:u1")


def test_the_same_person_across_groups_is_platform_and_user() -> None:
    assert person_of("wecom:group-1:u42") == person_of("wecom:group-2:u42") == "wecom:u42"
    assert person_of("telegram:-1001:u42") != person_of("wecom:group-1:u42")
    with pytest.raises(NotAPerson):
        person_of("nobody")


def test_nothing_is_stored_without_consent(profiles: ProfileStore) -> None:
    with pytest.raises(ConsentRequired):
        profiles.update("web:u1", OILY)
    assert profiles.get("web:u1") is None
    assert profiles.summary("web:u1") is None


def test_a_consented_profile_is_kept_with_its_consent(profiles: ProfileStore) -> None:
    profiles.grant("web:u1", OILY, consent())

    stored = profiles.consented("web:u1")
    assert stored is not None and stored.profile == OILY
    assert stored.consent == consent()
    summary = profiles.summary("web:u1")
    assert summary is not None
    assert summary["skin_type"] == "oily" and summary["allergies"] == ["fragrance"]
    assert summary["consent"]["source_conversation"] == "web:g1:u1"
    assert profiles.get("web:u2") is None  # another shopper has nothing


def test_an_update_changes_what_was_said_and_keeps_allergies(profiles: ProfileStore) -> None:
    profiles.grant("web:u1", OILY, consent())

    drier = ShopperProfile(skin_type="dry", concerns=("dryness",), allergies=("alcohol",))
    assert profiles.update("web:u1", drier) is True
    assert profiles.update("web:u1", drier) is False  # nothing new: nothing to tell the shopper

    stored = profiles.get("web:u1")
    assert stored is not None
    assert stored.profile.skin_type == "dry" and stored.profile.concerns == ("dryness",)
    # An allergy told once stays until the shopper deletes their data.
    assert stored.profile.allergies == ("fragrance", "alcohol")
    assert stored.profile.pregnant_or_nursing is False  # not said again: kept


def test_consent_to_an_older_notice_asks_again(profiles: ProfileStore) -> None:
    profiles.grant("web:u1", OILY, consent(version="2024-01"))

    assert profiles.get("web:u1") is not None
    assert profiles.consented("web:u1") is None
    with pytest.raises(ConsentRequired):
        profiles.update("web:u1", OILY)
