"""What a peer engine is handed: role columns decoded from a linkage, and the missing-extra error."""

from __future__ import annotations

import datetime as dt
import sys

import numpy as np
import pandas as pd
import pytest

from matchsim.cli import main
from matchsim.errors import ConfigError
from matchsim.linkage import link_tables
from matchsim.matchers import make_matcher
from matchsim.peers import PEERS_EXTRA, require, role_table
from matchsim.peers.splink_matcher import _spaced_postcodes
from matchsim.peers.tables import peer_roles
from matchsim.records import prepare

ROLES = {
    "id": "id",
    "fn": "forename",
    "sn": "surname",
    "dob": "date_of_birth",
    "sex": "sex",
    "pc": "postcode",
    "addr": "address",
}
LEFT = pd.DataFrame(
    {
        "id": [1, 2],
        "fn": ["Zoë", None],
        "sn": ["O'Brien", "Khan"],
        "dob": ["2012-03-04", None],
        "sex": ["F", "m"],
        "pc": ["ls12 4ab", "B10 0AB"],
        "addr": ["14 Quarry Ln", "5 Elm Grove"],
    }
)
RIGHT = pd.DataFrame(
    {
        "id": [7, 8, 9],
        "fn": ["ZOE", "Aisha", "Ann"],
        "sn": ["OBrien", "Begum", "Lee"],
        "dob": ["2012-03-04", "2011-01-02", "2010-05-06"],
        "sex": ["F", "F", None],
        "pc": ["LS12 4AB", "M4 6EE", "NE4 9ZZ"],
        "addr": ["14 Quarry Lane", "1 High St", "2 Low Rd"],
    }
)


def test_role_table_decodes_every_role_with_nulls_for_missing_values():
    data = prepare(LEFT, RIGHT, ROLES)
    roles = ["forename", "surname", "date_of_birth", "sex", "postcode", "address"]
    left = role_table(data.left, data, roles, row_column="row").to_pylist()
    assert left[0] == {
        "row": 0,
        "forename": "ZOE",
        "surname": "O BRIEN",
        "date_of_birth": dt.date(2012, 3, 4),
        "sex": "F",
        "postcode": "LS124AB",
        "address": "14 QUARRY LANE",
    }
    assert left[1]["forename"] is None and left[1]["date_of_birth"] is None
    assert left[1]["sex"] == "M"
    right = role_table(data.right, data, roles, np.array([2, 0])).to_pylist()
    assert [r["forename"] for r in right] == ["ANN", "ZOE"]
    assert right[0]["sex"] is None


def test_postcodes_get_the_space_splink_expects():
    data = prepare(LEFT, RIGHT, ROLES)
    table = role_table(data.right, data, ["postcode"], transform={"postcode": _spaced_postcodes})
    assert table["postcode"].to_pylist() == ["LS12 4AB", "M4 6EE", "NE4 9ZZ"]


def test_peers_compare_matchsims_default_fields():
    data = prepare(LEFT, RIGHT, ROLES)
    both = ["forename", "surname", "date_of_birth", "postcode", "address", "sex"]
    assert peer_roles(data, address_with_postcode=True) == both
    # One home is one piece of evidence: the address goes only where there is no postcode.
    assert "address" not in peer_roles(data, address_with_postcode=False)
    no_postcode = {k: v for k, v in ROLES.items() if v != "postcode"}
    data = prepare(LEFT, RIGHT, no_postcode)
    assert "address" in peer_roles(data, address_with_postcode=False)


# --- a missing extra -------------------------------------------------------------------------


@pytest.fixture
def without_peers(monkeypatch):
    """Make the peer libraries unimportable, whether or not they are installed."""
    for module in ("splink", "recordlinkage", "duckdb"):
        monkeypatch.setitem(sys.modules, module, None)


@pytest.mark.parametrize(
    ("name", "module"), [("splink", "splink"), ("recordlinkage", "recordlinkage")]
)
def test_a_missing_extra_names_what_to_install(without_peers, name, module):
    with pytest.raises(ConfigError) as info:
        make_matcher(name)
    message = str(info.value)
    assert message.startswith(f"matcher.{name}: needs {module}")
    assert PEERS_EXTRA in message and "\n" not in message


def test_require_returns_the_module_when_installed():
    assert require("numpy", "field") is np


def test_link_tables_with_a_missing_extra_fails_before_any_work(without_peers):
    with pytest.raises(ConfigError, match="matchsim\\[peers\\]"):
        link_tables(LEFT, RIGHT, ROLES, matcher="splink")


def test_cli_exits_2_with_one_line_when_the_extra_is_missing(without_peers, tmp_path, capsys):
    left, right = tmp_path / "left.csv", tmp_path / "right.csv"
    LEFT.to_csv(left, index=False)
    RIGHT.to_csv(right, index=False)
    maps = [f"--map={column}={role}" for column, role in ROLES.items()]
    code = main(
        [
            "link",
            str(left),
            str(right),
            "--out",
            str(tmp_path / "pairs.csv"),
            *maps,
            "--matcher",
            "splink",
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("error: matcher.splink: needs splink") and PEERS_EXTRA in err
    assert "Traceback" not in err and len(err.splitlines()) == 1
    assert not (tmp_path / "pairs.csv").exists()


def test_matchers_without_levels_refuse_explicit_comparisons(recordlinkage_installed):
    with pytest.raises(ConfigError, match=r"^comparisons: the recordlinkage matcher"):
        link_tables(LEFT, RIGHT, ROLES, matcher="recordlinkage", comparisons=["surname"])


class _UnusedPartitions:
    def candidates(self, *args, **kwargs):
        raise AssertionError("a peer matcher must be refused before any partition")


@pytest.mark.parametrize(
    ("matcher", "fixture"),
    [("recordlinkage", "recordlinkage_installed"), ("splink", "splink_installed")],
)
def test_peer_matchers_need_no_levels_and_are_refused_on_partitions(matcher, fixture, request):
    from matchsim.linkage import link_prepared

    request.getfixturevalue(fixture)
    model = make_matcher(matcher)
    assert not model.needs_levels and not model.partitionable
    with pytest.raises(ConfigError, match=rf"^lookup\.matcher: the {matcher} matcher cannot run"):
        link_prepared(prepare(LEFT, RIGHT, ROLES), matcher=matcher, partitions=_UnusedPartitions())
