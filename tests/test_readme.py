"""Every README example with printed output prints what the README says.

An example is a plain fenced block (no language) of output:

* a **transcript**, whose lines starting ``$ `` are commands, each followed by what it
  prints (stdout and stderr together); or
* the output of a command given by a ``<!-- readme-test: ... -->`` comment on the line
  before the block (or before the ``bash`` block it belongs to). Its fields:

  ``run="matchsim ..."``
      the command whose output the block shows (default: the last ``matchsim`` command of
      the nearest ``bash``/``sh`` block above);
  ``args="--set population.pupils=100000"``
      appended to the command: a smaller size, which the README's text must state;
  ``setup="previous"``
      first run every other command of that ``bash`` block (``python -c`` scripts, earlier
      ``matchsim`` commands) in the same directory; ``pip install`` lines are not run;
  ``requires="recordlinkage"``
      modules the example needs (the peers environment of ``.ci/run`` has them);
  ``match="excerpt"``
      the block shows some of the output's lines: each must appear, in order; by default
      the block must be the whole output;
  ``slow``
      the example takes more than about 20 s.

Comparison is line by line, word for word: table frames that rich draws (the README shows
tables without them), blank lines and the width of the space between words (column padding
depends on the terminal) are ignored, nothing else is; an expected line ending in
``...`` matches any line that starts with the rest. ``matchsim`` commands run in-process
(``matchsim.cli.main``) in a temporary directory holding the repository's ``scenarios/``.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from rich.console import Console

import matchsim.cli as cli
from matchsim.cli import render

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
#: Width the README's printed outputs were rendered at (a standard terminal).
WIDTH = 80
_FENCE = re.compile(r"^```(\w*)\s*$")
_DIRECTIVE = re.compile(r"^<!--\s*readme-test:(.*?)-->\s*$")
#: rich's box-drawing characters: tables are shown without their frames in the README
_FRAME = re.compile(r"[\u2500-\u257f]")


@dataclass
class Example:
    line: int  # 1-based line of the output block in README.md
    expected: list[str]
    commands: list[str] = field(default_factory=list)  # transcript: one per "$ " line
    outputs: list[list[str]] = field(default_factory=list)
    run: str | None = None
    setup: list[str] = field(default_factory=list)
    args: str = ""
    requires: list[str] = field(default_factory=list)
    excerpt: bool = False
    slow: bool = False

    @property
    def id(self) -> str:
        return f"README.md:{self.line}"


def _directive(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for token in shlex.split(text):
        key, _, value = token.partition("=")
        fields[key.strip()] = value
    unknown = set(fields) - {"run", "args", "setup", "requires", "match", "slow"}
    assert not unknown, f"unknown readme-test field(s) {sorted(unknown)}"
    return fields


def _shell_commands(lines: list[str]) -> list[str]:
    """Commands of a bash block: continuation lines joined, comments and prompts dropped;
    a ``python -c "..."`` spanning lines stays one command."""
    text = "\n".join(lines).replace("\\\n", " ")
    commands: list[str] = []
    buffer = ""
    for line in text.splitlines():
        buffer = f"{buffer}\n{line}" if buffer else line
        try:
            shlex.split(buffer, comments=True)
        except ValueError:  # an open quote: the command goes on
            continue
        stripped = buffer.strip()
        if stripped and not stripped.startswith("#"):
            commands.append(stripped)
        buffer = ""
    return commands


def parse_readme(text: str) -> list[Example]:
    lines = text.splitlines()
    examples: list[Example] = []
    last_shell: list[str] = []
    pending: dict[str, str] | None = None
    i = 0
    while i < len(lines):
        match = _DIRECTIVE.match(lines[i].strip())
        if match:
            pending = _directive(match.group(1))
            i += 1
            continue
        fence = _FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        language = fence.group(1)
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        body = lines[i + 1 : end]
        if language in ("bash", "sh", "shell", "console"):
            last_shell = _shell_commands(body)
        elif language == "":
            example = _example(i + 1, body, last_shell, pending)
            if example is not None:
                examples.append(example)
            pending = None
        i = end + 1
    return examples


def _example(
    line: int, body: list[str], shell: list[str], directive: dict[str, str] | None
) -> Example | None:
    if body and body[0].startswith("$ "):
        example = Example(line, body)
        for text in body:
            if text.startswith("$ "):
                example.commands.append(text[2:])
                example.outputs.append([])
            else:
                example.outputs[-1].append(text)
        return example
    if directive is None:
        # Output shown after the last matchsim command of the block above it.
        if not any(_is_matchsim(c) for c in shell):
            return None
        directive = {}
    example = Example(line, body)
    matchsim_commands = [c for c in shell if _is_matchsim(c)]
    example.run = directive.get("run") or (matchsim_commands[-1] if matchsim_commands else None)
    assert example.run, f"README.md:{line}: no command for this output; add run=..."
    if directive.get("setup") == "previous":
        example.setup = [c for c in shell if c != example.run and not _is_pip(c)]
    example.args = directive.get("args", "")
    example.requires = [m for m in directive.get("requires", "").split(",") if m]
    example.excerpt = directive.get("match") == "excerpt"
    example.slow = "slow" in directive
    return example


def _is_matchsim(command: str) -> bool:
    first = command.split()[0] if command.split() else ""
    return first == "matchsim" or first.endswith("/matchsim")


def _is_pip(command: str) -> bool:
    return re.search(r"(^|\s|/)pip3?\s+install\b", command) is not None or "venv" in command


def normalise(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        words = _FRAME.sub(" ", line).split()
        if words:
            out.append(" ".join(words))
    return out


def _same(expected: str, actual: str) -> bool:
    if expected.endswith("..."):
        return actual.startswith(expected[:-3].rstrip())
    return expected == actual


def assert_output(expected_lines: list[str], actual: str, excerpt: bool, where: str) -> None:
    expected = normalise("\n".join(expected_lines))
    got = normalise(actual)
    if excerpt:
        position = 0
        for line in expected:
            while position < len(got) and not _same(line, got[position]):
                position += 1
            assert position < len(got), (
                f"{where}: {line!r} not printed (in order); got:\n" + "\n".join(got)
            )
            position += 1
        return
    ok = len(expected) == len(got) and all(_same(e, a) for e, a in zip(expected, got, strict=True))
    assert ok, (
        f"{where}: README shows\n"
        + "\n".join(expected)
        + "\nthe command printed\n"
        + "\n".join(got)
    )


def run_matchsim(command: str, capsys) -> str:
    argv = shlex.split(command, comments=True)[1:]
    cli.main(argv)
    captured = capsys.readouterr()
    return captured.out + captured.err


def _shell(command: str, cwd: Path) -> None:
    command = re.sub(r"^python3?\b", shlex.quote(sys.executable), command)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    subprocess.run(command, shell=True, cwd=cwd, check=True, env=env, timeout=600)


EXAMPLES = parse_readme(README.read_text(encoding="utf-8"))


def _param(example: Example):
    marks = [pytest.mark.slow] if example.slow else []
    # An example that needs the peer engines is named after them, so that the peers
    # environment of .ci/run can select it (-k recordlinkage).
    name = "-".join([example.id, *example.requires])
    return pytest.param(example, id=name, marks=marks)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    monkeypatch.chdir(tmp_path)
    # The README's outputs are rendered at a standard terminal's width.
    monkeypatch.setattr(render, "console", Console(width=WIDTH, force_terminal=False))
    monkeypatch.setattr(
        render, "err_console", Console(width=WIDTH, force_terminal=False, stderr=True)
    )
    return tmp_path


def test_readme_has_examples_to_check():
    assert len(EXAMPLES) >= 2
    assert any(e.commands for e in EXAMPLES) and any(e.run for e in EXAMPLES)


@pytest.mark.parametrize("example", [_param(e) for e in EXAMPLES])
def test_readme_example_prints_what_the_readme_shows(example: Example, workdir, capsys):
    for module in example.requires:
        if os.environ.get("MATCHSIM_REQUIRE_PEERS") == "1":
            __import__(module)  # the peers environment must run it, not skip it
        pytest.importorskip(module, reason=f"{example.id} needs {module} (the peers environment)")
    if example.commands:
        for command, output in zip(example.commands, example.outputs, strict=True):
            assert _is_matchsim(command), f"{example.id}: only matchsim transcripts are run"
            assert_output(output, run_matchsim(command, capsys), example.excerpt, example.id)
        return
    for command in example.setup:
        if _is_matchsim(command):
            run_matchsim(command, capsys)
        else:
            _shell(command, workdir)
    command = f"{example.run} {example.args}".strip()
    assert_output(example.expected, run_matchsim(command, capsys), example.excerpt, example.id)


def test_parser_reads_directives_transcripts_and_excerpts():
    text = """
