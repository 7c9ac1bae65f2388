"""What users expect around a run: stdlib logging (logger "smartsim", nothing printed), a live
progress line on a terminal, exp.wait(timeout=), a status-change callback, the current run's
output, and the version."""

from __future__ import annotations

import logging
import os
import pty
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

import smartsim
from smartsim import Experiment, JobState, RunSettings, SmartSimError, Status
from smartsim.commands._types import Command
from smartsim.effects import process
from smartsim.errors import NotStarted

ROOT = Path(__file__).resolve().parent.parent


def test_one_info_line_per_launch_and_per_final_state(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """A launch logs one INFO line, its final state another (with the exit code), DEBUG shows
    the argv run; the library prints nothing."""
    exp = Experiment("log", exp_path=tmp_path)
    ok = exp.create_model("ok", RunSettings(exe="true"))
    bad = exp.create_model("bad", RunSettings(exe="false"))
    with caplog.at_level(logging.DEBUG, logger="smartsim"):
        exp.start(ok, bad)
    mine = [r for r in caplog.records if r.name == "smartsim"]
    info = sorted(r.getMessage() for r in mine if r.levelno == logging.INFO)
    assert len(info) == 4, info
    assert info[0] == "bad: FAILED (exit 1)" and info[3] == "ok: COMPLETED (exit 0)"
    assert info[1].startswith("launched bad (Model) as ") and info[2].startswith("launched ok")
    debug = [r.getMessage() for r in mine if r.levelno == logging.DEBUG]
    assert "ok: run true" in debug and "bad: run false" in debug
    assert capsys.readouterr() == ("", "")


def test_a_program_that_cannot_start_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A launch that fails to start logs why, once, at INFO."""
    exp = Experiment("log", exp_path=tmp_path)
    model = exp.create_model("gone", RunSettings(exe="/no/such/program"))
    with caplog.at_level(logging.INFO, logger="smartsim"):
        exp.start(model)
    lines = [r.getMessage() for r in caplog.records if r.name == "smartsim"]
    assert len([line for line in lines if line.startswith("gone: not started")]) == 1


def test_every_command_run_is_a_debug_line(caplog: pytest.LogCaptureFixture) -> None:
    """effects.process.run logs the argv it runs (shell-quoted) at DEBUG."""
    with caplog.at_level(logging.DEBUG, logger="smartsim"):
        process.run(Command(argv=("echo", "a b")))
    assert "run echo 'a b'" in [r.getMessage() for r in caplog.records]


def test_status_callback_sees_every_change(tmp_path: Path) -> None:
    """on_status_change gets (name, state) for each change, ending in the final state."""
    seen: list[tuple[str, Status]] = []

    def record(name: str, state: JobState) -> None:
        seen.append((name, state.status))

    exp = Experiment("cb", exp_path=tmp_path)
    exp.on_status_change(record)
    model = exp.create_model("m", RunSettings(exe="true"))
    exp.start(model)
    assert seen[0] == ("m", Status.PENDING) and seen[-1] == ("m", Status.COMPLETED)
    assert [s for _, s in seen].count(Status.COMPLETED) == 1
    exp.remove_status_callback(record)
    before = len(seen)
    exp.start(model)
    assert len(seen) == before


def test_wait_with_a_timeout(tmp_path: Path) -> None:
    """wait(entity, timeout=) is False while it runs and True once it has finished."""
    exp = Experiment("w", exp_path=tmp_path)
    slow = exp.create_model("slow", RunSettings(exe="sleep", args=("30",)))
    quick = exp.create_model("quick", RunSettings(exe="true"))
    exp.start(slow, quick, block=False)
    t0 = time.monotonic()
    assert exp.wait(slow, timeout=0.3) is False
    assert 0.3 <= time.monotonic() - t0 < 5
    assert exp.wait(quick, timeout=30) is True
    exp.stop(slow)
    assert exp.wait(timeout=30) is True
    with pytest.raises(SmartSimError) as info:
        exp.wait(exp.create_model("never", RunSettings(exe="true")))
    assert info.value.error == NotStarted("never")


def test_get_output_reads_the_current_run(tmp_path: Path) -> None:
    """get_output gives the latest run's files: a rerun writes name.1.out and is read."""
    exp = Experiment("o", exp_path=tmp_path)
    counter = tmp_path / "n"
    script = (
        f"n=$(cat {counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {counter}; echo run $n"
    )
    model = exp.create_model("m", RunSettings(exe="sh", args=("-c", script)))
    exp.start(model)
    out = exp.get_output(model)
    assert not isinstance(out, list)
    assert out.stdout() == "run 1\n" and out.stdout_path.endswith("/m/m.out")
    exp.start(model)
    again = exp.get_output(model)
    assert not isinstance(again, list)
    assert again.stdout_path.endswith("/m/m.1.out") and again.stdout() == "run 2\n"
    assert str(again) == "run 2\n" and again.stderr() == ""
    ens = exp.create_ensemble("e", RunSettings(exe="echo", args=("{x}",)), params={"x": [1, 2]})
    exp.start(ens)
    outs = exp.get_output(ens)
    assert isinstance(outs, list) and [o.stdout() for o in outs] == ["1\n", "2\n"]


def test_version_is_the_distributions() -> None:
    """smartsim.__version__ and `smartsim --version` give pyproject.toml's version."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert smartsim.__version__ == meta["project"]["version"]
    done = subprocess.run(
        [sys.executable, "-m", "smartsim", "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and done.stdout == f"smartsim {smartsim.__version__}\n"


PROGRESS_SCRIPT = """
import sys
from smartsim import Experiment, RunSettings
exp = Experiment("p", exp_path=sys.argv[1])
ens = exp.create_ensemble("e", RunSettings(exe="sh", args=("-c", "sleep {t}; exit {rc}")),
                          params={"t": [0.2, 0.4, 0.6], "rc": [0]}, perm_strategy="all_perm")
bad = exp.create_model("bad", RunSettings(exe="sh", args=("-c", "sleep 0.3; exit 3")))
exp.start(ens, bad)
print("END", file=sys.stderr)
"""


def test_progress_line_on_a_terminal(tmp_path: Path) -> None:
    """With stderr a terminal (a pty), start(block=True) keeps one line up to date with
    running/done/failed counts, rewritten in place, ending with the final counts; not a
    terminal: nothing is written."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", PROGRESS_SCRIPT, str(tmp_path / "exp")],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=follower, cwd=ROOT,
    )  # fmt: skip
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    assert proc.wait(timeout=60) == 0
    text = b"".join(chunks).decode()
    assert "END" in text
    frames = [f for f in text.split("END")[0].split("\r\x1b[K") if f.strip()]
    assert len(frames) >= 3, frames
    assert any("running" in f and not f.startswith("0/") for f in frames), frames
    assert frames[-1].strip() == "0/4 running, 3 done, 1 failed", frames
    quiet = subprocess.run(
        [sys.executable, "-c", PROGRESS_SCRIPT, str(tmp_path / "exp2")],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    assert quiet.returncode == 0 and quiet.stderr == "END\n" and quiet.stdout == ""
