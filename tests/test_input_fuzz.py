"""Bad input is refused with a message, never a traceback: a hypothesis fuzz of 1,000 malformed inputs.

Scenario files (the shipped ones mutated: a key dropped, a value of the wrong
type, a negative or huge number, an unknown key, a bad date, broken YAML, a
bad ``extends:``, a cycle, bytes that are not UTF-8, an empty file, a list
instead of a mapping, a key given twice, odd tags, alias bombs, and generated
garbage), sweep files and gates files mutated the same way, and random option
values for ``simulate``, ``compare``, ``sweep``, ``report``, ``load``, ``serve``
and ``openapi``, each given to the real ``c2c`` entry point in process
(:class:`click.testing.CliRunner`).

For every input: the command accepts it, or it exits 2 with no traceback and
a message naming the file at fault (every line of it) and, when what is wrong
is inside the file, the line. Nothing long ever runs: the functions that
would start a run (``simulate``, ``serve``, ``run_load``, the sweep's
executors, compare's pool) are replaced by one that raises :class:`Accepted`,
which is how a valid input is counted. An input built to be invalid (an
unknown key, a file that is not UTF-8...) must be refused, not accepted.

The examples are derandomized, so CI sees the same 1,000 inputs every run;
``--hypothesis-show-statistics`` shows how many each test accepted.
"""

from __future__ import annotations

import itertools
import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, currently_in_test_context, event, given, settings
from hypothesis import strategies as st

from simulator.cli import main
from simulator.scenario import dump_scenario, read_yaml
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

