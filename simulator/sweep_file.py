"""Sweep files: a base scenario, a grid of overrides and seeds, read into validated grid points.

A sweep file is YAML (read as strictly as a scenario file)::

    name: approval_delay                 # optional; default: the file's stem
    description: what the sweep asks     # optional
    scenario: ../event_driven.yaml       # the base scenario, relative to this file (``extends:`` works as usual)
    seeds: [1, 2, 3]                     # or {count: 3, first: 1}
    grid:                                # dotted paths into the scenario document, each with its values
      people.approval_delay_hours: [[0, 48], [48, 96]]
      faults.http[0].rate: [0.0, 0.05]
    table: [invoices.cycle_time_hours.p50, revenue_leakage]   # optional: the KPIs the terminal table shows

Guarantees:

- The grid is the cartesian product of the axes, in the order written: the
  first axis varies slowest. Points are numbered ``p01``, ``p02``… in that
  order, so a point's id depends only on the grid, never on how it is run.
- A point's scenario is the base document (its ``extends:`` chain resolved)
  with each override put at its path, replacing what was there (a mapping
  override replaces the whole mapping, as a list does), then validated by
  the scenario models. Every error, the sweep file's own or a point's,
  names a file, a line and a dotted field; a point's error also names the
  point and its values. An override's value is reported at the line it was
  written on in the sweep file.
- A path may create mapping keys the base leaves out (the models then judge
  them); it may not index past the end of a list.
- A grid value is one JSON can hold, as sweep.json holds it: a date or time
  is kept as its ISO text (which the models read as the same date); bytes,
  sets and other YAML types are errors at the grid's line.
- A point's :attr:`SweepPoint.scenario_hash` is the sha256 of the validated
  scenario in canonical JSON: two points (of any sweeps) that describe the
  same run have the same hash, whatever they were written as.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Strict,
    Tag,
    ValidationError,
    field_validator,
)

from simulator.compare import METRICS
from simulator.scenario import Lines, Scenario, ScenarioError, read_scenario_document, read_yaml, validate_scenario
from simulator.scenario.loader import read_text

MAX_RUNS = 100_000  # points × seeds: far beyond what any machine runs in a day, and a typo's guard
PATH_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*|\[[0-9]+\])*$")
DEFAULT_TABLE = ("reconciliation.mismatches", "revenue_leakage", "invoices.cycle_time_hours.p50",
                 "invoices.billing_lag.share", "unbilled_wip.last_month_end")


class SweepError(Exception):
    """A sweep that cannot run; the message names the file, line and field (and the grid point, if one)."""


def _not_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"must be a number, not the boolean {str(value).lower()}")
    return value


Seed = Annotated[int, BeforeValidator(_not_boolean), Strict(), Field(ge=0, le=2**63 - 1)]


class SeedRange(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    count: Annotated[int, BeforeValidator(_not_boolean), Strict(), Field(ge=1, le=MAX_RUNS)]
    first: Seed = 1


class SweepFile(BaseModel):
    """What a sweep file may say; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str | None = Field(default=None, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    scenario: str = Field(min_length=1)
    seeds: Annotated[Annotated[list[Seed], Tag("list")] | Annotated[SeedRange, Tag("range")],
                     Discriminator(lambda value: "range" if isinstance(value, dict) else "list")]
    grid: dict[str, list[Any]] = Field(min_length=1)
    table: list[str] = Field(default=list(DEFAULT_TABLE), min_length=1)

    @field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, seeds: list[int] | SeedRange) -> list[int] | SeedRange:
        if isinstance(seeds, list):
            if not seeds:
                raise ValueError("must list at least one seed")
            repeated = sorted({seed for seed in seeds if seeds.count(seed) > 1})
            if repeated:
                raise ValueError(f"seed {repeated[0]} is listed twice; each seed runs once per point")
        return seeds

    @field_validator("grid")
    @classmethod
    def _axes(cls, grid: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for path, values in grid.items():
            if not PATH_PATTERN.match(path):
                raise ValueError(f"{path!r} is not a dotted path such as people.approval_delay_hours or "
                                 f"faults.http[0].rate")
            if not values:
                raise ValueError(f"{path}: give at least one value")
            values[:] = [_plain(value, path) for value in values]  # before anything compares or writes them
            canonical = [json.dumps(value, sort_keys=True) for value in values]
            for i, text in enumerate(canonical):
                if text in canonical[:i]:
                    raise ValueError(f"{path}: the value {text} is given twice (points would repeat)")
        return grid

    @field_validator("table")
    @classmethod
    def _known_kpis(cls, table: list[str]) -> list[str]:
        known = [metric.id for metric in METRICS]
        for kpi in table:
            if kpi not in known:
                raise ValueError(f"unknown KPI {kpi!r}; known: {', '.join(known)}")
        return table


def _plain(value: Any, path: str) -> Any:
    """A grid value as JSON holds it (it is written to sweep.json): a date or time becomes its ISO text, which the
    scenario models read back as the same date; bytes, sets and other YAML types are refused."""
    if isinstance(value, dt.date):  # datetime too
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(item, path) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item, path) for key, item in value.items()}
    if value is None or isinstance(value, str | int | float):
        return value
    raise ValueError(f"{path}: a value must be a number, text, a boolean, null, a list or a mapping, not "
                     f"{type(value).__name__} ({value!r:.40})")


