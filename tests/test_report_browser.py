"""Reports in a real headless chromium with every network request blocked.

These tests FAIL (never skip) when chromium or playwright is missing; install the
browser with ``sh .ci/install-browser.sh``. Deselect with ``-m "not browser"``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser import EVIL_NAME, check_report, chromium_context_fixture, full_report  # noqa: F401  (fixture)

from model.report import Report

pytestmark = pytest.mark.browser


def test_full_report_renders_offline(tmp_path: Path, chromium_context: Any) -> None:
    report, n_fig, keys = full_report("control room <Kent & Medway>")
    path = report.write(tmp_path / "full.html")
    res = check_report(path, n_fig, keys, context=chromium_context)
    assert res["rendered"] == n_fig == len(res["figures"])
    assert all(f["svg"] and f["width"] > 600 and f["height"] >= 250 for f in res["figures"])
    assert res["keys"]["failed_calls"] == "2,346 calls"
    assert res["keys"]["none_seen"].startswith("≤ ")
    assert res["requests"] == [path.resolve().as_uri()] and res["blocked_requests"] == []
    assert "control room <Kent & Medway>" in res["text"]


def test_injected_names_stay_text(tmp_path: Path, chromium_context: Any) -> None:
    report, n_fig, keys = full_report(EVIL_NAME)
    path = report.write(tmp_path / "evil.html")
    probe = """() => ({
        pwned: window.__ninesPwned === undefined ? null : window.__ninesPwned,
        imgs: document.querySelectorAll('img').length,
        scripts: document.querySelectorAll('script').length,
        svgText: Array.from(document.querySelectorAll('.main-svg text')).map(t => t.textContent),
    })"""
    res = check_report(path, n_fig, keys, context=chromium_context, evaluate=probe)
    extra = res["extra"]
    assert extra["pwned"] is None and res["dialogs"] == []
    assert extra["imgs"] == 0
    assert extra["scripts"] == n_fig + 2  # plotly.js, the figure JSON blocks, the render script
    # plotly shows the name literally (entities decoded once, no markup), in full or shortened
    visible = EVIL_NAME.replace("\u2028", "")
    assert any(t.startswith(visible[:25]) for t in extra["svgText"]), extra["svgText"][:20]
    assert any(visible in t.replace("\u2028", "") for t in extra["svgText"])
    assert EVIL_NAME.split("\u2028")[0] in res["text"]


def test_sortable_table_sorts_numbers(tmp_path: Path, chromium_context: Any) -> None:
    rows = [{"name": n, "calls": c} for n, c in [("b", 1000), ("a", 20), ("c", None), ("d", 300)]]
    path = Report("sort").table(rows).write(tmp_path / "sort.html")
    check_report(path, 0, [], context=chromium_context)
    page = chromium_context.new_page()
    try:
        page.route("**/*", lambda r: r.continue_() if r.request.url == path.resolve().as_uri() else r.abort())
        page.goto(path.resolve().as_uri())
        column = "() => Array.from(document.querySelectorAll('tbody tr')).map(r => r.cells[0].textContent)"
        page.click("th:nth-child(2)")
        assert page.evaluate(column) == ["a", "d", "b", "c"]  # 20 < 300 < 1,000 (not text order); blank last
        page.click("th:nth-child(2)")
        assert page.evaluate(column) == ["b", "d", "a", "c"]
        page.click("th:nth-child(1)")
        assert page.evaluate(column) == ["a", "b", "c", "d"]
        assert page.get_attribute("th:nth-child(1)", "aria-sort") == "ascending"
    finally:
        page.close()


# -- check_report itself must be able to fail --------------------------------------------------

_FIGURE_STUB = '<div id="f1" data-nines-figure="f1"></div>'


def _page(tmp_path: Path, body: str, rendered: int = 1) -> Path:
    path = tmp_path / "page.html"
    path.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>t</title></head><body>"
        f'<div data-key="k"><div class="kn-value">42</div></div>{body}'
        f"<script>window.ninesRendered = {rendered};</script></body></html>",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(("body", "rendered", "message"), [
    ('<img src="https://example.invalid/logo.png">', 0, "tried to fetch"),
    ("<script>fetch('http://example.invalid/data.json').catch(() => {});</script>", 0, "tried to fetch"),
    ("<script>console.error('boom')</script>", 0, "console errors"),
    ("<script>null.x</script>", 0, "uncaught page errors"),
    ("<script>alert('xss')</script>", 0, "dialogs opened"),
    (_FIGURE_STUB, 1, "no rendered plotly SVG"),
    (_FIGURE_STUB, 0, "window.ninesRendered = 0, expected 1"),
])
def test_check_report_catches_problems(tmp_path: Path, chromium_context: Any, body: str, rendered: int,
                                       message: str) -> None:
    path = _page(tmp_path, body, rendered)
    expect = 1 if "data-nines-figure" in body else 0
    with pytest.raises(AssertionError, match=message):
        check_report(path, expect, ["k"], context=chromium_context, timeout_ms=5_000)


def test_check_report_catches_missing_key_and_figure_count(tmp_path: Path, chromium_context: Any) -> None:
    path = _page(tmp_path, "", 0)
    assert check_report(path, 0, ["k"], context=chromium_context)["keys"] == {"k": "42"}
    with pytest.raises(AssertionError, match="key number 'absent' missing"):
        check_report(path, 0, ["absent"], context=chromium_context)
    with pytest.raises(AssertionError, match=r"0 \[data-nines-figure\] divs, expected 2"):
        check_report(path, 2, [], context=chromium_context, timeout_ms=5_000)


def test_check_report_without_context_argument(tmp_path: Path) -> None:
    path = Report("own").key_number("n", "N", 7).write(tmp_path / "own.html")  # no figure: quick to load
    res = check_report(path, 0, ["n"], screenshot=tmp_path / "own.png")
    assert res["keys"] == {"n": "7"}
    assert (tmp_path / "own.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