# every test is reproducible (derandomize) and none is cut short for its speed; the sizes sum to 1,000
FUZZ = settings(deadline=None, derandomize=True, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
SIZES = {"scenario_structure": 170, "scenario_text": 170, "sweep": 140, "gates": 120,
         "simulate_args": 18, "compare_args": 18, "sweep_args": 15, "report_args": 8, "load_args": 24,
         "serve_args": 20, "openapi_args": 10}  # and SINGLE_FAULTS: every value to refuse once, alone (287)

SCENARIOS = sorted([*(ROOT / "scenarios").glob("*.yaml"), *(ROOT / "conformance" / "scenarios").glob("*.yaml")])
SWEEPS = sorted(path for path in (ROOT / "scenarios" / "sweeps").glob("*.yaml")
                if re.search(r"^grid:", path.read_text(), re.MULTILINE))  # not a gates file kept beside them
GATES = sorted((ROOT / "scenarios" / "gates").glob("*.yaml"))
SHIPPED_NAMES = [str(path.relative_to(ROOT)) for path in SCENARIOS]  # a base a file extends may be at fault
# file-level verdicts: about the file as a whole, so there is no line to name
WHOLE_FILE = ("the file is empty", "cannot read", "no gates", "no kpis: gates", "no compare: gates")


class Accepted(BaseException):
    """Raised where a command would start its run: the input passed every check. A BaseException, so that no
    ``except Exception`` of the command turns it into an internal error."""


def _accept(*args: Any, **kwargs: Any) -> Any:
    raise Accepted


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of the shipped scenario, sweep and gates files, the working directory of every command, with every
    function that would start a run replaced by :func:`_accept`."""
    import multiprocessing
    import tempfile

    import simulator.cli
    import simulator.load
    import simulator.run
    import simulator.served
    import simulator.sweep_workers

    root = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(ROOT / "scenarios", root / "scenarios")
    shutil.copytree(ROOT / "conformance" / "scenarios", root / "conformance" / "scenarios")
    (root / "tmp").mkdir()
    (root / "empty_dir").mkdir()
    path = list(sys.path)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setattr(simulator.run, "simulate", _accept)
        patch.setattr(simulator.served, "serve", _accept)
        patch.setattr(simulator.load, "run_load", _accept)
        patch.setattr(simulator.sweep_workers, "run_locally", _accept)
        patch.setattr(simulator.sweep_workers, "run_on_dask", _accept)
        patch.setattr(simulator.cli, "_compare_run", _accept)
        patch.setattr(multiprocessing, "get_context", _accept)  # c2c compare's pool, once its inputs are checked
        patch.setattr(tempfile, "tempdir", str(root / "tmp"))  # c2c serve --connector-cmd's work directory
        yield root
    sys.path[:] = path  # c2c puts the working directory on the path for connector factories


_numbers = itertools.count(1)


@dataclass
class Case:
    """Files to write (name relative to the workspace -> bytes) and what a refusal must say."""

    files: dict[str, bytes]
    must_fail: bool = False  # invalid by construction: accepting it is a bug
    inside: bool = True  # what is wrong is inside a file: the message names a line
    label: str = ""
    extra: list[str] = field(default_factory=list)  # more files the message may name

    def write(self, root: Path) -> None:
        for name, data in self.files.items():
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)


@dataclass
class Outcome:
    args: list[str]
    accepted: bool
    exit_code: int
    output: str
    exception: BaseException | None

    def describe(self) -> str:
        return f"c2c {' '.join(repr(a) for a in self.args)} -> exit {self.exit_code}\n{self.output}"


def c2c(args: list[str]) -> Outcome:
    """``c2c ARGS`` in process, in the workspace, with nothing able to start a run."""
    import simulator.run

    assert simulator.run.simulate is _accept, "c2c would start real runs: use the workspace fixture"
    try:
        result = CliRunner().invoke(main, args)
    except Accepted:
        return Outcome(args, True, 0, "", None)
    exception = None if isinstance(result.exception, SystemExit) else result.exception
    return Outcome(args, False, result.exit_code, result.output, exception)


def error_lines(output: str) -> list[str]:
    """The lines of the error message: ours (``error: ...`` then its own lines) or click's usage error."""
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("error: "):
            return [line.removeprefix("error: "), *(rest for rest in lines[i + 1:] if rest.strip())]
        if line.startswith("Error: "):
            return [line]
    return []


def tally(outcome: str) -> None:
    """Count the outcome for ``--hypothesis-show-statistics`` (a parametrized case has no statistics)."""
    if currently_in_test_context():
        event(outcome)


def assert_clean(outcome: Outcome, done_is_accepted: bool = False) -> None:
    """Exit 2 or accepted (or, for a command that runs nothing long, done: exit 0), never an exception, never a
    traceback."""
    assert outcome.exception is None, f"{outcome.describe()}\nraised {outcome.exception!r}"
    assert "Traceback" not in outcome.output, outcome.describe()
    if outcome.accepted or (done_is_accepted and outcome.exit_code == 0):
        return
    assert outcome.exit_code == 2, outcome.describe()
    assert error_lines(outcome.output), f"no error message: {outcome.describe()}"


def assert_refused_naming(outcome: Outcome, case: Case, files: list[str]) -> None:
    """The input was refused (if it had to be) and every line of the message names one of ``files`` (with a line
    number, when what is wrong is inside the file)."""
    assert_clean(outcome)
    tally(f"{'accepted' if outcome.accepted else 'refused'}{' (built invalid)' if case.must_fail else ''}")
    if outcome.accepted:
        assert not case.must_fail, f"accepted an input built to be invalid ({case.label}): c2c {outcome.args}"
        return
    names = [*files, *case.extra, *(str(Path(f).resolve()) for f in [*files, *case.extra])]
    for line in error_lines(outcome.output):
        if line.startswith("Error: "):  # click refused an argument: it names the argument
            continue
        named = [name for name in names if name in line]
        assert named, f"the message does not name the file ({files}): {line!r}\n{case.label}\n{outcome.describe()}"
        if case.inside and not any(words in line for words in WHOLE_FILE):
            assert re.search(r" line \d+\b", line), f"no line named: {line!r}\n{case.label}\n{outcome.describe()}"


# -- mutations ---------------------------------------------------------------------------------------------------

SNIPPETS = [":", ": ", "- ", "[", "]", "{", "}", "\t", "&a ", "*a", "*nope ", "!!int x", "? ", "|", ">", "'", '"',
            "%YAML 1.1\n", "---\n", "...\n", "\x00", "\x1b", "\ufeff", "!replace ", "<<: *a\n", "#", "@", "`",
            "!!timestamp 2024-13-45", "!!binary ===", "!custom ", "\n  - x\n", "\n  bad indent: 1\n", ",", "%"]
TAGGED = ["!!int x", "!!int 1_0", "!!float x", "!!timestamp 2024-02-30", "!!timestamp x", "!!binary ***",
          "!!bool maybe", "!!null x", "!!python/object:os.system {}", "!!python/name:os.system x", "!custom x",
          "!!set {a, b}", "!!omap [a: 1, a: 2]", "!!pairs [a: 1]", "!!map [1]", "!!seq {a: 1}", "!!str [1]",
          "!replace [1]", "!replace x", "!!merge x", "!!value x", "!!yaml x"]
BAD_DATES = ["2024-02-30", "2024-13-01", "2024-00-01", "0000-01-01", "9999-12-31", "1999-12-01", "2101-01-01",
             "2024-01-01T25:00:00", "2024-1-1", "2024-01-15", "20240101", "2024-01-01 00:00:00 +99:00",
             "2024-02-29T24:60:60Z", "99999-01-01"]
NOT_UTF8 = [b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80", b"\xe2\x82"]
ODD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-10**40, max_value=10**40), st.sampled_from([-1, 0, 2**63, -2**63]),
    st.floats(), st.text(max_size=12), st.sampled_from(["", "  ", "x" * 300, "2024-02-30", "-1", "1e999", "nan"]),
    st.lists(st.integers(-5, 5), max_size=3), st.dictionaries(st.sampled_from(["a", "name", "rate"]), st.integers(),
                                                              max_size=2),
    st.dates(), st.datetimes(), st.binary(max_size=4))