@dataclass(frozen=True)
class SweepPoint:
    """One grid point: its id, the value of each axis (in the grid's order) and its validated scenario."""

    id: str
    values: tuple[tuple[str, Any], ...]
    scenario: Scenario
    scenario_hash: str

    def describe(self) -> str:
        return ", ".join(f"{path}={json.dumps(value)}" for path, value in self.values)


@dataclass(frozen=True)
class Sweep:
    """A loaded sweep: every point validated, the seeds each runs with."""

    name: str
    description: str
    source: Path
    base: str  # the base scenario as the sweep file names it
    seeds: tuple[int, ...]
    axes: tuple[tuple[str, tuple[Any, ...]], ...]
    points: tuple[SweepPoint, ...]
    table: tuple[str, ...]

    @property
    def runs(self) -> int:
        return len(self.points) * len(self.seeds)


def scenario_hash(scenario: Scenario) -> str:
    """sha256 (hex) of the scenario in canonical JSON: the identity of a run, with the seed."""
    text = json.dumps(scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def parse_path(path: str) -> tuple[str | int, ...]:
    """``faults.http[0].rate`` → ``("faults", "http", 0, "rate")``."""
    return tuple(int(part[1:-1]) if part.startswith("[") else part.lstrip(".")
                 for part in re.findall(r"\.?[A-Za-z_][A-Za-z0-9_]*|\[[0-9]+\]", path))


def _dotted(parts: tuple) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".")


def _where(loc: tuple, lines: Lines, source: str) -> str:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            file, line = lines[loc[:end]]
            return f"{file} line {line}"
    return source


def _past_the_end(list_path: tuple, length: int, wanted: str) -> str:
    return (f"the base scenario's {_dotted(list_path)} has {length} item{'s' if length != 1 else ''}, "
            f"so there is no {wanted}")


def apply_override(raw: dict, lines: Lines, parts: tuple[str | int, ...], value: Any, value_lines: Lines) -> None:
    """Put ``value`` at ``parts`` in the scenario document ``raw``, in place, and make ``lines`` say that it and
    everything in it were written where ``value_lines`` (keyed by sub-path of the value) says.

    Raises ``LookupError`` with the reason when the path cannot be followed in ``raw``.
    """
    node: Any = raw
    for depth, part in enumerate(parts[:-1]):
        here = _dotted(parts[:depth + 1])
        if isinstance(part, int):
            if not isinstance(node, list):
                raise LookupError(f"{_dotted(parts[:depth]) or 'the scenario'} is not a list in the base scenario")
            if part >= len(node):
                raise LookupError(_past_the_end(parts[:depth], len(node), here))
            node = node[part]
            continue
        if not isinstance(node, dict):
            raise LookupError(f"{_dotted(parts[:depth]) or 'the scenario'} is not a mapping in the base scenario")
        node = node.setdefault(part, {})
    last = parts[-1]
    parent = _dotted(parts[:-1]) or "the scenario"
    if isinstance(last, int):
        if not isinstance(node, list):
            raise LookupError(f"{parent} is not a list in the base scenario")
        if last >= len(node):
            raise LookupError(_past_the_end(parts[:-1], len(node), _dotted(parts)))
    elif not isinstance(node, dict):
        raise LookupError(f"{parent} is not a mapping in the base scenario")
    node[last] = copy.deepcopy(value)
    for stale in [p for p in lines if p[:len(parts)] == parts]:
        del lines[stale]
    for sub, where in value_lines.items():
        lines[(*parts, *sub)] = where


