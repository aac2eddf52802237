"""Where a sweep's runs run: in this process, in a local process pool, or on a Dask distributed cluster.

Each executor takes :class:`RunTask` s and yields one :class:`RunOutcome`
per task, in the order the runs finish (which the results never depend on:
:mod:`simulator.sweep` orders them by point and seed). A run is
:func:`simulator.run.simulate` on the point's validated scenario, so a
run's KPIs are the same wherever it runs. A run that fails does not stop
the others; its outcome carries the error instead of KPIs.

A Dask cluster's workers must have this c2c installed (``pip install
'c2c[dask]'``), as the process pool's do by construction.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.pool
import signal
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from simulator.scenario import Scenario


class ExecutorError(Exception):
    """The runs cannot be started where asked (a Dask scheduler that does not answer, dask not installed)."""


@dataclass(frozen=True)
class RunTask:
    key: str  # simulator.sweep.run_key
    point: str
    seed: int
    scenario: Scenario


@dataclass(frozen=True)
class RunOutcome:
    key: str
    point: str
    seed: int
    kpis: dict[str, Any] | None
    error: str | None = None  # a traceback (the harness's failure) or a one-line connector error
    connector_error: bool = False  # the connector's factory raised: the connector's to fix, not the harness's


def run_task(task: RunTask) -> RunOutcome:
    """One run, wherever it is called; never raises (but for a process-killing signal)."""
    from simulator.host import connector_traceback
    from simulator.run import simulate
    from simulator.runtime import ConnectorLoadError

    try:
        return RunOutcome(task.key, task.point, task.seed, simulate(task.scenario, task.seed).kpis)
    except ConnectorLoadError as exc:
        where = "" if exc.__cause__ is None else f" (at {connector_traceback(exc.__cause__)[0]})"
        return RunOutcome(task.key, task.point, task.seed, None, f"connector: {exc}{where}", connector_error=True)
    except Exception:
        return RunOutcome(task.key, task.point, task.seed, None, traceback.format_exc())


def worker_pool(workers: int) -> multiprocessing.pool.Pool:
    """A pool of ``workers`` processes whose workers die on SIGTERM, whatever handler this process has.

    The workers are forked, and a fork keeps the parent's signal handlers: once ``c2c serve`` or ``c2c load`` had
    run in the same process (a test runner's worker), a Python SIGTERM handler came with them, and a pool that
    ended with :meth:`~multiprocessing.pool.Pool.terminate` (which sends SIGTERM while it holds the task queue's
    lock) waited for ever on a worker that did not die (a CI run's slow suite hung on it).
    """
    return multiprocessing.get_context().Pool(workers, initializer=_die_on_sigterm)


def _die_on_sigterm() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def run_locally(tasks: list[RunTask], jobs: int) -> Iterator[RunOutcome]:
    """The runs on ``jobs`` worker processes (in this process when ``jobs`` is 1 or there is one task)."""
    workers = min(jobs, len(tasks))
    if workers <= 1:
        yield from map(run_task, tasks)
        return
    import simulator.run  # noqa: F401  (imported once here, so forked workers start warm)

    pool = worker_pool(workers)
    try:
        yield from pool.imap_unordered(run_task, tasks)
    finally:
        pool.terminate()
        pool.join()


def run_on_dask(tasks: list[RunTask], address: str, connect_timeout_s: float = 10.0) -> Iterator[RunOutcome]:
    """The runs on the Dask distributed cluster whose scheduler is at ``address`` (``tcp://HOST:PORT``).

    Connects at once (:class:`ExecutorError` if it cannot), then yields the outcomes as the runs finish.
    """
    try:
        from distributed import Client
    except ImportError:
        raise ExecutorError("--dask needs the distributed package: pip install 'c2c[dask]'") from None
    try:
        client = Client(address, timeout=connect_timeout_s, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ExecutorError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    return _dask_outcomes(client, tasks)


def _dask_outcomes(client: Any, tasks: list[RunTask]) -> Iterator[RunOutcome]:
    from distributed import as_completed

    try:
        futures = {client.submit(run_task, task, key=f"c2c-sweep-{task.key}", pure=False): task for task in tasks}
        for future in as_completed(futures, loop=client.loop):
            task = futures[future]
            try:
                yield future.result()
            except Exception as exc:  # the worker died under the run (KilledWorker) or lost it
                yield RunOutcome(task.key, task.point, task.seed, None,
                                 f"the Dask cluster lost the run: {type(exc).__name__}: {exc}\n")
            future.release()
    finally:
        client.close()
