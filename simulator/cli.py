"""``c2c``: the command line. The only place that touches files, the terminal
and the wall clock; the simulation core gets none of them."""

from __future__ import annotations

import json
import math
import shlex
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any, TextIO

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from simulator.output import JsonLinesSink, write_kpis, write_mismatches, write_run
from simulator.report import connector_fault_lines, kpi_table, mismatch_lines
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
    # Connector factories are named as importable modules; as with uvicorn's --app-dir, the working directory
    # is where they are looked for first (a console script does not put it on the path by itself).
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))


def _open_trace(out_dir: Path) -> TextIO:
    """``out_dir`` made and its ``events.jsonl`` opened for the run's trace; or a one-line error and exit 2."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"cannot create output directory {out_dir}: {exc.strerror}")
        sys.exit(2)
    try:
        return (out_dir / "events.jsonl").open("w")
    except OSError as exc:
        fail(f"cannot write {out_dir / 'events.jsonl'}: {exc.strerror}")
        sys.exit(2)


def _write_results(out_dir: Path, result: Any, wall_seconds: float, command: str) -> dict[str, Any]:
    """A run's kpis.json, run.json (returned) and mismatches.jsonl, as c2c simulate writes them; or a one-line
    error and exit 2."""
    try:
        write_kpis(out_dir / "kpis.json", result.kpis)
        run = write_run(out_dir / "run.json", wall_seconds=wall_seconds, api_calls=result.total_api_calls,
                        trace_counts=result.trace_counts, fault_counts=result.fault_counts, command=[command],
                        connector_errors=[fault.to_json() for fault in result.connector_faults])
        write_mismatches(out_dir / "mismatches.jsonl", result.reconciliation.mismatches, result.systems)
    except OSError as exc:
        fail(f"cannot write results to {out_dir}: {exc.strerror}")
        sys.exit(2)
    return run


def _load_error(exc: ConnectorLoadError) -> str:
    """The one-line message of a connector that cannot be built, with where its factory raised."""
    from simulator.host import connector_traceback

    if exc.__cause__ is None:
        return f"connector: {exc}"
    where, _ = connector_traceback(exc.__cause__)
    return f"connector: {exc} (at {where})"


def _stop_on_sigterm() -> None:
    """SIGTERM (a CI runner's timeout, ``docker stop``, ``kill``) stops a served run as Ctrl-C does: the server,
    the connector's process and locust are stopped on the way out, none left running."""
    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt
    previous = signal.signal(signal.SIGTERM, interrupt)
    # Only for the command: a caller that invokes the CLI in its own process (a test, a notebook) gets its own
    # handler back when the command ends, rather than keeping one that turns SIGTERM into Ctrl-C.
    click.get_current_context().call_on_close(lambda: signal.signal(signal.SIGTERM, previous))


def _directory(ctx: click.Context, param: click.Parameter, value: str | None) -> Path | None:
    """A directory: an empty name (``--out ''``, an unset variable) is refused, not read as ``.``."""
    if value is None:
        return None
    if not value:
        raise click.BadParameter("must name a directory; got an empty string")
    return Path(value)


def _file(ctx: click.Context, param: click.Parameter, value: str | None) -> Path | None:
    """A file to read or write: an empty name (an unset variable) is refused, not read as the working directory."""
    if value is None:
        return None
    if not value:
        raise click.BadParameter("must name a file; got an empty string")
    return Path(value)


def _finite(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """A number that is one: click's FloatRange lets nan through (it compares false with any bound), and
    infinity where there is no upper bound."""
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a finite number")
    return value


def _command(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A command line to start a process with: a blank one (an unset variable) is refused, not run."""
    if value is not None and not value.strip():
        raise click.BadParameter("must be a command line; got an empty string")
    return value


def _address(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """HOST:PORT: a blank one (an unset variable) is refused, not read as the default, which may listen on every
    interface."""
    if value is not None and not value.strip():
        raise click.BadParameter("must be HOST:PORT, e.g. 0.0.0.0:5557; got an empty string")
    return value


def _load_gates(gate_file: Path | None, junit_file: Path | None, section: str, command: str) -> Any:
    """The gates of ``--gate`` (None without it), checked before anything runs; exits 2 on a bad file."""
    from simulator.gates import GateError, load_gates

    if gate_file is None:
        if junit_file is not None:
            fail("--junit writes the gates' results; give --gate GATES.yaml too")
            sys.exit(2)
        return None
    try:
        gates = load_gates(gate_file)
    except GateError as exc:
        fail(str(exc))
        sys.exit(2)
    if not (gates.thresholds if section == "kpis" else gates.judgements):
        other = {"kpis": "compare: gates are for c2c compare", "compare": "kpis: gates are for c2c simulate"}
        fail(f"{gate_file}: no {section}: gates for {command} to judge ({other[section]})")
        sys.exit(2)
    return gates


def _gate_lines(outcomes: list[Any], source: str) -> None:
    """The gate table, as aligned lines that stay whole (a gate's text is what a CI log is grepped for)."""
    styles = {"pass": ("pass ", "green"), "fail": ("FAIL ", "bold red"), "error": ("ERROR", "bold red")}
    width = max([len("gate"), *(len(o.gate.text) for o in outcomes)])
    say((f"gates · {source}", "bold"))
    say(("  result  " + "gate".ljust(width) + "  actual", "bold"))
    for outcome in outcomes:
        word, style = styles[outcome.status]
        say("  ", (word, style), "   ", outcome.gate.text.ljust(width), "  ", outcome.actual or "n/a")


def _report_gates(outcomes: list[Any], source: str, junit: Path, suite: str, classname: str,
                  properties: dict[str, str], quiet: bool) -> int:
    """Show the gates' results, write them as JUnit XML; 2 if a gate could not be judged, 1 if one was breached."""
    from simulator.gates import errors, failures, junit_cases
    from simulator.junit import write_junit

    if not quiet:
        _gate_lines(outcomes, source)
    failed, broken = failures(outcomes), errors(outcomes)
    for outcome in failed:
        say("  ", ("•", "red"), " ", ("FAIL", "bold red"), f" {outcome.gate.where}: {outcome.message}")
    for outcome in broken:
        say("  ", ("•", "red"), " ", ("ERROR", "bold red"), f" {outcome.message}")
    passed = len(outcomes) - len(failed) - len(broken)
    verdict = (f"gates: {passed} passed, {len(failed)} failed" + (f", {len(broken)} in error" if broken else ""),
               "bold red" if failed or broken else "bold green")
    try:
        write_junit(junit, suite, junit_cases(outcomes, classname), {**properties, "gates": source})
    except OSError as exc:
        fail(f"cannot write {junit}: {exc.strerror}")
        return 2
    say(verdict, f"; wrote {junit}")
    if broken:
        fail(f"{len(broken)} gate(s) name what the KPIs do not have; fix {source}")
        return 2
    return 1 if failed else 0


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False), callback=_file)
@click.option("--seed", type=click.IntRange(min=0), default=1, show_default=True, help="Seed of every random stream.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), callback=_directory, default=None,
              help="Output directory [default: out/SCENARIO-seedN].")
@click.option("--connector", default=None, metavar="MODULE:FUNCTION",
              help="Integrate with this connector factory instead of the scenario's own.")
@click.option("--quiet", is_flag=True, help="No progress bar or table; just the output paths.")
@click.option("--gate", "gate_file", type=click.Path(dir_okay=False), callback=_file, default=None,
              metavar="GATES.yaml", help="Judge the run's KPIs by the kpis: gates of this file (docs/gates.md); "
                                         "exit 1 if any is breached.")
@click.option("--junit", "junit_file", type=click.Path(dir_okay=False), callback=_file, default=None,
              help="Where to write the gates as JUnit XML [default: OUT/gates.xml].")
def simulate(scenario: Path, seed: int, out_dir: Path | None, connector: str | None, quiet: bool,
             gate_file: Path | None, junit_file: Path | None) -> None:
    """Run SCENARIO and write kpis.json, events.jsonl, run.json and mismatches.jsonl.

    With --gate, the run's KPIs are then judged by the file's kpis: gates (written as JUnit XML too): exit 1 if
    any is breached or the ERP does not reconcile, 2 if a gate names a KPI the run does not have.
    """
    from simulator.run import simulate as run_simulation
    from simulator.runtime import load_factory

    try:
        parsed = load_scenario(scenario)
    except ScenarioError as exc:
        fail(str(exc))
        sys.exit(2)
    gates = _load_gates(gate_file, junit_file, "kpis", "c2c simulate")
    try:
        factory = load_factory(connector) if connector is not None else None
    except ConnectorLoadError as exc:  # before anything is written: a bad option leaves no empty output behind
        fail(f"connector: {exc}")
        sys.exit(2)
    out_dir = out_dir or Path("out") / f"{parsed.name}-seed{seed}"
    events = _open_trace(out_dir)
    reproduce = f"c2c simulate {shlex.quote(str(scenario))} --seed {seed} --out {shlex.quote(str(out_dir))}"
    if connector is not None:
        reproduce += f" --connector {shlex.quote(connector)}"
    if gate_file is not None:
        reproduce += f" --gate {shlex.quote(str(gate_file))}"
    started = time.perf_counter()
    try:
        with events, Progress(
            TextColumn("[bold]simulating[/] {task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(), console=console, disable=quiet, transient=True,
        ) as progress:
            task = progress.add_task(f"{escape(parsed.name)} (seed {seed})", total=1.0)
            result = run_simulation(parsed, seed, sink=JsonLinesSink(events), factory=factory,
                                    progress=lambda done: progress.update(task, completed=done))
    except ConnectorLoadError as exc:  # the factory failed at the start: the connector's, as a bad option is
        fail(f"{_load_error(exc)}\nreproduce with: {reproduce}")
        sys.exit(2)
    except Exception as error:
        crash = out_dir / "crash.txt"
        try:
            crash.write_text(traceback.format_exc())
            details = f"details in {crash}"
        except OSError as exc:
            details = f"{type(error).__name__}: {error} (cannot write {crash}: {exc.strerror})"
        fail(f"while simulating seed {seed}; {details}\nreproduce with: {reproduce}", label="internal error")
        sys.exit(3)
    run = _write_results(out_dir, result, time.perf_counter() - started, reproduce)
    if not quiet:
        console.print(kpi_table(result.kpis))
        for line in mismatch_lines(result.kpis, full_list=str(out_dir / "mismatches.jsonl")):
            say("  ", ("•", "red"), " ", line)
        say(f"wall {run['wall_seconds']} s · peak RSS {run['peak_rss_mib']} MiB · "
            f"{run['connector_calls_per_wall_second']:,} connector calls/s")
    say(f"wrote {out_dir}/kpis.json, events.jsonl, run.json, mismatches.jsonl")
    if result.connector_faults:  # the connector's own bugs, each kind once, the first traceback of it in full
        total = sum(fault.count for fault in result.connector_faults)
        say((f"the connector raised or answered without a status {total:,} times", "bold red"),
            " (the run went on; the first of each kind, also in run.json):")
        for line in (connector_fault_lines(result.connector_faults) if not quiet
                     else [fault.headline() for fault in result.connector_faults]):
            say("  ", line)
        if result.reconciliation.ok:
            say(f"reproduce with: {reproduce}")
    gated = 0
    if gates is not None:  # every output is written by now: a breached gate still leaves the whole run to read
        from simulator.gates import evaluate

        gated = _report_gates(evaluate(gates, result.kpis), gates.source, junit_file or out_dir / "gates.xml",
                              f"c2c simulate {parsed.name} seed {seed}", f"c2c.simulate.{parsed.name}",
                              {"scenario": parsed.name, "seed": str(seed), "command": reproduce}, quiet)
    if not result.reconciliation.ok:
        say((f"{len(result.reconciliation.mismatches)} reconciliation mismatches", "bold red"),
            f"; reproduce with: {reproduce}")
    if gated == 2:
        sys.exit(2)  # a gate the KPIs cannot answer is the gates file's fault, not the run's
    if gated == 1 or not result.reconciliation.ok:
        sys.exit(1)  # every file is written; a pipeline gating on the run sees the failure


# -- c2c serve -----------------------------------------------------------------------------------


def _http_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An http(s) URL with a host, such as http://127.0.0.1:9000."""
    if value is None:
        return None
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
        port = parts.port  # a port that is no number, or beyond 65535, raises (as an unclosed [IPv6] address does)
    except ValueError:
        parts, port = None, None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or port == 0:
        raise click.BadParameter(f"{value!r} is not an http(s) URL with a host, e.g. http://127.0.0.1:9000")
    return value


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False), callback=_file)
@click.option("--seed", type=click.IntRange(min=0), default=1, show_default=True, help="Seed of every random stream.")
@click.option("--speed", type=click.FloatRange(min=1, max=1e9), callback=_finite, default=86400.0, show_default=True,
              help="Simulated seconds per wall second (86400: a simulated day per second).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to serve the systems on.")
@click.option("--port", type=click.IntRange(min=0, max=65535), default=8700, show_default=True,
              help="Port to serve the systems on (0: any free port).")
@click.option("--connector-url", default=None, metavar="URL", callback=_http_url,
              help="Send every webhook to the connector at URL (POST URL/webhooks/SYSTEM) instead of running the "
                   "scenario's connector in this process.")
@click.option("--connector-cmd", default=None, metavar="COMMAND", callback=_command,
              help="Start the connector as a process with this command line (the black-box contract: C2C_* "
                   "variables, POST /webhooks/SYSTEM, GET /healthz); crashes are real SIGKILLs and restarts.")
@click.option("--work-dir", type=click.Path(file_okay=False), callback=_directory, default=None,
              help="With --connector-cmd: where its state directory and its stdout and stderr logs go "
                   "[default: a new temporary directory].")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), callback=_directory, default=None,
              help="Also write the run's kpis.json, events.jsonl, run.json and mismatches.jsonl here, as c2c "
                   "simulate does [default: write nothing].")
