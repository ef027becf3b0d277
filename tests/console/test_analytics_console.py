"""The console's "数据 Analytics" tab in headless Chromium: tiles, SVG charts, the per-group table
and the CSV download, over traffic recorded into the real app's database."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from assistant.admin.analytics_api import store_for
from assistant.messages import IncomingMessage, OutgoingReply
from tests.admin.support import VIEWER_TOKEN, AdminStack
from tests.browser import Page, image_stats
from tests.console.conftest import LiveApp
from tests.console.test_console import shoot

# Messages per day over the last five days (oldest first) and how many were not answered.
TRAFFIC = [(2, 0), (5, 1), (0, 0), (8, 4), (3, 0)]


@pytest.fixture(scope="module")
def group(stack: AdminStack) -> str:
    """A group of its own with five days of traffic, a recommendation and a click."""
    store = store_for(stack.settings)
    chat = f"analytics-{uuid.uuid4().hex[:6]}"
    today = store.today()  # in the brand's time zone, as the report counts days
    for days_ago, (messages, unanswered) in zip(range(4, -1, -1), TRAFFIC, strict=True):
        noon = datetime.combine(today - timedelta(days=days_ago), time(12), store.zone)
        for n in range(messages):
            message = IncomingMessage(
                platform="wecom",
                chat_id=chat,
                chat_type="group",
                sender_id=f"shopper-{n % 3}",
                sender_name=f"顾客{n % 3}",
                text=f"@澜屿小助手 {'孕妇能用吗' if n % 2 else '油皮推荐什么洗面奶'}",
                message_id=uuid.uuid4().hex,
                received_at=noon - timedelta(minutes=n),
            )
            custom: dict[str, object] = {"known": n >= unanswered}
            if n == 0 and days_ago == 0:
                custom["recommended"] = ["LY-CL-001"]
            reply = OutgoingReply(
                "wecom", chat, message.sender_id, message.sender_name, "…", custom=custom
            )
            store.record_turn(message, message.text.split(" ", 1)[1], [reply], True)
    store.record_click(store.make_link(f"wecom:{chat}:shopper-0", "LY-CL-001"))
    return f"wecom:{chat}"


def open_analytics(page: Page, app: LiveApp, group: str) -> None:
    page.goto(f"{app.url}/console")
    page.fill("#token", VIEWER_TOKEN)  # viewers may read the figures
    page.click("#login-button")
    page.wait_for_selector("#app:not([hidden])")
    page.click(".tabs button[data-tab=analytics]")
    page.wait_for_selector("#chart-messages svg .bar", state="attached")
    page.wait_for_selector(f"#analytics-group option[value='{group}']", state="attached")
    page.select_option("#analytics-group", group)
    expect(page.locator("#analytics-groups tbody tr")).to_have_count(1)
    expect(page.locator("#analytics-groups tbody tr").first).to_contain_text(group)


def test_the_analytics_tab_shows_tiles_charts_and_groups(
    page: Page, live_app: LiveApp, group: str, screenshots: Path
) -> None:
    open_analytics(page, live_app, group)
    tiles = page.locator("#analytics-tiles .tile")
    expect(tiles).to_have_count(6)
    expect(tiles.nth(0)).to_contain_text("18")  # 2+5+0+8+3 messages
    expect(tiles.nth(1)).to_contain_text("27.8%")  # 5 of 18 unanswered
    expect(tiles.nth(5)).to_contain_text("100.0%")  # 1 click on 1 recommendation

    # 14 days by default, one bar each; the busiest day's bar is the tallest.
    bars = page.locator("#chart-messages svg .bar")
    expect(bars).to_have_count(14)
    heights = page.eval_on_selector_all(
        "#chart-messages svg .bar",
        "gs => gs.map(g => Array.from(g.querySelectorAll('rect'))"
        ".reduce((s, r) => s + Number(r.getAttribute('height')), 0))",
    )
    busiest = heights.index(max(heights))
    assert busiest == len(heights) - 2, heights  # 8 messages, the day before today
    assert heights[-3] == 0 and heights[-1] > 0
    # The rate line skips the day without messages and peaks at 50 % (4 of 8).
    dots = page.locator("#chart-unanswered svg .rate-dot")
    expect(dots).to_have_count(4)
    assert "50.0%" in page.inner_html("#chart-unanswered")

    row = page.locator("#analytics-groups tbody tr").first
    expect(row).to_contain_text("27.8%")
    expect(page.locator("#analytics-questions tbody tr").first).to_contain_text("油皮推荐")

    path = shoot(page, screenshots, "analytics", chinese_in="#tab-analytics .card h3")
    chart = page.locator("#chart-messages").screenshot()
    stats = image_stats(page, chart)
    assert stats["colours"] > 5 and stats["variance"] > 50, f"the chart looks empty: {stats}"
    assert path.exists()


def test_the_csv_export_downloads_from_the_console(
    page: Page, live_app: LiveApp, group: str, tmp_path: Path
) -> None:
    open_analytics(page, live_app, group)
    with page.expect_download() as waiting:
        page.click("#analytics-csv")
    download = waiting.value
    assert download.suggested_filename.startswith("analytics-daily-")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    raw = saved.read_bytes()
    assert raw.startswith("\ufeff".encode())
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("日期 date,群 group,消息数 messages")
    assert sum(1 for line in lines if f",{group}," in line) == 4  # four days with messages
    assert lines[-1].split(",")[2] == "18"  # the total row


def test_a_bad_date_range_is_explained_not_broken(
    page: Page, live_app: LiveApp, group: str
) -> None:
    open_analytics(page, live_app, group)
    page.fill("#analytics-from", "2025-12-31")
    page.fill("#analytics-to", "2025-01-01")
    page.click("#analytics-form button[type=submit]")
    expect(page.locator("#toast")).to_contain_text("无法加载数据")
    expect(page.locator("#toast")).to_contain_text("after")
    # What was shown stays on screen.
    expect(page.locator("#analytics-groups tbody tr").first).to_contain_text(group)
