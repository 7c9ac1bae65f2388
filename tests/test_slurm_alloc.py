"""The allocation API: ``get_slurm_allocation`` / ``release_slurm_allocation`` /
``slurm_allocation`` and their Result-returning twins ``allocate`` / ``release``.

First against stand-in ``salloc``/``scancel`` scripts (every outcome salloc can have, including
the ones a real cluster rarely shows on demand: a grant racing a timeout), then against the
project's real cluster (marked ``slurm``): the seed example, Slurm's own refusals, a request
that can never be granted, and Ctrl-C while pending.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from returns.io import IOFailure, IOSuccess
from returns.unsafe import unsafe_perform_io

from smartsim import AllocationRequest, JobId, slurm
from smartsim.effects.slurm import allocate, release
from smartsim.errors import (
    Interrupted,
    Invalid,
    NonZeroExit,
    SchedulerUnavailable,
    SmartSimError,
    Timeout,
)

# =========================================================================== stand-ins

_FAKE_SALLOC = r"""#!/bin/bash
# stand-in salloc: behaves as $FAKE_SALLOC says; records its argv
printf '%s\n' "$*" >> "$FAKE_LOG.salloc"
case $FAKE_SALLOC in
  grant)  echo "salloc: Granted job allocation 78" >&2; exit 0 ;;
  reject) echo "salloc: error: invalid partition specified: nosuch" >&2
          echo "salloc: error: Job submit/allocate failed: Invalid partition name specified" >&2
          exit 1 ;;
  down)   echo "salloc: error: Unable to contact slurm controller (connect failure)" >&2; exit 1 ;;
  immediate)
          echo "salloc: Pending job allocation 80" >&2
          echo "salloc: error: Unable to allocate resources: Connection timed out" >&2; exit 1 ;;
  pend)   trap 'echo "salloc: Job allocation 77 has been revoked." >&2; exit 1' TERM
          echo "salloc: Pending job allocation 77" >&2
          echo "salloc: job 77 queued and waiting for resources" >&2
          while :; do sleep 0.05; done ;;
  late)   trap 'echo "salloc: Granted job allocation 79" >&2; exit 0' TERM
          echo "salloc: Pending job allocation 79" >&2
          while :; do sleep 0.05; done ;;
  silent) trap 'exit 1' TERM; while :; do sleep 0.05; done ;;
esac
"""
_FAKE_SCANCEL = """#!/bin/bash
printf '%s\\n' "$*" >> "$FAKE_LOG.scancel"
exit 0
"""


@pytest.fixture
def fake_slurm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``salloc`` and ``scancel`` stand-ins first on PATH; yields the log prefix."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("salloc", _FAKE_SALLOC), ("scancel", _FAKE_SCANCEL)):
        path = bin_dir / name
        path.write_text(text)
        path.chmod(0o755)
    log = tmp_path / "log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_LOG", str(log))
    yield log


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_granted_id_is_returned(fake_slurm: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """salloc's "Granted job allocation N" gives the id; the seed's options reach salloc."""
    monkeypatch.setenv("FAKE_SALLOC", "grant")
    alloc = slurm.get_slurm_allocation(
        nodes=5, add_opts={"C": "haswell", "partition": "debug", "time": "10:00:00",
                           "exclusive": None},
    )  # fmt: skip
    assert alloc == "78"
    (argv,) = _lines(Path(f"{fake_slurm}.salloc"))
    assert argv.endswith("-N 5 -C haswell --partition debug --time 10:00:00 --exclusive")
    assert argv.startswith("--no-shell --job-name smartsim")


def test_refusal_carries_slurms_message(fake_slurm: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Slurm refusing the request is a NonZeroExit carrying Slurm's own words."""
    monkeypatch.setenv("FAKE_SALLOC", "reject")
    with pytest.raises(SmartSimError) as info:
        slurm.get_slurm_allocation(nodes=1, partition="nosuch")
    assert isinstance(info.value.error, NonZeroExit)
    assert "invalid partition specified: nosuch" in str(info.value)