def _paths(node: Any, path: tuple = ()) -> Iterator[tuple]:
    """Every path into a document: mapping keys and list indices."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*path, key)
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield (*path, i)
            yield from _paths(value, (*path, i))


def _containers(node: Any, path: tuple = ()) -> Iterator[tuple]:
    if isinstance(node, dict):
        yield path
        for key, value in node.items():
            yield from _containers(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _containers(value, (*path, i))


def _at(document: Any, path: tuple) -> Any:
    for part in path:
        document = document[part]
    return document


def _dump(document: Any) -> bytes:
    return dump_scenario(document).encode() if isinstance(document, dict) else yaml.safe_dump(document).encode()


@st.composite
def structural(draw: st.DrawFn, text: str, source: str, required: tuple[str, ...]) -> tuple[bytes, bool, str]:
    """The file's document changed the way a user gets it wrong: (new YAML, built invalid?, what changed)."""
    document, _ = read_yaml(text, source)
    paths = list(_paths(document))
    kind = draw(st.sampled_from(["drop", "drop_required", "retype", "unknown_top", "unknown_nested", "root",
                                 "negative", "huge"]))
    if kind in ("drop", "retype", "negative", "huge") and paths:
        path = draw(st.sampled_from(paths))
        parent = _at(document, path[:-1])
        if kind == "drop":
            del parent[path[-1]]
            return _dump(document), False, f"dropped {path}"
        value = {"retype": ODD_VALUES, "negative": st.sampled_from([-1, -0.5, -10**12, -1e308]),
                 "huge": st.sampled_from([10**9, 10**18, 2**64, 1e308, 10**40])}[kind]
        drawn = draw(value)
        parent[path[-1]] = drawn
        return _dump(document), False, f"{path} = {drawn!r}"
    if kind == "drop_required" and required and not document.get("extends"):
        key = draw(st.sampled_from(required))
        document.pop(key, None)
        return _dump(document), key in required, f"dropped required {key}"
    if kind == "unknown_nested":
        where = draw(st.sampled_from(list(_containers(document))))
        _at(document, where)["zz_" + draw(st.text("abcxyz_", min_size=1, max_size=8))] = draw(ODD_VALUES)
        return _dump(document), False, f"unknown key under {where}"
    if kind == "root":
        replacement = draw(st.sampled_from([[document], list(document), "text", 42, None, [], [1, 2]]))
        return yaml.safe_dump(replacement, default_flow_style=None).encode(), True, f"root {type(replacement)}"
    document["zz_" + draw(st.text("abcxyz_", min_size=1, max_size=8))] = draw(ODD_VALUES)
    return _dump(document), True, "unknown top-level key"


def _top_level_lines(text: str) -> list[tuple[int, str]]:
    return [(i, line) for i, line in enumerate(text.splitlines()) if re.match(r"^[A-Za-z_][A-Za-z0-9_]*:", line)]


