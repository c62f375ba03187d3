"""Drive a real headless Chromium (Debian ``chromium``) with Playwright's Python package.

Never downloads a browser (no ``playwright install``): it launches the system
Chromium via ``executable_path``. ``chromium_or_skip()`` skips the calling test
with a clear reason when Chromium or Playwright is absent.

    with open_page(path) as page:          # page loaded from a file:// URL
        page.click(...)
    page.console_errors, page.requests     # recorded while the page was open
"""
from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import pytest

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--disable-default-apps", "--disable-extensions"]


def chromium_path() -> str | None:
    env = os.environ.get("PERFKIT_CHROMIUM")
    if env and Path(env).exists():
        return env
    for c in CANDIDATES:
        if Path(c).exists():
            return c
    return shutil.which("chromium") or shutil.which("chromium-browser")


def chromium_or_skip() -> str:
    path = chromium_path()
    if path is None:
        pytest.skip("Chromium is not installed (Debian package `chromium`; set PERFKIT_CHROMIUM to another binary)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail("Chromium is installed but the Python package `playwright` is missing "
                    "(pip install playwright; do not run `playwright install`)")
    return path


class Recorded:
    """A Playwright page plus what it did: console errors, page errors, requests."""

    def __init__(self, page, url: str):
        self.page = page
        self.url = url
        self.console_errors: list[str] = []
        self.requests: list[str] = []
        page.on("console", lambda m: self.console_errors.append(f"console.{m.type}: {m.text}")
                if m.type == "error" else None)
        page.on("pageerror", lambda e: self.console_errors.append(f"pageerror: {e}"))
        page.on("request", lambda r: self.requests.append(r.url))

    def __getattr__(self, name):
        return getattr(self.page, name)

    def foreign_requests(self) -> list[str]:
        """Requests to anything but the page itself or data: URLs."""
        return [u for u in self.requests if u != self.url and not u.startswith("data:")]


@contextlib.contextmanager
def open_page(path: str | os.PathLike, *, width: int = 1200, height: int = 900):
    """Open a local HTML file in headless Chromium; yields a ``Recorded`` page."""
    exe = chromium_or_skip()
    from playwright.sync_api import sync_playwright
    url = Path(path).resolve().as_uri()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, headless=True, args=ARGS)
        try:
            ctx = browser.new_context(viewport={"width": width, "height": height}, offline=True)
            page = ctx.new_page()
            rec = Recorded(page, url)
            page.goto(url, wait_until="load")
            yield rec
        finally:
            browser.close()


@contextlib.contextmanager
def open_url(url: str, *, width: int = 1400, height: int = 1000, allowed_hosts=("127.0.0.1",)):
    """Open an http URL (a local server) in headless Chromium; yields a ``Recorded`` page.

    Requests to hosts other than ``allowed_hosts`` are aborted and listed in ``page.blocked``.
    """
    exe = chromium_or_skip()
    from urllib.parse import urlsplit
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, headless=True, args=ARGS)
        try:
            ctx = browser.new_context(viewport={"width": width, "height": height})
            page = ctx.new_page()
            rec = Recorded(page, url)
            rec.blocked = []

            def gate(route):
                u = route.request.url
                if u.startswith(("data:", "blob:")) or urlsplit(u).hostname in allowed_hosts:
                    route.continue_()
                else:
                    rec.blocked.append(u)
                    route.abort()
            page.route("**/*", gate)
            page.goto(url, wait_until="load")
            yield rec
        finally:
            browser.close()


# every leaf slide of a perfkit deck: its zoom, how far (slide px) content pokes out, notes, main or backup
_DECK_SLIDES_JS = """() => Array.from(document.querySelectorAll('.reveal .slides section'))
  .filter(s => !s.querySelector('section')).map(s => {
    const outer = s.parentElement.closest('section');
    const saved = [outer, s].filter(Boolean).map(el => [el, el.style.display, el.hidden]);
    for (const [el] of saved) { el.style.display = 'block'; el.hidden = false; }
    const r = s.getBoundingClientRect(), sc = r.width / s.offsetWidth;
    let over = 0;
    (function walk(el) {
      for (const c of el.children) {
        const b = c.getBoundingClientRect();
        if (b.width || b.height)
          over = Math.max(over, (b.right - r.right) / sc, (b.bottom - r.bottom) / sc,
                          (r.left - b.left) / sc, (r.top - b.top) / sc);
        if (!c.classList.contains('pk-flame-body')) walk(c);
      }
    })(s.querySelector('.pk-fit'));
    const notes = s.querySelector('aside.notes');
    for (const [el, display, hidden] of saved) { el.style.display = display; el.hidden = hidden; }
    return {fit: Number(s.getAttribute('data-pk-fit')), over: over,
            notes: notes ? notes.textContent.trim().length : 0,
            main: !outer || outer.querySelector('section') === s,
            heading: ((s.querySelector('.pk-fit :is(h1,h2,h3,h4)') || {}).textContent || '').replace('\\u00b6', '')};
  })"""


def deck_slides(page) -> list[dict]:
    """Measure every slide of a perfkit deck open in ``page`` (after ``data-pk-ready``); each slide is
    shown while it is measured and put back as reveal.js left it, so the deck stays usable after."""
    page.wait_for_selector("html[data-pk-ready]", state="attached", timeout=60000)
    return page.evaluate(_DECK_SLIDES_JS)
