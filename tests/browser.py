"""Headless-browser checks for nines HTML reports (Debian chromium driven by playwright).

Studies' tests call :func:`check_report`; all checks in a run share one headless
chromium (:func:`shared_chromium`), also available as the ``chromium_context``
fixture for tests that drive pages themselves::

    from browser import check_report

    @pytest.mark.browser
    def test_my_study_report(tmp_path):
        path = run_study(tmp_path)
        check_report(path, expect_figures=4, expect_keys=["failed_calls"])

The browser is Debian's ``/usr/bin/chromium`` (``.ci/install-browser.sh`` installs
it; override with ``NINES_CHROMIUM``). Playwright never downloads a browser of its
own. Every request other than the report file itself is blocked and recorded, so a
report that tries to fetch anything fails the check. When chromium or playwright is
missing the checks FAIL with a message saying how to install them; they never skip.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "CHROMIUM_ARGS",
    "EVIL_NAME",
    "check_report",
    "chromium_context_fixture",
    "chromium_path",
    "full_report",
    "require_browser",
    "shared_chromium",
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


_SHARED: dict[str, Any] = {}


def shared_chromium() -> Any:
    """The process-wide headless chromium (a playwright BrowserContext), started on first use.

    One browser serves every check in a test run: playwright's sync API cannot start a
    second instance while one is running, and starting chromium once keeps tests fast.
    It has a fresh temporary profile (user-data-dir) and is closed at interpreter exit.
    """
    if "context" in _SHARED:
        return _SHARED["context"]
    require_browser()
    from playwright.sync_api import sync_playwright

    # Never let playwright look for (or fetch) its own browser builds.
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    profile = tempfile.mkdtemp(prefix="nines-chromium-")
    pw = sync_playwright().start()
    try:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=str(chromium_path()),
            headless=True,
            args=CHROMIUM_ARGS,
            service_workers="block",
            viewport={"width": 1400, "height": 900},
            accept_downloads=False,
        )
    except Exception as exc:
        pw.stop()
        shutil.rmtree(profile, ignore_errors=True)
        pytest.fail(f"could not launch {chromium_path()} headless: {exc}", pytrace=False)
    _SHARED.update(playwright=pw, context=context, profile=profile)
    atexit.register(_close_shared)
    return context


def _close_shared() -> None:
    context = _SHARED.pop("context", None)
    pw = _SHARED.pop("playwright", None)
    profile = _SHARED.pop("profile", None)
    with contextlib.suppress(Exception):  # the browser may already be gone at exit; nothing to release
        if context is not None:
            context.close()
        if pw is not None:
            pw.stop()
    if profile is not None:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="session", name="chromium_context")
def chromium_context_fixture() -> Any:
    """Fixture ``chromium_context``: the shared headless chromium (import this function)."""
    return shared_chromium()


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
  const links = Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href'));
  const overflow = Array.from(document.querySelectorAll('.table-wrap')).filter(
    w => w.scrollWidth > w.clientWidth + 2).map(w => {
      const c = w.querySelector('caption'); return c ? c.textContent.slice(0, 80) : '(table)'; });
  const banners = Array.from(document.querySelectorAll('[data-banner]')).map(
    b => b.getAttribute('data-banner'));
  return {figures: figs, keys: keys, rendered: window.ninesRendered, title: document.title,
          text: document.body ? document.body.innerText : '', links: links, overflow: overflow,
          banners: banners};
}
"""


def check_report(
    path: str | os.PathLike[str],
    expect_figures: int,
    expect_keys: list[str],
    *,
    context: Any = None,
    screenshot: str | os.PathLike[str] | None = None,
    evaluate: str | None = None,
    timeout_ms: int = 30_000,
    quick: bool | None = None,
) -> dict[str, Any]:
    """Open a report in headless chromium with the network blocked and check it.

    Checks: the page loads from its file alone (any other request is blocked and is
    a failure), no console error, no uncaught page error, no dialog (``alert`` etc.:
    a sign of script injection), ``window.ninesRendered == expect_figures``, exactly
    ``expect_figures`` ``[data-nines-figure]`` divs, each holding a rendered plotly
    SVG (``.main-svg``) of non-zero size, a non-empty ``[data-key]`` element for
    every expected key, every relative link (downloads: JSON, CSV) naming a file that exists next to
    the report, no table wider than its box at 1,400 px, and (``quick`` given) the quick-run banner
    shown exactly when ``quick`` is true.

    Parameters
    ----------
    path : path-like
        The HTML report.
    expect_figures : int
        Number of figures the report must render.
    expect_keys : list of str
        ``data-key`` values of key numbers that must be present and non-empty.
    context : playwright BrowserContext, optional
        Browser to use (e.g. the ``chromium_context`` fixture); default: :func:`shared_chromium`.
    screenshot : path-like, optional
        Save a full-page PNG here (taken before the assertions, so failures are visible).
    evaluate : str, optional
        A JavaScript function expression run in the page after rendering, e.g.
        ``"() => window.somethingInjected ?? null"``; its result is returned as ``extra``.
    timeout_ms : int
        How long to wait for the figures to render.

    Returns
    -------
    dict
        ``figures`` (per-figure info), ``keys`` (key → displayed text), ``rendered``,
        ``title``, ``text`` (page text), ``console`` (all console messages as
        ``(type, text)``), ``console_errors``, ``page_errors``, ``dialogs``,
        ``blocked_requests``, ``requests`` and ``extra`` (result of ``evaluate``).

    Raises
    ------
    AssertionError
        Listing every problem found.
    """
    path = Path(path)
    if not path.is_file():
        raise AssertionError(f"report {path} does not exist")
    if context is None:
        context = shared_chromium()

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
        extra = page.evaluate(evaluate) if evaluate is not None else None
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
    for href in state["links"]:
        if href.startswith(("http://", "https://", "#", "blob:", "data:")):
            continue
        if not (path.parent / href).is_file():
            problems.append(f"link {href!r} names no file next to the report")
    if state["overflow"]:
        problems.append(f"tables wider than their box at 1,400 px: {state['overflow']}")
    if quick is not None and ("quick" in state["banners"]) != quick:
        problems.append(f"quick-run banner {'missing' if quick else 'shown'} (banners: {state['banners']})")
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
        "extra": extra,
    }


