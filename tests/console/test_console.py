"""The staff console in a real browser: what brand staff see and click, checked end to end.

Every screenshot is checked, not just taken: it must not be blank, and Chinese must render as
glyphs (a CJK font is installed), not as the boxes a missing font gives.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.admin.support import (
    BRAND_B,
    EDITOR_NAME,
    EDITOR_TOKEN,
    VIEWER_TOKEN,
    AdminStack,
    editor,
)
from tests.browser import Page, assert_chinese_renders, image_stats
from tests.console.conftest import LiveApp


def shoot(page: Page, folder: Path, name: str, chinese_in: str = "header h1") -> Path:
    """Screenshot the page into ``folder``; fail if it is blank or Chinese shows as boxes."""
    assert_chinese_renders(page, chinese_in)
    path = folder / f"console-{name}.png"
    png = page.screenshot(path=str(path), full_page=False)
    stats = image_stats(page, png)
    assert stats["width"] >= 1000 and stats["height"] >= 600, stats
    assert stats["variance"] > 100 and stats["colours"] > 20, f"{name} looks blank: {stats}"
    return path


# ------------------------------------------------------------------ page helpers


def open_console(page: Page, app: LiveApp, token: str = EDITOR_TOKEN) -> None:
    page.goto(f"{app.url}/console")
    page.fill("#token", token)
    page.click("#login-button")
    page.wait_for_selector("#app:not([hidden])")
    page.wait_for_selector("#tab-products tbody tr.clickable")


def api(app: LiveApp, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, f"{app.url}{path}", headers=editor(), timeout=60, **kwargs)


def row(page: Page, section: str, record_id: str) -> Any:
    return page.locator(f"{section} tbody tr[data-id='{record_id}']")


# ------------------------------------------------------------------ tests


def test_a_wrong_token_is_refused_clearly_and_the_right_one_logs_in(
    page: Page, live_app: LiveApp, screenshots: Path
) -> None:
    page.goto(f"{live_app.url}/console")
    page.fill("#token", "this-is-not-a-valid-token")
    page.click("#login-button")
    error = page.locator("#login-error")
    expect(error).to_contain_text("令牌无效")
    assert "令牌无效" in error.inner_text() and "Invalid token" in error.inner_text()
    assert page.locator("#app").is_hidden()
    shoot(page, screenshots, "login", chinese_in="#login-error")

    page.fill("#token", EDITOR_TOKEN)
    page.click("#login-button")
    page.wait_for_selector("#app:not([hidden])")
    assert EDITOR_NAME in page.inner_text("#who")
    assert page.evaluate("sessionStorage.getItem('siyu-admin-token')") == EDITOR_TOKEN
    page.reload()  # the token is kept for the browser tab's session
    page.wait_for_selector("#app:not([hidden])")
    page.click("#logout")
    assert page.locator("#login").is_visible()
    assert page.evaluate("sessionStorage.getItem('siyu-admin-token')") is None


def test_searching_a_product_and_changing_its_price_is_saved(
    page: Page, live_app: LiveApp, screenshots: Path
) -> None:
    original = api(live_app, "GET", "/api/admin/kbs/default/records/LY-CL-001").json()
    open_console(page, live_app)
    page.fill("#tab-products input[name=q]", "洗面奶")
    page.click("#tab-products button[type=submit]")
    expect(page.locator("#tab-products .count")).to_contain_text("找到")
    ids = page.locator("#tab-products tbody tr.clickable").evaluate_all(
        "rows => rows.map(r => r.dataset.id)"
    )
    assert ids[:3] and all(i.startswith("LY-CL-") for i in ids[:3]), ids
    assert "洁面" in page.locator("#tab-products tbody tr.clickable").first.inner_text()

    row(page, "#tab-products", "LY-CL-001").click()
    form = page.locator("#tab-products .record-form")
    form.wait_for()
    price = form.locator("[data-field=price] input")
    assert float(price.input_value()) == original["record"]["price"]
    try:
        price.fill("95.5")
        form.locator("button.save").click()
        page.wait_for_selector("#toast:has-text('已保存')")
        saved = api(live_app, "GET", "/api/admin/kbs/default/records/LY-CL-001").json()
        assert saved["record"]["price"] == 95.5
        assert (saved["source"], saved["updated_by"]) == ("console", EDITOR_NAME)
        # Nothing else of the record was lost by the form.
        for field in ("key_actives", "ingredients", "skin_types", "usage_en", "fragrance_free"):
            assert saved["record"][field] == original["record"][field], field
        row_text = row(page, "#tab-products", "LY-CL-001").inner_text()
        assert "95.50" in row_text
        page.locator("#tab-products .editor").evaluate("node => { node.scrollTop = 0; }")
        shoot(page, screenshots, "products")
    finally:
        api(
            live_app,
            "PATCH",
            "/api/admin/kbs/default/records/LY-CL-001",
            json={"price": original["record"]["price"]},
        )


def test_an_faq_is_added_with_errors_shown_at_the_field_then_deleted(
    page: Page, live_app: LiveApp, screenshots: Path
) -> None:
    open_console(page, live_app)
    page.click(".tabs button[data-tab=faqs]")
    page.wait_for_selector("#tab-faqs tbody tr.clickable")
    page.click("#tab-faqs .add-record")
    form = page.locator("#tab-faqs .record-form")
    fid = f"FAQ-UI-{uuid.uuid4().hex[:6].upper()}"
    form.locator("[data-field=id] input").fill(fid)
    form.locator("[data-field=category] input").fill("Gift Cards!")
    form.locator("[data-field=question_zh] textarea").fill("礼品卡可以在门店用吗?")
    form.locator("button.save").click()

    # The API's problems appear next to their fields; what was typed is still there.
    form.locator(".field.invalid").first.wait_for()
    invalid = form.locator(".field.invalid").evaluate_all("fs => fs.map(f => f.dataset.field)")
    assert {"category", "answer_en"} <= set(invalid), invalid
    assert "answer_zh" in form.locator("[data-field=answer_en] .field-error").inner_text()
    assert (
        form.locator("[data-field=question_zh] textarea").input_value() == "礼品卡可以在门店用吗?"
    )
    assert "未保存" in form.locator(".form-errors").inner_text()
    assert api(live_app, "GET", f"/api/admin/kbs/default/records/{fid}").status_code == 404
    shoot(page, screenshots, "faq-errors")

    form.locator("[data-field=category] input").fill("gift_cards")
    form.locator("[data-field=answer_zh] textarea").fill("可以，全国门店通用。")
    form.locator("[data-field=answer_en] textarea").fill("Yes, in every store.")
    form.locator("button.save").click()
    page.wait_for_selector("#toast:has-text('已保存')")
    saved = api(live_app, "GET", f"/api/admin/kbs/default/records/{fid}")
    assert saved.status_code == 200
    assert saved.json()["record"]["answer_en"] == "Yes, in every store."
    assert saved.json()["source"] == "console"

    form = page.locator("#tab-faqs .record-form")
    delete = form.locator("button.delete")
    delete.click()
    assert "确认" in delete.inner_text()  # a second click confirms
    delete.click()
    page.wait_for_selector("#toast:has-text('已删除')")
    assert api(live_app, "GET", f"/api/admin/kbs/default/records/{fid}").status_code == 404


def test_a_viewer_sees_everything_read_only(page: Page, live_app: LiveApp) -> None:
    open_console(page, live_app, VIEWER_TOKEN)
    assert "只读" in page.inner_text("#who")
    assert page.locator("#tab-products .add-record").is_hidden()
    row(page, "#tab-products", "LY-CL-001").click()
    form = page.locator("#tab-products .record-form")
    form.wait_for()
    assert form.locator("[data-field=price] input").is_disabled()
    assert form.locator("button.save").is_hidden()
    assert form.locator("button.delete").is_hidden()
    page.click(".tabs button[data-tab=sync]")
    page.wait_for_selector("#sync-status h3")
    assert page.locator("#sync-now").is_hidden()
    assert page.locator("#upload-form").is_hidden()


def test_the_sync_page_shows_the_errors_of_a_bad_file(
    page: Page, live_app: LiveApp, stack: AdminStack, screenshots: Path
) -> None:
    broken = stack.write_brand_b(
        "broken-products.yaml",
        "product",
        [
            {"id": "BB-OK-9", "name_zh": "好商品", "category": "toner", "price": 10},
            {"id": "BB-BAD-9", "name_zh": "坏商品", "category": "cleanser", "price": "很便宜"},
        ],
    )
    try:
        open_console(page, live_app)
        page.select_option("#kb", BRAND_B)
        page.click(".tabs button[data-tab=sync]")
        page.click("#sync-now")
        page.wait_for_selector(".sync-errors tbody tr")
        cells = page.locator(".sync-errors tbody tr").first.locator("td").all_inner_texts()
        file, line, record_id, field, message = cells
        assert file.endswith("broken-products.yaml")
        assert int(line) > 1 and record_id == "BB-BAD-9" and field == "price"
        assert message
        assert page.locator("#sync-status .pill.bad").is_visible()
        assert page.locator("#sync-flag").is_visible()
        # Nothing of the bad file was written.
        missing = api(live_app, "GET", f"/api/admin/kbs/{BRAND_B}/records/BB-OK-9")
        assert missing.status_code == 404
        shoot(page, screenshots, "sync")
    finally:
        broken.unlink()
        api(live_app, "POST", f"/api/admin/kbs/{BRAND_B}/sync")


def test_an_unanswered_question_becomes_an_faq_in_two_clicks(
    page: Page, live_app: LiveApp, stack: AdminStack, screenshots: Path
) -> None:
    services = stack.services
    conversation = "web:demo-group:u-lin"
    text = "你们能把货寄到南极的科考站吗?"
    assert not services.advisor_for(conversation).answer(text, "zh").known
    best = services.library.search("default", text, 1)[0]
    qid = services.unanswered.record(
        "default", conversation, text, "zh", "low_score", best.similarity, best.id
    )

    open_console(page, live_app)
    page.click(".tabs button[data-tab=unanswered]")
    question = page.locator(f"#unanswered-list tbody tr[data-id='{qid}']")
    question.wait_for()
    assert text in question.inner_text()

    question.locator("button.make-faq").click()  # click 1
    form = page.locator("#unanswered-editor .record-form")
    form.wait_for()
    assert form.locator("[data-field=question_zh] textarea").input_value() == text
    draft = form.locator("[data-field=answer_zh] textarea").input_value()
    assert draft, "the answer box is prefilled with the closest record's text as a draft"
    assert form.locator("[data-field=category] input").input_value()
    assert "请核对" in page.inner_text("#unanswered-editor .note")
    shoot(page, screenshots, "unanswered")

    started = time.monotonic()
    form.locator("button.save").click()  # click 2
    page.wait_for_selector("#toast:has-text('已创建问答')")
    saved_after = time.monotonic() - started
    answer = services.advisor_for(conversation).answer(text, "zh")
    answered_after = time.monotonic() - started

    resolved = api(live_app, "GET", f"/api/admin/unanswered/{qid}").json()
    assert resolved["status"] == "resolved" and resolved["closed_by"] == EDITOR_NAME
    faq = api(live_app, "GET", f"/api/admin/kbs/default/records/{resolved['faq_id']}").json()
    assert faq["record"]["question_zh"] == text and faq["source"] == "console"
    assert faq["record"]["answer_zh"] == draft
    page.wait_for_selector(f"#unanswered-list tbody tr[data-id='{qid}']", state="detached")
    try:
        assert answer.known and draft.strip()[:20] in answer.text
        assert saved_after < 2.0, f"saving took {saved_after:.2f}s"
        assert answered_after < 2.0, (
            f"the assistant answered {answered_after:.2f}s after the click on save "
            f"(the FAQ was saved after {saved_after:.2f}s; the rest is the advisor's "
            "QuestionMatcher re-embedding every FAQ question after a change)"
        )
    finally:
        api(live_app, "DELETE", f"/api/admin/kbs/default/records/{resolved['faq_id']}")