@st.composite
def textual(draw: st.DrawFn, text: str, name: str, folder: str) -> Case:
    """The file's text broken the way files get broken: (files to write, built invalid?, label)."""
    data = text.encode()
    lines = text.splitlines()
    kind = draw(st.sampled_from(["truncate", "snippet", "not_utf8", "empty", "duplicate", "extends", "deep",
                                 "big_int", "tag", "bad_date", "alias", "garbage_bytes", "garbage_text",
                                 "garbage_yaml"]))
    here = f"{folder}/{name}"
    if kind == "truncate":
        cut = draw(st.integers(0, len(data)))
        return Case({here: data[:cut]}, label=f"truncated at {cut}")
    if kind == "snippet":
        at = draw(st.integers(0, len(text)))
        snippet = draw(st.sampled_from(SNIPPETS))
        return Case({here: (text[:at] + snippet + text[at:]).encode()}, label=f"{snippet!r} at {at}")
    if kind == "not_utf8":
        at = draw(st.integers(0, len(data)))
        bad = draw(st.sampled_from(NOT_UTF8))
        return Case({here: data[:at] + bad + data[at:]}, must_fail=True, label=f"{bad!r} at byte {at}")
    if kind == "empty":
        content = draw(st.sampled_from([b"", b"\n", b"   \n\t\n", b"# only a comment\n", b"---\n", b"...\n"]))
        return Case({here: content}, must_fail=True, label=f"empty: {content!r}")
    if kind == "duplicate":
        top = _top_level_lines(text)
        i, line = draw(st.sampled_from(top))
        block = [line, *itertools.takewhile(lambda rest: rest.startswith((" ", "\t")) or not rest.strip(),
                                            lines[i + 1:])]
        return Case({here: (text.rstrip("\n") + "\n" + "\n".join(block) + "\n").encode()}, must_fail=True,
                    label=f"{line.split(':')[0]} given twice")
    if kind == "extends":
        body = "\n".join(line for line in lines if not line.startswith("extends:"))
        other = f"{folder}/other-{next(_numbers)}.yaml"
        target = draw(st.sampled_from(["missing", "dir", "self", "cycle", "not_utf8", "empty", "list", "number",
                                       "blank", "sequence", "nul", "chain_bad", "root"]))
        own = {"missing": "extends: nope/missing.yaml", "dir": "extends: ..", "self": f"extends: {name}",
               "cycle": f"extends: {Path(other).name}", "not_utf8": f"extends: {Path(other).name}",
               "empty": f"extends: {Path(other).name}", "list": f"extends: {Path(other).name}",
               "number": "extends: 3", "blank": "extends: ''", "sequence": "extends: [a.yaml]",
               "nul": 'extends: "a\\0b.yaml"', "chain_bad": f"extends: {Path(other).name}", "root": "extends: /"}[target]
        files = {here: f"{own}\n{body}\n".encode()}
        if target == "cycle":
            files[other] = f"extends: {name}\nname: other\n".encode()
        elif target == "not_utf8":
            files[other] = b"name: \xff\xfe\n"
        elif target == "empty":
            files[other] = b""
        elif target == "list":
            files[other] = b"- name: x\n"
        elif target == "chain_bad":
            files[other] = b"extends: missing-base.yaml\nname: x\n"
        return Case(files, must_fail=True, label=f"extends {target}", extra=[other])
    if kind == "deep":
        depth = draw(st.sampled_from([50, 200, 1000, 5000]))
        opener, closer = draw(st.sampled_from([("[", "]"), ("{a: ", "}")]))
        return Case({here: (text + f"\nzz_deep: {opener * depth}1{closer * depth}\n").encode()}, must_fail=True,
                    label=f"nested {depth} deep")
    if kind == "big_int":
        digits = draw(st.sampled_from([3, 20, 400, 4300, 4400, 10000]))
        top = _top_level_lines(text)
        i, line = draw(st.sampled_from(top))
        key = line.split(":")[0]
        changed = [*lines[:i], f"{key}: {'9' * digits}", *itertools.dropwhile(
            lambda rest: rest.startswith((" ", "\t")) or not rest.strip(), lines[i + 1:])]
        return Case({here: ("\n".join(changed) + "\n").encode()}, label=f"{key}: {digits} digits")
    if kind == "tag":
        top = _top_level_lines(text)
        i, line = draw(st.sampled_from(top))
        tag = draw(st.sampled_from(TAGGED))
        key = line.split(":")[0]
        changed = [*lines[:i], f"{key}: {tag}", *itertools.dropwhile(
            lambda rest: rest.startswith((" ", "\t")) or not rest.strip(), lines[i + 1:])]
        return Case({here: ("\n".join(changed) + "\n").encode()}, label=f"{key}: {tag}")
    if kind == "bad_date":
        date = draw(st.sampled_from(BAD_DATES))
        kept = [line for line in lines if not line.startswith("start:")]
        return Case({here: ("\n".join(kept) + f"\nstart: {date}\n").encode()}, label=f"start: {date}")
    if kind == "alias":
        bomb = draw(st.sampled_from(["recursive", "laughs", "undefined", "merge"]))
        extra = {"recursive": "zz_a: &x [1, *x]\n",
                 "laughs": "".join(f"zz_{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" if i else "zz_0: &l0 [lol]\n"
                                   for i in range(draw(st.integers(3, 9)))),
                 "undefined": "zz_a: *nowhere\n", "merge": "zz_b: &m {a: 1}\nzz_c: {<<: *m, <<: *m}\n"}[bomb]
        return Case({here: (text + "\n" + extra).encode()}, must_fail=True, label=f"alias {bomb}")
    if kind == "garbage_bytes":
        return Case({here: draw(st.binary(max_size=300))}, must_fail=True, label="random bytes")
    if kind == "garbage_text":
        return Case({here: draw(st.text(max_size=300)).encode("utf-8", "surrogatepass")}, must_fail=True,
                    label="random text")
    garbage = draw(st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text("abcdefghijklmnopqrstuvwxyz_", max_size=8),
                                                                    inner, max_size=4), max_leaves=20))
    return Case({here: yaml.safe_dump(garbage).encode()}, must_fail=True, label=f"random YAML {garbage!r}"[:200])


# -- scenario files ----------------------------------------------------------------------------------------------

REQUIRED = ("name", "start", "months", "firm", "legal_entities", "customers", "contracts")
SCENARIO_COMMANDS = ["simulate", "simulate", "simulate", "compare_a", "compare_b", "serve", "load"]


def _scenario_args(command: str, path: str) -> list[str]:
    other = "scenarios/baseline.yaml"
    return {"simulate": ["simulate", path, "--quiet"], "serve": ["serve", path],
            "load": ["load", path, "--duration", "10s"], "compare_a": ["compare", path, other, "--quiet"],
            "compare_b": ["compare", other, path, "--quiet"]}[command]


def _shipped(path: Path) -> tuple[str, str, str]:
    folder = str(path.parent.relative_to(ROOT))
    return path.read_text(), folder, path.name


@settings(FUZZ, max_examples=SIZES["scenario_structure"])
@given(data=st.data(), base=st.sampled_from(SCENARIOS), command=st.sampled_from(SCENARIO_COMMANDS))
def test_scenario_files_changed_in_structure(workspace: Path, data: st.DataObject, base: Path, command: str) -> None:
    text, folder, _ = _shipped(base)
    name = f"fuzz-{next(_numbers)}.yaml"
    content, must_fail, label = data.draw(structural(text, f"{folder}/{name}", REQUIRED))
    case = Case({f"{folder}/{name}": content}, must_fail=must_fail, label=f"{base.name}: {label}")
    case.write(workspace)
    outcome = c2c(_scenario_args(command, f"{folder}/{name}"))
    assert_refused_naming(outcome, case, [f"{folder}/{name}", *SHIPPED_NAMES])