def serve(scenario: Path, seed: int, speed: float, host: str, port: int, connector_url: str | None,
          connector_cmd: str | None, work_dir: Path | None, out_dir: Path | None) -> None:
    """Run SCENARIO in real time, scaled by --speed, with the CRM, CLM, PSA and ERP on real HTTP.

    Prints each system's URL and the credentials once the server answers; GET /healthz answers 200 from then on.
    With --connector-url, webhooks are real signed POSTs (Standard Webhooks, wall-clock timestamps) to that
    connector, retried on the sender's schedule. With --connector-cmd, c2c starts the connector itself (the
    black-box contract) and kills and restarts it for real at every crash the scenario schedules.
    Business dates follow the simulated calendar; token lifetime, Idempotency-Key retention and Retry-After are
    wall seconds. When the run ends it reconciles the ERP and stops (exit 1 on mismatches). With --out, the run's
    trace, KPIs and mismatches are written as c2c simulate writes them (the trace in wall-clock order of what
    happened, so not the same bytes from run to run).
    """
    from mocks.server import ServerError
    from simulator.served import serve as run_served
    from simulator.trace import null_sink

    _stop_on_sigterm()
    if connector_url is not None and connector_cmd is not None:
        fail("--connector-url and --connector-cmd both name the connector; give one")
        sys.exit(2)
    if work_dir is not None and connector_cmd is None:
        fail("--work-dir holds a --connector-cmd connector's state and logs; give --connector-cmd too")
        sys.exit(2)
    if connector_cmd is not None and work_dir is None:
        import tempfile

        work_dir = Path(tempfile.mkdtemp(prefix="c2c-connector-"))
    try:
        parsed = load_scenario(scenario)
    except ScenarioError as exc:
        fail(str(exc))
        sys.exit(2)
    wall = (parsed.end - parsed.start).days * 86400 / speed
    events = _open_trace(out_dir) if out_dir is not None else None

    def announce(server: Any, systems: Any) -> None:
        say(f"serving {parsed.name} (seed {seed}) at {speed:g} simulated s per wall s: about {wall:,.0f} wall s "
            f"to {parsed.end.isoformat()} and the settling days after")
        for name, url in server.urls.items():
            say(f"  {name:<8} {url}")
        say(f"  {'health':<8} {server.base_url}/healthz")
        say(f"  client_id {systems.credentials.client_id} · client_secret {systems.credentials.client_secret} · "
            f"webhook secret {systems.webhook_secret}")
        if connector_cmd is not None:
            say(f"  connector {connector_cmd!r}: state in {work_dir / 'state'}, output in {work_dir}/connector.*.log")
        console.file.flush()

    started = time.perf_counter()
    try:
        result = run_served(parsed, seed, speed, announce, host=host, port=port, connector_url=connector_url,
                            connector_cmd=connector_cmd, work_dir=work_dir,
                            sink=JsonLinesSink(events) if events is not None else null_sink)
    except ConnectorLoadError as exc:  # the connector's process never became healthy: the vendor's to fix
        fail(f"connector: {exc}")
        sys.exit(2)
    except ServerError as exc:  # the only failure that is the command line's: the address cannot be served
        fail(f"cannot serve on {host}:{port}: {exc}")
        sys.exit(2)
    except KeyboardInterrupt:
        fail("interrupted; the server and any --connector-cmd connector are stopped", label="stopped:")
        sys.exit(130)
    except Exception as error:  # a bug of the harness: one line here, the traceback in a file (as simulate does)
        import tempfile

        with tempfile.NamedTemporaryFile("w", prefix="c2c-serve-crash-", suffix=".txt", delete=False) as crash:
            crash.write(traceback.format_exc())
        fail(f"while serving seed {seed}: {type(error).__name__}: {error}; details in {crash.name}",
             label="internal error")
        sys.exit(3)
    finally:
        if events is not None:
            events.close()
    recon = result.reconciliation
    say(f"reconciliation {len(recon.mismatches)} mismatches of {recon.items_checked:,} items checked")
    if out_dir is not None:
        _write_results(out_dir, result, time.perf_counter() - started, shlex.join(["c2c", *sys.argv[1:]]))
        say(f"wrote {out_dir}/kpis.json, events.jsonl, run.json, mismatches.jsonl")
    if not recon.ok:
        full = {"full_list": str(out_dir / "mismatches.jsonl")} if out_dir is not None else {}
        for line in mismatch_lines(result.kpis, **full):
            say("  ", ("•", "red"), " ", line)
        sys.exit(1)


