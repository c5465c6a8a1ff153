"""Write the lookup explorer into a run's result directory: find the run, refuse what the page
cannot reproduce or may not overwrite, rerun the resolved scenario and write ``explorer.html``.

The page itself is built by :mod:`matchsim.report.explorer`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from matchsim.errors import ConfigError
from matchsim.matchers import FellegiSunter
from matchsim.report.explorer import build_explorer, comparison_spec, render_explorer

EXPLORER_FILE = "explorer.html"


def latest_result(root: Path = Path("results")) -> Path:
    """The most recent ``run`` result under ``root`` (by its marker's time)."""
    from matchsim.io import RESULT_MARKER, is_result_dir

    found = [p for p in root.iterdir() if is_result_dir(p, "run")] if root.is_dir() else []
    if not found:
        raise ConfigError(
            "RESULT_DIR",
            f"no run result under {str(root)!r}; run a scenario first "
            "(matchsim run scenarios/home-office-lookup.yaml) or give its directory",
        )
    return max(found, key=lambda p: (p / RESULT_MARKER).stat().st_mtime)


def check_explorable(scenario: Any) -> None:
    """Refuse, before any work, a scenario whose lookup the page cannot reproduce: it needs
    the Fellegi-Sunter matcher (the model it explains) and the default blocking passes."""
    from matchsim.matchers import make_matcher

    model = make_matcher(scenario.lookup.matcher)
    if not isinstance(model, FellegiSunter):
        raise ConfigError(
            "lookup.matcher",
            f"the explorer explains a Fellegi-Sunter model and this run used {model.describe()}; "
            "run the scenario again with --set lookup.matcher=fellegi_sunter and explore that",
        )
    from matchsim.comparison import make_comparison

    for spec in scenario.lookup.comparisons or ():
        comparison_spec(make_comparison(spec))
    if scenario.lookup.blocking not in (None, "default"):
        raise ConfigError(
            "lookup.blocking",
            "the explorer mirrors the default blocking passes and this run set its own; "
            "run the scenario again without lookup.blocking and explore that",
        )


def check_explore(result: Path) -> Any:
    """The run's resolved scenario, after refusing (before any work) a directory ``explore``
    may not write into or a run it cannot reproduce."""
    from matchsim.io import RESULT_MARKER, is_result_dir
    from matchsim.scenario import load_scenario

    if not is_result_dir(result, "run"):
        raise ConfigError(
            "RESULT_DIR",
            f"{str(result)!r} is not the result of 'matchsim run' (no {RESULT_MARKER} naming "
            "it); give a directory that matchsim run wrote",
        )
    files = json.loads((result / RESULT_MARKER).read_text(encoding="utf-8")).get("files")
    target = result / EXPLORER_FILE
    if target.is_symlink() or (target.exists() and (files is None or EXPLORER_FILE not in files)):
        raise ConfigError(
            "RESULT_DIR",
            f"{str(target)!r} exists and matchsim did not write it, and matchsim never "
            "replaces a file it did not write; move it out first",
        )
    resolved = result / "scenario.resolved.yaml"
    if not resolved.is_file():
        raise ConfigError(
            "RESULT_DIR", f"{str(resolved)!r} is missing; run the scenario again to explore it"
        )
    spec = load_scenario(resolved)
    check_explorable(spec)
    return spec


def explore(result: Path, stage: Any = None) -> Path:
    """Rebuild a run from its ``scenario.resolved.yaml`` and write ``explorer.html`` into its
    result directory (listed in the directory's marker, so the result stays matchsim's).

    The page is written beside its target and renamed in; the marker is rewritten the same
    way. Nothing is written when the run cannot be explored."""
    from matchsim.io import RESULT_MARKER, atomic_path
    from matchsim.scenario import run_scenario

    spec = check_explore(result)
    run = run_scenario(spec, stage)
    page = render_explorer(build_explorer(run))
    # Checked again just before writing: the directory may have changed meanwhile.
    check_explore(result)
    marker_path = result / RESULT_MARKER
    marker = json.loads(marker_path.read_text(encoding="utf-8"))
    files = marker.get("files")
    target = result / EXPLORER_FILE
    with atomic_path(target) as tmp:
        tmp.write_text(page, encoding="utf-8")
    if files is not None and EXPLORER_FILE not in files:
        marker["files"] = sorted([*files, EXPLORER_FILE])
        with atomic_path(marker_path) as tmp:
            tmp.write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    return target