@settings(FUZZ, max_examples=SIZES["scenario_text"])
@given(data=st.data(), base=st.sampled_from(SCENARIOS), command=st.sampled_from(SCENARIO_COMMANDS))
def test_scenario_files_broken_as_text(workspace: Path, data: st.DataObject, base: Path, command: str) -> None:
    text, folder, _ = _shipped(base)
    name = f"fuzz-{next(_numbers)}.yaml"
    case = data.draw(textual(text, name, folder))
    case.label = f"{base.name}: {case.label}"
    case.write(workspace)
    outcome = c2c(_scenario_args(command, f"{folder}/{name}"))
    assert_refused_naming(outcome, case, [f"{folder}/{name}", *SHIPPED_NAMES])


# -- sweep files -------------------------------------------------------------------------------------------------

SWEEP_CHANGES: dict[str, list[Any]] = {
    "seeds": [[], [-1], [1, 1], {"count": 0}, {"count": 100_000}, {"first": -1, "count": 1}, "abc", [True], [1.5],
              {"count": 3, "first": 2**64}, {"count": 2, "extra": 1}, None, 3, {"count": "3"}, [2**63]],
    "grid": [{}, {"bad path": [1]}, {"people.approval_delay_hours": []}, {"x[99].y": [1]},
             {"faults.http[7].rate": [0.1]}, {"people": [1]}, {"name.x": [1]}, {"start[0]": [1]},
             {"people.approval_delay_hours": [[1, 2], [1, 2]]}, {"people.approval_delay_hours": 3},
             {"faults.http[0]": [None]}, {"legal_entities[0].currency": ["XXX"]}, {"": [1]}, {"months": [10**30]},
             {"months": [0, 1]}, {"people.approval_delay_hours": [[48, 0]]}, {"a.b.c": [float("nan")]},
             {"firm.roles": [[]]}, {"faults.http[0].rate": [True, 2, -1]}, {"legal_entities": [{}]},
             {"contracts.billing_types": [{"nope": 1}]}, {"people.approval_delay_hours": [None]}],
    "table": [[], ["nope"], "x", [1], None, ["reconciliation.mismatches", "reconciliation.mismatches.x"]],
    "scenario": ["", "nope.yaml", "../", "../../conformance", 3, None, "/", "../gates/ci.yaml", "../sweeps",
                 "approval_delay.yaml", "../../nope/../scenarios/missing.yaml", "\x01"],
    "name": ["", "a/b", "../../x", 3, "x" * 101, "sp ace", None],
    "description": [3, ["x"], {"a": 1}],
}
# a sweep is loaded whole (every point validated) before it runs: keep the grids small enough to load fast
SWEEP_DATES = ["grid:\n  start: [2024-01-01, 2024-02-01]\n", "grid:\n  start: [2024-02-30]\n",
               "grid:\n  faults.outages[0].start: [2024-01-01T00:00:00, 2024-01-01 00:00:00]\n",
               "grid:\n  months: [!!binary aGVsbG8=]\n", "grid:\n  name: [!!set {a}]\n"]


@st.composite
def sweep_case(draw: st.DrawFn, text: str, name: str) -> Case:
    folder = "scenarios/sweeps"
    how = draw(st.sampled_from(["structure", "text", "field", "field", "dates"]))
    if how == "text":
        return draw(textual(text, name, folder))
    if how == "structure":
        content, must_fail, label = draw(structural(text, f"{folder}/{name}", ("scenario", "seeds", "grid")))
        return Case({f"{folder}/{name}": content}, must_fail=must_fail, label=label)
    document, _ = read_yaml(text, name)
    if how == "dates":
        document.pop("grid")
        return Case({f"{folder}/{name}": _dump(document) + draw(st.sampled_from(SWEEP_DATES)).encode()},
                    label="dates in the grid")
    key = draw(st.sampled_from(sorted(SWEEP_CHANGES)))
    value = draw(st.sampled_from(SWEEP_CHANGES[key]))
    document[key] = value
    return Case({f"{folder}/{name}": _dump(document)}, label=f"{key}: {value!r}")


@settings(FUZZ, max_examples=SIZES["sweep"])
@given(data=st.data(), base=st.sampled_from(SWEEPS), quiet=st.booleans())
def test_sweep_files(workspace: Path, data: st.DataObject, base: Path, quiet: bool) -> None:
    name = f"fuzz-{next(_numbers)}.yaml"
    case = data.draw(sweep_case(base.read_text(), name))
    case.write(workspace)
    outcome = c2c(["sweep", f"scenarios/sweeps/{name}", "--jobs", "1", *(["--quiet"] if quiet else [])])
    assert_refused_naming(outcome, case, [f"scenarios/sweeps/{name}", *SHIPPED_NAMES])


# -- gates files -------------------------------------------------------------------------------------------------

