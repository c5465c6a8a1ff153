"""Headless Chromium for the page tests: Debian's package, driven by Playwright.

The browser is the system one (``/usr/bin/chromium``, or ``MATCHSIM_CHROMIUM``): a browser
download at run time is impossible here, so Playwright is pointed at it with
``executable_path``. A missing browser fails these tests; it does not skip them (``.ci/run``
installs Debian's ``chromium`` when it is missing).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

#: Flags for a closed network: without the background-networking ones Chromium keeps trying
#: to reach Google's hosts, and as root it needs --no-sandbox.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium_path() -> str:
    path = os.environ.get("MATCHSIM_CHROMIUM") or shutil.which("chromium") or ""
    if not path or not Path(path).exists():
        pytest.fail(
            "no Chromium: install Debian's package (apt-get install chromium) or set "
            "MATCHSIM_CHROMIUM to a Chromium binary"
        )
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=list(CHROMIUM_ARGS)
        )
        yield browser
        browser.close()


class PageProbe:
    """A page opened from a file, with the console errors and uncaught exceptions it raised."""

    def __init__(self, page: object) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on(  # type: ignore[attr-defined]
            "console", lambda m: self.errors.append(m.text) if m.type == "error" else None
        )
        page.on("pageerror", lambda e: self.errors.append(str(e)))  # type: ignore[attr-defined]
        # Pages must work offline: any request that leaves the file is a failure.
        page.route(  # type: ignore[attr-defined]
            "**/*",
            lambda route: (
                route.continue_()
                if route.request.url.startswith(("file:", "data:", "blob:", "about:"))
                else (self.errors.append(f"network request: {route.request.url}"), route.abort())
            ),
        )

    def open(self, path: Path) -> None:
        self.page.goto(path.resolve().as_uri())  # type: ignore[attr-defined]
        self.page.wait_for_load_state("load")  # type: ignore[attr-defined]

    def elements_wider_than_viewport(self) -> list[str]:
        """Visible elements whose right edge passes the viewport (a page that scrolls sideways)."""
        return self.page.evaluate(  # type: ignore[attr-defined]
            """() => {
              const width = document.documentElement.clientWidth;
              const out = [];
              for (const el of document.querySelectorAll('body *')) {
                const r = el.getBoundingClientRect();
                if (r.width === 0 || r.height === 0) continue;
                if (r.right > width + 1) {
                  out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                           (el.className && typeof el.className === 'string'
                              ? '.' + el.className.split(' ')[0] : '') +
                           ' right=' + Math.round(r.right));
                }
              }
              return out.slice(0, 20);
            }"""
        )

    def screenshot(self, path: Path) -> Path:
        self.page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
        return path


@pytest.fixture
def page(browser: object, tmp_path: Path) -> Iterator[PageProbe]:
    """A fresh 1280x800 page; save screenshots under ``tmp_path``."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
    probe = PageProbe(context.new_page())
    yield probe
    context.close()