def _sweep_file_error(exc: ValidationError, lines: Lines, source: str) -> SweepError:
    messages = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        if loc[:1] == ("seeds",) and loc[1:2] in (("list",), ("range",)):
            loc = ("seeds", *loc[2:])  # pydantic names the form of seeds it read; the file knows only the field
        message = error["msg"]
        if error["type"] == "value_error" and "error" in error.get("ctx", {}):
            message = str(error["ctx"]["error"])
        field = ".".join(str(p) for p in loc) or "(sweep)"
        messages.append(f"{_where(loc, lines, source)}: {field}: {message}")
    return SweepError("\n".join(dict.fromkeys(messages)))


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep file and every grid point's scenario; :class:`SweepError` names what is wrong."""
    path = Path(path)
    source = str(path)
    try:
        raw, lines = read_yaml(read_text(path, f"{path}: cannot read sweep file"), source)
    except ScenarioError as exc:
        raise SweepError(str(exc)) from None
    if not isinstance(raw, dict):
        raise SweepError(f"{source} line 1: a sweep file must be a mapping of fields")
    try:
        spec = SweepFile.model_validate(raw)
    except ValidationError as exc:
        raise _sweep_file_error(exc, lines, source) from None
    seeds = (tuple(spec.seeds) if isinstance(spec.seeds, list)
             else tuple(range(spec.seeds.first, spec.seeds.first + spec.seeds.count)))
    axes = tuple((axis, tuple(values)) for axis, values in spec.grid.items())
    count = 1
    for _, values in axes:
        count *= len(values)
    if count * len(seeds) > MAX_RUNS:
        raise SweepError(f"{_where(('grid',), lines, source)}: grid: {count:,} points × {len(seeds)} seeds is "
                         f"{count * len(seeds):,} runs; at most {MAX_RUNS:,}")

    base_path = path.parent / spec.scenario
    try:
        base_raw, base_lines = read_scenario_document(base_path)
    except ScenarioError as exc:
        raise SweepError(f"{_where(('scenario',), lines, source)}: scenario: {exc}") from None
    width = max(2, len(str(count)))
    points = []
    for number, combination in enumerate(itertools.product(*(range(len(values)) for _, values in axes)), start=1):
        point_id = f"p{number:0{width}d}"
        point_raw, point_lines = copy.deepcopy(base_raw), dict(base_lines)
        values = tuple((axis, axes[i][1][j]) for i, (axis, j) in enumerate(zip(spec.grid, combination, strict=True)))
        described = ", ".join(f"{axis}={json.dumps(value)}" for axis, value in values)
        for (axis, value), j in zip(values, combination, strict=True):
            at = ("grid", axis, j)
            value_lines = {key[len(at):]: where for key, where in lines.items() if key[:len(at)] == at}
            try:
                apply_override(point_raw, point_lines, parse_path(axis), value, value_lines)
            except LookupError as exc:
                raise SweepError(f"{_where(('grid', axis), lines, source)}: grid.{axis}: {exc}") from None
        try:
            scenario = validate_scenario(point_raw, point_lines, str(base_path))
        except ScenarioError as exc:
            raise SweepError("\n".join(f"{line} (point {point_id}: {described})"
                                       for line in str(exc).splitlines())) from None
        points.append(SweepPoint(point_id, values, scenario, scenario_hash(scenario)))
    return Sweep(name=spec.name or path.stem, description=spec.description, source=path, base=spec.scenario,
                 seeds=seeds, axes=axes, points=tuple(points), table=tuple(spec.table))
