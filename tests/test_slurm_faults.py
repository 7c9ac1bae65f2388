"""Faults on the real cluster: the controller going away mid-poll, a member cancelled from
outside, a step killed at its walltime, Ctrl-C in an experiment.

These stop and restart the project's slurmctld (by the PID ``scripts/slurm-cluster`` recorded,
then ``scripts/slurm-cluster up``), so they need root; the cluster is always brought back.
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

from smartsim import Ensemble, Model, Status, slurm
from smartsim.commands.plan import World
from smartsim.effects.slurm import SlurmLauncher
from smartsim.errors import SchedulerUnavailable
from smartsim.status import JobState
from tests.slurm_cluster import SCRIPT, cluster_dir, cluster_problem
from tests.test_slurm_launcher import poll_until, report_settings, start, wait

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def alloc() -> Iterator[str]:
    """One node with four CPUs for the module."""
    if cluster_problem() is not None:
        pytest.skip(cluster_problem() or "")
    with slurm.slurm_allocation(
        nodes=1, add_opts={"ntasks-per-node": 4}, time="00:20:00", job_name="smartsim-faults",
        timeout=120,
    ) as alloc_id:  # fmt: skip
        yield alloc_id


def _recorded_pid(name: str) -> int:
    """The PID ``scripts/slurm-cluster`` recorded for daemon ``name`` (``name pid start``)."""
    for line in (cluster_dir() / "pids").read_text().splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == name:
            return int(words[1])
    raise AssertionError(f"no {name} recorded in {cluster_dir() / 'pids'}")


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status and "\nState:\tX" not in status


def _cluster_up() -> None:
    done = subprocess.run(
        [str(SCRIPT), "up"], capture_output=True, text=True, timeout=300, check=False,
        env=dict(os.environ),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slurm
@pytest.mark.skipif(os.geteuid() != 0, reason="stopping and restarting slurmctld needs root")
def test_controller_down_mid_poll_is_transient_and_nothing_is_lost(
    alloc: str, tmp_path: Path
) -> None:
    """slurmctld stopped while polling: a transient SchedulerUnavailable; once it is back
    (``scripts/slurm-cluster up``) polling resumes and every job ends COMPLETED."""
    from smartsim import BatchSettings

    launcher = SlurmLauncher(environ={})
    world = World(exp_path=str(tmp_path))
    step = Model(name="step", path=str(tmp_path / "step"),
                 run_settings=report_settings(sleep=30, alloc=alloc))  # fmt: skip
    batch = Model(name="batch", path=str(tmp_path / "batch"),
                  batch_settings=BatchSettings(nodes=1, time="00:05:00"),
                  run_settings=report_settings(sleep=30))  # fmt: skip
    handles = start(launcher, step, world) + start(launcher, batch, world)
    poll_until(launcher, handles, Status.RUNNING, timeout=30)
    # the batch script's srun needs the controller to create its step: wait for the step,
    # or the job fails for real ("Unable to confirm allocation") -- a loss, but not ours
    _step_of("batch", handles[1].job_id)

    results: list[object] = []
    stop = threading.Event()

    def keep_polling() -> None:
        while not stop.is_set():
            results.append(launcher.poll(handles))
            time.sleep(0.1)

    poller = threading.Thread(target=keep_polling)
    pid = _recorded_pid("slurmctld")
    assert Path(f"/proc/{pid}/comm").read_text().strip() == "slurmctld"
    try:
        poller.start()
        time.sleep(0.3)  # polls succeed, then the controller goes away under them
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while not any(isinstance(r, IOFailure) for r in results):
            assert time.monotonic() < deadline, "no poll failed while slurmctld was down"
            time.sleep(0.1)
    finally:
        _cluster_up()
    try:
        deadline = time.monotonic() + 120
        while True:
            last = results[-1] if results else None
            if isinstance(last, IOSuccess) and all(
                s.status.is_final for s in unsafe_perform_io(last.unwrap()).values()
            ):
                break
            assert time.monotonic() < deadline, results[-3:]
            time.sleep(0.2)
    finally:
        stop.set()
        poller.join()
    failures = [unsafe_perform_io(r.failure()) for r in results if isinstance(r, IOFailure)]
    assert failures
    assert all(isinstance(f, SchedulerUnavailable) and f.transient for f in failures), failures
    states = unsafe_perform_io(results[-1].unwrap())  # type: ignore[attr-defined]
    assert [states[h].status for h in handles] == [Status.COMPLETED, Status.COMPLETED]
    for name in ("step", "batch"):
        assert (tmp_path / name / f"{name}.out").read_text().count('"argv"') == 1


def _step_of(name: str, job: str) -> str:
    """The step id named ``name`` in ``job``, found with squeue independently of smartsim."""
    deadline = time.monotonic() + 20
    while True:
        done = subprocess.run(["squeue", "-h", "-s", "-j", job, "-o", "%i %j"],
                              capture_output=True, text=True, check=False)  # fmt: skip
        for line in done.stdout.splitlines():
            sid, _, step_name = line.partition(" ")
            if step_name == name:
                return sid
        assert time.monotonic() < deadline, done.stdout
        time.sleep(0.05)


def _cancel_one_member(alloc: str, tmp_path: Path) -> SlurmLauncher:
    launcher = SlurmLauncher(environ={})
    members = tuple(
        Model(name=f"m{i}", path=str(tmp_path / f"m{i}"),
              run_settings=report_settings(sleep=60, alloc=alloc))
        for i in range(2)
    )  # fmt: skip
    ens = Ensemble(name="ens", path=str(tmp_path), members=members)
    handles = start(launcher, ens, World(exp_path=str(tmp_path)))
    poll_until(launcher, handles, Status.RUNNING)
    victim = _step_of("m0", alloc)
    subprocess.run(["scancel", victim], check=True)
    deadline = time.monotonic() + 30
    while True:
        states = unsafe_perform_io(launcher.poll(handles).unwrap())
        if states[handles[0]].status.is_final:
            break
        assert time.monotonic() < deadline, states
        time.sleep(0.05)
    assert states[handles[0]].status is Status.CANCELLED, states[handles[0]]
    assert states[handles[1]].status is Status.RUNNING
    launcher.stop([handles[1]])
    assert wait(launcher, [handles[1]])[handles[1]].status is Status.CANCELLED
    return launcher


@pytest.mark.slurm
def test_member_cancelled_from_outside_is_cancelled(alloc: str, tmp_path: Path) -> None:
    """A member whose step someone scancels is CANCELLED; its sibling keeps running."""
    _cancel_one_member(alloc, tmp_path)


@pytest.mark.slurm_no_accounting
def test_member_cancelled_from_outside_without_accounting(alloc: str, tmp_path: Path) -> None:
    """Without accounting the cancel is read from slurmstepd's banner: CANCELLED, not FAILED."""
    launcher = _cancel_one_member(alloc, tmp_path)
    assert launcher.accounting is False


