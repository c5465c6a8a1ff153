"""The registry's lazily declared names: listed at once, imported only when the class is used."""

from __future__ import annotations

import sys

import pytest

from matchsim.errors import ConfigError
from matchsim.registry import Registry

PLUGIN = '''
from matchsim.registry import Registry

class Plain:
    """A plugin the registry registers when it is first looked up.

    Parameters
    ----------
    size
        How big.
    """

    def __init__(self, size: int = 3) -> None:
        self.size = size
'''

SELF_REGISTERING = '''
from tests_registry_home import THINGS

@THINGS.register("self")
class SelfRegistering:
    """A plugin that registers itself with the decorator when its module is imported."""
'''


@pytest.fixture
def plugins(tmp_path, monkeypatch):
    (tmp_path / "tests_registry_plain.py").write_text(PLUGIN)
    (tmp_path / "tests_registry_self.py").write_text(SELF_REGISTERING)
    (tmp_path / "tests_registry_home.py").write_text(
        "from matchsim.registry import Registry\nTHINGS = Registry('thing', 'things')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for name in ("tests_registry_plain", "tests_registry_self", "tests_registry_home"):
        sys.modules.pop(name, None)


def test_a_lazy_name_is_listed_without_importing_its_module(plugins):
    things: Registry = Registry("thing", "things")
    things.add_lazy("plain", "tests_registry_plain:Plain")
    assert "plain" in things
    assert sorted(things) == ["plain"] and len(things) == 1
    assert not things.is_loaded("plain")
    assert "tests_registry_plain" not in sys.modules
    with pytest.raises(ConfigError, match="did you mean 'plain'"):
        things.check("plian", {})


def test_creating_a_lazy_name_imports_its_module(plugins):
    things: Registry = Registry("thing", "things")
    things.add_lazy("plain", "tests_registry_plain:Plain")
    made = things.create("plain", {"size": 5})
    assert "tests_registry_plain" in sys.modules
    assert type(made).__name__ == "Plain" and made.size == 5
    assert type(made).name == "plain"
    assert things.is_loaded("plain")
    assert things["plain"] is type(made)
    assert [o.name for o in things.options("plain")] == ["size"]


def test_reading_options_or_values_imports_the_module(plugins):
    things: Registry = Registry("thing", "things")
    things.add_lazy("plain", "tests_registry_plain:Plain")
    assert things.options("plain")[0].meaning == "How big."
    assert [cls.__name__ for cls in things.values()] == ["Plain"]
    assert dict(things)["plain"].__name__ == "Plain"


def test_a_module_that_registers_itself_fills_its_declared_name(plugins):
    import tests_registry_home

    things = tests_registry_home.THINGS
    things.add_lazy("self", "tests_registry_self:SelfRegistering")
    cls = things["self"]
    assert cls.__name__ == "SelfRegistering" and cls.name == "self"


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            "tests_registry_nowhere:Plain",
            "declared as 'tests_registry_nowhere:Plain', which cannot be imported: "
            "No module named 'tests_registry_nowhere'",
        ),
        (
            "tests_registry_plain:Missing",
            "thing 'plain' is declared as 'tests_registry_plain:Missing', "
            "which cannot be imported: .*has no attribute 'Missing'",
        ),
    ],
)
def test_a_bad_target_says_which_name_and_path(plugins, target, message):
    things: Registry = Registry("thing", "things")
    things.add_lazy("plain", target)
    assert "plain" in things
    with pytest.raises(ImportError, match=message):
        things.create("plain")


@pytest.mark.parametrize("target", ["no_colon", ":Class", "module:", "module:not-a-name"])
def test_a_malformed_target_is_refused_when_declared(target):
    with pytest.raises(ValueError, match=r"is not 'package\.module:Class'"):
        Registry("thing", "things").add_lazy("x", target)


def test_a_name_declared_twice_is_refused(plugins):
    things: Registry = Registry("thing", "things")
    things.add_lazy("plain", "tests_registry_plain:Plain")
    with pytest.raises(ValueError, match="registered twice"):
        things.add_lazy("plain", "tests_registry_plain:Plain")
    with pytest.raises(ValueError, match="registered twice"):
        things.register("plain")(type("Other", (), {}))


def test_the_built_in_plugins_are_declared_lazily():
    from matchsim.blocking import BLOCKERS
    from matchsim.matchers import MATCHERS

    assert {"recordlinkage", "clk_lsh"} <= set(BLOCKERS)
    assert {"recordlinkage", "splink", "bloom_dice"} <= set(MATCHERS)
    assert MATCHERS["bloom_dice"].__module__ == "matchsim.pprl.matcher"
    assert BLOCKERS["clk_lsh"].__module__ == "matchsim.pprl.lsh"
