"""Open a self-contained HTML report in headless Chromium (issue #7's acceptance check), shared by
the per-run and per-sweep report tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Under CI (CI=true, set by .ci/run, which installs Chromium and playwright) a missing browser is a
# failure: the browser checks must run there, not be skipped.
IN_CI = os.environ.get("CI", "").lower() == "true"


def _unavailable(why: str) -> None:
    if IN_CI:
        pytest.fail(f"{why} (CI=true: the browser checks must run)")
    pytest.skip(why)


def _executable(playwright) -> str | None:
    """Playwright's own Chromium if `playwright install chromium` fetched it, else a system one."""
    own = Path(playwright.chromium.executable_path)
    if own.is_file():
        return str(own)
    for name in ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return None


def render(html: Path, screenshot: Path) -> tuple[list[str], list[list]]:
    """Load `html`, save a full-page screenshot; return every URL the page requested and, per
    `<img>`, [complete, naturalWidth, naturalHeight]. Skips the test without playwright or Chromium."""
    try:
        from playwright import sync_api
    except ImportError:
        _unavailable("no playwright: pip install -e '.[browser]'")
    with sync_api.sync_playwright() as playwright:
        executable = _executable(playwright)
        if executable is None:
            _unavailable("no Chromium: apt-get install chromium (or chromium-headless-shell)")
        browser = playwright.chromium.launch(executable_path=executable)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            requests: list[str] = []
            page.on("request", lambda request: requests.append(request.url))
            page.goto(html.as_uri(), wait_until="load")
            images = page.evaluate("Array.from(document.images, i => [i.complete, i.naturalWidth, i.naturalHeight])")
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return requests, images
