"""report.html and sweep.html of small scenario runs, opened in headless Chromium.

Each page must load without console errors or network requests, never scroll sideways at
1280 px, and explain its outcomes: the twins report names the wrong twin as the wrong child,
waterfalls add up, every glossary link lands on an entry. Screenshots go to the test's
temporary directory.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from matchsim.cli import main

ROOT = Path(__file__).resolve().parents[3]
SMALL = {
    # Shipped scenarios default to national density: always shrink them here.
    "twins": ["population.pupils=3000", "requests.count=400"],
    "home-office-lookup": ["population.pupils=12000", "requests.count=800"],
}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("report-pages")
    with pytest.MonkeyPatch.context() as mp:
        # Any cache of generated worlds stays in the test's own directory.
        mp.setenv("MATCHSIM_CACHE_DIR", str(base / "cache"))
        return _run_all(base)


def _run_all(base: Path) -> dict[str, Path]:
    out = {}
    for name, sets in SMALL.items():
        target = base / name
        args = ["run", str(ROOT / "scenarios" / f"{name}.yaml"), "--out", str(target), "-q"]
        for item in sets:
            args += ["--set", item]
        assert main(args) == 0
        out[name] = target / "report.html"
    sweep = base / "sweep"
    args = ["sweep", str(ROOT / "scenarios" / "twins.yaml"), "--out", str(sweep), "-q"]
    args += ["--set", "population.pupils=2000", "--set", "requests.count=200"]
    args += ["--grid", "lookup.decision=all,unique,best", "--seeds", "1", "--workers", "1"]
    assert main(args) == 0
    out["sweep"] = sweep / "sweep.html"
    return out


def _check_page(page, path: Path, shot: Path) -> None:
    page.open(path)
    assert page.errors == []
    assert page.elements_wider_than_viewport() == []
    assert page.screenshot(shot).stat().st_size > 10_000
    # Every glossary link resolves to an entry on the page.
    missing = page.page.evaluate(
        """() => [...document.querySelectorAll('a.term')]
                 .map(a => a.getAttribute('href').slice(1))
                 .filter(id => !document.getElementById(id))"""
    )
    assert missing == []


@pytest.mark.slow
def test_twins_report_shows_the_wrong_twin_as_the_wrong_child(page, results, tmp_path) -> None:
    _check_page(page, results["twins"], tmp_path / "twins.png")
    examples = page.page.evaluate(
        """() => [...document.querySelectorAll('.example')].map(ex => ({
              heads: [...ex.querySelectorAll('table.compare th')].map(th => th.className),
              outcome: ex.querySelector('p').textContent,
              twin: ex.textContent.includes("true child's twin"),
              cards: [...ex.querySelectorAll('.card')].map(c => c.className)}))"""
    )
    wrong = [x for x in examples if "false match" in x["outcome"]]
    assert wrong, "the twins run returned wrong children"
    for x in wrong:
        records = [h for h in x["heads"] if h in ("wrong", "true")]
        assert records[0] == "wrong"  # the wrong child first
        assert x["cards"][0] == "card wrong"
        if "true" in records:
            assert records.index("true") > 0
    # Most wrong children in this scenario are the other twin, and the page says so.
    assert sum(x["twin"] for x in wrong) >= len(wrong) // 2
    assert all("true" in x["heads"] for x in wrong)
    page.page.locator(".example").first.screenshot(path=str(tmp_path / "twins-example.png"))


@pytest.mark.slow
def test_home_office_report_waterfalls_add_up(page, results, tmp_path) -> None:
    _check_page(page, results["home-office-lookup"], tmp_path / "home-office.png")
    waterfalls = page.page.evaluate(
        """() => [...document.querySelectorAll('table.waterfall')].map(t => ({
              terms: [...t.querySelectorAll('tr.wf-term')].map(r => +r.dataset.weight),
              total: +t.querySelector('tr.wf-total').dataset.weight,
              p: +t.querySelector('tr.wf-total').dataset.probability}))"""
    )
    assert waterfalls, "a Fellegi-Sunter run explains its examples with waterfalls"
    for w in waterfalls:
        assert len(w["terms"]) >= 3  # the prior and at least two comparisons
        assert math.fsum(w["terms"]) == pytest.approx(w["total"], abs=1e-9)
        assert w["p"] == pytest.approx(1 / (1 + 2 ** -w["total"]), rel=1e-12)
    text = page.page.inner_text("body")
    assert "the request matched the register exactly" not in text
    for section in ("tradeoffs", "model", "groups", "blocking", "glossary"):
        assert page.page.locator(f"#{section}").count() == 1
    # People not in the register are never said to match it.
    for ex in page.page.locator(".example").all():
        body = ex.inner_text()
        if "not in the register" in body:
            assert "No errors were made" not in body
    page.page.locator("table.waterfall").first.screenshot(path=str(tmp_path / "waterfall.png"))


@pytest.mark.slow
def test_sweep_page_fits_and_names_each_line(page, results, tmp_path) -> None:
    _check_page(page, results["sweep"], tmp_path / "sweep.png")
    legends = page.page.evaluate(
        "() => [...document.querySelectorAll('svg')].map(s => s.textContent)"
    )
    assert len(legends) == 2  # each rate by lookup.decision
    assert "wrong children returned" in legends[0] and "children missed" in legends[1]
    assert "all" not in [t.strip() for t in legends[0].split("\n")]
    # Whiskers stay inside the plot frame (the first rect of each chart).
    outside = page.page.evaluate(
        """() => [...document.querySelectorAll('svg')].flatMap(svg => {
              const frame = svg.querySelector('rect');
              const top = +frame.getAttribute('y'), bottom = top + +frame.getAttribute('height');
              return [...svg.querySelectorAll('line')]
                .filter(l => l.getAttribute('x1') === l.getAttribute('x2'))
                .filter(l => Math.min(+l.getAttribute('y1'), +l.getAttribute('y2')) < top - 0.5
                          || Math.max(+l.getAttribute('y1'), +l.getAttribute('y2')) > bottom + 0.5)
                .map(l => l.outerHTML);
            })"""
    )
    assert outside == []
    rows = page.page.locator("table.sweep tr").count()
    assert rows == 4  # a header and one row per decision rule
