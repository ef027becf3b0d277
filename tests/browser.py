"""Headless Chromium for the browser tests (Debian's, through Playwright) and the checks every
screenshot gets: not blank, and Chinese drawn with real glyphs (not missing-font boxes)."""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
DOCS_SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
Page = Any


@contextmanager
def launched_browser() -> Iterator[Any]:
    """Playwright's Chromium is not downloadable here: launch Debian's."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            yield launched
        finally:
            launched.close()


@contextmanager
def opened_page(browser: Any, timeout_ms: int) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 1400, "height": 900}, locale="zh-CN", device_scale_factor=1
    )
    page = context.new_page()
    page.set_default_timeout(timeout_ms)
    try:
        yield page
    finally:
        context.close()


# Module scope: Playwright's sync API keeps an event loop running in this thread while it is
# open, which would break every later test that starts its own loop. Conftests import these
# two fixtures and define ``page_timeout_ms``.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launched_browser() as launched:
        yield launched


@pytest.fixture
def page(browser: Any, page_timeout_ms: int) -> Iterator[Page]:
    with opened_page(browser, page_timeout_ms) as opened:
        yield opened


def kept_screenshots(folder: Path, prefix: str) -> None:
    """SIYU_UPDATE_SCREENSHOTS=1 copies this run's screenshots into docs/; a plain test run
    never edits tracked files."""
    if os.environ.get("SIYU_UPDATE_SCREENSHOTS") != "1":
        return
    taken = sorted(folder.glob(f"{prefix}-*.png"))
    if taken:
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for shot in taken:
            shutil.copyfile(shot, DOCS_SCREENSHOTS / shot.name)


_PIXELS_JS = """
async ([first, second]) => {
  async function pixels(b64) {
    const img = new Image();
    img.src = "data:image/png;base64," + b64;
    await img.decode();
    const canvas = document.createElement("canvas");
    canvas.width = img.width; canvas.height = img.height;
    const ctx = canvas.getContext("2d");
    ctx.drawImage(img, 0, 0);
    const data = ctx.getImageData(0, 0, img.width, img.height).data;
    return { w: img.width, h: img.height, data };
  }
  const a = await pixels(first);
  let sum = 0, sumSq = 0, n = a.w * a.h;
  const colours = new Set();
  for (let i = 0; i < a.data.length; i += 4) {
    const y = 0.299 * a.data[i] + 0.587 * a.data[i + 1] + 0.114 * a.data[i + 2];
    sum += y; sumSq += y * y;
    if (colours.size < 5000) colours.add((a.data[i] << 16) | (a.data[i + 1] << 8) | a.data[i + 2]);
  }
  const mean = sum / n;
  const variance = sumSq / n - mean * mean;
  const result = { width: a.w, height: a.h, variance, colours: colours.size };
  if (second) {
    const b = await pixels(second);
    let differ = 0;
    if (b.w !== a.w || b.h !== a.h) differ = n;
    else for (let i = 0; i < a.data.length; i += 4) {
      const same = a.data[i] === b.data[i] && a.data[i + 1] === b.data[i + 1]
        && a.data[i + 2] === b.data[i + 2];
      if (!same) differ++;
    }
    result.differ = differ;
  }
  return result;
}
"""


def image_stats(page: Page, png: bytes, other: bytes | None = None) -> dict[str, float]:
    """Luminance variance and colour count of ``png`` (and pixels differing from ``other``)."""
    blank = page.context.new_page()
    try:
        encoded = [base64.b64encode(png).decode()]
        encoded.append(base64.b64encode(other).decode() if other else "")
        return blank.evaluate(_PIXELS_JS, encoded)
    finally:
        blank.close()


def assert_chinese_renders(page: Page, selector: str) -> None:
    """The element's Chinese text must look different from the same count of tofu boxes."""
    element = page.locator(selector).first
    original = element.evaluate("node => node.textContent")
    chinese = "".join(ch for ch in original if "\u4e00" <= ch <= "\u9fff")
    assert len(chinese) >= 2, f"{selector} shows no Chinese: {original!r}"
    element.evaluate("(node, text) => { node.textContent = text; }", chinese)
    with_glyphs = element.screenshot()
    boxes = "".join(chr(0xE000 + i) for i in range(len(chinese)))  # private use: no font has them
    element.evaluate("(node, text) => { node.textContent = text; }", boxes)
    with_boxes = element.screenshot()
    element.evaluate("(node, text) => { node.textContent = text; }", original)
    stats = image_stats(page, with_glyphs, with_boxes)
    assert stats["differ"] > 50, f"Chinese in {selector} renders like missing-glyph boxes: {stats}"