def test_unreachable_controller_is_transient(
    fake_slurm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """"Unable to contact slurm controller" is a transient SchedulerUnavailable."""
    monkeypatch.setenv("FAKE_SALLOC", "down")
    error = unsafe_perform_io(allocate(AllocationRequest(nodes=1)).failure())
    assert isinstance(error, SchedulerUnavailable)
    assert error.transient


def test_timeout_cancels_the_pending_job(fake_slurm: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A request still pending at the timeout is a Timeout, and its job is cancelled."""
    monkeypatch.setenv("FAKE_SALLOC", "pend")
    t0 = time.monotonic()
    error = unsafe_perform_io(allocate(AllocationRequest(nodes=10), timeout=0.5).failure())
    assert isinstance(error, Timeout)
    assert "77" in error.what
    assert time.monotonic() - t0 < 5
    assert _lines(Path(f"{fake_slurm}.scancel")) == ["77"]


def test_grant_racing_the_timeout_is_released(
    fake_slurm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An allocation granted while smartsim gives up is released, not leaked."""
    monkeypatch.setenv("FAKE_SALLOC", "late")
    error = unsafe_perform_io(allocate(AllocationRequest(nodes=1), timeout=0.3).failure())
    assert isinstance(error, Timeout)
    assert "79" in _lines(Path(f"{fake_slurm}.scancel"))


def test_timeout_before_any_id(fake_slurm: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A salloc that printed nothing by the timeout is ended; still a Timeout."""
    monkeypatch.setenv("FAKE_SALLOC", "silent")
    error = unsafe_perform_io(allocate(AllocationRequest(nodes=1), timeout=0.3).failure())
    assert isinstance(error, Timeout)
    assert "no job id" in error.what


def test_immediate_is_a_timeout(fake_slurm: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """salloc --immediate running out is a Timeout (not a generic failure)."""
    monkeypatch.setenv("FAKE_SALLOC", "immediate")
    req = AllocationRequest(nodes=10, add_opts={"immediate": 2})
    error = unsafe_perform_io(allocate(req).failure())
    assert isinstance(error, Timeout)
    assert error.seconds == 2
    assert "--immediate=2" in _lines(Path(f"{fake_slurm}.salloc"))[0]


def test_ctrl_c_cancels_the_pending_job(fake_slurm: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while pending cancels the job and re-raises KeyboardInterrupt from the shell."""
    monkeypatch.setenv("FAKE_SALLOC", "pend")
    main = threading.get_ident()
    timer = threading.Timer(0.5, signal.pthread_kill, (main, signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt) as info:
            slurm.get_slurm_allocation(nodes=10, timeout=30)
    finally:
        timer.cancel()
    cause = info.value.__cause__
    assert isinstance(cause, SmartSimError)
    assert isinstance(cause.error, Interrupted)
    assert _lines(Path(f"{fake_slurm}.scancel")) == ["77"]


def test_context_manager_releases_on_error(
    fake_slurm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``slurm_allocation`` releases the allocation when the block raises."""
    monkeypatch.setenv("FAKE_SALLOC", "grant")
    with pytest.raises(RuntimeError), slurm.slurm_allocation(nodes=1) as alloc:
        assert alloc == "78"
        raise RuntimeError("boom")
    assert _lines(Path(f"{fake_slurm}.scancel")) == ["78"]


def test_invalid_requests_run_nothing(fake_slurm: Path) -> None:
    """An invalid request is an Invalid listing every problem; salloc is never run."""
    with pytest.raises(SmartSimError) as info:
        slurm.get_slurm_allocation(nodes=0, add_opts={"N": 2, "partition": "", "Q": None})
    assert isinstance(info.value.error, Invalid)
    assert len(info.value.error.errors) >= 3
    assert not Path(f"{fake_slurm}.salloc").exists()


@pytest.mark.parametrize("bad", ["", "abc", "12 13", True, 1.5])
def test_release_refuses_non_ids(bad: object, fake_slurm: Path) -> None:
    """``release_slurm_allocation`` of something that is not a job id is Invalid."""
    with pytest.raises(SmartSimError) as info:
        slurm.release_slurm_allocation(bad)  # type: ignore[arg-type]
    assert isinstance(info.value.error, Invalid)


def test_release_carries_the_cluster(fake_slurm: Path) -> None:
    """Releasing ``N;cluster`` passes ``-M cluster`` to scancel."""
    slurm.release_slurm_allocation("12;other")
    assert isinstance(release(JobId(13)), IOSuccess)
    assert _lines(Path(f"{fake_slurm}.scancel")) == ["-M other 12", "13"]
