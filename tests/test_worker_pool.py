"""A sweep's and a compare's worker processes die on SIGTERM, whatever handler the process that forks them has.

``c2c serve`` and ``c2c load`` turn SIGTERM into Ctrl-C while they run. They once left that handler for the rest
of their process: run in a test runner's worker (as the CLI tests run them), it stayed, a later sweep's forked
workers inherited it, and ``Pool.terminate()``, which sends SIGTERM while it holds the task queue's lock, waited
for ever on a worker that did not die: a CI run's slow suite hung for 20 minutes. Both halves are mended and
tested here: the commands give their caller's handler back when they end, and
:func:`simulator.sweep_workers.worker_pool` restores the default in each worker whatever its parent has.
"""

from __future__ import annotations

import signal
import threading

import pytest
from click.testing import CliRunner

from simulator.cli import main
from simulator.sweep_workers import worker_pool
from tests.conftest import ROOT

SMALL_FIRM = ROOT / "conformance" / "scenarios" / "small_firm.yaml"


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def test_a_worker_has_the_default_sigterm_even_when_its_parent_does_not() -> None:
    before = signal.signal(signal.SIGTERM, _interrupt)  # a parent's own handler
    try:
        pool = worker_pool(2)
        try:
            handlers = pool.map(signal.getsignal, [signal.SIGTERM] * 4)
        finally:
            ended = threading.Thread(target=lambda: (pool.terminate(), pool.join()), daemon=True)
            ended.start()
            ended.join(timeout=20)
    finally:
        signal.signal(signal.SIGTERM, before)
    assert not ended.is_alive(), "terminate() waited on a worker that did not die"
    assert handlers == [signal.SIG_DFL] * 4


@pytest.mark.parametrize("command", [["serve", "--connector-url", "http://127.0.0.1:1", "--connector-cmd", "x"],
                                     ["load", "--step-rate", "5"]])
def test_a_served_command_gives_its_caller_s_sigterm_handler_back(command: list[str]) -> None:
    before = signal.signal(signal.SIGTERM, _interrupt)  # the caller's own handler, not the default
    try:
        result = CliRunner().invoke(main, [command[0], str(SMALL_FIRM), *command[1:]])
        assert result.exit_code == 2, result.output  # refused after the command set its handler
        assert signal.getsignal(signal.SIGTERM) is _interrupt
    finally:
        signal.signal(signal.SIGTERM, before)
