"""What ``c2c report`` reads: a ``c2c simulate`` directory, a ``c2c compare`` file or a ``c2c sweep`` directory.

This module is the report's only reader of files. It recognises the kind of
output it is given (:func:`locate`), parses each file and checks the fields
the report uses, so that a damaged or foreign file is one
:class:`ReportInputError` whose message names the file, the line (for JSON
lines files, and for JSON that does not parse) and the field, never a
traceback halfway through a chart. Fields the report does not use are not
checked: a newer ``kpis.json`` with more in it is still read.

``events.jsonl`` can be large (a year of a mid-size firm), so it is never
loaded whole: :func:`trace_records` yields its records one by one, checking
each as it goes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, StrictInt, ValidationError


class ReportInputError(Exception):
    """Input the report cannot read; the message is one line naming the file, the line and the field."""


class _Read(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


def _number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")
    return value


Number = Annotated[float, PlainValidator(_number)]  # an int or a float as JSON wrote it; not a string, not a bool


# -- kpis.json ---------------------------------------------------------------------------------------


class Percentiles(_Read):
    count: StrictInt
    p50: Number | None = None
    p95: Number | None = None


class ReconciliationKpis(_Read):
    items_checked: StrictInt
    mismatches: StrictInt
    mismatches_by_rule: dict[str, StrictInt] = {}
    late_invoices: StrictInt = 0


class BillingLag(_Read):
    share: Number


class InvoiceKpis(_Read):
    count: StrictInt
    count_by_currency: dict[str, StrictInt] = {}
    total_by_currency: dict[str, StrictInt] = {}
    disputed: StrictInt
    cycle_time_hours: Percentiles
    billing_lag: BillingLag


class WipSnapshot(_Read):
    month_end: str
    by_currency: dict[str, StrictInt]
    held_over_cap: dict[str, StrictInt] = {}


class Receivables(_Read):
    dso_days: dict[str, Number] = {}


class ApiCalls(_Read):
    calls: StrictInt
    errors_4xx: StrictInt = 0
    errors_5xx: StrictInt = 0
    no_response: StrictInt = 0
    rate_limited_429: StrictInt = 0


class Period(_Read):
    start: str
    end: str


class Kpis(_Read):
    """The parts of ``kpis.json`` (schema 1.x) the report shows."""

    schema_version: str
    scenario: str
    seed: StrictInt
    period: Period
    reconciliation: ReconciliationKpis
    invoices: InvoiceKpis
    unbilled_wip: list[WipSnapshot]
    revenue_leakage: dict[str, StrictInt]
    over_billing: dict[str, StrictInt]
    receivables: Receivables
    sync_latency: dict[str, Percentiles]
    api_calls: dict[str, ApiCalls]
    connector_errors: StrictInt = 0


# -- mismatches.jsonl, run.json ---------------------------------------------------------------------


class MismatchRecord(_Read):
    rule: str
    item: str
    expected: Any = None
    actual: Any = None
    currency: str | None = None
    money_at_stake: StrictInt
    detail: str = ""
    lineage: dict[str, Any] | None = None


class ConnectorErrorCount(_Read):
    kind: str
    count: StrictInt


class RunFile(_Read):
    """The parts of ``run.json`` the report shows: what the run's faults and the connector's errors were.

    Its wall time, memory and versions are about the machine, not the integration: the report leaves them out,
    so two runs of the same scenario and seed give the same report.
    """

    faults: dict[str, StrictInt] = {}
    connector_errors: list[ConnectorErrorCount] = []


# -- compare.json -----------------------------------------------------------------------------------


class Summary(_Read):
    n: StrictInt
    mean: Number | None
    ci95: list[Number] | None = Field(default=None, min_length=2, max_length=2)
    half_width: Number | None = None


class Delta(_Read):
    mean: Number | None
    ci95: list[Number] | None = Field(default=None, min_length=2, max_length=2)
    half_width: Number | None = None
    excludes_zero: bool | None = None


class CompareRow(_Read):
    id: str
    label: str
    unit: str
    currency: str | None = None
    better: str | None = None
    a: Summary
    b: Summary
    delta: Delta


class Side(_Read):
    scenario: str | None
    seeds: list[StrictInt]


class Comparison(_Read):
    """``c2c compare``'s output (schema 1.x)."""

    schema_version: str
    confidence: Number
    a: Side
    b: Side
    metrics: list[CompareRow]


# -- sweep.json -------------------------------------------------------------------------------------


class SweepParameter(_Read):
    path: str
    values: list[Any]


class SweepKpi(_Read):
    id: str
    label: str
    unit: str
    currency: str | None = None
    better: str | None = None


class SweepInterval(_Read):
    n: StrictInt
    mean: Number | None
    low: Number | None = None
    high: Number | None = None


class SweepPointResult(_Read):
    id: str
    parameters: dict[str, Any]
    kpis: dict[str, SweepInterval]


class SweepSummary(_Read):
    """``c2c sweep``'s ``sweep.json`` (schema 1.x): per grid point its parameter values and each KPI's interval."""

    schema_version: str
    sweep: str
    description: str = ""
    confidence: Number
    seeds: list[StrictInt]
    parameters: list[SweepParameter] = Field(min_length=1)
    kpis: list[SweepKpi]
    points: list[SweepPointResult]


# -- what was found -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunFiles:
    """A ``c2c simulate --out DIR`` directory: its KPIs, mismatches and run facts read; its trace left on disk."""

    directory: Path
    kpis: Kpis
    mismatches: list[MismatchRecord]
    run: RunFile

    @property
    def trace(self) -> Path:
        return self.directory / "events.jsonl"


@dataclass(frozen=True)
class CompareFile:
    path: Path
    comparison: Comparison


