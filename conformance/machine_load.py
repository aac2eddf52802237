"""How busy the machine was while a black-box connector was judged: evidence that belongs beside a verdict.

A black-box connector is judged on the wall clock. At a certification's
speed a simulated day passes in about 200 ms, so a machine that keeps the
connector's process (or the served firm) waiting for a few hundred
milliseconds can make a timeliness or load requirement fail that the same
connector passes on a machine to itself. The suite cannot tell such a
failure from the connector's own, but it can say how busy the machine was:
the system's 1-minute load average, read after each served run, and its
peak kept for the report. A peak above :data:`BUSY_PER_CORE` runnable
processes per core marks the run as made on a busy machine.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

BUSY_PER_CORE = 2.0  # more runnable processes than this per core: the connector and the firm waited for a CPU


def _load_average() -> float:
    return os.getloadavg()[0]


@dataclass
class MachineLoad:
    """The peak 1-minute load average over the samples taken (thread-safe enough: a float max per sample)."""

    cores: int = field(default_factory=lambda: os.cpu_count() or 1)
    read: Callable[[], float] = _load_average
    peak: float | None = None  # None until a sample is taken

    def sample(self) -> None:
        """Read the load average now (after a served run); keep the highest."""
        load = self.read()
        self.peak = load if self.peak is None else max(self.peak, load)

    @property
    def busy(self) -> bool:
        return self.peak is not None and self.peak > BUSY_PER_CORE * self.cores

    def to_json(self) -> dict[str, Any]:
        return {"cores": self.cores, "load_average_peak": None if self.peak is None else round(self.peak, 2),
                "busy": self.busy}


def machine_words(machine: dict[str, Any]) -> str:
    """The summary's line for :meth:`MachineLoad.to_json`: the machine, and a warning when it was busy."""
    if machine["load_average_peak"] is None:
        return f"machine: {machine['cores']} cores (no served run was made)"
    line = f"machine: {machine['cores']} cores, 1-minute load average up to {machine['load_average_peak']:.1f} " \
           "during the served runs"
    if machine["busy"]:
        line += (f": **busy** (more than {BUSY_PER_CORE:g} runnable processes per core); a failed timeliness or "
                 "load requirement may be the machine's doing, not the connector's: certify again with the machine "
                 "to itself")
    return line