# -- c2c openapi ---------------------------------------------------------------------------------


@main.command()
@click.argument("directory", type=click.Path(file_okay=False), callback=_directory, default="docs/openapi")
def openapi(directory: Path) -> None:
    """Write each system's OpenAPI 3.1 document, as it serves it at /openapi.json, to DIRECTORY/{system}.json."""
    from mocks.openapi_export import write_documents

    try:
        written = write_documents(directory)
    except OSError as exc:
        fail(f"cannot write to {directory}: {exc.strerror or exc}")
        sys.exit(2)
    for path in written:
        say(str(path))


# -- c2c compare ---------------------------------------------------------------------------------


def _compare_run(task: tuple[int, Any, int]) -> tuple[int, int, dict[str, Any] | None, str | None]:
    """One run of a comparison, in a worker process: (scenario index, seed, its KPIs or None, a traceback or None).

    A connector whose factory raises is the connector's error, not the harness's: its "traceback" is then the one
    line of :func:`_load_error`, marked by its ``connector:`` prefix.
    """
    from simulator.run import simulate as run_simulation

    index, scenario, seed = task
    try:
        return index, seed, run_simulation(scenario, seed).kpis, None
    except ConnectorLoadError as exc:
        return index, seed, None, _load_error(exc)
    except Exception:
        return index, seed, None, traceback.format_exc()


