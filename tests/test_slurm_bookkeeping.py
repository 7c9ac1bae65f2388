"""Allocations are bookkept (issue 11, item 5): every allocation smartsim obtains for an
experiment is in its journal with its id and its owner, ``smartsim status DIR`` shows it, and
``smartsim stop DIR`` releases it once the owner died (``kill -9``); ``smartsim release`` of an
id Slurm never knew fails with Slurm's words.

The journal half is pure; the rest runs against the project's cluster and cleans up every job
it makes (by job id: other agents share the cluster).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from returns.io import IOFailure
from returns.unsafe import unsafe_perform_io

from smartsim.effects import journal
from smartsim.effects.slurm import release_allocation
from smartsim.errors import UnknownJob

ROOT = Path(__file__).resolve().parent.parent

# =========================================================================== journal (pure)


def test_allocations_replay_with_their_owner_and_release() -> None:
    """allocation and release records replay as allocations, in order, released or not; a
    release of an id never obtained changes nothing; nothing is counted as unreadable."""
    owner = (("start", "123"), ("boot", "b"), ("host", "h"))
    lines = [
        journal.encode(r).decode()
        for r in (
            journal.allocation_record(
                t=1.0, session="s", name="main", job_id="12", launcher="slurm", pid=7,
                owner=owner,
            ),
            journal.allocation_record(
                t=2.0, session="s", name="", job_id="13", launcher="slurm", pid=7, owner=owner
            ),
            journal.release_record(3.0, "s", "12"),
            journal.release_record(4.0, "s", "99"),
        )
    ]
    replayed = journal.parse_journal(lines)
    assert replayed.skipped == 0
    assert [(a.name, a.job_id, a.released) for a in replayed.allocations] == [
        ("main", "12", 3.0),
        ("", "13", None),
    ]
    assert replayed.allocations[1].pid == 7 and replayed.allocations[1].owner == owner


# =========================================================================== real cluster


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-m", "smartsim", *args],
        env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def squeue_listed(job: str) -> str:
    """What the default ``squeue`` (pending, running, completing jobs) shows of ``job``."""
    done = subprocess.run(
        ["squeue", "-h", "-o", "%T", f"--jobs={job}"], capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    return done.stdout.strip()


def _journal(exp: Path) -> list[dict[str, object]]:
    path = exp / "journal.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _allocation_of(exp: Path) -> str | None:
    ids = [str(r["job_id"]) for r in _journal(exp) if r.get("event") == "allocation"]
    return ids[-1] if ids else None


#: The job name of every allocation these tests make (unique to this test process).
JOB_NAME = f"ss-held-{os.getpid()}"


@pytest.fixture
def jobs() -> Iterator[list[str]]:
    """Job ids a test made; cancelled at its end whatever happened -- and, by their unique job
    name, any it made but never learned the id of (a request granted as the test failed)."""
    made: list[str] = []
    yield made
    if made:
        subprocess.run(["scancel", *made], capture_output=True, check=False)
    subprocess.run(["scancel", "--me", f"--name={JOB_NAME}"], capture_output=True, check=False)


SPEC = """
[experiment]
name = "held"
launcher = "slurm"

[allocation.main]
nodes = 1
time = "0:05:00"
job_name = "{job_name}"

[run_settings.sleep]
exe = "sleep"
args = ["300"]
run_command = "srun"
ntasks = 1
alloc = "main"

