"""campaigns.yml: validated whole, re-read on save, and a bad edit never takes offers away."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from assistant.commerce.campaigns import CampaignsFile, CampaignsFileError, load_campaigns
from assistant.commerce.lifecycle import load_lifecycle_rules
from assistant.commerce.promotions_sql import SqlPromotions
from assistant.config import REPO_ROOT
from tests.promotions.conftest import CAMPAIGNS


def test_the_repositorys_files_agree() -> None:
    campaigns = load_campaigns(REPO_ROOT / "campaigns.yml")
    rules = load_lifecycle_rules(REPO_ROOT / "lifecycle.yml")

    known = {o.campaign_id for o in campaigns.coupons}
    for stage, offers in rules.offers.items():
        assert set(offers.campaigns) <= known, stage
    assert campaigns.referral_reward in known
    assert campaigns.coupons_of("default") and campaigns.deals_of("default")


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (("min_spend: 199", "min_spent: 199"), "coupons.0.min_spent"),
        (("stock: 10\n", "stock: -1\n"), "coupons.0.stock"),
        (("discount: 0.85", "discount: 1.2"), "group_buys.0.discount"),
        (("ends: 2027-02-28", "ends: 2026-10-01"), "coupons.0 (WINTER-20): ends_at"),
        (("reward_campaign: INVITE-30", "reward_campaign: NOPE"), "referral.reward_campaign"),
        (("id: WELCOME-10", "id: WINTER-20"), "coupons.1: id 'WINTER-20' is used twice"),
    ],
)
def test_a_mistake_names_the_entry_and_field(
    tmp_path: Path, change: tuple[str, str], named: str
) -> None:
    path = tmp_path / "campaigns.yml"
    path.write_text(CAMPAIGNS.replace(*change, 1), encoding="utf-8")

    with pytest.raises(CampaignsFileError) as problem:
        load_campaigns(path)

    assert named in str(problem.value)


def test_dates_are_china_days_and_the_end_day_counts_whole(tmp_path: Path) -> None:
    path = tmp_path / "campaigns.yml"
    path.write_text(CAMPAIGNS, encoding="utf-8")

    winter = load_campaigns(path).coupon("WINTER-20")

    assert winter is not None
    assert winter.campaign.starts_at == datetime(2026, 10, 31, 16, 0, tzinfo=timezone.utc)
    assert winter.campaign.ends_at == datetime(2027, 2, 28, 16, 0, tzinfo=timezone.utc)


def test_an_edit_goes_live_and_a_bad_edit_keeps_the_last_good_campaigns(tmp_path: Path) -> None:
    path = tmp_path / "campaigns.yml"
    path.write_text(CAMPAIGNS, encoding="utf-8")
    store = SqlPromotions(f"sqlite:///{tmp_path / 'promo.db'}")
    live = CampaignsFile(path, store.coupons)
    store.coupons.claim("WINTER-20", "wecom:amy", datetime(2026, 11, 26, tzinfo=timezone.utc))

    _save(path, CAMPAIGNS.replace("stock: 10\n", "stock: 25\n", 1))
    raised = live.current
    _save(path, CAMPAIGNS.replace("amount: 20", "amount: twenty", 1))
    after_typo = live.current

    assert raised.coupon("WINTER-20").campaign.total_stock == 25  # type: ignore[union-attr]
    stock = store.coupons.stock("WINTER-20")
    assert stock is not None and (stock.total, stock.issued, stock.remaining) == (25, 1, 24)
    assert after_typo is raised
    assert live.last_error is not None and "coupons.0.amount" in live.last_error
    store.close()


def _save(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    # Editors save more than once a second; make each save visibly newer.
    stamp = path.stat().st_mtime_ns + 1_000_000_000
    os.utime(path, ns=(stamp, stamp))
