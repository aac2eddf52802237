"""KPI gates: what a run's KPIs must meet, and how scenario B must compare with scenario A.

A gates file (YAML, see docs/gates.md) has up to two sections, each a
list of one-line gates:

```yaml
kpis:                                     # c2c simulate: on the run's kpis.json
  - reconciliation.mismatches == 0
  - invoices.cycle_time_hours.p95 <= 400
compare:                                  # c2c compare A B: B against A, on the paired 95% interval of B − A
  - revenue_leakage.USD not worse
  - invoices.count not worse, higher is better
```

A **threshold** (``kpis:``) is ``PATH OP NUMBER``: a dotted path into
``kpis.json`` (a list takes an index, ``unbilled_wip.-1.by_currency.USD``),
an operator among ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=`` and a number.
A **judgement** (``compare:``) names a row of ``c2c compare``
(:data:`simulator.compare.METRICS`, money and DSO per currency) and says
``not worse`` (B fails only when the paired 95% interval of B − A lies
entirely on the bad side of 0) or ``better`` (B passes only when it lies
entirely on the good side). Which side is good comes from the metric;
a metric without a direction needs one declared (``, higher is better``).

Pure apart from :func:`load_gates`, which reads the file: :func:`parse_gates`
checks every gate at once (file, line and the gate in each message),
:func:`evaluate` judges thresholds against one run's KPIs and
:func:`evaluate_compare` judgements against a comparison; both return one
:class:`Outcome` per gate, in the file's order, and never raise for what
the KPIs hold. A path the KPIs do not have is an ``error`` outcome naming
the gate's file and line, never a pass; a value the run did not measure
(``null``) is a ``fail``. Absent keys read 0 only in maps whose keys are
known and whose absence means none: money per currency (leakage,
over-billing, invoice counts and totals), contracts per billing type and
connector errors per kind (:data:`ZERO_FILLED`).
"""

from __future__ import annotations

import difflib
import math
import operator
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from simulator.compare import BETTER, METRICS, WORSE, Metric, format_number, verdict
from simulator.host import FaultKind
from simulator.junit import Case
from simulator.scenario import BILLING_TYPES, CURRENCY_MINOR_UNITS, ScenarioError
from simulator.scenario.loader import compose_yaml, read_text


class GateError(Exception):
    """A gates file that cannot be used; each line of the message names the file, the line and the gate."""


SECTIONS = ("kpis", "compare")
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt,
}
CLAIMS = ("not worse", "better")
Direction = Literal["lower", "higher"]
Status = Literal["pass", "fail", "error"]

_PATH = r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*"
_THRESHOLD = re.compile(rf"^(?P<path>{_PATH})\s*(?P<op>==|!=|<=|>=|<|>)\s*(?P<number>\S+)$")
_JUDGEMENT = re.compile(rf"^(?P<row>{_PATH})\s+(?P<claim>not worse|better)"
                        rf"(?:\s*,\s*(?P<direction>lower|higher) is better)?$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")

# maps of kpis.json whose keys are known and where an absent key means none (0)
ZERO_FILLED: dict[tuple[str, ...], tuple[str, ...]] = {
    ("revenue_leakage",): tuple(CURRENCY_MINOR_UNITS),
    ("over_billing",): tuple(CURRENCY_MINOR_UNITS),
    ("invoices", "count_by_currency"): tuple(CURRENCY_MINOR_UNITS),
    ("invoices", "total_by_currency"): tuple(CURRENCY_MINOR_UNITS),
    ("contracts", "signed_by_billing_type"): BILLING_TYPES,
    ("connector_errors_by_kind",): tuple(str(kind) for kind in FaultKind),
}


@dataclass(frozen=True)
class Threshold:
    """``PATH OP LIMIT`` on one run's KPIs, as written on ``line`` of ``source``."""

    text: str
    path: tuple[str, ...]
    op: str
    limit: float
    source: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.source} line {self.line}"

    @property
    def wants(self) -> str:
        return f"{self.op} {_number(self.limit)}"


@dataclass(frozen=True)
class Judgement:
    """``ROW not worse|better`` of B against A in a comparison; ``direction`` as declared, if it was."""

    text: str
    row: str
    claim: str
    direction: Direction | None
    source: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.source} line {self.line}"

    @property
    def wants(self) -> str:
        return f"B {self.claim} than A"


Gate = Threshold | Judgement