[[model]]
name = "slow"
run_settings = "sleep"
"""


@pytest.mark.slurm
def test_stop_releases_the_allocation_of_a_killed_run(tmp_path: Path, jobs: list[str]) -> None:
    """`smartsim run` holding an [allocation] is killed with SIGKILL: its allocation stays in
    Slurm (the leak); `status` shows it unreleased with its owner gone; `stop` cancels the step
    and releases the allocation, after which squeue lists neither, and `status` says released.
    """
    spec = tmp_path / "held.toml"
    spec.write_text(SPEC.format(job_name=JOB_NAME))
    exp = tmp_path / "exp"
    proc = subprocess.Popen(
        [sys.executable, "-m", "smartsim", "run", str(spec), "--path", str(exp),
         "--interval", "0.2"],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:  # until the run's step is RUNNING in its allocation
            alloc = _allocation_of(exp)
            if alloc is not None and alloc not in jobs:
                jobs.append(alloc)
            status = cli("status", str(exp), "--format", "json")
            if status.returncode == 0:
                launches = json.loads(status.stdout)["launches"]
                if launches.get("slow", {}).get("status") == "RUNNING":
                    break
            assert proc.poll() is None, "smartsim run ended before its step ran"
            assert time.monotonic() < deadline, status.stdout + status.stderr
            time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    alloc = _allocation_of(exp)  # journaled before the step started, so known by now
    assert alloc is not None
    jobs.append(alloc)
    assert squeue_listed(alloc) == "RUNNING"  # leaked: nobody released it

    shown = cli("status", str(exp), "--format", "json")
    assert shown.returncode == 0, shown.stderr
    (entry,) = json.loads(shown.stdout)["allocations"]
    assert entry["job_id"] == alloc and entry["name"] == "main"
    assert entry["released"] is False and entry["owner"] == "gone"
    assert entry["slurm_state"] == "RUNNING"
    table = cli("status", str(exp)).stdout
    assert f"allocation main {alloc}: not released, its owner, pid {proc.pid}, is gone" in table

    stopped = cli("stop", str(exp))
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert f"allocation main {alloc} released" in stopped.stdout
    assert squeue_listed(alloc) == ""  # neither the allocation nor its step is listed
    steps = subprocess.run(
        ["squeue", "-h", "-s", "-o", "%i", f"--jobs={alloc}"], capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    assert steps.stdout.strip() == ""
    after = json.loads(cli("status", str(exp), "--format", "json").stdout)
    assert after["allocations"][0]["released"] is True
    assert f"allocation main {alloc}: released" in cli("status", str(exp)).stdout


SCRIPT = """
import sys, time
from smartsim import slurm
alloc = slurm.get_slurm_allocation(nodes=1, time="00:05:00", job_name=sys.argv[2],
                                   exp_path=sys.argv[1])
print(alloc, flush=True)
time.sleep(300)
"""


@pytest.mark.slurm
def test_get_slurm_allocation_with_exp_path_is_journaled_and_released_after_a_crash(
    tmp_path: Path, jobs: list[str]
) -> None:
    """get_slurm_allocation(exp_path=DIR) journals the allocation and its owner; once that
    script is killed, `smartsim stop DIR` releases it (there is no entity at all)."""
    exp = tmp_path / "exp"
    name = JOB_NAME  # the job name labels the allocation in the journal
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(exp), name],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        alloc = proc.stdout.readline().strip()  # printed once granted and journaled
        assert alloc.isdigit(), alloc
        jobs.append(alloc)
        assert _allocation_of(exp) == alloc
        alive = json.loads(cli("status", str(exp), "--format", "json").stdout)
        assert alive["allocations"][0]["owner"] == "alive"
        kept = cli("stop", str(exp))  # the owner runs: its allocation is left to it
        assert kept.returncode == 0 and "released" not in kept.stdout.replace("not released", "")
        assert squeue_listed(alloc) == "RUNNING"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stopped = cli("stop", str(exp))
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert f"allocation {name} {alloc} released" in stopped.stdout
    assert squeue_listed(alloc) == ""


@pytest.mark.slurm
def test_experiment_allocation_is_journaled_and_released(tmp_path: Path) -> None:
    """Experiment.get_allocation journals it (summary shows it held by this process);
    release_allocation releases it and journals that; a reconnect sees it released."""
    from smartsim import Experiment

    exp = Experiment("own", exp_path=str(tmp_path), launcher="slurm")
    alloc = exp.get_allocation(1, name="mine", time="00:05:00", job_name="ss-own")
    try:
        (info,) = exp.allocations()
        assert (info.job_id, info.name, info.released) == (alloc, "mine", False)
        assert info.owner == "alive" and info.slurm_state == "RUNNING"
        assert f"allocation mine {alloc}: not released, held by this process" in exp.summary()
    finally:
        exp.release_allocation(alloc)
    again = Experiment.reconnect(str(tmp_path))
    (info,) = again.allocations()
    assert info.released and info.slurm_state is None
    assert again.release_abandoned() == []


@pytest.mark.slurm
def test_release_of_an_id_slurm_never_knew_fails_with_slurms_words() -> None:
    """`smartsim release` of a job id that never existed exits 1 with scancel's message;
    releasing one that has already ended is still not an error."""
    never = "66000000"  # below MaxJobId, far above any id this cluster hands out
    done = cli("release", never)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Invalid job id specified" in done.stderr and never in done.stderr
    result = release_allocation(never)
    assert isinstance(result, IOFailure)
    assert isinstance(unsafe_perform_io(result.failure()), UnknownJob)
    granted = cli("alloc", "--nodes", "1", "--time", "0:02:00", "--timeout", "120")
    assert granted.returncode == 0, granted.stderr
    job = granted.stdout.strip()
    try:
        assert cli("release", job).returncode == 0
    finally:
        subprocess.run(["scancel", job], capture_output=True, check=False)
    again = cli("release", job)  # already ended
    assert again.returncode == 0, again.stderr