#: A component name that would run script if any layer forgot to escape it.
EVIL_NAME = ('</script><script>window.__ninesPwned=1;alert("xss")</script>'
             '<img src=x onerror="window.__ninesPwned=2">\u2028&amp;')


def full_report(name: str = EVIL_NAME, seed: int = 7) -> Any:
    """A report using every block and every figure function, with ``name`` everywhere.

    Returns ``(report, expect_figures, expect_keys)``. Used by the report tests; handy
    for eyeballing the layout (``full_report()[0].write("/tmp/sample.html")``).
    """
    import numpy as np

    from model.report import (
        Report,
        band_chart,
        convergence_figure,
        ecdf,
        format_percent,
        histogram,
        layered_network_figure,
        ranked_bar,
        tornado,
    )
    from model.results.estimate import binomial_estimate

    rng = np.random.default_rng(seed)
    callers = [f"area {i} {t}" for i in range(6) for t in ("fixed", "mobile")]
    networks = ["fixed network", "mobile A", "mobile B", name]
    centres = ["centre 1", "centre 2", "centre 3"]
    platforms = ["primary platform", "backup platform"]
    rooms = [f"control room {i}" for i in range(20)]
    layers = [callers, networks, centres, platforms, rooms]
    nodes = [n for layer in layers for n in layer]
    layer_of = {n: k for k, layer in enumerate(layers) for n in layer}
    edges = [(c, networks[0] if c.endswith("fixed") else networks[1 + i % 3]) for i, c in enumerate(callers)]
    edges += [(nw, c) for nw in networks for c in centres]
    edges += [(c, p) for c in centres for p in platforms]
    edges += [(p, r) for p in platforms for r in rooms]
    values = {n: float(rng.uniform(0, 0.3)) for n in networks + centres + rooms}
    values["primary platform"] = 0.97
    net = layered_network_figure(nodes, edges, layer_of, values, labels={name: name},
                                 layer_names=["Callers", "Networks", "Centres", "Platforms", name],
                                 value_label="share of demand cut", title=name)
    strategies = ["status quo", "automatic failover", "full-capacity backup", name]
    v = np.array([5000.0, 1200.0, 800.0, 300.0])
    bars = ranked_bar(strategies, v, v * 0.8, v * 1.2, x_title="failed calls per year", title=name,
                      highlight=["status quo"])
    torn = tornado(["failover delay", "backup capacity", name], [900, 1500, 1900], [3000, 2500, 2100], 2000,
                   x_title=name)
    x = np.array([1.0, 5.0, 15.0, 60.0])
    band = band_chart(x, [x * 10, x * 5], [x * 7, x * 3], [x * 14, x * 8], names=["status quo", name],
                      x_title="failover delay (min)", y_title="failed calls per year", log_x=True)
    n = np.unique(np.logspace(2, 4, 15).astype(int))
    k = rng.binomial(n, 0.02)
    est = k / n
    se = np.sqrt(est * (1 - est) / n)
    conv = convergence_figure(n, est, est - 2 * se, est + 2 * se, exact=0.02, y_title=name)
    years = rng.poisson(3.0, 2000)
    hist = histogram(years, markers={"mean": float(years.mean()), name: 9.0}, x_title=name)
    ec = ecdf({"status quo": years, name: years * 0.5}, complementary=True, log_y=True, x_title=name)

    r = Report(name, subtitle=name)
    r.key_number("failed_calls", "Failed calls per year", 2345.6, ci=(1900.0, 2800.0), unit="calls")
    r.key_number("unreachable", name, binomial_estimate(3, 100_000, method="crude-mc"), fmt=format_percent,
                 note=name)
    r.key_number("none_seen", "Unreachable with backup", binomial_estimate(0, 100_000, method="crude-mc"),
                 fmt=format_percent)
    r.key_number("named", name, name, ci=name)
    r.section(name, name)
    r.paragraph(name)
    r.paragraph(f"Caveat: {name}", note=True)
    r.figure(net, caption=name)
    r.table([{"strategy": s, "failed calls": float(val), "note": name} for s, val in zip(strategies, v,
                                                                                       strict=True)],
            caption=name)
    for fig in (bars, torn, band, hist, ec):
        r.figure(fig, caption=name)
    r.convergence(conv, caption=name)
    r.assumptions([("repair time", "4 h", "https://example.org/source?a=1&b=2"),
                   (name, name, f"assumption: {name}")])
    r.provenance({"version": "0.1.0", "seed": 20230625, "details": {"name": name, "workers": 2}})
    return r, 7, ["failed_calls", "unreachable", "none_seen", "named"]
