"""A real Chromium for the resident's side of the tests, and the small things around it: a
relying party's callback to land on, screenshots, and accessibility basics checked in the DOM.

Chromium is Debian's (``/usr/bin/chromium``), driven by PyPI ``playwright``; no browser is
downloaded. Without either the browser tests skip with the reason, except under CI
(``CI=true``), where they fail."""

from __future__ import annotations

import importlib.util
import os
import re
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
# Every wait is bounded: a broken page fails the test in seconds, never hangs the run.
ACTION_TIMEOUT_MS = 10_000
NAVIGATION_TIMEOUT_MS = 15_000
LAUNCH_TIMEOUT_MS = 30_000
AXE_SOURCE = Path(__file__).parents[1] / "web" / "node_modules" / "axe-core" / "axe.min.js"


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if importlib.util.find_spec("playwright") is None:
        return "PyPI playwright is not installed (pip install -e '.[test]')"
    if not CHROMIUM.exists():
        return f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    return None


def require(reason: str | None) -> None:
    """Skip for ``reason`` on a developer's machine; under CI nothing may skip."""
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    require(missing_browser())
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            timeout=LAUNCH_TIMEOUT_MS,
        )
        try:
            yield browser
        finally:
            await browser.close()


async def new_page(browser: Browser) -> Page:
    """A page in a fresh context: a new device, with no cookies."""
    context = await browser.new_context(locale="en-GB", viewport={"width": 1024, "height": 768})
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    return await context.new_page()


# ---- the relying party's end -------------------------------------------------------------


class Callback:
    """A relying party's web server on 127.0.0.1: answers every GET with a small 200 page, so
    the browser really lands on the redirect URI, and remembers the paths it was sent."""

    def __init__(self, server: ThreadingHTTPServer) -> None:
        host, port = server.server_address[:2]
        self.base = f"http://{host!s}:{port}"
        self.received: list[str] = []
        self._server = server

    def url(self, path: str = "/callback") -> str:
        return f"{self.base}{path}"


@contextmanager
def callback_server(title: str = "Council portal") -> Iterator[Callback]:
    page = (
        '<!doctype html><html lang="en-GB"><head><meta charset="utf-8">'
        f"<title>{title}</title></head><body><h1>Back at {title}</h1></body></html>"
    ).encode()
    holder: list[Callback] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            holder[0].received.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the query holds codes; keep them out of the test output

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder.append(Callback(server))
    thread = threading.Thread(target=server.serve_forever, name="rp-callback", daemon=True)
    thread.start()
    try:
        yield holder[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# ---- keyboard, screenshots, accessibility ------------------------------------------------


async def tab_to(page: Page, element_id: str, *, most: int = 15) -> int:
    """Press Tab until the element with ``element_id`` has focus; how many presses it took."""
    for presses in range(1, most + 1):
        await page.keyboard.press("Tab")
        if await page.evaluate("() => document.activeElement && document.activeElement.id") == (
            element_id
        ):
            return presses
    raise AssertionError(f"#{element_id} was not reached with {most} presses of Tab")


async def focused_text(page: Page) -> str:
    text: str = await page.evaluate(
        "() => (document.activeElement && document.activeElement.textContent || '').trim()"
    )
    return text


class Screenshots:
    """Full-page screenshots, numbered in the order taken, under one folder per test."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.taken: list[Path] = []

    async def take(self, page: Page, name: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{len(self.taken) + 1:02d}-{name}.png"
        await page.screenshot(path=str(path), full_page=True, timeout=ACTION_TIMEOUT_MS)
        self.taken.append(path)
        return path


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[-100:]


# Checked in the page itself, so it sees what the browser built, not the template source.
_A11Y_PROBLEMS = """
() => {
  const problems = [];
  const html = document.documentElement;
  if (!html.lang) problems.push('the html element has no lang');
  if (!document.title.trim()) problems.push('the page has no title');
  const h1s = document.querySelectorAll('h1');
  if (h1s.length !== 1) problems.push(`the page has ${h1s.length} h1 elements, not one`);
  if (!document.querySelector('main')) problems.push('the page has no main landmark');
  const ids = new Map();
  for (const el of document.querySelectorAll('[id]')) ids.set(el.id, (ids.get(el.id) || 0) + 1);
  for (const [id, count] of ids) if (count > 1) problems.push(`id "${id}" is used ${count} times`);
  for (const field of document.querySelectorAll('input, select, textarea')) {
    if (field.type === 'hidden') continue;
    const named = field.labels && field.labels.length > 0 &&
      [...field.labels].every(label => label.textContent.trim());
    if (!named) problems.push(`${field.tagName.toLowerCase()} "${field.name}" has no <label>`);
    for (const ref of (field.getAttribute('aria-describedby') || '').split(/\\s+/)) {
      if (ref && !document.getElementById(ref)) {
        problems.push(`"${field.name}" is described by missing #${ref}`);
      }
    }
  }
  for (const button of document.querySelectorAll('button, [role=button], a[href]')) {
    const name = (button.textContent || '').trim() || button.getAttribute('aria-label');
    if (!name) problems.push(`a ${button.tagName.toLowerCase()} has no accessible name`);
  }
  for (const img of document.querySelectorAll('img')) {
    if (!img.hasAttribute('alt')) problems.push(`image ${img.src} has no alt attribute`);
  }
  return problems;
}
"""


async def accessibility_problems(page: Page) -> list[str]:
    """The basics every libgate page must meet: lang, a title, one h1, a main landmark,
    unique ids, a label for every field, named buttons and links, alt on images."""
    problems: list[str] = await page.evaluate(_A11Y_PROBLEMS)
    if AXE_SOURCE.exists():
        problems += await axe_violations(page)
    elif os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"axe-core is missing under CI: run npm ci --prefix tests/web ({AXE_SOURCE})")
    return problems


async def axe_violations(page: Page) -> list[str]:
    """axe-core's WCAG 2.1 A/AA rules, when ``tests/web/node_modules/axe-core`` is installed.
    Evaluated over the DevTools protocol, so the page's CSP (no inline script) still holds."""
    await page.evaluate(AXE_SOURCE.read_text(encoding="utf-8"))
    found: list[str] = await page.evaluate(
        """async () => {
          const result = await axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
          });
          return result.violations.map(v =>
            `axe ${v.id} (${v.impact}): ${v.help} at ${v.nodes.map(n => n.target).join(', ')}`);
        }"""
    )
    return found
