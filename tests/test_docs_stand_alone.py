"""The docs, docstrings and comments stand alone: none points to a design document that does not ship.

Users only get this repository, so a rule is stated here (README.md, CONFORMANCE.md, the
module that implements it), never as a section number of a document they cannot read.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SUFFIXES = (".py", ".md", ".yaml", ".yml", ".toml")
FORBIDDEN = ("DESIGN" + " \u00a7", "DESIGN" + ".md")  # spelled apart, so this file passes its own test


def tracked_files() -> list[Path]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, text=True).stdout
    return [ROOT / name for name in listed.split("\0") if name.endswith(SUFFIXES)]


def test_no_tracked_file_refers_to_the_design_document() -> None:
    offenders = []
    for path in tracked_files():
        if not path.is_file():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
            if any(word in line for word in FORBIDDEN):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "references to a design document that does not ship:\n" + "\n".join(offenders)
