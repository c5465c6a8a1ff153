"""A scenario's name is a safe slug (it names results/NAME); resolved copies hold the version."""

from __future__ import annotations

import pytest
import yaml

from matchsim.errors import ConfigError
from matchsim.scenario import Scenario, load_scenario, resolved_yaml


@pytest.mark.parametrize("name", ["twins", "home-office-lookup", "run_2", "v1.2", "A" * 100])
def test_slugs_are_names(name):
    assert load_scenario(data={"name": name}).name == name


@pytest.mark.parametrize(
    "name", ["../victim", "..", ".", "/tmp/x", "a/b", "a\\b", ".hidden", "-x", "a b", "", "A" * 101]
)
def test_a_name_that_is_not_a_slug_is_refused_naming_the_key(name):
    with pytest.raises(ConfigError, match=r"^name: .*letters, digits") as info:
        load_scenario(data={"name": name})
    assert info.value.field == "name"


def test_a_resolved_scenario_holds_the_version_that_wrote_it():
    read_in = Scenario.model_validate({"matchsim_version": "0.0.1", "seed": 3})
    text = resolved_yaml(read_in, "9.9.9")
    assert "written by matchsim 9.9.9" in text.splitlines()[0]
    data = yaml.safe_load(text)
    assert data["matchsim_version"] == "9.9.9"
    assert next(iter(data)) == "matchsim_version"
    assert load_scenario(data=data).seed == 3  # and it reads back