```bash
pip install x
python -c "
print(1)
"
matchsim run a.yaml \\
    --seed 2
```

<!-- readme-test: setup=previous args="--set population.pupils=1000" match=excerpt requires=x,y slow -->
```
out
```

```
$ matchsim list
Decision policies (lookup.decision)
$ matchsim generate --pupils -3
error: ...
```
"""
    run, transcript = parse_readme(text)
    assert run.run is not None and shlex.split(run.run) == [
        "matchsim",
        "run",
        "a.yaml",
        "--seed",
        "2",
    ]
    assert run.args == "--set population.pupils=1000"
    assert run.setup == ['python -c "\nprint(1)\n"'] and run.requires == ["x", "y"]
    assert run.excerpt and run.slow and run.expected == ["out"]
    assert transcript.commands == ["matchsim list", "matchsim generate --pupils -3"]
    assert transcript.outputs == [["Decision policies (lookup.decision)"], ["error: ..."]]


def test_comparison_is_exact_except_frames_and_marked_ellipses():
    printed = "┏━━━┓\n┃ a  1 ┃\n\nerror: x: unknown value; known: a, b, c\n"
    assert_output(["a 1", "error: x: unknown value; known: ..."], printed, False, "t")
    with pytest.raises(AssertionError):
        assert_output(["a  2", "error: ..."], printed, False, "t")
    with pytest.raises(AssertionError):  # words must be exact
        assert_output(["a 1", "error: x: unknown value; known: a, b"], printed, False, "t")
    with pytest.raises(AssertionError):  # a missing line fails a whole-output block
        assert_output(["a  1"], printed, False, "t")
    assert_output(["a  1"], printed, True, "t")
