"""Headless-browser checks for nines HTML reports (Debian chromium driven by playwright).

Studies' tests call :func:`check_report`; test modules that check several reports
share one browser through the ``chromium_context`` fixture::

    from browser import check_report, chromium_context  # noqa: F401  (fixture)

    @pytest.mark.browser
    def test_my_study_report(tmp_path, chromium_context):
        path = run_study(tmp_path)
        check_report(path, expect_figures=4, expect_keys=["failed_calls"], context=chromium_context)

The browser is Debian's ``/usr/bin/chromium`` (``.ci/install-browser.sh`` installs
it; override with ``NINES_CHROMIUM``). Playwright never downloads a browser of its
own. Every request other than the report file itself is blocked and recorded, so a
report that tries to fetch anything fails the check. When chromium or playwright is
missing the checks FAIL with a message saying how to install them; they never skip.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "CHROMIUM_ARGS",
    "check_report",
    "chromium_context",
    "chromium_path",
    "launched_chromium",
    "require_browser",
]

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> Path:
    """Path of the chromium binary (``NINES_CHROMIUM`` or ``/usr/bin/chromium``)."""
    return Path(os.environ.get("NINES_CHROMIUM", "/usr/bin/chromium"))


def require_browser() -> None:
    """Fail the calling test (never skip) unless chromium and playwright are usable."""
    exe = chromium_path()
    if not (exe.is_file() and os.access(exe, os.X_OK)):
        pytest.fail(
            f"browser tests need Debian's chromium at {exe} (not found or not executable). "
            "Install it with `sh .ci/install-browser.sh` (apt-get install chromium), "
            "or point NINES_CHROMIUM at a chromium binary.",
            pytrace=False,
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        pytest.fail(
            f"browser tests need the playwright Python package ({exc}). Install the test extra: "
            "`pip install -e .[test]`. Do not run `playwright install`: the tests use system chromium.",
            pytrace=False,
        )


@contextmanager
def launched_chromium() -> Iterator[Any]:
    """A fresh headless chromium (new, temporary profile); yields a playwright BrowserContext."""
    require_browser()
    from playwright.sync_api import sync_playwright

    # Never let playwright look for (or fetch) its own browser builds.
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    profile = tempfile.mkdtemp(prefix="nines-chromium-")
    try:
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                profile,
                executable_path=str(chromium_path()),
                headless=True,
                args=CHROMIUM_ARGS,
                service_workers="block",
                viewport={"width": 1280, "height": 900},
                accept_downloads=False,
            )
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="session")
def chromium_context() -> Iterator[Any]:
    """Session-wide headless chromium context (import this fixture into a test module)."""
    with launched_chromium() as context:
        yield context


_PAGE_STATE_JS = """
() => {
  const figs = Array.from(document.querySelectorAll('[data-nines-figure]')).map(div => {
    const svg = div.querySelector('.main-svg');
    const r = div.getBoundingClientRect();
    return {id: div.getAttribute('data-nines-figure'), svg: !!svg,
            traces: div.querySelectorAll('.trace, .scatterlayer path, .barlayer path').length,
            width: Math.round(r.width), height: Math.round(r.height)};
  });
  const keys = {};
  for (const el of document.querySelectorAll('[data-key]')) {
    const v = el.querySelector('.kn-value');
    keys[el.getAttribute('data-key')] = (v ? v.textContent : el.textContent).trim();
  }
  return {figures: figs, keys: keys, rendered: window.ninesRendered, title: document.title,
          text: document.body ? document.body.innerText : ''};
}
"""


def check_report(
    path: str | os.PathLike[str],
    expect_figures: int,
    expect_keys: list[str],
    *,
    context: Any = None,
    screenshot: str | os.PathLike[str] | None = None,
    timeout_ms: int = 30_000,
) -> dict[str, Any]:
    """Open a report in headless chromium with the network blocked and check it.

    Checks: the page loads from its file alone (any other request is blocked and is
    a failure), no console error, no uncaught page error, no dialog (``alert`` etc.:
    a sign of script injection), ``window.ninesRendered == expect_figures``, exactly
    ``expect_figures`` ``[data-nines-figure]`` divs, each holding a rendered plotly
    SVG (``.main-svg``) of non-zero size, and a non-empty ``[data-key]`` element for
    every expected key.

    Parameters
    ----------
    path : path-like
        The HTML report.
    expect_figures : int
        Number of figures the report must render.
    expect_keys : list of str
        ``data-key`` values of key numbers that must be present and non-empty.
    context : playwright BrowserContext, optional
        Reuse a browser (e.g. the ``chromium_context`` fixture); default: launch one.
    screenshot : path-like, optional
        Save a full-page PNG here (taken before the assertions, so failures are visible).
    timeout_ms : int
        How long to wait for the figures to render.

    Returns
    -------
    dict
        ``figures`` (per-figure info), ``keys`` (key → displayed text), ``rendered``,
        ``title``, ``text`` (page text), ``console`` (all console messages as
        ``(type, text)``), ``console_errors``, ``page_errors``, ``dialogs``,
        ``blocked_requests``, ``requests``.

    Raises
    ------
    AssertionError
        Listing every problem found.
    """
    path = Path(path)
    if not path.is_file():
        raise AssertionError(f"report {path} does not exist")
    if context is None:
        with launched_chromium() as ctx:
            return check_report(path, expect_figures, expect_keys, context=ctx,
                                screenshot=screenshot, timeout_ms=timeout_ms)

    url = path.resolve().as_uri()
    console: list[tuple[str, str]] = []
    page_errors: list[str] = []
    dialogs: list[str] = []
    blocked: list[str] = []
    requests: list[str] = []

    def route(r: Any) -> None:
        if r.request.url.split("#", 1)[0] == url:
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort("blockedbyclient")

    def on_dialog(d: Any) -> None:
        dialogs.append(f"{d.type}: {d.message}")
        d.dismiss()

    page = context.new_page()
    try:
        page.route("**/*", route)
        page.on("request", lambda req: requests.append(req.url))
        page.on("console", lambda m: console.append((m.type, m.text)))
        page.on("pageerror", lambda e: page_errors.append(str(e)))
        page.on("dialog", on_dialog)
        page.goto(url, wait_until="load", timeout=timeout_ms)
        render_timeout = False
        try:
            page.wait_for_function("() => window.ninesRendered !== undefined", timeout=timeout_ms)
        except Exception:  # playwright TimeoutError; reported below with the rest
            render_timeout = True
        page.wait_for_timeout(100)  # let late console messages arrive
        state = page.evaluate(_PAGE_STATE_JS)
        if screenshot is not None:
            page.screenshot(path=str(screenshot), full_page=True)
    finally:
        page.close()

    console_errors = [t for kind, t in console if kind == "error"]
    other_requests = [u for u in requests if u.split("#", 1)[0] != url]
    problems: list[str] = []
    if render_timeout:
        problems.append(f"window.ninesRendered was never set within {timeout_ms} ms "
                        "(the render script did not finish)")
    elif state["rendered"] != expect_figures:
        problems.append(f"window.ninesRendered = {state['rendered']}, expected {expect_figures}")
    if len(state["figures"]) != expect_figures:
        problems.append(f"{len(state['figures'])} [data-nines-figure] divs, expected {expect_figures}")
    for f in state["figures"]:
        if not f["svg"]:
            problems.append(f"figure {f['id']} has no rendered plotly SVG (.main-svg)")
        elif f["width"] <= 0 or f["height"] <= 0:
            problems.append(f"figure {f['id']} has zero size ({f['width']}x{f['height']})")
    for k in expect_keys:
        if k not in state["keys"]:
            problems.append(f"key number {k!r} missing (present: {sorted(state['keys'])})")
        elif not state["keys"][k]:
            problems.append(f"key number {k!r} is empty")
    if console_errors:
        problems.append(f"console errors: {console_errors}")
    if page_errors:
        problems.append(f"uncaught page errors: {page_errors}")
    if dialogs:
        problems.append(f"dialogs opened (script injection?): {dialogs}")
    if blocked or other_requests:
        problems.append(f"the report tried to fetch other resources: {sorted(set(blocked + other_requests))}")
    if problems:
        raise AssertionError(f"report {path} failed the browser check:\n  - " + "\n  - ".join(problems))
    return {
        **state,
        "console": console,
        "console_errors": console_errors,
        "page_errors": page_errors,
        "dialogs": dialogs,
        "blocked_requests": blocked,
        "requests": requests,
    }