OPERATORS = ["=", "=>", "=<", "<>", "===", "~=", "", "!", "<<", "=="]
NUMBERS = ["abc", "1e999", "nan", "inf", "-inf", "0x10", "1_000", "", "1.2.3", "\u0661", "--1", "1e", ".", "1/2"]
GATE_PATHS = ["", "a..b", "..", "a.", ".a", "ünïcode", "a b", "reconciliation.mismatches.-1.x", "*", "a/b"]
CLAIMS = ["not better", "worse", "better than", "not worse, sideways is better", "better, higher is better",
          "not worse, lower is better", "better,", "not  worse"]


def _broken_gate(draw: st.DrawFn, gate: str) -> Any:
    how = draw(st.sampled_from(["char", "delete", "operator", "number", "path", "claim", "value"]))
    if how == "char":
        at = draw(st.integers(0, len(gate)))
        return gate[:at] + draw(st.sampled_from([*"=<>!.,:-#'\"[]{}&*|", "\t", "\n", " not "])) + gate[at:]
    if how == "delete":
        at = draw(st.integers(0, max(0, len(gate) - 1)))
        return gate[:at] + gate[at + 1:]
    if how == "operator":
        return re.sub(r"==|!=|<=|>=|<|>", draw(st.sampled_from(OPERATORS)), gate, count=1)
    if how == "number":
        return re.sub(r"\S+$", draw(st.sampled_from(NUMBERS)), gate)
    if how == "path":
        return re.sub(r"^\S+", draw(st.sampled_from(GATE_PATHS)), gate)
    if how == "claim":
        return re.sub(r"\s(not worse|better).*$", " " + draw(st.sampled_from(CLAIMS)), gate)
    return draw(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.lists(st.text(max_size=5), max_size=2),
                          st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2)))


@st.composite
def gates_case(draw: st.DrawFn, text: str, name: str) -> Case:
    folder = "scenarios/gates"
    how = draw(st.sampled_from(["structure", "text", "gate", "gate", "gate", "section"]))
    if how == "text":
        return draw(textual(text, name, folder))
    if how == "structure":
        content, must_fail, label = draw(structural(text, f"{folder}/{name}", ()))
        return Case({f"{folder}/{name}": content}, must_fail=must_fail, label=label)
    document, _ = read_yaml(text, name)
    section = next(iter(document))
    if how == "section":
        change = draw(st.sampled_from(["empty", "null", "mapping", "scalar", "twice", "unknown", "both_empty"]))
        gates = document[section]
        replacement = {"empty": {section: []}, "null": {section: None}, "mapping": {section: {"a": gates[0]}},
                       "scalar": {section: gates[0]}, "twice": {section: [gates[0], gates[0]]},
                       "unknown": {section: gates, "kpi": gates}, "both_empty": {"kpis": [], "compare": []}}[change]
        return Case({f"{folder}/{name}": yaml.safe_dump(replacement).encode()}, must_fail=True, label=change)
    gates = document[section]
    i = draw(st.integers(0, len(gates) - 1))
    gates[i] = _broken_gate(draw, gates[i])
    return Case({f"{folder}/{name}": yaml.safe_dump(document).encode()}, label=f"{section}[{i}]: {gates[i]!r}")


@settings(FUZZ, max_examples=SIZES["gates"])
@given(data=st.data(), base=st.sampled_from(GATES), command=st.sampled_from(["simulate", "compare"]))
def test_gates_files(workspace: Path, data: st.DataObject, base: Path, command: str) -> None:
    name = f"fuzz-{next(_numbers)}.yaml"
    case = data.draw(gates_case(base.read_text(), name))
    case.write(workspace)
    path = f"scenarios/gates/{name}"
    args = (["simulate", "scenarios/ci_gate.yaml", "--quiet", "--gate", path] if command == "simulate" else
            ["compare", "scenarios/legacy_batch.yaml", "scenarios/event_driven.yaml", "--seeds", "2", "--quiet",
             "--gate", path])
    assert_refused_naming(c2c(args), case, [path])


# -- command-line arguments --------------------------------------------------------------------------------------

INPUTS = {  # files the argument fuzz names, written once in the workspace
    "garbage.bin": b"\xff\xfe\x00 not: [yaml\n",
    "bad_run/kpis.json": b"{not json",
    "half_run/kpis.json": b"{}\n",
    "list.json": b"[]\n",
    "bad_compare/compare.json": b'{"schema_version": "9.0"}\n',
    "locustfile.py": b"# not a locustfile\n",
    "a_file": b"",
}
# (values to expect nothing of, values that must be refused): a command line holding one of the latter is invalid
Pool = tuple[list[str], list[str]]
SCENARIO_ARGS: Pool = (["scenarios/ci_gate.yaml", "conformance/scenarios/small_firm.yaml"],
                       ["nope.yaml", "scenarios", "", "scenarios/gates/ci.yaml", "garbage.bin", "/dev/null",
                        "scenarios/sweeps/approval_delay.yaml", "empty_dir", "a_file", "missing/dir/x.yaml", "-",
                        "list.json"])
