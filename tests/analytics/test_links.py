"""Tracked links as an action would add them under a recommendation reply."""

from __future__ import annotations

from pathlib import Path

from assistant.analytics.links import links_text, tracked_links
from assistant.analytics.store import open_store
from assistant.config import AnalyticsSettings, Settings


def test_links_are_off_until_configured_then_short_and_counted(tmp_path: Path) -> None:
    plain = Settings(data_dir=tmp_path)
    assert tracked_links(plain, "wecom:g1:u1", ["LY-CL-001"]) == {}

    settings = Settings(
        data_dir=tmp_path, analytics=AnalyticsSettings(link_base="https://a.example.com")
    )
    links = tracked_links(settings, "wecom:g1:u1", ["LY-CL-001", "LY-SE-001", ""])
    assert list(links) == ["LY-CL-001", "LY-SE-001"]
    assert len(set(links.values())) == 2
    token = links["LY-CL-001"].rsplit("/", 1)[1]
    store = open_store(settings.commerce_url, settings.analytics.timezone)
    clicked = store.record_click(token)
    assert clicked is not None and clicked.product_id == "LY-CL-001" and clicked.clicks == 1

    names = {"LY-CL-001": "氨基酸洁面", "LY-SE-001": "修护精华"}
    zh = links_text(links, names, "zh").splitlines()
    assert zh[0] == f"· 氨基酸洁面 详情:{links['LY-CL-001']}"
    assert links_text(links, {}, "en").splitlines()[1] == f"· LY-SE-001: {links['LY-SE-001']}"
    assert links_text({}, names, "zh") == ""