@dataclass(frozen=True)
class Gates:
    """The gates of one file: thresholds for ``c2c simulate``, judgements for ``c2c compare``."""

    source: str
    thresholds: tuple[Threshold, ...] = ()
    judgements: tuple[Judgement, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """One gate's result: ``actual`` the value it read (shown as text), ``message`` why it failed or erred."""

    gate: Gate
    status: Status
    actual: str
    message: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "pass"


def failures(outcomes: Iterable[Outcome]) -> list[Outcome]:
    """The gates the KPIs breached (the command exits 1)."""
    return [o for o in outcomes if o.status == "fail"]


def errors(outcomes: Iterable[Outcome]) -> list[Outcome]:
    """The gates that could not be judged because the gate is wrong (a path the KPIs lack: exit 2)."""
    return [o for o in outcomes if o.status == "error"]


# -- reading ---------------------------------------------------------------------------------


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 2**53 else repr(float(value))


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _kind(node: yaml.Node) -> str:
    return {yaml.MappingNode: "a mapping", yaml.SequenceNode: "a list"}.get(type(node), "a value")


def _metric_of(row: str, metrics: Sequence[Metric]) -> Metric | None:
    for metric in metrics:
        if row == metric.id:
            return None if metric.per_currency else metric
        if metric.per_currency and row.startswith(metric.id + ".") and row[len(metric.id) + 1:] in CURRENCY_MINOR_UNITS:
            return metric
    return None


def _row_names(metrics: Sequence[Metric]) -> list[str]:
    return [m.id + (".CUR" if m.per_currency else "") for m in metrics]


def _parse_threshold(text: str, at: str, source: str, line: int) -> Threshold:
    match = _THRESHOLD.match(text)
    if match is None:
        hint = " (equality is ==)" if re.match(rf"^{_PATH}\s*=\s*[^=]", text) else ""
        raise GateError(f"{at}: {text!r} is not PATH OP NUMBER with OP one of {', '.join(OPERATORS)}{hint}, "
                        f"e.g. 'reconciliation.mismatches == 0'")
    if not _NUMBER.match(match["number"]):
        raise GateError(f"{at}: {text!r}: {match['number']!r} is not a number")
    limit = float(match["number"])
    if not math.isfinite(limit):
        raise GateError(f"{at}: {text!r}: {match['number']!r} is not a finite number")
    return Threshold(text, tuple(match["path"].split(".")), match["op"], limit, source, line)


def _parse_judgement(text: str, at: str, source: str, line: int, metrics: Sequence[Metric]) -> Judgement:
    match = _JUDGEMENT.match(text)
    if match is None:
        raise GateError(f"{at}: {text!r} is not 'KPI not worse' or 'KPI better' (optionally followed by "
                        f"', lower is better' or ', higher is better'), e.g. 'revenue_leakage.USD not worse'")
    row, declared = match["row"], match["direction"]
    metric = _metric_of(row, metrics)
    if metric is None:
        close = difflib.get_close_matches(row, _row_names(metrics), n=3)
        hint = f"; did you mean {' or '.join(close)}?" if close else f"; c2c compare has {', '.join(_row_names(metrics))}"
        per_currency = next((m for m in metrics if m.per_currency and m.id == row), None)
        if per_currency is not None:
            hint = f"; it has one row per currency: name one, e.g. {row}.USD"
        raise GateError(f"{at}: {text!r}: c2c compare has no KPI {row!r}{hint}")
    if declared is None and metric.better is None:
        raise GateError(f"{at}: {text!r}: c2c compare gives {row} no direction; say which way is good: "
                        f"'{row} {match['claim']}, lower is better' or '..., higher is better'")
    if declared is not None and metric.better is not None and declared != metric.better:
        raise GateError(f"{at}: {text!r}: c2c compare holds that {metric.better} is better for {row}")
    return Judgement(text, row, match["claim"], declared, source, line)


def parse_gates(text: str, source: str = "<gates>", metrics: Sequence[Metric] = METRICS) -> Gates:
    """The gates of a file's text; every gate is checked, and all faults are reported together.

    Raises :class:`GateError` whose message has one line per fault, each
    naming ``source``, the line and the gate: YAML that does not parse, a
    section other than ``kpis``/``compare``, a section that is not a list, a
    gate that is not one line of text or does not follow its section's
    grammar, a judgement on a KPI ``c2c compare`` does not show or whose
    direction is unknown, the same gate twice in a section.
    """
    try:
        root = compose_yaml(text, source)
    except ScenarioError as exc:  # YAML that does not parse, a character it does not allow, nesting too deep
        raise GateError(str(exc)) from None
    if root is None:
        raise GateError(f"{source}: the file is empty; it needs a kpis: or compare: list of gates")
    if not isinstance(root, yaml.MappingNode):
        raise GateError(f"{source} line {_line(root)}: gates are a mapping with a kpis: and/or compare: list, "
                        f"not {_kind(root)}")
    problems: list[str] = []
    found: dict[str, list[Gate]] = {}
    for key_node, value_node in root.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if key not in SECTIONS:
            problems.append(f"{source} line {_line(key_node)}: unknown section {key!r}; a gates file has "
                            f"{' and '.join(SECTIONS)}")
            continue
        if key in found:
            problems.append(f"{source} line {_line(key_node)}: {key}: given twice")
            continue
        found[key] = []
        if not isinstance(value_node, yaml.SequenceNode):
            if not (isinstance(value_node, yaml.ScalarNode) and value_node.tag.endswith(":null")):
                problems.append(f"{source} line {_line(value_node)}: {key}: must be a list of gates, one a line "
                                f"('- reconciliation.mismatches == 0'), not {_kind(value_node)}")
            continue
        seen: dict[str, int] = {}
        for i, item in enumerate(value_node.value):
            line = _line(item)
            at = f"{source} line {line}: {key}[{i}]"
            if not isinstance(item, yaml.ScalarNode) or item.tag != "tag:yaml.org,2002:str":
                example = "reconciliation.mismatches == 0" if key == "kpis" else "revenue_leakage.USD not worse"
                written = _kind(item) if not isinstance(item, yaml.ScalarNode) else repr(item.value)
                problems.append(f"{at}: a gate is one line of text such as '{example}', not {written}")
                continue
            text_ = " ".join(item.value.split())
            if text_ in seen:
                problems.append(f"{at}: {text_!r} is given twice (first on line {seen[text_]})")
                continue
            seen[text_] = line
            try:
                gate = (_parse_threshold(text_, at, source, line) if key == "kpis"
                        else _parse_judgement(text_, at, source, line, metrics))
            except GateError as exc:
                problems.append(str(exc))
                continue
            found[key].append(gate)
    if problems:
        raise GateError("\n".join(problems))
    if not any(found.values()):
        raise GateError(f"{source}: no gates; give a kpis: or compare: list")
    return Gates(source, tuple(found.get("kpis", ())), tuple(found.get("compare", ())))  # type: ignore[arg-type]


def load_gates(path: str | Path, metrics: Sequence[Metric] = METRICS) -> Gates:
    """:func:`parse_gates` on the file at ``path`` (a file that cannot be read is a :class:`GateError`)."""
    path = Path(path)
    try:
        text = read_text(path, f"{path}: cannot read gates")  # bytes that are not UTF-8: the line they are on
    except ScenarioError as exc:
        raise GateError(str(exc)) from None
    return parse_gates(text, str(path), metrics)


# -- judging one run -----------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, float):
        return _number(value)
    return str(value)


def _keys(mapping: dict[str, Any]) -> str:
    keys = sorted(mapping)
    return ", ".join(keys[:12]) + (", …" if len(keys) > 12 else "") if keys else "nothing"


def _resolve(path: tuple[str, ...], kpis: dict[str, Any]) -> tuple[Any, str]:
    """The value at ``path`` and a note ("" or why it reads 0); raises :class:`LookupError` saying what is missing."""
    value: Any = kpis
    for depth, key in enumerate(path):
        here = ".".join(path[:depth]) or "kpis.json"
        if isinstance(value, dict):
            if key in value:
                value = value[key]
                continue
            known = ZERO_FILLED.get(path[:depth])
            if known is not None and key in known and depth == len(path) - 1:
                return 0, "none recorded"
            if known is not None:
                raise LookupError(f"{here} has no {key!r}: its keys are among {', '.join(known)}")
            close = difflib.get_close_matches(key, list(value), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise LookupError(f"{here} has no {key!r} (it has {_keys(value)}){hint}")
        if isinstance(value, list):
            try:
                index = int(key)
                value = value[index]
            except (ValueError, IndexError):
                raise LookupError(f"{here} is a list of {len(value)}; {key!r} is not an index in it "
                                  f"(0 to {len(value) - 1}, or -1 for the last)") from None
            continue
        raise LookupError(f"{here} is {_show(value)}, a number: it has no {key!r}")
    return value, ""


def evaluate(gates: Gates | Iterable[Threshold], kpis: dict[str, Any]) -> list[Outcome]:
    """Each threshold judged against one run's ``kpis.json`` dict, in order.

    ``pass`` or ``fail`` by the operator; ``fail`` when the value is
    ``null`` (the run did not measure it); ``error`` when the path is not in
    the KPIs or leads to a mapping or a list rather than a number.
    """
    thresholds = gates.thresholds if isinstance(gates, Gates) else tuple(gates)
    outcomes = []
    for gate in thresholds:
        dotted = ".".join(gate.path)
        try:
            value, note = _resolve(gate.path, kpis)
        except LookupError as exc:
            outcomes.append(Outcome(gate, "error", "", f"{gate.where}: {gate.text!r}: {exc}"))
            continue
        if isinstance(value, dict | list):
            what = f"a mapping of {_keys(value)}" if isinstance(value, dict) else f"a list of {len(value)}"
            outcomes.append(Outcome(gate, "error", "", f"{gate.where}: {gate.text!r}: {dotted} is {what}, "
                                                       f"not a number; name one of its entries"))
            continue
        if value is None:
            outcomes.append(Outcome(gate, "fail", "null", f"{dotted} was not measured in this run (null); "
                                                          f"the gate wants {gate.wants}"))
            continue
        if not _is_number(value):
            outcomes.append(Outcome(gate, "error", _show(value), f"{gate.where}: {gate.text!r}: {dotted} is "
                                                                 f"{_show(value)!r}, not a number"))
            continue
        actual = _show(value) + (f" ({note})" if note else "")
        if OPERATORS[gate.op](value, gate.limit):
            outcomes.append(Outcome(gate, "pass", actual))
        else:
            outcomes.append(Outcome(gate, "fail", actual, f"{dotted} is {_show(value)}; the gate wants {gate.wants}"))
    return outcomes


# -- judging a comparison ------------------------------------------------------------------------


def _delta_text(row: dict[str, Any]) -> str:
    delta, unit, currency = row["delta"], row["unit"], row["currency"]
    if delta["mean"] is None:
        return "n/a"
    text = "Δ " + format_number(delta["mean"], unit, currency, signed=True)
    if delta["ci95"] is not None:
        low, high = (format_number(v, unit, currency, signed=True).removeprefix(f"{currency} ") for v in delta["ci95"])
        text += f" [{low}, {high}]"  # the currency, if any, is on the mean
    return text


def evaluate_compare(gates: Gates | Iterable[Judgement], comparison: dict[str, Any]) -> list[Outcome]:
    """Each judgement of B against A, in order, from the output of :func:`simulator.compare.compare`.

    B is *worse* when the paired 95% interval of B − A lies entirely on the
    bad side of 0, *better* when entirely on the good side. ``not worse``
    passes unless B is worse; ``better`` passes only when B is better.
    ``fail`` when the row has no interval (fewer than two seeds measured it
    in both); ``error`` when the comparison has no such row or neither the
    gate nor the row says which way is good.
    """
    judgements = gates.judgements if isinstance(gates, Gates) else tuple(gates)
    rows = {row["id"]: row for row in comparison["metrics"]}
    outcomes = []
    for gate in judgements:
        row = rows.get(gate.row)
        if row is None:
            close = difflib.get_close_matches(gate.row, list(rows), n=3)
            hint = f"; it has {', '.join(close)}" if close else ""
            outcomes.append(Outcome(gate, "error", "", f"{gate.where}: {gate.text!r}: this comparison has no row "
                                                       f"{gate.row!r} (neither scenario measured it){hint}"))
            continue
        direction = gate.direction or row.get("better")
        if direction not in ("lower", "higher"):
            outcomes.append(Outcome(gate, "error", "", f"{gate.where}: {gate.text!r}: {gate.row} has no direction; "
                                                       f"declare one: '{gate.row} {gate.claim}, lower is better'"))
            continue
        actual = _delta_text(row)
        interval = row["delta"]["ci95"]
        if interval is None:
            outcomes.append(Outcome(gate, "fail", actual, f"{gate.row}: no interval to judge B by: "
                                                          f"{row['delta']['n_pairs']} seed(s) measured it in both "
                                                          f"(needs 2 or more)"))
            continue
        low, high = interval
        judged = verdict((low, high), direction)
        side = "above" if low > 0 else "below" if high < 0 else "across"
        found = (f"the 95% interval of B − A lies {side} 0"
                 + (f" and {direction} is better" if side != "across" else ""))
        if gate.claim == "not worse":
            outcomes.append(Outcome(gate, "fail", actual, f"{gate.row}: B is worse than A: {found}")
                            if judged == WORSE else Outcome(gate, "pass", actual))
        else:
            outcomes.append(Outcome(gate, "pass", actual) if judged == BETTER
                            else Outcome(gate, "fail", actual, f"{gate.row}: B is not shown better than A: {found}"))
    return outcomes


# -- reporting -----------------------------------------------------------------------------------


def junit_cases(outcomes: Iterable[Outcome], classname: str) -> list[Case]:
    """One JUnit test case per gate, named by the gate as written; a failure's message has the actual value and
    what the gate wants, its text the file and line of the gate."""
    cases = []
    for outcome in outcomes:
        gate = outcome.gate
        detail = f"{gate.where}: {gate.text}\nactual: {outcome.actual or 'n/a'}\nwants: {gate.wants}"
        if outcome.message:
            detail += f"\n{outcome.message}"
        cases.append(Case(gate.text, classname, outcome.status, outcome.message, detail, gate.source, gate.line))
    return cases