def _walltime(alloc: str, tmp_path: Path) -> tuple[SlurmLauncher, JobState]:
    launcher = SlurmLauncher(environ={})
    model = Model(name="slow", path=str(tmp_path / "slow"),
                  run_settings=report_settings(sleep=600, alloc=alloc, time=60))  # fmt: skip
    (handle,) = start(launcher, model, World(exp_path=str(tmp_path)))
    return launcher, wait(launcher, [handle], timeout=240)[handle]


@pytest.mark.slurm
def test_step_over_its_walltime_is_a_timeout_failure(alloc: str, tmp_path: Path) -> None:
    """A step killed at its one-minute limit is FAILED with Slurm's TIMEOUT, not COMPLETED or
    CANCELLED (srun exits as for a cancel; slurmstepd's message tells them apart)."""
    _, state = _walltime(alloc, tmp_path)
    assert (state.status, state.raw) == (Status.FAILED, "TIMEOUT"), state


@pytest.mark.slurm_no_accounting
def test_step_over_its_walltime_without_accounting(alloc: str, tmp_path: Path) -> None:
    """Without accounting the same TIMEOUT comes from srun's exit and slurmstepd's message."""
    launcher, state = _walltime(alloc, tmp_path)
    assert (state.status, state.raw) == (Status.FAILED, "TIMEOUT"), state
    assert launcher.accounting is False


@pytest.mark.slurm
def test_ctrl_c_in_an_experiment_cancels_its_jobs(tmp_path: Path) -> None:
    """Ctrl-C in a blocked ``exp.start`` cancels the srun job it made and its batch job."""
    tag = f"cc{os.getpid()}"
    code = textwrap.dedent(f"""
        import sys
        from smartsim import Experiment
        exp = Experiment("cc", exp_path={str(tmp_path)!r}, launcher="slurm")
        rs = exp.create_run_settings("sleep", ["120"], run_command="srun", nodes=1, ntasks=1)
        step = exp.create_model("{tag}_step", rs)
        bs = exp.create_batch_settings(nodes=1, time="00:05:00")
        batch = exp.create_model("{tag}_batch", rs, batch_settings=bs)
        exp.start(step, batch, block=True)
    """)
    env = {k: v for k, v in os.environ.items() if k not in ("SLURM_JOB_ID", "SLURM_JOBID")}
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=str(ROOT), env=env,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip

    def running() -> dict[str, str]:
        done = subprocess.run(["squeue", "-h", "-t", "all", "-o", "%j %T %i"],
                              capture_output=True, text=True, check=False)  # fmt: skip
        rows = [line.split() for line in done.stdout.splitlines()]
        return {r[0]: r[1] for r in rows if len(r) == 3 and r[0].startswith(tag)}

    try:
        deadline = time.monotonic() + 60
        while running() != {f"{tag}_step": "RUNNING", f"{tag}_batch": "RUNNING"}:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, running()
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "KeyboardInterrupt" in err
    deadline = time.monotonic() + 30
    while set(running().values()) - {"CANCELLED"}:
        assert time.monotonic() < deadline, running()
        time.sleep(0.1)
    assert set(running().values()) == {"CANCELLED"}
