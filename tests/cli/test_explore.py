"""``matchsim explore``: the page lands in the run's result directory, listed in its marker,
and every refusal is one line with exit code 2 that leaves the directory as it was."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from matchsim.cli import main
from matchsim.io import RESULT_MARKER
from matchsim.report.explorer import script_json

SCENARIO = str(Path(__file__).resolve().parents[2] / "scenarios" / "home-office-lookup.yaml")


@pytest.fixture(scope="module", autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory):
    """Runs here never read or fill the user's cache of built worlds."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MATCHSIM_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        yield


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "home-office"
    assert main(["run", SCENARIO, "--set", "population.pupils=3000", "--out", str(out), "-q"]) == 0
    return out


def _copy(result: Path, tmp_path: Path) -> Path:
    target = tmp_path / "results" / "home-office"
    shutil.copytree(result, target)
    return target


def test_explore_writes_an_offline_page_listed_in_the_marker(result, tmp_path, capsys) -> None:
    out = _copy(result, tmp_path)
    code, stdout, _ = run(capsys, "explore", str(out))
    assert code == 0
    assert "explorer.html" in stdout
    page = (out / "explorer.html").read_text(encoding="utf-8")
    # Self-contained: no external script, style, image or link.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<script src" not in page and "<link" not in page
    assert "window.matchsimExplorer" in page
    marker = json.loads((out / RESULT_MARKER).read_text(encoding="utf-8"))
    assert "explorer.html" in marker["files"]
    before = page
    # Again: the page (which matchsim wrote) is replaced by the same page.
    assert run(capsys, "explore", str(out), "-q")[0] == 0
    assert (out / "explorer.html").read_text(encoding="utf-8") == before
    # The result stays a replaceable run result.
    again = ["run", SCENARIO, "--set", "population.pupils=3000", "--out", str(out), "-q"]
    assert run(capsys, *again)[0] == 0


def test_explore_defaults_to_the_latest_run(result, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "explore", "-q")
    assert code == 2 and err.count("\n") == 1 and "no run result under 'results'" in err
    out = _copy(result, tmp_path)
    assert run(capsys, "explore", "-q")[0] == 0
    assert (out / "explorer.html").is_file()


def test_explore_refuses_what_it_cannot_write_or_explain(result, tmp_path, capsys) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    code, _, err = run(capsys, "explore", str(mine))
    assert code == 2 and err.startswith("error: RESULT_DIR:") and err.count("\n") == 1

    out = _copy(result, tmp_path)
    (out / "explorer.html").write_text("my notes", encoding="utf-8")
    code, _, err = run(capsys, "explore", str(out))
    assert code == 2 and "did not write" in err
    assert (out / "explorer.html").read_text(encoding="utf-8") == "my notes"

    # A run with another matcher: refused before any work, nothing written.
    other = tmp_path / "deterministic"
    args = ["--set", "population.pupils=3000", "--set", "lookup.matcher=deterministic"]
    assert run(capsys, "run", SCENARIO, *args, "--out", str(other), "-q")[0] == 0
    marker = (other / RESULT_MARKER).read_text(encoding="utf-8")
    code, _, err = run(capsys, "explore", str(other))
    assert code == 2 and "lookup.matcher" in err and "fellegi_sunter" in err
    assert not (other / "explorer.html").exists()
    assert (other / RESULT_MARKER).read_text(encoding="utf-8") == marker


@pytest.mark.parametrize(
    "value",
    ["</script><script>alert(1)</script>", "<!-- x", "a & b", "line\u2028sep\u2029", "]]>"],
)
def test_script_json_cannot_close_its_element(value: str) -> None:
    text = script_json({"name": value})
    assert "<" not in text and ">" not in text and "&" not in text
    assert "\u2028" not in text and "\u2029" not in text
    assert json.loads(text) == {"name": value}
