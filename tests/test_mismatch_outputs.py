"""Reports lead with the money: mismatches ranked by money at stake, and every one of them in mismatches.jsonl."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from simulator.cli import main
from simulator.oracle import Mismatch, Reconciliation
from simulator.output import mismatch_records, write_mismatches
from simulator.report import mismatch_lines

ROOT = Path(__file__).resolve().parent.parent
SMALL_FIRM = ROOT / "conformance" / "scenarios" / "small_firm.yaml"

MISMATCHES = [
    Mismatch("lineage", "erp:charge/chg_2", "complete, consistent lineage", "source_version missing"),
    Mismatch("lineage", "erp:charge/chg_1", "complete, consistent lineage", "contract_version missing"),
    Mismatch("duplicate_customer", "crm:account/acc_1", 1, 40),  # a count, not money
    Mismatch("net_charge", "psa:timesheet_line/tsl_2", 10_000, 0, "USD"),
    Mismatch("net_charge", "psa:timesheet_line/tsl_9", 12_000, 2_000, "USD"),  # as much at stake as tsl_2
    Mismatch("cap", "clm:contract/ctr_1", 50_000, 80_000, "GBP"),
]


def test_examples_are_ranked_by_money_at_stake_then_rule_then_item() -> None:
    reconciliation = Reconciliation(mismatches=list(MISMATCHES))
    items = [m["item"] for m in reconciliation.to_json()["examples"]]
    assert items == ["clm:contract/ctr_1", "psa:timesheet_line/tsl_2", "psa:timesheet_line/tsl_9",
                     "crm:account/acc_1", "erp:charge/chg_1", "erp:charge/chg_2"]
    assert [m["item"] for m in reconciliation.to_json(examples=2)["examples"]] == items[:2]


def test_the_printed_sample_says_how_many_more_and_where_they_are() -> None:
    kpis = {"reconciliation": Reconciliation(mismatches=list(MISMATCHES)).to_json()}
    lines = mismatch_lines(kpis, limit=2, full_list="out/x/mismatches.jsonl")
    assert lines[0].startswith("[cap] clm:contract/ctr_1: expected 50000 GBP, ERP has 80000 (GBP 300.00 at stake)")
    assert lines[-1] == "… and 4 more (full list: out/x/mismatches.jsonl)"
    assert len(mismatch_lines(kpis, limit=10)) == len(MISMATCHES), "no 'more' line when all are shown"


def test_mismatches_jsonl_holds_every_mismatch_ranked_with_the_charge_lineage(tmp_path: Path) -> None:
    lineage = {"contract_id": "ctr_1", "source_type": "timesheet_line", "source_id": "tsl_7"}
    systems = SimpleNamespace(erp=SimpleNamespace(charges={"chg_1": SimpleNamespace(lineage=lineage)}))
    path = tmp_path / "mismatches.jsonl"
    write_mismatches(path, list(MISMATCHES), systems)
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["item"] for r in records] == [m["item"] for m in
                                            Reconciliation(mismatches=list(MISMATCHES)).to_json()["examples"]]
    assert set(records[0]) == {"rule", "item", "expected", "actual", "currency", "money_at_stake", "detail"}
    assert [r["money_at_stake"] for r in records[:4]] == [30_000, 10_000, 10_000, 0]
    assert next(r for r in records if r["item"] == "erp:charge/chg_1")["lineage"] == lineage
    assert "lineage" not in next(r for r in records if r["item"] == "erp:charge/chg_2"), "no such charge: none"
    write_mismatches(path, [], systems)
    assert path.read_text() == ""
    assert mismatch_records([], systems) == []


@pytest.mark.slow  # a planted defect's whole run: in the slow suite, which CI runs
def test_c2c_simulate_writes_mismatches_jsonl_and_prints_the_costliest_first(tmp_path: Path) -> None:
    outputs = []
    for attempt in ("first", "again"):
        out = tmp_path / attempt
        result = CliRunner().invoke(main, ["simulate", str(SMALL_FIRM), "--out", str(out),
                                           "--connector", "tests.broken_connectors.double_post:build"])
        assert result.exit_code == 1, result.output
        outputs.append((out, result.output, (out / "mismatches.jsonl").read_bytes()))
    (out, text, first), (_, _, again) = outputs
    assert first == again, "mismatches.jsonl is deterministic"
    records = [json.loads(line) for line in first.decode().splitlines()]
    kpis = json.loads((out / "kpis.json").read_text())
    assert len(records) == kpis["reconciliation"]["mismatches"] > 10
    stakes = [r["money_at_stake"] for r in records]
    assert stakes == sorted(stakes, reverse=True) and stakes[0] > 0
    assert [r["item"] for r in records[:10]] == [e["item"] for e in kpis["reconciliation"]["examples"][:10]]
    flat = "".join(text.splitlines())
    assert f"… and {len(records) - 10} more (full list: {out / 'mismatches.jsonl'})" in flat
