"""A sweep's and a compare's worker processes die on SIGTERM, whatever handler the process that forks them has.

``c2c serve`` and ``c2c load`` turn SIGTERM into Ctrl-C for the rest of their process. Run in a test runner's
worker (as the CLI tests run them), that handler stayed, a later sweep's forked workers inherited it, and
``Pool.terminate()``, which sends SIGTERM while it holds the task queue's lock, waited for ever on a worker that
did not die: a CI run's slow suite hung for 20 minutes. :func:`simulator.sweep_workers.worker_pool` restores
the default in each worker.
"""

from __future__ import annotations

import signal
import threading

from simulator.sweep_workers import worker_pool


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def test_a_worker_has_the_default_sigterm_even_when_its_parent_does_not() -> None:
    before = signal.signal(signal.SIGTERM, _interrupt)  # as c2c serve leaves it
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
