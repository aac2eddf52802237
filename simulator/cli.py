"""``c2c``: the command line. The only place that touches files, the terminal
and the wall clock; the simulation core gets none of them."""

from __future__ import annotations

import shlex
import sys
import time
import traceback
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from simulator.output import JsonLinesSink, write_kpis, write_run
from simulator.report import kpi_table, mismatch_lines
from simulator.runtime import ConnectorLoadError
from simulator.scenario import ScenarioError, load_scenario

console = Console(stderr=False)
errors = Console(stderr=True)


def say(*parts: str | tuple[str, str]) -> None:
    """A message on stdout from plain text and (text, style) parts. The text is never read as markup (paths and
    messages hold brackets) nor hard-wrapped at the terminal width, so each line stays whole to grep and to paste,
    even in an 80-column CI log."""
    console.print(Text.assemble(*parts), soft_wrap=True, highlight=False)


def fail(message: str, label: str = "error:") -> None:
    """An error on stderr, each line of ``message`` whole, as with ``say``."""
    errors.print(Text.assemble((label, "bold red"), " ", message), soft_wrap=True, highlight=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="c2c")
def main() -> None:
    """c2c: simulate and certify contract-to-cash integrations."""


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--seed", type=click.IntRange(min=0), default=1, show_default=True, help="Seed of every random stream.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output directory [default: out/SCENARIO-seedN].")
@click.option("--quiet", is_flag=True, help="No progress bar or table; just the output paths.")
def simulate(scenario: Path, seed: int, out_dir: Path | None, quiet: bool) -> None:
    """Run SCENARIO and write kpis.json, events.jsonl and run.json."""
    from simulator.run import simulate as run_simulation

    try:
        parsed = load_scenario(scenario)
    except ScenarioError as exc:
        fail(str(exc))
        sys.exit(2)
    out_dir = out_dir or Path("out") / f"{parsed.name}-seed{seed}"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"cannot create output directory {out_dir}: {exc.strerror}")
        sys.exit(2)
    reproduce = f"c2c simulate {shlex.quote(str(scenario))} --seed {seed} --out {shlex.quote(str(out_dir))}"
    started = time.perf_counter()
    try:
        with (out_dir / "events.jsonl").open("w") as events, Progress(
            TextColumn("[bold]simulating[/] {task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(), console=console, disable=quiet, transient=True,
        ) as progress:
            task = progress.add_task(f"{escape(parsed.name)} (seed {seed})", total=1.0)
            result = run_simulation(parsed, seed, sink=JsonLinesSink(events),
                                    progress=lambda done: progress.update(task, completed=done))
    except ConnectorLoadError as exc:
        fail(f"connector: {exc}")
        sys.exit(2)
    except Exception:
        crash = out_dir / "crash.txt"
        crash.write_text(traceback.format_exc())
        fail(f"while simulating seed {seed}; details in {crash}\nreproduce with: {reproduce}", label="internal error")
        sys.exit(3)
    wall = time.perf_counter() - started
    write_kpis(out_dir / "kpis.json", result.kpis)
    run = write_run(out_dir / "run.json", wall_seconds=wall, api_calls=result.total_api_calls,
                    trace_counts=result.trace_counts, fault_counts=result.fault_counts, command=[reproduce])
    if not quiet:
        console.print(kpi_table(result.kpis))
        for line in mismatch_lines(result.kpis):
            say("  ", ("•", "red"), " ", line)
        say(f"wall {run['wall_seconds']} s · peak RSS {run['peak_rss_mib']} MiB · "
            f"{run['connector_calls_per_wall_second']:,} connector calls/s")
    say(f"wrote {out_dir}/kpis.json, events.jsonl, run.json")
    if not result.reconciliation.ok:
        say((f"{len(result.reconciliation.mismatches)} reconciliation mismatches", "bold red"),
            f"; reproduce with: {reproduce}")


if __name__ == "__main__":
    main()
