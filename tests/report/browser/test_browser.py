"""The browser harness itself: a page loads, its script runs, errors and wide elements are seen."""

from __future__ import annotations

from pathlib import Path


def test_a_page_runs_its_script_and_is_checked(page, tmp_path: Path) -> None:
    html = tmp_path / "probe.html"
    html.write_text(
        "<!doctype html><html><body><p id=out>waiting</p>"
        "<div style='width:3000px;height:10px' id=wide></div>"
        "<script>document.getElementById('out').textContent = 'ran';"
        "console.error('deliberate');</script></body></html>",
        encoding="utf-8",
    )
    page.open(html)
    assert page.page.inner_text("#out") == "ran"
    assert page.errors == ["deliberate"]
    assert any(entry.startswith("div#wide") for entry in page.elements_wider_than_viewport())
    shot = page.screenshot(tmp_path / "probe.png")
    assert shot.stat().st_size > 1000


def test_a_page_that_reaches_the_network_is_caught(page, tmp_path: Path) -> None:
    html = tmp_path / "net.html"
    html.write_text(
        "<!doctype html><html><body><img src='http://127.0.0.1:9/x.png'></body></html>",
        encoding="utf-8",
    )
    page.open(html)
    assert any("network request" in e for e in page.errors)
