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
from returns.io import IOSuccess
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
  pend)   trap 'echo "salloc: Job aborted due to signal" >&2; exit 1' TERM
          echo "salloc: Pending job allocation 77" >&2
          echo "salloc: job 77 queued and waiting for resources" >&2
          # like the real one, it learns of a scancel and exits
          while [ ! -e "$FAKE_LOG.scancel" ]; do sleep 0.02; done
          echo "salloc: Job has been cancelled" >&2; exit 1 ;;
  late)   echo "salloc: Pending job allocation 79" >&2
          # granted at the very moment it is cancelled
          while [ ! -e "$FAKE_LOG.scancel" ]; do sleep 0.02; done
          echo "salloc: Granted job allocation 79" >&2; exit 0 ;;
  deaf)   trap '' TERM   # ignores SIGTERM: smartsim must still end it
          echo "salloc: Pending job allocation 81" >&2
          while :; do sleep 0.02; done ;;
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
    """ "Unable to contact slurm controller" is a transient SchedulerUnavailable."""
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


def test_salloc_that_will_not_stop_is_killed(
    fake_slurm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A salloc that neither exits on the cancel nor on SIGTERM is killed; still a Timeout."""
    monkeypatch.setenv("FAKE_SALLOC", "deaf")
    monkeypatch.setattr("smartsim.effects.slurm.SALLOC_GRACE", 0.3)
    t0 = time.monotonic()
    error = unsafe_perform_io(allocate(AllocationRequest(nodes=1), timeout=0.2).failure())
    assert isinstance(error, Timeout)
    assert _lines(Path(f"{fake_slurm}.scancel")) == ["81"]
    assert time.monotonic() - t0 < 3


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
    assert _lines(Path(f"{fake_slurm}.scancel")) == ["-v 78"]  # -v: scancel names unknown ids


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
    assert _lines(Path(f"{fake_slurm}.scancel")) == ["-M other -v 12", "13"]


# =========================================================================== the real cluster


def _squeue(*args: str) -> list[list[str]]:
    done = subprocess.run(
        ["squeue", "-h", "-t", "all", *args], capture_output=True, text=True, check=False
    )
    return [line.split("|") for line in done.stdout.splitlines() if line.strip()]


def _state(job: str) -> str:
    rows = _squeue("-o", "%i|%T", f"--jobs={job}")
    return rows[0][1] if rows else "GONE"


def _wait_state(job: str, states: set[str], timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while (state := _state(job)) not in states:
        assert time.monotonic() < deadline, state
        time.sleep(0.05)
    return state


def _by_name(name: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in _squeue("-o", "%i|%T", "--name", name)]


@pytest.mark.slurm
def test_seed_example_runs_a_model_and_releases(tmp_path: Path) -> None:
    """The seed example gets 2 exclusive haswell nodes; a model runs there with srun --jobid;
    releasing ends the allocation."""
    from smartsim import Model, RunSettings, Status
    from smartsim.commands.plan import World
    from smartsim.effects.slurm import SlurmLauncher

    alloc = slurm.get_slurm_allocation(
        nodes=2, add_opts={"C": "haswell", "partition": "debug", "time": "00:10:00",
                           "exclusive": None},
    )  # fmt: skip
    try:
        rows = _squeue("-o", "%i|%T|%D|%C|%j", f"--jobs={alloc}")
        assert rows == [[alloc, "RUNNING", "2", "16", "smartsim"]]
        launcher = SlurmLauncher(environ={})
        model = Model(
            name="on_alloc", path=str(tmp_path / "m"),
            run_settings=RunSettings(exe="printenv", args=("SLURM_JOB_ID",), alloc=alloc),
        )  # fmt: skip
        (launch,) = launcher.plan(model, World(exp_path=str(tmp_path))).unwrap()
        assert launch.command is not None
        assert launch.command.argv[1:3] == ("--jobid", alloc)
        handle = unsafe_perform_io(launcher.start(launch).unwrap())
        states = unsafe_perform_io(launcher.wait([handle], 60).unwrap())
        assert states[handle].status is Status.COMPLETED
        # no -N/-n: srun runs one task on each node of the allocation
        assert (tmp_path / "m" / "on_alloc.out").read_text().split() == [alloc, alloc]
    finally:
        slurm.release_slurm_allocation(alloc)
    assert _wait_state(alloc, {"CANCELLED", "COMPLETED", "GONE"}) != "RUNNING"


@pytest.mark.slurm
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"partition": "nosuch"}, "invalid partition specified: nosuch"),
        ({"add_opts": {"C": "skylake"}}, "Invalid feature specification"),
    ],
)
def test_slurm_refusals_are_typed_and_carry_its_message(
    fields: dict[str, object], message: str
) -> None:
    """A bad partition or constraint is a NonZeroExit carrying Slurm's own message."""
    with pytest.raises(SmartSimError) as info:
        slurm.get_slurm_allocation(nodes=1, time="00:01:00", **fields)  # type: ignore[arg-type]
    assert isinstance(info.value.error, NonZeroExit)
    assert message in info.value.error.stderr


@pytest.mark.slurm
def test_more_nodes_than_exist_times_out_and_leaves_nothing_queued() -> None:
    """N=10 on a 4-node cluster pends forever in Slurm: a Timeout, and the job is cancelled."""
    name = f"smartsim-toobig-{os.getpid()}"
    t0 = time.monotonic()
    with pytest.raises(SmartSimError) as info:
        slurm.get_slurm_allocation(nodes=10, job_name=name, time="00:01:00", timeout=2)
    assert isinstance(info.value.error, Timeout)
    assert time.monotonic() - t0 < 15
    assert [s for _, s in _by_name(name)] == ["CANCELLED"]


@pytest.mark.slurm
@pytest.mark.parametrize(
    ("seconds", "said"),
    [(1, "not available now"), (2, "Unable to allocate resources: Connection timed out")],
)
def test_immediate_gives_a_timeout(seconds: int, said: str) -> None:
    """``--immediate`` on an impossible request: Slurm gives up (at once for 1 s, after
    waiting for 2 s), smartsim says Timeout and nothing stays queued."""
    name = f"smartsim-imm-{os.getpid()}-{seconds}"
    with pytest.raises(SmartSimError) as info:
        slurm.get_slurm_allocation(
            nodes=10, add_opts={"immediate": seconds}, job_name=name, time="00:01:00",
            timeout=None,
        )  # fmt: skip
    assert isinstance(info.value.error, Timeout)
    assert said in info.value.error.what
    assert info.value.error.seconds == seconds
    assert all(s != "PENDING" for _, s in _by_name(name))


@pytest.mark.slurm
def test_ctrl_c_while_pending_cancels_the_job() -> None:
    """Ctrl-C in a script waiting for an allocation cancels the pending job in Slurm."""
    name = f"smartsim-ctrlc-{os.getpid()}"
    code = textwrap.dedent(f"""
        from smartsim import slurm
        slurm.get_slurm_allocation(nodes=10, job_name={name!r}, time="00:01:00", timeout=60)
    """)
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stderr=subprocess.PIPE, text=True,
        cwd=str(Path(__file__).resolve().parent.parent),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not any(s == "PENDING" for _, s in _by_name(name)):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0
    assert "KeyboardInterrupt" in err
    (job, _), *rest = _by_name(name)
    assert not rest
    assert _wait_state(job, {"CANCELLED"}) == "CANCELLED"


@pytest.mark.slurm
def test_context_manager_releases_the_real_allocation() -> None:
    """``slurm_allocation`` gives a running allocation and releases it on the way out."""
    with slurm.slurm_allocation(nodes=1, time="00:02:00", job_name="smartsim-ctx") as alloc:
        assert _state(alloc) == "RUNNING"
    assert _wait_state(alloc, {"CANCELLED", "GONE"}) in {"CANCELLED", "GONE"}


@pytest.mark.slurm_no_accounting
def test_allocation_without_accounting() -> None:
    """Allocation and release need no accounting (salloc and scancel talk to slurmctld)."""
    alloc = slurm.get_slurm_allocation(nodes=2, add_opts={"C": "haswell"}, time="00:02:00")
    try:
        assert _state(alloc) == "RUNNING"
    finally:
        slurm.release_slurm_allocation(alloc)
    assert _wait_state(alloc, {"CANCELLED", "GONE"}) in {"CANCELLED", "GONE"}
