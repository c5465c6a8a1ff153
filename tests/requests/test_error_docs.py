"""docs/error-model.md lists every profile's rates with their sources, and is current."""

from __future__ import annotations

from pathlib import Path

from matchsim.requests.corruptors import ERROR_TYPES
from matchsim.requests.error_docs import render
from matchsim.requests.profiles import PROFILES

ROOT = Path(__file__).resolve().parents[2]


def test_error_model_page_is_current() -> None:
    committed = (ROOT / "docs" / "error-model.md").read_text()
    assert committed == render(), (
        "regenerate: python -m matchsim.requests.error_docs > docs/error-model.md"
    )


def test_every_nonzero_rate_has_a_source() -> None:
    page = render()
    for profile in PROFILES.values():
        section = page.split(f"## Profile `{profile.name}`")[1].split("## Profile")[0]
        for name in ERROR_TYPES:
            row = next(line for line in section.splitlines() if line.startswith(f"| `{name}` |"))
            cells = [c.strip() for c in row.strip().strip("|").split("|")]
            rate, source = cells[1], cells[-1]
            if rate != "0":
                assert source, (profile.name, name)
