"""``c2c report``'s page in a real browser: headless Chromium (Debian's ``chromium``) opens it from disk, offline.

Driven through Chromium's own command line: ``--dump-dom`` gives the document as the browser built it,
``--enable-logging=stderr`` puts every console message on stderr (``...:CONSOLE...] "message", source: ...``),
``--screenshot`` writes a PNG. A control page that breaks the same Content-Security-Policy proves the console
is read: its blocked request is a console message, so a report that made one would fail here.
Skipped, with the reason, where Chromium is not installed; CI installs it (``.ci/run``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.test_report_html import RUN_CHARTS, page, run_dir  # noqa: F401 (fixtures shared with the page tests)

CHROMIUM = shutil.which("chromium") or next((p for p in ("/usr/bin/chromium",) if Path(p).exists()), None)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install -y chromium; .ci/run "
                                                "installs it before the slow suite)"),
]

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
         "--disable-default-apps", "--mute-audio", "--enable-logging=stderr", "--v=0")
CONSOLE = re.compile(r":CONSOLE[:(\d)\]]+ (.*)$")


def chromium(target: Path, profile: Path, *action: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium once on a local file, with its own profile directory; it exits when done."""
    result = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *action, target.as_uri()],
                            capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def console_messages(stderr: str) -> list[str]:
    return [match.group(1) for line in stderr.splitlines() if (match := CONSOLE.search(line))]


def test_the_console_of_a_page_that_breaks_the_policy_is_read(tmp_path: Path, page: str) -> None:  # noqa: F811
    """The control: the report's own head, and one image from the network, which the policy blocks and the
    console reports."""
    head = page[:page.index("<body>")]
    control = tmp_path / "control.html"
    control.write_text(head + '<body><img src="https://example.invalid/x.png" alt=""></body></html>\n')
    messages = console_messages(chromium(control, tmp_path / "profile", "--dump-dom").stderr)
    assert len(messages) == 1 and "Content Security Policy" in messages[0], messages


def test_the_report_renders_offline_without_a_console_message(run_dir: Path, tmp_path: Path) -> None:  # noqa: F811
    result = chromium(run_dir / "report.html", tmp_path / "profile", "--dump-dom")
    assert console_messages(result.stderr) == []
    dom = result.stdout
    charts = re.findall(r'<svg[^>]* data-chart="([^"]+)"', dom)
    assert sorted(charts) == sorted(RUN_CHARTS)  # each chart parsed into the document, as inline SVG
    assert len(re.findall(r'<div class="card(?: good| bad)?">', dom)) == 12
    assert "Mismatches, ranked by money at stake" in dom


def test_a_screenshot_of_the_report_is_written(run_dir: Path, tmp_path: Path) -> None:  # noqa: F811
    """The page drawn: a PNG as wide as the window, not blank, with the charts' colours on it."""
    from PIL import Image

    shot = tmp_path / "report.png"
    result = chromium(run_dir / "report.html", tmp_path / "profile", "--window-size=1100,2400",
                      f"--screenshot={shot}")
    assert console_messages(result.stderr) == []
    with Image.open(shot) as image:
        assert image.size == (1100, 2400)
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None
    seen = {rgb: n for n, rgb in colours}
    white = seen.get((255, 255, 255), 0)
    assert white < 0.97 * 1100 * 2400, "the screenshot is blank"
    assert seen.get((0x2B, 0x6C, 0xB0), 0) > 500  # the first chart colour (WIP line, histogram, CLM calls)
    assert seen.get((0xC5, 0x30, 0x30), 0) > 200  # the bad red: a card's edge, leakage bars, failed calls