@dataclass(frozen=True)
class SweepFiles:
    directory: Path
    summary: SweepSummary


Source = RunFiles | CompareFile | SweepFiles


def locate(source: Path) -> Source:
    """Read what ``source`` is: a simulate directory (``kpis.json``), a sweep directory (``sweep.json``), or a
    compare output (``compare.json`` or any JSON file ``c2c compare --out`` wrote, or a directory holding
    ``compare.json``)."""
    if source.is_file():
        return CompareFile(source, _versioned(_model(Comparison, _json(source), source), source))
    if not source.is_dir():
        raise ReportInputError(f"{source}: no such file or directory")
    if (source / "kpis.json").is_file():
        return _run_files(source)
    if (source / "sweep.json").is_file():
        path = source / "sweep.json"
        return SweepFiles(source, _versioned(_model(SweepSummary, _json(path), path), path))
    if (source / "compare.json").is_file():
        path = source / "compare.json"
        return CompareFile(path, _versioned(_model(Comparison, _json(path), path), path))
    raise ReportInputError(f"{source}: not a c2c output: expected kpis.json (c2c simulate --out), sweep.json "
                           f"(c2c sweep) or compare.json (c2c compare) in it")


def _run_files(directory: Path) -> RunFiles:
    for name in ("events.jsonl", "mismatches.jsonl", "run.json"):
        if not (directory / name).is_file():
            raise ReportInputError(f"{directory / name}: missing; a c2c simulate --out directory has kpis.json, "
                                   f"events.jsonl, mismatches.jsonl and run.json")
    kpis = _versioned(_model(Kpis, _json(directory / "kpis.json"), directory / "kpis.json"), directory / "kpis.json")
    mismatches = [_model(MismatchRecord, record, directory / "mismatches.jsonl", line)
                  for line, record in _json_lines(directory / "mismatches.jsonl")]
    run = _model(RunFile, _json(directory / "run.json"), directory / "run.json")
    return RunFiles(directory, kpis, mismatches, run)


# -- the trace ---------------------------------------------------------------------------------------

# What each kind of trace record must carry for the report to read it (other kinds: only seq, t and kind).
TRACE_FIELDS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "api": {"system": str, "method": str, "path": str, "status": int},
    "event": {"system": str, "type": str, "entity": str},
    "fault": {"fault": str},
}
# What the report reads of an event record when it is there (older traces lack them): the contracts an invoice or
# credit note bills, the invoice a payment is for.
EVENT_OPTIONAL = {"contracts": "a list of strings", "invoice": "a string"}


def trace_records(path: Path) -> Iterator[dict[str, Any]]:
    """Each record of ``events.jsonl`` in order, checked: a number ``t``, a string ``kind``, the fields its
    kind needs (:data:`TRACE_FIELDS`), and an event's optional fields the report reads (:data:`EVENT_OPTIONAL`)."""
    for line, record in _json_lines(path):
        t = record.get("t")
        if isinstance(t, bool) or not isinstance(t, int | float):
            raise ReportInputError(f"{path} line {line}: t: {'missing' if t is None else 'not a number'}")
        kind = record.get("kind")
        if not isinstance(kind, str):
            raise ReportInputError(f"{path} line {line}: kind: {'missing' if kind is None else 'not a string'}")
        for name, expected in TRACE_FIELDS.get(kind, {}).items():
            value = record.get(name)
            if value is None or isinstance(value, bool) or not isinstance(value, expected):
                problem = "missing" if value is None else f"not a {expected.__name__}"
                raise ReportInputError(f"{path} line {line}: {name}: {problem} (a {kind} record)")
        if kind == "event" and ("contracts" in record or "invoice" in record):  # a few ERP events' only
            contracts, invoice = record.get("contracts", []), record.get("invoice", "")
            for name, ok in (("contracts", isinstance(contracts, list) and all(isinstance(c, str) for c in contracts)),
                             ("invoice", isinstance(invoice, str))):
                if not ok:
                    raise ReportInputError(f"{path} line {line}: {name}: not {EVENT_OPTIONAL[name]} (an event record)")
        yield record


# -- parsing helpers ----------------------------------------------------------------------------------


def _json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ReportInputError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ReportInputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportInputError(f"{path} line {exc.lineno}: not JSON: {exc.msg} (column {exc.colno})") from None


def _json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        stream = path.open(encoding="utf-8")
    except OSError as exc:
        raise ReportInputError(f"{path}: cannot read: {exc.strerror}") from None
    with stream:
        line = 0
        try:
            for line, text in enumerate(stream, start=1):  # noqa: B007 (read after the loop on a decode error)
                if not text.strip():
                    continue
                try:
                    record = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise ReportInputError(f"{path} line {line}: not JSON: {exc.msg} (column {exc.colno})") from None
                if not isinstance(record, dict):
                    raise ReportInputError(f"{path} line {line}: a record must be a JSON object")
                yield line, record
        except UnicodeDecodeError as exc:
            raise ReportInputError(f"{path} line {line + 1}: not UTF-8 text ({exc.reason})") from None


def _versioned(document: Any, path: Path) -> Any:
    """The document, if its ``schema_version`` is one this report reads (1.x: fields are only ever added)."""
    if not document.schema_version.startswith("1."):
        raise ReportInputError(f"{path}: schema_version: {document.schema_version!r} is not 1.x, the version this "
                               f"report reads")
    return document


def _model(model: type[BaseModel], value: Any, path: Path, line: int | None = None) -> Any:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or "(the document)"
        problem = "missing" if error["type"] == "missing" else error["msg"]
        where = f"{path} line {line}" if line is not None else str(path)
        raise ReportInputError(f"{where}: {field}: {problem}") from None