SEEDS: Pool = (["0", "1", "99999999999999999999999", " 3"], ["-1", "abc", "1.5", "", "nan", "0x10", "1e3"])
OUT_DIRS: Pool = (["out/x"], ["", "scenarios/baseline.yaml", "/proc/nope/x", "a_file/sub", "garbage.bin"])
GATE_FILES: Pool = (["scenarios/gates/ci.yaml"], ["nope.yaml", "scenarios", "garbage.bin", "", "/dev/null",
                                                 "scenarios/ci_gate.yaml"])
JUNIT: Pool = (["x.xml", "/proc/nope/x.xml"], ["", "scenarios"])  # a file that cannot be written fails after the run
CONNECTORS: Pool = (["reference_impl.connector:build", "json:loads", "os.path:join"],
                    ["", "nope", ":", "os:nope", "nope.mod:build", "a:b:c", "reference_impl.connector:", ":build",
                     "reference_impl:nope", "tests.nope:x", " "])
RATES: Pool = (["5", "0.5", "1_0"], ["nan", "inf", "-inf", "-1", "0", "abc", "1e309", "", "NaN", "+inf", "1e-9"])
DURATIONS: Pool = (["1h30m", "60", "2m", " 30s ", "9" * 20 + "h"],
                   ["xyz", "", "0s", "1e5", "-5s", "0.5s", "9" * 400, "1h1h", "m", "1d", "1.5h"])
FEW_SEEDS: Pool = (SEEDS[0], ["-1", "nan"])  # the same option type as simulate's --seed: a sample suffices
FEW_RATES: Pool = (RATES[0], ["nan", "inf", "0", "abc"])
FEW_DURATIONS: Pool = (DURATIONS[0], ["xyz", "0s", "9" * 400, "1d"])
COUNTS: Pool = (["1", "3", "99999999999"], ["-1", "0", "x", "", "1.0"])
WORKERS: Pool = (["0", "2"], ["-1", "x", ""])
COMMANDS: Pool = (["true", "python -c 'x"], ["", " "])  # a shell line: only the shell can judge its syntax
PATH_ARGS: Pool = ([], ["", "nope", "empty_dir", "garbage.bin", "bad_run", "half_run", "list.json", "bad_compare",
                        "scenarios", "a_file", "/proc/nope", "scenarios/ci_gate.yaml", "bad_compare/compare.json"])
EXTRA: Pool = ([], ["--nope", "extra.yaml", "--seed"])  # an unknown option, a positional too many, a missing value
ARG_COMMANDS: dict[str, tuple[list[Pool], dict[str, Pool | None]]] = {
    "simulate": ([SCENARIO_ARGS], {"--seed": SEEDS, "--out": OUT_DIRS, "--connector": CONNECTORS, "--quiet": None,
                                   "--gate": GATE_FILES, "--junit": JUNIT}),
    "compare": ([SCENARIO_ARGS, SCENARIO_ARGS],
                {"--seeds": (["1", "2", "3"], ["-1", "0", "abc", "", "nan", "1.5", "99999999999"]),
                 "--first-seed": (["0", "1", "99999999999"], ["-1", "abc", ""]),
                 "--out": (["x.json", "out/x.json"], ["", "scenarios"]), "--jobs": COUNTS, "--quiet": None,
                 "--gate": (["scenarios/gates/what_if.yaml"], GATE_FILES[1] + ["scenarios/gates/ci.yaml"]),
                 "--junit": JUNIT}),
    "sweep": ([(["scenarios/sweeps/approval_delay.yaml"], [*SCENARIO_ARGS[1][:6], "scenarios/ci_gate.yaml"])],
              {"--jobs": COUNTS, "--out": OUT_DIRS, "--quiet": None,
               "--dask": (["tcp://127.0.0.1:8786", "tls://h:1"],
                          ["", "tcp://", "http://x:1", "tcp://127.0.0.1:notaport", "tcp://h:99999", "tcp://:8786", "x"])}),
    "report": ([PATH_ARGS], {"--out": (["x.html"], ["", "scenarios"]), "--contract": (["ctr_000001"], ["", " "])}),
    "load": ([SCENARIO_ARGS], {"--users": COUNTS, "--rate": RATES, "--spawn-rate": FEW_RATES, "--duration": DURATIONS,
                               "--profile": (["steady", "step"], ["bogus", ""]), "--step-users": COUNTS,
                               "--step-time": FEW_DURATIONS, "--step-rate": FEW_RATES, "--connector-cmd": COMMANDS,
                               "--locustfile": (["locustfile.py"], ["nope.py", "empty_dir", ""]),
                               "--workers": WORKERS, "--remote-workers": WORKERS,
                               "--master-bind": (["0.0.0.0:5557", "localhost:1"],
                                                 ["", ":", "host", "h:0", "h:99999", ":5557", "h:x"]),
                               "--seed": FEW_SEEDS, "--out": OUT_DIRS, "--drain": FEW_DURATIONS}),
    "serve": ([SCENARIO_ARGS], {"--seed": FEW_SEEDS, "--host": (["127.0.0.1", ""], []),
                                "--speed": (["1", "86400", "1e9"], [*RATES[1], "0.5", "1e10"]),
                                "--port": (["0", "8700"], ["-1", "65536", "x", ""]),
                                "--connector-url": (["http://127.0.0.1:9", "https://h"],
                                                    ["", "ftp://x", "http://", "not a url", "http://[::1",
                                                     "http://h:99999", "http://h:x"]),
                                "--connector-cmd": COMMANDS, "--work-dir": (["wd", "/proc/nope"], ["", "a_file"])}),
    "openapi": ([(["out/openapi", "empty_dir"], ["", "a_file", "garbage.bin", "/proc/nope"])], {}),
}