def _json_file(ctx: click.Context, param: click.Parameter, value: str) -> Path:
    if not value:
        raise click.BadParameter("must name a file; got an empty string")
    return Path(value)


def _compare_table(result: dict[str, Any], seeds: list[int]) -> Any:
    from rich.table import Table

    from simulator.compare import BETTER, WORSE, format_delta, format_summary

    a, b = result["a"]["scenario"], result["b"]["scenario"]
    span = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}–{seeds[-1]}"
    table = Table(title=escape(f"c2c compare · A {a} vs B {b} · {span}"), header_style="bold",
                  caption="mean ± 95% Student-t interval across seeds (none with one seed); Δ ± paired interval")
    table.add_column("KPI")
    table.add_column(escape(f"A {a}"), justify="right")
    table.add_column(escape(f"B {b}"), justify="right")
    table.add_column("Δ B − A", justify="right")
    table.add_column("B vs A")
    for row in result["metrics"]:
        label = row["label"] + (f" ({row['currency']})" if row["currency"] else "")
        delta = format_delta(row["delta"], row["unit"], row["currency"])
        verdict = row["delta"]["verdict"]
        style = {BETTER: "green", WORSE: "red"}.get(verdict, "")
        table.add_row(escape(label), format_summary(row["a"], row["unit"], row["currency"]),
                      format_summary(row["b"], row["unit"], row["currency"]), Text(delta, style=style),
                      Text(VERDICT_MARKS.get(verdict, "n/a"), style=style))
    return table


VERDICT_MARKS = {"better": "better *", "worse": "worse *", "differs": "differs *", "not significant": "n.s."}
SIGNIFICANCE_LEGEND = ("B vs A: * significant, the paired 95% interval of B − A excludes 0 (a difference seed-to-seed "
                       "noise does not explain); n.s. not significant, the interval includes 0 (no difference shown "
                       "at these seeds, which is not proof of none: more seeds narrow it); n/a fewer than 2 seeds")


@main.command()
@click.argument("scenario_a", type=click.Path(dir_okay=False), callback=_file)
@click.argument("scenario_b", type=click.Path(dir_okay=False), callback=_file)
@click.option("--seeds", "n_seeds", type=click.IntRange(min=1, max=50_000), default=5, show_default=True,
              help="How many seeds to run each scenario with.")  # 100,000 runs at most, as a sweep
@click.option("--first-seed", type=click.IntRange(min=0), default=1, show_default=True, help="The first seed.")
@click.option("--out", "out_file", type=click.Path(dir_okay=False), callback=_json_file, default="compare.json",
              show_default=True, help="Where to write the comparison as JSON.")
@click.option("--jobs", type=click.IntRange(min=1), default=2, show_default=True,
              help="Worker processes; the results do not depend on it.")
@click.option("--quiet", is_flag=True, help="No progress bar or table; just the output path.")
@click.option("--gate", "gate_file", type=click.Path(dir_okay=False), callback=_file, default=None,
              metavar="GATES.yaml", help="Judge B against A by the compare: gates of this file (docs/gates.md); "
                                         "exit 1 if any is breached.")
@click.option("--junit", "junit_file", type=click.Path(dir_okay=False), callback=_file, default=None,
              help="Where to write the gates as JUnit XML [default: gates.xml next to --out].")
