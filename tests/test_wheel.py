"""The suite as a vendor gets it: a wheel, installed with its ``conformance`` extra into a fresh venv.

The wheel must carry every scenario the suite and the simulator read, and
the installed plugin must certify the reference connector from an empty
directory, with no checkout on the path: ``pytest --pyargs conformance``.
This is also the slow suite's certification of the reference (seed 1,
the vendor's default command; ``-m thorough`` certifies seeds 1-20 on the
``full`` profile).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _clean_env() -> dict[str, str]:
    """The environment of a shell with no checkout and no other venv on its paths."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.pop("CI", None)
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(ROOT)],
                   check=True, cwd=out, env=_clean_env())
    (built,) = out.glob("c2c-*.whl")
    return built


def test_the_wheel_holds_every_scenario(wheel: Path) -> None:
    shipped = set(zipfile.ZipFile(wheel).namelist())
    wanted = {path.relative_to(ROOT).as_posix() for folder in ("scenarios", "conformance/scenarios")
              for path in (ROOT / folder).glob("*.yaml")}
    assert len(wanted) > 20
    assert not wanted - shipped, f"missing from the wheel: {sorted(wanted - shipped)}"
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in shipped if n.endswith("entry_points.txt"))).decode()
    assert "[pytest11]" in entry_points and "conformance.plugin" in entry_points


def test_a_vendor_certifies_from_an_empty_directory(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    env = _clean_env()
    subprocess.run([str(python), "-m", "pip", "install", "-q", f"{wheel}[conformance]"], check=True, env=env)
    empty = tmp_path / "vendor"
    empty.mkdir()
    run = subprocess.run([str(env_dir / "bin" / "pytest"), "--pyargs", "conformance", "-p", "no:cacheprovider"],
                         cwd=empty, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "core: CERTIFIED" in run.stdout
    assert "PytestWarning" not in run.stdout, run.stdout[-3000:]  # no ini file here: pytest's defaults
    report = json.loads((empty / "conformance-report" / "conformance-report.json").read_text())
    assert report["verdicts"]["core"]["certified"]
    assert report["connector"]["spec"] == "reference_impl.connector:build"
    # the run used the installed package, not a checkout
    where = subprocess.run([str(python), "-c", "import conformance; print(conformance.__file__)"], cwd=empty, env=env,
                           capture_output=True, text=True, check=True).stdout
    assert str(env_dir) in where, where
