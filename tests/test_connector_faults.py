"""A connector's bugs are the connector's: counted by kind, the first one in full, and never a harness crash.

An exception in ``receive()`` or a scheduled callback, a ``receive()`` that
answers without an HTTP status, a factory that raises on a restart, a
``close()`` that raises: each is a :class:`~simulator.host.ConnectorFault`
kept by the host, the sender of a delivery sees a 500, and ``c2c simulate``
shows each kind once (the first traceback, the command that reproduces it)
with exit 1 when the ERP does not reconcile, never 3.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httpx
import pytest
import simpy
from click.testing import CliRunner

from mocks.systems import build_systems
from simulator.cli import main
from simulator.firm.context import SimClock
from simulator.host import ConnectorHost, FaultKind
from simulator.run import simulate
from simulator.scenario import load_scenario
from simulator.trace import Trace

ROOT = Path(__file__).resolve().parent.parent
SMALL_FIRM = ROOT / "conformance" / "scenarios" / "small_firm.yaml"


class Answers:
    """A connector whose receive() answers (or raises) whatever the test sets."""

    answer: Any = 200

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime

    def receive(self, delivery: Any) -> Any:
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer

    def close(self) -> None:
        if getattr(self, "close_raises", False):
            raise OSError("the socket was already closed")


def host_for(factory: Any) -> ConnectorHost:
    env = simpy.Environment()
    clock = SimClock(env, dt.date(2026, 1, 1))
    systems = build_systems(clock, {"US-NY": "0.08875"}, 1)
    transport = httpx.MockTransport(lambda request: httpx.Response(404))
    return ConnectorHost(env, clock, systems, transport, factory, random.Random(1), Trace(clock))


@pytest.mark.parametrize("answer", [None, True, False, "200", 200.0, 42, 600, b"OK"],
                         ids=["None", "True", "False", "str", "float", "42", "600", "bytes"])
def test_a_receive_without_an_http_status_is_a_counted_500(answer: Any) -> None:
    host = host_for(Answers)
    host.connector.answer = answer
    assert [host.receive(None) for _ in range(3)] == [500, 500, 500]
    (fault,) = host.faults.values()
    assert (fault.kind, fault.count) == (FaultKind.BAD_RETURN, 3)
    assert fault.error.startswith("returned ") and "test_connector_faults.py" in fault.where
    assert "instead of an HTTP status" in fault.headline() and "3 times" in fault.headline()
    assert host.error_count == 3 and len(host.errors) == 3


@pytest.mark.parametrize("answer", [200, 204, 401, HTTPStatus.ACCEPTED, 599, 100])
def test_an_http_status_is_passed_through(answer: Any) -> None:
    host = host_for(Answers)
    host.connector.answer = answer
    assert host.receive(None) == int(answer) and type(host.receive(None)) is int
    assert host.faults == {} and host.errors == []


def test_a_raising_receive_is_a_counted_500_with_its_first_traceback() -> None:
    host = host_for(Answers)
    host.connector.answer = KeyError("tenant")
    assert host.receive(None) == 500
    host.connector.answer = ValueError("second kind of error, same place")
    assert host.receive(None) == 500
    (fault,) = host.faults.values()
    assert (fault.kind, fault.count, fault.error) == (FaultKind.RECEIVE, 2, "KeyError")
    assert dict(fault.by_error) == {"KeyError": 1, "ValueError": 1}
    assert fault.traceback.startswith("Traceback (most recent call last):")
    assert 'File "tests/test_connector_faults.py"' in fault.traceback and "raise self.answer" in fault.traceback
    assert "simulator/host.py" not in fault.traceback, "the harness's own frames are left out"
    assert fault.traceback.rstrip().endswith("KeyError: 'tenant'")
    assert fault.where.startswith("tests/test_connector_faults.py:") and fault.where.endswith(" in receive")
    assert fault.headline().startswith("connector raised KeyError (also ValueError ×1) in receive() 2 times; first at ")
    assert json.dumps(fault.to_json(with_traceback=False)) == \
        '{"kind": "receive", "count": 2, "by_error": {"KeyError": 1, "ValueError": 1}}'


class CallsALibrary(Answers):
    def receive(self, delivery: Any) -> int:
        with httpx.Client() as client:
            client.get("ftp://example.invalid/")  # raises deep inside httpx, before any network
        return 200


def test_where_is_the_connectors_own_frame_and_library_frames_are_one_line() -> None:
    host = host_for(CallsALibrary)
    assert host.receive(None) == 500
    fault = host.faults[FaultKind.RECEIVE]
    assert fault.error == "UnsupportedProtocol"
    assert fault.where.startswith("tests/test_connector_faults.py:") and fault.where.endswith(" in receive")
    assert "frames in httpx, stdlib]" in fault.traceback and "_client.py" not in fault.traceback


def test_a_raising_scheduled_callback_is_counted_and_the_world_goes_on() -> None:
    host = host_for(Answers)
    ran = []

    def tick() -> None:
        ran.append(host.env.now)
        raise ZeroDivisionError("division by zero")

    host.scheduler.every(60, tick)
    host.env.run(until=200)
    assert ran == [60, 120, 180]
    fault = host.faults[FaultKind.SCHEDULED_CALLBACK]
    assert fault.count == 3 and "in tick" in fault.where
    assert "in a scheduled callback 3 times" in fault.headline()


def test_a_factory_that_fails_on_restart_leaves_the_connector_down_as_a_build_fault() -> None:
    builds = []

    def factory(runtime: Any) -> Answers:
        builds.append(runtime)
        if len(builds) > 1:
            raise RuntimeError("the licence server is unreachable")
        return Answers(runtime)

    host = host_for(factory)
    host.crash()
    assert host.connector is None and host.receive(None) == 503
    fault = host.faults[FaultKind.BUILD]
    assert (fault.count, fault.error) == (1, "RuntimeError") and "in factory" in fault.where
    assert "in its factory once" in fault.headline()


def test_a_raising_close_is_counted_not_raised() -> None:
    host = host_for(Answers)
    host.connector.close_raises = True
    host.close()
    assert host.faults[FaultKind.CLOSE].error == "OSError"


@pytest.mark.parametrize(("connector", "kind"), [
    ("raises_in_receive", "receive"),
    ("receive_returns_none", "bad_return"),
    ("raises_in_scheduled_callback", "scheduled_callback"),
])
def test_a_simulation_runs_to_the_end_and_counts_the_connectors_faults(connector: str, kind: str) -> None:
    module = __import__(f"tests.subjects.{connector}", fromlist=["build"])
    result = simulate(load_scenario(SMALL_FIRM), 1, factory=module.build)
    (fault,) = result.connector_faults
    assert str(fault.kind) == kind and fault.count > 0
    assert result.kpis["connector_errors"] == fault.count == len(result.connector_errors)
    assert result.kpis["connector_errors_by_kind"] == {kind: fault.count}


def test_the_reference_connector_has_no_connector_errors_by_kind() -> None:
    result = simulate(load_scenario(SMALL_FIRM), 1)
    assert result.connector_faults == () and result.kpis["connector_errors_by_kind"] == {}


# -- c2c simulate ----------------------------------------------------------------------------


def run_cli(tmp_path: Path, connector: str, *extra: str) -> tuple[Any, Path]:
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["simulate", str(SMALL_FIRM), "--out", str(out), "--connector",
                                       f"tests.subjects.{connector}:build", *extra])
    return result, out


def test_c2c_simulate_reports_a_raising_receive_once_as_the_connectors(tmp_path: Path) -> None:
    result, out = run_cli(tmp_path, "raises_in_receive")
    assert result.exit_code == 1, result.output  # not reconciled; never 3 (internal error)
    text = result.output
    assert "internal error" not in text and not (out / "crash.txt").exists()
    assert text.count("connector raised KeyError in receive()") == 1
    assert text.count("Traceback (most recent call last):") == 1
    assert 'File "tests/subjects/raises_in_receive.py", line' in text
    assert "connector errors" in text  # the KPI table's row
    assert f"reproduce with: c2c simulate {SMALL_FIRM}" in text.replace("\n", "")
    run = json.loads((out / "run.json").read_text())
    (fault,) = run["connector_errors"]
    assert fault["kind"] == "receive" and fault["first"]["traceback"].endswith("KeyError: 'tenant'")
    kpis = json.loads((out / "kpis.json").read_text())
    assert kpis["connector_errors"] == fault["count"] and kpis["connector_errors_by_kind"] == {"receive": fault["count"]}
    assert "traceback" not in (out / "kpis.json").read_text(), "kpis.json holds counts only: it is deterministic"


def test_c2c_simulate_survives_a_receive_that_returns_none(tmp_path: Path) -> None:
    result, out = run_cli(tmp_path, "receive_returns_none", "--quiet")
    assert result.exit_code in (0, 1), result.output
    assert "internal error" not in result.output and "TypeError" not in result.output
    assert "receive() returned None instead of an HTTP status" in result.output
    assert json.loads((out / "kpis.json").read_text())["connector_errors_by_kind"]["bad_return"] > 0


def test_c2c_simulate_counts_a_raising_scheduled_callback(tmp_path: Path) -> None:
    result, out = run_cli(tmp_path, "raises_in_scheduled_callback")
    assert result.exit_code in (0, 1), result.output
    assert result.output.count("connector raised ZeroDivisionError in a scheduled callback") == 1
    assert "in housekeeping" in result.output


def test_c2c_simulate_names_where_a_factory_raised_and_how_to_reproduce(tmp_path: Path) -> None:
    result, out = run_cli(tmp_path, "raises_on_build", "--quiet")
    assert result.exit_code == 2, result.output
    text = "".join(result.output.splitlines())
    assert "raised RuntimeError: ACME_TOKEN is not set (at tests/subjects/raises_on_build.py:5 in build)" in text
    assert "reproduce with: c2c simulate" in text and "Traceback" not in text


@pytest.mark.parametrize("subscriptions", ["crm.account.created", 42, [1, 2], b"crm"], ids=["str", "int", "ints", "bytes"])
def test_malformed_subscriptions_are_the_connectors_fault_and_every_event_is_delivered(subscriptions: Any) -> None:
    host = host_for(Answers)
    host.connector.subscriptions = subscriptions
    assert host.subscribed("crm.account.created") and host.subscribed("psa.timesheet.approved")
    fault = host.faults[FaultKind.SUBSCRIPTIONS]
    assert fault.count == 2 and "instead of a set of event types" in fault.headline()


def test_a_set_of_event_types_filters_deliveries() -> None:
    host = host_for(Answers)
    host.connector.subscriptions = frozenset({"crm.account.created"})
    assert host.subscribed("crm.account.created") and not host.subscribed("psa.timesheet.approved")
    assert not host.faults