def compare(scenario_a: Path, scenario_b: Path, n_seeds: int, first_seed: int, out_file: Path, jobs: int,
            quiet: bool, gate_file: Path | None, junit_file: Path | None) -> None:
    """Run SCENARIO_A and SCENARIO_B on the same seeds and compare their KPIs: mean, 95% interval and delta B − A.

    A delta is significant when its paired 95% interval excludes 0 (marked * in the B vs A column, and
    delta.verdict in the JSON). With --gate, B is judged against A by the file's compare: gates (written as JUnit
    XML too): exit 1 if any is breached.
    """
    import json

    import simulator.run  # noqa: F401  (imported once here, so forked workers start warm)
    from simulator.compare import compare as compare_runs
    from simulator.runtime import load_factory
    from simulator.sweep_workers import worker_pool

    gates = _load_gates(gate_file, junit_file, "compare", "c2c compare")
    if gates is not None and n_seeds < 2:
        fail(f"--gate judges B by the paired 95% interval of B − A, which needs 2 seeds or more; got --seeds {n_seeds}")
        sys.exit(2)

    parsed = []
    for path in (scenario_a, scenario_b):
        try:
            scenario = load_scenario(path)
            load_factory(scenario.connector)
        except ScenarioError as exc:
            fail(str(exc))
            sys.exit(2)
        except ConnectorLoadError as exc:
            fail(f"{path}: connector: {exc}")
            sys.exit(2)
        parsed.append(scenario)
    seeds = list(range(first_seed, first_seed + n_seeds))
    tasks = [(index, scenario, seed) for index, scenario in enumerate(parsed) for seed in seeds]
    workers = min(jobs, len(tasks))
    runs: dict[tuple[int, int], dict[str, Any]] = {}
    started = time.perf_counter()
    pool = worker_pool(workers) if workers > 1 else None  # before any progress thread
    try:
        with Progress(TextColumn("[bold]comparing[/] {task.description}"), BarColumn(),
                      TextColumn("{task.completed}/{task.total} runs"), TimeElapsedColumn(), console=console,
                      disable=quiet, transient=True) as progress:
            bar = progress.add_task(escape(f"{parsed[0].name} vs {parsed[1].name}"), total=len(tasks))
            outcomes = pool.imap_unordered(_compare_run, tasks) if pool else map(_compare_run, tasks)
            for index, seed, kpis, crash in outcomes:
                if crash is not None and crash.startswith("connector: "):
                    path = (scenario_a, scenario_b)[index]
                    fail(f"{path} seed {seed}: {crash}\nreproduce with: c2c simulate {shlex.quote(str(path))} "
                         f"--seed {seed}")
                    sys.exit(2)
                if crash is not None:
                    path = (scenario_a, scenario_b)[index]
                    report = out_file.with_name(out_file.name + ".crash.txt")
                    try:
                        report.parent.mkdir(parents=True, exist_ok=True)
                        report.write_text(crash)
                        details = f"details in {report}"
                    except OSError as exc:
                        details = f"{crash.strip().splitlines()[-1]} (cannot write {report}: {exc.strerror})"
                    fail(f"while simulating {path} seed {seed}; {details}\nreproduce with: c2c simulate "
                         f"{shlex.quote(str(path))} --seed {seed}", label="internal error")
                    sys.exit(3)
                runs[(index, seed)] = kpis
                progress.advance(bar)
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    wall = time.perf_counter() - started
    result = compare_runs([runs[(0, seed)] for seed in seeds], [runs[(1, seed)] for seed in seeds])
    try:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(json.dumps(result, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {out_file}: {exc.strerror}")
        sys.exit(2)
    if not quiet:
        console.print(_compare_table(result, seeds))
        say(SIGNIFICANCE_LEGEND)
        say(f"wall {wall:.1f} s for {len(tasks)} runs on {workers} worker{'s' if workers > 1 else ''}")
    say(f"wrote {out_file}")
    if gates is not None:
        from simulator.gates import evaluate_compare

        a, b = parsed[0].name, parsed[1].name
        command = (f"c2c compare {shlex.quote(str(scenario_a))} {shlex.quote(str(scenario_b))} --seeds {n_seeds} "
                   f"--first-seed {first_seed} --gate {shlex.quote(str(gate_file))}")
        gated = _report_gates(evaluate_compare(gates, result), gates.source, junit_file or out_file.parent / "gates.xml",
                              f"c2c compare {a} vs {b} seeds {seeds[0]}-{seeds[-1]}", f"c2c.compare.{a}.{b}",
                              {"a": a, "b": b, "seeds": f"{seeds[0]}-{seeds[-1]}", "command": command}, quiet)
        if gated:
            sys.exit(gated)


# -- c2c sweep -----------------------------------------------------------------------------------


def _dask_address(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A Dask scheduler address such as tcp://127.0.0.1:8786."""
    if value is None:
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in ("tcp", "tls") or not parts.hostname or port is None:
        raise click.BadParameter(f"{value!r} is not a scheduler address such as tcp://127.0.0.1:8786")
    return value


def _sweep_table(summary: dict[str, Any], shown: tuple[str, ...]) -> Any:
    """The per-point table: the swept values, then mean ± 95% interval of the KPIs the sweep file's table names."""
    import json

    from rich.table import Table

    from simulator.compare import format_summary

    seeds = summary["seeds"]
    span = f"seed {seeds[0]}" if len(seeds) == 1 else f"{len(seeds)} seeds"
    columns = [kpi for kpi in summary["kpis"] if kpi["metric"] in shown]
    columns.sort(key=lambda kpi: shown.index(kpi["metric"]))
    table = Table(title=escape(f"c2c sweep · {summary['sweep']} · {len(summary['points'])} points × {span}"),
                  header_style="bold", caption="mean ± 95% Student-t interval across seeds (none with one seed)")
    table.add_column("point")
    for parameter in summary["parameters"]:
        # a path wraps at its dots first; a name too long for the column folds rather than losing its end
        table.add_column(escape(parameter["path"].replace(".", ".\n")), justify="right", overflow="fold")
    for kpi in columns:
        table.add_column(escape(kpi["label"] + (f" ({kpi['currency']})" if kpi["currency"] else "")), justify="right")
    for point in summary["points"]:
        values = [json.dumps(point["parameters"][parameter["path"]]) for parameter in summary["parameters"]]
        cells = [format_summary(point["kpis"][kpi["id"]], kpi["unit"], kpi["currency"]) for kpi in columns]
        table.add_row(point["id"], *(escape(value) for value in values), *cells)
    return table


def _report_sweep_gates(gates: Any, loaded: Any, runs: dict[tuple[str, int], dict[str, Any]], store: Any,
                        junit: Path, quiet: bool) -> int:
    """Judge every run by the gates, show a line per gate and each breach, write JUnit; 2 if a gate could not be
    judged, 1 if a run breached one, else 0."""
    from simulator.junit import write_junit
    from simulator.sweep_gates import gate_runs, junit_cases, tally

    judged = gate_runs(gates, loaded, runs)
    tallies = tally(judged)
    if not quiet:  # aligned lines that stay whole, as c2c simulate's gates are
        width = max([len("gate"), *(len(gate.outcome.gate.text) for gate in tallies)])
        say((f"gates · {gates.source} · every run of {len(loaded.points)} points × {len(loaded.seeds)} seeds", "bold"))
        say(("  result  " + "gate".ljust(width) + "  runs passed  first breach", "bold"))
        for gate in tallies:
            word, style = (("pass ", "green") if gate.passed == len(judged) else
                           ("ERROR", "bold red") if gate.errors else ("FAIL ", "bold red"))
            first = "" if gate.first_breach is None else (
                f"{gate.first_breach[0].point.id} seed {gate.first_breach[0].seed}: "
                f"{gate.first_breach[1].actual or 'n/a'}")
            say("  ", (word, style), "   ", gate.outcome.gate.text.ljust(width), "  ",
                f"{gate.passed}/{len(judged)}".rjust(11), "  ", first)
    breached = [(run, outcome) for run in judged for outcome in run.outcomes if outcome.status == "fail"]
    broken = list({outcome.gate: outcome for run in reversed(judged) for outcome in run.outcomes
                   if outcome.status == "error"}.values())[::-1]  # each gate in error once, at its first run
    for run, outcome in breached[:10]:
        scenario = store.scenario_path(run.point)
        say("  ", ("•", "red"), " ", ("FAIL", "bold red"), f" {outcome.gate.where}: point {run.point.id} seed "
            f"{run.seed}: {outcome.message}; reproduce with: c2c simulate {shlex.quote(str(scenario))} --seed {run.seed}")
    if len(breached) > 10:
        say(f"  … and {len(breached) - 10} more (full list: {junit})")
    for outcome in broken:
        say("  ", ("•", "red"), " ", ("ERROR", "bold red"), f" {outcome.message}")
    clean = sum(all(outcome.passed for outcome in run.outcomes) for run in judged)
    verdict = f"gates: {clean} of {len(judged)} runs met every gate"
    if breached:
        verdict += f"; {len(breached)} breach{'es' if len(breached) != 1 else ''}"
    if broken:
        verdict += f", {len(broken)} gate{'s' if len(broken) != 1 else ''} in error"
    try:
        write_junit(junit, f"c2c sweep {loaded.name}", junit_cases(loaded, judged),
                    {"sweep": str(loaded.source), "seeds": " ".join(map(str, loaded.seeds)), "gates": gates.source})
    except OSError as exc:
        fail(f"cannot write {junit}: {exc.strerror}")
        return 2
    say((verdict, "bold red" if breached or broken else "bold green"), f"; wrote {junit}")
    if broken:
        fail(f"{len(broken)} gate(s) name what the KPIs do not have; fix {gates.source}")
        return 2
    return 1 if breached else 0


@main.command()
@click.argument("sweep_file", metavar="SWEEP.yaml", type=click.Path(dir_okay=False), callback=_file)
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Local worker processes [default: the number of CPUs]; the results do not depend on it.")
@click.option("--dask", "dask_address", default=None, metavar="tcp://HOST:PORT", callback=_dask_address,
              help="Run on the Dask distributed cluster whose scheduler is at this address instead of locally "
                   "(its workers need c2c installed: pip install 'c2c[dask]').")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), callback=_directory, default=None,
              help="Output directory [default: out/NAME-sweep]; finished runs in it are reused.")
@click.option("--quiet", is_flag=True, help="No progress bar or table; just the output paths.")
@click.option("--gate", "gate_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="GATES.yaml", help="Judge every run of the sweep by the kpis: gates of this file (docs/gates.md); "
                                         "exit 1 if any run breaches one.")
@click.option("--junit", "junit_file", type=click.Path(dir_okay=False), callback=_file, default=None,
              help="Where to write the gates as JUnit XML [default: OUT/gates.xml].")
def sweep(sweep_file: Path, jobs: int | None, dask_address: str | None, out_dir: Path | None, quiet: bool,
          gate_file: Path | None, junit_file: Path | None) -> None:
    """Run every grid point of SWEEP.yaml on every seed; write runs.csv, points.csv and sweep.json.

    Each finished run is kept in DIR/runs/ under its scenario's hash and seed, so running the sweep again (after
    an interruption, or with more points or seeds) runs only what is not finished yet. With --gate, every run
    (each point on each seed) must meet the gates file's kpis: thresholds, as one c2c simulate --gate run must.
    """
    import os

    from simulator.runtime import load_factory
    from simulator.sweep import point_rows, run_key, run_rows, sweep_summary
    from simulator.sweep_file import SweepError, load_sweep
    from simulator.sweep_store import RunStore, write_results
    from simulator.sweep_workers import ExecutorError, RunTask, run_locally, run_on_dask

    if jobs is not None and dask_address is not None:
        fail("--jobs and --dask both say where to run; give one")
        sys.exit(2)
    gates = _load_gates(gate_file, junit_file, "kpis", "c2c sweep")
    try:
        loaded = load_sweep(sweep_file)
    except SweepError as exc:
        fail(str(exc))
        sys.exit(2)
    for connector in sorted({point.scenario.connector for point in loaded.points}):
        try:
            load_factory(connector)
        except ConnectorLoadError as exc:
            first = next(point for point in loaded.points if point.scenario.connector == connector)
            fail(f"{sweep_file}: point {first.id} ({first.describe()}): connector: {exc}")
            sys.exit(2)
    out_dir = out_dir or Path("out") / f"{loaded.name}-sweep"
    store = RunStore(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for point in loaded.points:
            store.save_scenario(point)
    except OSError as exc:
        fail(f"cannot write to output directory {out_dir}: {exc.strerror}")
        sys.exit(2)

    runs: dict[str, dict[str, Any]] = {}  # by run key: points that describe the same scenario share their runs
    tasks: dict[str, RunTask] = {}
    for point in loaded.points:
        for seed in loaded.seeds:
            key = run_key(point, seed)
            if key in runs or key in tasks:
                continue
            kpis = store.finished(key, seed)
            if kpis is not None:
                runs[key] = kpis
            else:
                tasks[key] = RunTask(key, point.id, seed, point.scenario)
    reused = len(runs)
    workers = 1 if dask_address else min(jobs or os.cpu_count() or 1, max(len(tasks), 1))
    where = f"the Dask cluster at {dask_address}" if dask_address else f"{workers} worker{'s' if workers > 1 else ''}"
    crashes: list[tuple[RunTask | Any, Path | None]] = []
    started = time.perf_counter()
    queue = list(tasks.values())
    try:  # connect to a cluster before any progress bar, so that failing to is one line of its own
        outcomes = run_on_dask(queue, dask_address) if dask_address and queue else run_locally(queue, workers)
    except ExecutorError as exc:
        fail(str(exc))
        sys.exit(2)
    try:
        with Progress(TextColumn("[bold]sweeping[/] {task.description}"), BarColumn(),
                      TextColumn("{task.completed}/{task.total} runs"), TimeElapsedColumn(), console=console,
                      disable=quiet, transient=True) as progress:
            bar = progress.add_task(escape(f"{loaded.name} ({len(loaded.points)} points × {len(loaded.seeds)} seeds)"),
                                    total=reused + len(tasks), completed=reused)
            for outcome in outcomes:
                if outcome.connector_error:
                    scenario = store.scenario_path(next(p for p in loaded.points if p.id == outcome.point))
                    fail(f"{sweep_file}: point {outcome.point} seed {outcome.seed}: {outcome.error}\n"
                         f"reproduce with: c2c simulate {shlex.quote(str(scenario))} --seed {outcome.seed}")
                    sys.exit(2)
                if outcome.kpis is None:
                    try:
                        crashes.append((outcome, store.save_crash(outcome.key, outcome.error or "")))
                    except OSError:
                        crashes.append((outcome, None))
                else:
                    runs[outcome.key] = outcome.kpis
                    try:
                        store.save(outcome.key, outcome.kpis)
                    except OSError as exc:
                        fail(f"cannot write {store.run_dir(outcome.key)}/kpis.json: {exc.strerror}")
                        sys.exit(2)
                progress.advance(bar)
    finally:
        outcomes.close()  # stops the pool or lets go of the cluster, also when leaving early
    wall = time.perf_counter() - started
    if crashes:
        outcome, report = crashes[0]
        scenario = store.scenario_path(next(p for p in loaded.points if p.id == outcome.point))
        details = f"details in {report}" if report else (outcome.error or "").strip().splitlines()[-1]
        fail(f"{len(crashes)} of {len(tasks)} runs failed in the harness; the first, point {outcome.point} seed "
             f"{outcome.seed}: {details}\nreproduce with: c2c simulate {shlex.quote(str(scenario))} --seed "
             f"{outcome.seed}\nthe {len(runs)} finished runs are kept in {out_dir}/runs; running the sweep again runs "
             f"only the others", label="internal error")
        sys.exit(3)
    by_point = {(point.id, seed): runs[run_key(point, seed)] for point in loaded.points for seed in loaded.seeds}
    summary = sweep_summary(loaded, by_point)
    try:
        written = write_results(out_dir, run_rows(loaded, by_point), point_rows(summary), summary)
    except OSError as exc:
        fail(f"cannot write results to {out_dir}: {exc.strerror}")
        sys.exit(2)
    if not quiet:
        console.print(_sweep_table(summary, loaded.table))
        say(f"wall {wall:.1f} s for {len(tasks)} runs on {where}; {reused} finished runs reused")
    say(f"wrote {', '.join(str(path) for path in written)}")
    if gates is not None:
        gated = _report_sweep_gates(gates, loaded, by_point, store, junit_file or out_dir / "gates.xml", quiet)
        if gated:
            sys.exit(gated)


# -- c2c report ----------------------------------------------------------------------------------


def _report_file(ctx: click.Context, param: click.Parameter, value: str | None) -> Path | None:
    if value is not None and not value:
        raise click.BadParameter("must name a file; got an empty string")
    return None if value is None else Path(value)


def _report_source(ctx: click.Context, param: click.Parameter, value: str) -> Path:
    if not value:
        raise click.BadParameter("must name a c2c output directory or file; got an empty string")
    return Path(value)


def _contract_id(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise click.BadParameter("must name a contract, e.g. ctr_000003; got an empty string")
    return value


@main.command()
@click.argument("source", type=click.Path(), callback=_report_source)
@click.option("--out", "out_file", type=click.Path(dir_okay=False), callback=_report_file, default=None,
              help="Where to write the page [default: SOURCE/report.html; X.html beside a compare file X.json].")
@click.option("--contract", default=None, metavar="ID", callback=_contract_id,
              help="The contract whose timeline a run's report shows [default: the one with the most money at stake "
                   "in mismatches, else the one with the most events].")
def report(source: Path, out_file: Path | None, contract: str | None) -> None:
    """Write one self-contained HTML report of SOURCE: a c2c simulate --out directory, a c2c compare output
    (compare.json) or a c2c sweep directory. Charts are inline SVG; the page loads nothing, and the same files
    give a byte-identical page."""
    from simulator.report_html import ReportInputError, build_report, default_output, locate

    try:
        found = locate(source)
        page = build_report(found, contract)
    except ReportInputError as exc:
        fail(str(exc))
        sys.exit(2)
    out_file = out_file or default_output(found)
    try:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(page, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {out_file}: {exc.strerror}")
        sys.exit(2)
    say(f"wrote {out_file}")


# -- c2c load ------------------------------------------------------------------------------------


def _duration(ctx: click.Context, param: click.Parameter, value: str) -> float:
    """A duration such as 60, 60s, 2m or 1h30m, in seconds."""
    import re

    text = value.strip().lower()
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s?)?", text)
    if not text or parts is None or not any(parts.groups()):
        raise click.BadParameter(f"{value!r} is not a duration; write e.g. 60s, 2m or 1h30m")
    hours, minutes, seconds = (float(g) if g else 0.0 for g in parts.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total < 1:
        raise click.BadParameter(f"{value!r} is shorter than a second")
    if not math.isfinite(total):
        raise click.BadParameter(f"{value!r} is longer than any load can last")
    return total


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False), callback=_file)
@click.option("--users", type=click.IntRange(min=1), default=20, show_default=True,
              help="Locust users at the peak: 3 managers, a finance clerk, and consultants (each a timesheet a second).")
@click.option("--rate", "rate_per_s", type=click.FloatRange(min=0.1), callback=_finite, default=None, metavar="N",
              help="Instead of --users: timesheets submitted (and approved) per second, all consultants together; "
                   "the users it takes are started at once.")
@click.option("--spawn-rate", type=click.FloatRange(min=0.1), callback=_finite, default=10.0, show_default=True,
              help="Users started per second.")
@click.option("--duration", "duration_s", default="60s", show_default=True, callback=_duration,
              help="How long locust runs: 30s, 2m, 1h...")
@click.option("--profile", type=click.Choice(["steady", "step"]), default="steady", show_default=True,
              help="steady: every user from the start; step: --step-users more every --step-time (to find the knee).")
@click.option("--step-users", type=click.IntRange(min=1), default=None, help="With --profile step [default: a fifth "
              "of --users].")
@click.option("--step-time", "step_s", default="10s", show_default=True, callback=_duration,
              help="With --profile step: how long each step lasts.")
@click.option("--step-rate", "step_rate_per_s", type=click.FloatRange(min=0.1), callback=_finite, default=None,
              metavar="N",
              help="With --profile step and --rate: the pace climbs by N timesheets a second every step, up to --rate "
                   "[default: a tenth of --rate].")
@click.option("--connector-cmd", default=None, metavar="COMMAND", callback=_command,
              help="The connector under test, started as a process (the black-box contract) [default: the reference, "
                   "python -m reference_impl].")
@click.option("--locustfile", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="The locustfile [default: loadtests/end_to_end.py].")
@click.option("--workers", type=click.IntRange(min=0), default=0, show_default=True,
              help="Run locust distributed: a master and this many workers on loopback (0: one process).")
@click.option("--remote-workers", type=click.IntRange(min=0), default=0, show_default=True,
              help="Workers you start on other machines: the master listens on --master-bind and waits for them; "
                   "the command to start each is printed when the load begins.")
@click.option("--master-bind", default=None, metavar="HOST:PORT", callback=_address,
              help="Where locust's master listens for workers [default: 127.0.0.1 on a free port; with "
                   "--remote-workers, 0.0.0.0:5557].")
@click.option("--seed", type=click.IntRange(min=0), default=1, show_default=True, help="Seed of every random stream.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), callback=_directory, default=None,
              help="Directory for locust's CSV and HTML, load.json, the oracle's findings, the connector's logs "
                   "[default: out/load-SCENARIO-sSEED].")
@click.option("--drain", "drain_s", default="60s", show_default=True, callback=_duration,
              help="After locust ends, how long the connector may take to finish its work.")
def load(scenario: Path, users: int, rate_per_s: float | None, spawn_rate: float, duration_s: float, profile: str,
         step_users: int | None, step_s: float, step_rate_per_s: float | None, connector_cmd: str | None,
         locustfile: Path | None, workers: int, remote_workers: int, master_bind: str | None, seed: int,
         out_dir: Path | None, drain_s: float) -> None:
    """Load the integration over real HTTP with locust, then reconcile the ERP.

    Serves SCENARIO's systems, starts the connector, prepares the firm (contracts, projects, staffing) on a
    compressed calendar, then slows to real time and runs locust headless (a subprocess) while consultants log
    hours and managers approve them; the connector turns every approval into ERP charges. After a drain, the
    calendar finishes fast (the month-end billing run) and the oracle reconciles. Writes locust's CSV and HTML
    report, load.json (approval-to-charge lag p50/p95/p99 and its growth, the approvals per second) and
    mismatches.jsonl. Exit 1 when the ERP does not reconcile or locust made no request.
    """
    from simulator.load import END_TO_END, REFERENCE_COMMAND, LoadPlan, opening, run_load
    from simulator.locust_run import LoadProfile

    _stop_on_sigterm()

    try:
        parsed = load_scenario(scenario)
    except ScenarioError as exc:
        fail(str(exc))
        sys.exit(2)
    if step_rate_per_s is not None and (rate_per_s is None or profile != "step"):
        fail("--step-rate climbs a --profile step run's --rate; give both")
        sys.exit(2)
    if rate_per_s is None:
        shape = LoadProfile(users, spawn_rate, duration_s, profile, step_users, step_s)
    elif profile == "step":
        shape = LoadProfile.for_rate(rate_per_s, duration_s, step_rate_per_s=step_rate_per_s or rate_per_s / 10,
                                     step_s=step_s)
    else:
        shape = LoadProfile.for_rate(rate_per_s, duration_s)
    bind = None
    if master_bind is not None or remote_workers:
        host_part, _, port_part = (master_bind or "0.0.0.0:5557").rpartition(":")
        if not host_part or not port_part.isdigit() or not 0 < int(port_part) < 65536:
            fail(f"--master-bind {master_bind!r}: expected HOST:PORT, e.g. 0.0.0.0:5557")
            sys.exit(2)
        bind = (host_part, int(port_part))
    plan = LoadPlan(shape, locustfile=(locustfile or END_TO_END).resolve(), workers=workers, drain_s=drain_s,
                    remote_workers=remote_workers, master_bind=bind)
    try:
        opening(parsed, plan.opens_after_days)
    except ValueError as exc:
        fail(f"{scenario}: {exc}")
        sys.exit(2)
    out_dir = out_dir or Path("out") / f"load-{parsed.name}-s{seed}"
    connector = connector_cmd or REFERENCE_COMMAND
    events = _open_trace(out_dir)

    def announce(server: Any, systems: Any) -> None:
        say(f"serving {parsed.name} (seed {seed}) on {server.base_url}; connector {connector!r}; preparing the firm")
        console.file.flush()

    def workers_wanted(locust: Any) -> None:
        if remote_workers:
            say(f"locust's master waits for {remote_workers} more worker(s); on each machine, from a copy of this "
                f"repository, run (HOST: this machine's address as the workers reach it):")
            say("  " + locust.worker_command("HOST"))
            console.file.flush()

    try:
        with events:
            outcome = run_load(parsed, seed, plan, out_dir, connector_cmd=connector, sink=JsonLinesSink(events),
                               announce=announce, on_locust=workers_wanted)
    except ConnectorLoadError as exc:
        fail(f"connector: {exc}")
        sys.exit(2)
    except KeyboardInterrupt:
        fail("interrupted; the server, the connector and locust are stopped", label="stopped:")
        sys.exit(130)
    report = outcome.to_json(parsed, seed, plan, connector)
    try:
        (out_dir / "load.json").write_text(json.dumps(report, indent=2) + "\n")
        write_kpis(out_dir / "kpis.json", outcome.result.kpis)
        write_mismatches(out_dir / "mismatches.jsonl", outcome.result.reconciliation.mismatches,
                         outcome.result.systems)
    except OSError as exc:
        fail(f"cannot write results to {out_dir}: {exc.strerror}")
        sys.exit(2)
    totals, lag = outcome.totals, outcome.lag
    if totals is None:
        fail(f"locust wrote no statistics; its output is in {out_dir}/locust.master.log")
        say(outcome.window.locust.output()[-2000:] if outcome.window.locust is not None else "locust never started")
    else:
        say(f"locust: {totals.requests:,} requests, {totals.failures:,} failures, {totals.requests_per_s:,.1f} req/s, "
            f"median {totals.median_ms:g} ms, p95 {totals.p95_ms:g} ms")
    if lag:
        say(f"approvals: {report['approvals_per_s']:g}/s in the window, {lag['approvals']:,} of them billable; "
            f"approval to ERP charge p50 {lag['p50_s']} s, p95 {lag['p95_s']} s, p99 {lag['p99_s']} s; "
            f"{lag['missing']} never charged")
        say("  p95 by span: " + " · ".join(f"{g['p95_s'] if g['p95_s'] is not None else '-'}" for g in lag["growth"]))
    recon = outcome.result.reconciliation
    if recon.ok:
        say(("reconciled", "bold green"), f": 0 mismatches of {recon.items_checked:,} items checked")
    else:
        for line in mismatch_lines(outcome.result.kpis, full_list=str(out_dir / "mismatches.jsonl")):
            say("  ", ("•", "red"), " ", line)
        say((f"{len(recon.mismatches)} reconciliation mismatches", "bold red"), f" of {recon.items_checked:,} items")
    say(f"wrote {out_dir}/load.json, locust_stats.csv, locust.html, kpis.json, mismatches.jsonl, events.jsonl, "
        "connector/")
    if report["verdict"] != "pass":
        sys.exit(1)


if __name__ == "__main__":
    main()
