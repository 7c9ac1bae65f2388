"""`smartsim run` writes its experiment directory where docs/spec.md says (<spec dir>/<name>,
whatever the working directory), and the repository ignores what the examples write."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "examples" / "specs").glob("*.toml"))


def test_run_writes_beside_the_spec(tmp_path: Path) -> None:
    """Run from another directory, the hello spec's experiment is <spec dir>/hello, with its
    journal and the model's output there, and nothing in the working directory."""
    spec_dir = tmp_path / "specs"
    spec_dir.mkdir()
    shutil.copy(ROOT / "examples" / "specs" / "hello.toml", spec_dir)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "smartsim", "run", str(spec_dir / "hello.toml")],
        cwd=elsewhere, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (spec_dir / "hello" / "journal.jsonl").is_file()
    assert any((spec_dir / "hello").rglob("*.out"))
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.name)
def test_the_repository_ignores_what_each_example_writes(spec: Path) -> None:
    """git ignores <spec dir>/<experiment name>/ for every example spec."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    name = tomllib.loads(spec.read_text())["experiment"]["name"]
    target = spec.parent / name / "journal.jsonl"
    done = subprocess.run(
        ["git", "check-ignore", "-q", str(target.relative_to(ROOT))],
        cwd=ROOT, capture_output=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"{target} is not ignored"