def _written(root: Path) -> None:
    for name, data in INPUTS.items():
        target = root / name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)


@st.composite
def command_line(draw: st.DrawFn, positionals: list[Pool], options: dict[str, Pool | None]) -> tuple[list[str], bool]:
    """A command line and whether it holds a value that must be refused: one value from each positional pool and
    some options, at most one of them (or something extra: an unknown option, a positional too many) from the
    values to refuse, so that no other refusal hides it."""
    chosen = draw(st.lists(st.sampled_from(sorted(options)), unique=True, max_size=4)) if options else []
    slots = [*positionals, *(options[name] for name in chosen), EXTRA]
    faulty = draw(st.sampled_from([None, *(i for i, pool in enumerate(slots) if pool is not None and pool[1])]))
    values = []
    for i, pool in enumerate(slots):
        if pool is None or (pool is EXTRA and i != faulty):
            values.append(None)  # a flag; nothing extra
        elif i == faulty or not pool[0]:
            values.append(draw(st.sampled_from(pool[1])))
        else:
            values.append(draw(st.sampled_from(pool[0])))
    args = [value for value in values[:len(positionals)]]
    for name, value in zip(chosen, values[len(positionals):-1], strict=True):
        args += [name] if value is None else [name, value]
    if values[-1] is not None:
        args.append(values[-1])
    invalid = faulty is not None or any(not pool[0] for pool in positionals)
    return args, invalid


def assert_named(outcome: Outcome, invalid: bool) -> None:
    """Accepted (only if nothing given must be refused), or refused with exit 2 and a message that names what it
    refused: an option, a value or a file given."""
    assert_clean(outcome, done_is_accepted=True)
    accepted = outcome.accepted or outcome.exit_code == 0
    tally(f"{'accepted' if accepted else 'refused'}{' (built invalid)' if invalid else ''}")
    if accepted:
        assert not invalid, f"accepted a command line holding a value to refuse: {outcome.describe()}"
        return
    message = " ".join(error_lines(outcome.output))
    given_ = [*(arg for arg in outcome.args[1:] if arg.strip()), *(str(Path(a).resolve()) for a in outcome.args[1:] if a),
              *(arg.lstrip("-") + ":" for arg in outcome.args[1:] if arg.startswith("--"))]  # "connector: ..."
    assert message.startswith("Error: ") or any(arg.strip() in message for arg in given_), \
        f"the message names nothing given: {outcome.describe()}"


def _single_faults() -> list[tuple[str, list[str]]]:
    """Every value to refuse, alone on a command line otherwise valid: each positional, each option, each extra."""
    faults = []
    for command, (positionals, options) in ARG_COMMANDS.items():
        base = [pool[0][0] if pool[0] else pool[1][0] for pool in positionals]
        for i, pool in enumerate(positionals):
            faults += [(command, [*base[:i], bad, *base[i + 1:]]) for bad in pool[1] if bad != base[i]]
        for name, pool in options.items():
            faults += [(command, [*base, name, bad]) for bad in (pool[1] if pool else [])]
        faults += [(command, [*base, extra]) for extra in EXTRA[1]]
    return faults


SINGLE_FAULTS = _single_faults()
assert sum(SIZES.values()) + len(SINGLE_FAULTS) == 1000, len(SINGLE_FAULTS)


@pytest.mark.parametrize(("command", "args"), SINGLE_FAULTS, ids=[f"{c} {' '.join(map(repr, a))}" for c, a in SINGLE_FAULTS])
def test_each_value_to_refuse_alone(workspace: Path, command: str, args: list[str]) -> None:
    """Random lines cannot promise that every listed value meets the command alone (one refusal hides another):
    this does, once each."""
    _written(workspace)
    assert_named(c2c([command, *args]), invalid=True)


def _fuzz_command(command: str) -> Any:
    positionals, options = ARG_COMMANDS[command]

    @settings(FUZZ, max_examples=SIZES[f"{command}_args"])
    @given(line=command_line(positionals, options))
    def fuzz(workspace: Path, line: tuple[list[str], bool]) -> None:
        _written(workspace)
        args, invalid = line
        assert_named(c2c([command, *args]), invalid)

    fuzz.__name__ = f"test_{command}_arguments"
    return fuzz


test_simulate_arguments = _fuzz_command("simulate")
test_compare_arguments = _fuzz_command("compare")
test_sweep_arguments = _fuzz_command("sweep")
test_report_arguments = _fuzz_command("report")
test_load_arguments = _fuzz_command("load")
test_serve_arguments = _fuzz_command("serve")
test_openapi_arguments = _fuzz_command("openapi")
