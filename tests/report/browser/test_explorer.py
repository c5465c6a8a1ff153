"""The lookup explorer in headless Chromium: the page scores as the engine does, blocks as it
does, reacts to its controls, and survives hostile text."""

from __future__ import annotations

import math
import random
import string
from pathlib import Path

import jellyfish
import numpy as np
import pytest
from rapidfuzz import fuzz
from rapidfuzz.distance import Jaro, JaroWinkler

from matchsim.comparison import compare
from matchsim.records import normalise_name
from matchsim.report.explorer import build_explorer, raw_request, render_explorer

HOSTILE = "</script><script>alert(1)</script>"


@pytest.fixture(scope="module", autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory):
    """Runs here never read or fill the user's cache of built worlds."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MATCHSIM_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        yield


def _explorer(tmp_path_factory: pytest.TempPathFactory, *overrides: str):
    """A small Home Office run (3,000 pupils: the shipped scenario is national-scale) and its
    explorer page."""
    from matchsim.scenario import load_scenario, run_scenario

    spec = load_scenario(
        "scenarios/home-office-lookup.yaml", ["population.pupils=3000", *overrides]
    )
    run = run_scenario(spec)
    data = build_explorer(run)
    path = tmp_path_factory.mktemp("explorer") / "explorer.html"
    path.write_text(render_explorer(data), encoding="utf-8")
    return run, data, path


@pytest.fixture(scope="module")
def explorer(tmp_path_factory: pytest.TempPathFactory):
    return _explorer(tmp_path_factory)


def _requests(run) -> list[dict[str, str]]:
    return [raw_request(r) for r in run.requests.table.to_pylist()]


def _engine_probabilities(link, slice_rows: np.ndarray, left: np.ndarray, right: np.ndarray):
    """The engine's probability of each pair (left row, register row), scored by
    ``FellegiSunter.score`` with the candidates the page holds for that request: the engine's
    candidates in the slice, and the pair itself when it is not one of them (with one match
    per request, a pair's probability depends on the request's other candidates)."""
    from matchsim.comparison import ComparisonResult

    comparisons = link.comparison.comparisons
    in_slice = np.isin(link.comparison.right, slice_rows)
    out = np.empty(len(left))
    for n, (a, r) in enumerate(zip(left.tolist(), right.tolist(), strict=True)):
        rows = link.comparison.right[(link.comparison.left == a) & in_slice]
        rows = np.unique(np.r_[rows, r])
        pairs = compare(link.data, np.full(len(rows), a, dtype=np.int64), rows, comparisons)
        result = ComparisonResult(pairs.left, pairs.right, pairs.levels, comparisons)
        out[n] = link.matcher.score(result, link.data)[np.flatnonzero(rows == r)[0]]
    return out


def test_the_page_scores_pairs_as_the_engine_does(page, explorer) -> None:
    run, data, path = explorer
    link = run.result.link
    requests = _requests(run)
    left_of = {int(i): n for n, i in enumerate(link.data.left.ids)}
    # Every example request against every record of the slice (siblings, twins, namesakes:
    # every kind of level), and random requests against random slice records.
    rng = np.random.default_rng(5)
    pairs = [
        (left_of[e["request_id"]], s)
        for e in data.payload["examples"]
        for s in range(len(data.rows))
    ]
    pairs += [
        (int(rng.integers(len(requests))), int(rng.integers(len(data.rows)))) for _ in range(300)
    ]
    left = np.array([p[0] for p in pairs], dtype=np.int64)
    right = data.rows[np.array([p[1] for p in pairs])]
    result = compare(link.data, left, right, link.comparison.comparisons)
    weights = link.matcher.match_weights(result, link.data)
    probabilities = _engine_probabilities(link, data.rows, left, right)
    assert len(pairs) >= 200
    # The examples' candidates are all in the slice: the page shares a match among the same
    # candidates as the engine.
    examples = [left_of[e["request_id"]] for e in data.payload["examples"]]
    assert np.isin(link.comparison.right[np.isin(link.comparison.left, examples)], data.rows).all()

    page.open(path)
    js = page.page.evaluate(
        """(pairs) => pairs.map(([req, row]) => {
             const s = window.matchsimExplorer.score(req, row);
             return {levels: s.steps.map((x) => x.level), weight: s.weight, p: s.probability};
           })""",
        [[requests[a], b] for a, b in pairs],
    )
    levels = np.array([r["levels"] for r in js])
    mismatched = np.flatnonzero((levels != result.levels).any(axis=1))
    assert not len(mismatched), [
        (
            requests[pairs[i][0]],
            data.payload["register"]["id"][pairs[i][1]],
            levels[i],
            result.levels[i],
        )
        for i in mismatched[:5]
    ]
    np.testing.assert_allclose([r["weight"] for r in js], weights, rtol=0, atol=1e-9)
    np.testing.assert_allclose([r["p"] for r in js], probabilities, rtol=0, atol=1e-9)
    # The pairs reach most levels of every comparison, so the test covers the rules.
    for i, c in enumerate(link.comparison.comparisons):
        assert len(np.unique(result.levels[:, i])) >= 3, c.name
    assert page.errors == []


def test_the_page_blocks_as_the_engine_does(page, explorer) -> None:
    run, data, path = explorer
    link = run.result.link
    ids = link.data.right.ids
    page.open(path)
    checked = 0
    for example in data.payload["examples"]:
        row = int(np.flatnonzero(link.data.left.ids == example["request_id"])[0])
        engine = sorted(set(ids[link.comparison.right[link.comparison.left == row]].tolist()))
        js = page.page.evaluate("(r) => window.matchsimExplorer.candidates(r)", example["request"])
        assert sorted(set(js)) == engine, example
        checked += bool(engine)
        # Under the run's threshold and rule, the page returns what the run returned.
        returned = page.page.evaluate(
            """(r) => { const x = window.matchsimExplorer;
                        return x.decide(x.lookup(r).scored, x.threshold(), x.data.decision).returned; }""",
            example["request"],
        )
        assert sorted(returned) == sorted(example["returned"]), example
    assert checked >= 10


def test_similarities_match_rapidfuzz(page, explorer) -> None:
    _, data, path = explorer
    rng = random.Random(11)
    names = list(data.payload["register"]["surname"]["values"])
    pairs = []
    for _ in range(3000):
        a = "".join(rng.choices("ABCDE ", k=rng.randint(0, 12)))
        b = "".join(rng.choices("ABCDE ", k=rng.randint(0, 12)))
        pairs.append((a, b))
    pairs += [(rng.choice(names), rng.choice(names)) for _ in range(1000)]
    # Letters outside ASCII count as one character each, as in rapidfuzz.
    pairs += [
        (
            "".join(rng.choices("AÉÖŁ𝔸B", k=rng.randint(1, 8))),
            "".join(rng.choices("AÉÖŁ𝔸B", k=rng.randint(1, 8))),
        )
        for _ in range(500)
    ]
    words = ["1", "HIGH", "STREET", "ROAD", "FLAT", "2", "MANOR", "PARK", "A"]
    addresses = [
        (
            " ".join(rng.choices(words, k=rng.randint(1, 5))),
            " ".join(rng.choices(words, k=rng.randint(1, 5))),
        )
        for _ in range(1000)
    ]
    page.open(path)
    got = page.page.evaluate(
        """([pairs, addresses]) => ({
             jw: pairs.map(([a, b]) => window.matchsimExplorer.jaroWinkler(a, b)),
             jaro: pairs.map(([a, b]) => window.matchsimExplorer.jaro(a, b)),
             tsr: addresses.map(([a, b]) => window.matchsimExplorer.tokenSetRatio(a, b)),
           })""",
        [pairs, addresses],
    )
    np.testing.assert_allclose(
        got["jw"], [JaroWinkler.normalized_similarity(a, b) for a, b in pairs], atol=1e-12
    )
    np.testing.assert_allclose(
        got["jaro"], [Jaro.normalized_similarity(a, b) for a, b in pairs], atol=1e-12
    )
    np.testing.assert_allclose(
        got["tsr"], [fuzz.token_set_ratio(a, b) for a, b in addresses], atol=1e-9
    )


def test_names_and_soundex_are_read_as_the_engine_reads_them(page, explorer) -> None:
    path = explorer[2]
    raw = [
        "Zoë",
        "Łukasz",
        "Anne-Marie",
        "O'Sullivan",
        "  mary   jane ",
        "Straße",
        "Ægir",
        "Nguyễn",
        "Þór",
        HOSTILE,
        "123",
        "",
    ]
    rng = random.Random(3)
    raw += [
        "".join(rng.choices(string.ascii_letters + " -'", k=rng.randint(1, 10))) for _ in range(300)
    ]
    page.open(path)
    got = page.page.evaluate(
        """(xs) => xs.map((x) => {
             const name = window.matchsimExplorer.normaliseName(x);
             return [name, window.matchsimExplorer.soundex(name)];
           })""",
        raw,
    )
    for value, (name, code) in zip(raw, got, strict=True):
        expected = normalise_name(value) or None
        assert name == expected, value
        if expected:
            assert code == jellyfish.soundex(expected.split(" ")[0]), value


def _fill(page, request: dict[str, str]) -> None:
    for field, value in request.items():
        if field == "sex":
            page.page.select_option("#sex", value)
        else:
            page.page.fill(f"#{field}", value)


def test_typing_a_request_shows_its_candidates_and_the_slider_changes_what_returns(
    page, explorer, tmp_path: Path
) -> None:
    run, data, path = explorer
    link = run.result.link
    page.open(path)
    page.screenshot(tmp_path / "explorer-start.png")
    # A twin: the request for one child finds both.
    example = next(e for e in data.payload["examples"] if e["label"] == "Twins")
    request = dict(example["request"])
    _fill(page, request)
    cards = page.page.query_selector_all(".candidate")
    assert len(cards) >= 2
    shown = {
        int(c.get_attribute("data-id")): float(c.get_attribute("data-probability")) for c in cards
    }
    # The probabilities shown are the engine's for these pairs.
    row = int(np.flatnonzero(link.data.left.ids == example["request_id"])[0])
    mask = link.comparison.left == row
    engine = dict(
        zip(
            link.data.right.ids[link.comparison.right[mask]].tolist(),
            link.scores[mask].tolist(),
            strict=True,
        )
    )
    assert set(shown) == set(engine)
    for pupil, p in shown.items():
        assert abs(p - engine[pupil]) < 1e-9
    assert "candidate" in page.page.inner_text("#verdict")

    # Under "all", the threshold just above the second-best candidate drops it.
    page.page.select_option("#rule", "all")
    ordered = sorted(shown.values(), reverse=True)
    returned = lambda: {  # noqa: E731
        int(c.get_attribute("data-id"))
        for c in page.page.query_selector_all(".candidate[data-returned=true]")
    }
    # At the slider's lowest, every candidate whose (shared) probability reaches it returns:
    # with one match per request, a candidate far behind the best keeps almost nothing.
    page.page.fill("#threshold", page.page.get_attribute("#threshold", "min"))
    everyone = returned()
    lowest = page.page.evaluate("window.matchsimExplorer.threshold()")
    assert everyone == {i for i, p in shown.items() if p >= lowest}
    assert len(everyone) >= 2
    # The slider is in bits (log2 odds): halfway between the two best, in bits.
    bits = [math.log2(p / (1 - p)) for p in ordered[:2]]
    page.page.eval_on_selector(
        "#threshold",
        "(el, v) => { el.value = v; el.dispatchEvent(new Event('input')); }",
        str(sum(bits) / 2),
    )
    fewer = returned()
    assert fewer and fewer < everyone
    threshold = page.page.evaluate("window.matchsimExplorer.threshold()")
    assert ordered[1] < threshold <= ordered[0]
    assert all(shown[i] >= threshold for i in fewer)
    page.page.select_option("#rule", "unique")
    assert len(returned()) <= 1
    words = page.page.inner_text(".candidate .words")
    assert "Agrees on" in words and "The model expects" in words
    # A date the page cannot read is said so, and counts as not given.
    page.page.fill("#date_of_birth", "31/03/2005")
    assert "date of birth was not read" in page.page.inner_text("#verdict")
    assert page.page.get_attribute("#date_of_birth", "aria-invalid") == "true"
    page.page.fill("#date_of_birth", request["date_of_birth"])
    assert page.page.get_attribute("#date_of_birth", "aria-invalid") == "false"
    page.screenshot(tmp_path / "explorer-twins.png")
    assert page.elements_wider_than_viewport() == []
    # What the model learned: a table per comparison, every level with its weight.
    page.page.click("#model summary")
    tables = page.page.query_selector_all("#model-tables table")
    assert len(tables) == len(data.payload["model"]["comparisons"])
    first = data.payload["model"]["comparisons"][0]
    assert len(tables[0].query_selector_all("tr")) == 1 + len(first["levels"])
    assert f"{first['weight'][1]:+.2f}" in tables[0].inner_text()
    page.screenshot(tmp_path / "explorer-model.png")
    assert page.elements_wider_than_viewport() == []
    # A phone's width: one column, nothing runs off the side.
    page.page.set_viewport_size({"width": 390, "height": 800})
    assert page.elements_wider_than_viewport() == []
    page.screenshot(tmp_path / "explorer-phone.png")
    assert page.errors == []


def test_hostile_text_in_the_register_and_a_request_stays_text(
    page, explorer, tmp_path: Path
) -> None:
    data = explorer[1]
    # Normalisation keeps only letters in the register's names, so the hostile text is put in
    # the data the page embeds (a register name, an example's request, the description),
    # which is what the escaping must survive.
    payload = data.payload
    payload_copy = {**payload, "description": HOSTILE}
    register = {**payload["register"], "forename": dict(payload["register"]["forename"])}
    register["forename"]["values"] = [HOSTILE, *register["forename"]["values"][1:]]
    payload_copy["register"] = register
    examples = [dict(e) for e in payload["examples"]]
    examples[0] = {**examples[0], "request": {**examples[0]["request"], "forename": HOSTILE}}
    payload_copy["examples"] = examples
    hostile = tmp_path / "hostile.html"
    hostile.write_text(render_explorer(type(data)(payload_copy, data.rows)), encoding="utf-8")
    assert HOSTILE not in hostile.read_text(encoding="utf-8")

    dialogs: list[str] = []
    page.page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.open(hostile)
    assert page.page.evaluate("document.scripts.length") == 2
    assert page.page.input_value("#forename") == HOSTILE
    options = page.page.inner_text("#preset")
    assert HOSTILE in options
    # A register record with the hostile name shows it as text: ask for that child.
    record = page.page.evaluate(
        """(name) => { const r = window.matchsimExplorer.records.find((x) => x.forename === name);
                   return {surname: r.surname, date_of_birth: r.dob.iso, postcode: r.postcode || '',
                           id: r.id}; }""",
        HOSTILE,
    )
    _fill(
        page,
        {
            "forename": HOSTILE,
            "surname": record["surname"],
            "date_of_birth": record["date_of_birth"],
            "postcode": record["postcode"],
        },
    )
    card = page.page.query_selector(f".candidate[data-id='{record['id']}'] .record")
    assert card is not None and card.inner_text().startswith(HOSTILE)
    page.screenshot(tmp_path / "hostile.png")
    assert dialogs == []
    assert page.errors == []


def _agrees_with_the_engine(page, run, data, path) -> None:
    """Every example against every slice row: the page's levels and probabilities are the
    engine's, and under the run's rule it returns what the run returned."""
    link = run.result.link
    left_of = {int(i): n for n, i in enumerate(link.data.left.ids)}
    examples = data.payload["examples"]
    pairs = [(left_of[e["request_id"]], s) for e in examples for s in range(len(data.rows))]
    left = np.array([p[0] for p in pairs], dtype=np.int64)
    right = data.rows[[p[1] for p in pairs]]
    result = compare(link.data, left, right, link.comparison.comparisons)
    probabilities = _engine_probabilities(link, data.rows, left, right)
    requests = {e["request_id"]: e["request"] for e in examples}
    ids = link.data.left.ids
    page.open(path)
    js = page.page.evaluate(
        """([pairs, examples]) => {
             const x = window.matchsimExplorer;
             return {
               scores: pairs.map(([req, row]) => x.score(req, row))
                 .map((s) => [s.steps.map((t) => t.level), s.probability]),
               returned: examples.map((r) => x.decide(x.lookup(r).scored, x.threshold(), x.data.decision).returned),
             };
           }""",
        [[[requests[int(ids[a])], b] for a, b in pairs], [e["request"] for e in examples]],
    )
    assert np.array_equal(np.array([s[0] for s in js["scores"]]), result.levels)
    np.testing.assert_allclose([s[1] for s in js["scores"]], probabilities, rtol=0, atol=1e-9)
    for example, returned in zip(examples, js["returned"], strict=True):
        assert sorted(returned) == sorted(example["returned"]), example
    assert page.errors == []


@pytest.mark.slow  # a run of its own, then the page
def test_a_register_of_address_histories_is_scored_and_decided_as_the_engine_does(
    page, tmp_path_factory
) -> None:
    """With ``addresses: history`` a child has a register row per address: rows are scored
    one by one and the rule counts each child once, at its best row."""
    run, data, path = _explorer(tmp_path_factory, "lookup.addresses=history")
    assert len(set(data.payload["register"]["id"])) < len(data.payload["register"]["id"])
    _agrees_with_the_engine(page, run, data, path)


@pytest.mark.slow  # a run of its own, then the page
def test_other_comparisons_are_scored_as_the_engine_does(page, tmp_path_factory) -> None:
    """Middle names, and postcode and address compared apart (token-set levels), with other
    thresholds and a shorter date window."""
    comparisons = (
        "lookup.comparisons=[forename, {kind: name, role: surname, thresholds: [0.95, 0.85, 0.7],"
        " first3: false}, middle_names, {kind: date_of_birth, days: 30}, postcode,"
        " {kind: address, thresholds: [0.8, 0.5]}, sex]"
    )
    run, data, path = _explorer(tmp_path_factory, comparisons)
    kinds = [c["kind"] for c in data.payload["model"]["comparisons"]]
    assert kinds == ["name", "name", "name", "date_of_birth", "postcode", "address", "sex"]
    _agrees_with_the_engine(page, run, data, path)
