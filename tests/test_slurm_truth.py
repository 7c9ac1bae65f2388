"""What smartsim reports about Slurm runs is what happened, checked against Slurm itself.

Each test runs on the project's cluster and compares smartsim's facts -- end times, step ids,
stop results -- with what ``sacct``, ``squeue`` and ``ps`` say, not only with the status word.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smartsim import Experiment, Status
from smartsim.effects.journal import journal_path

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def alloc() -> Iterator[str]:
    """One node with four CPUs for the module."""
    from tests.slurm_cluster import cluster_problem

    if cluster_problem() is not None:
        pytest.skip(cluster_problem() or "")
    from smartsim import slurm

    with slurm.slurm_allocation(
        nodes=1, add_opts={"ntasks-per-node": 4}, time="00:20:00", job_name="smartsim-truth",
        timeout=120,
    ) as alloc_id:  # fmt: skip
        yield alloc_id


def _sacct(job: str) -> dict[str, dict[str, str]]:
    """sacct's rows for ``job`` (steps included) by id: state, exit code, Unix start/end."""
    done = subprocess.run(
        ["sacct", "-n", "-P", "--format=JobID,State,ExitCode,Start,End,JobName", "-j", job],
        capture_output=True, text=True, check=True, env={**os.environ, "SLURM_TIME_FORMAT": "%s"},
    )  # fmt: skip
    rows = {}
    for line in done.stdout.splitlines():
        jid, state, code, start, end, name = line.split("|", 5)
        rows[jid] = {"state": state, "exit": code, "start": start, "end": end, "name": name}
    return rows


def _sacct_until_ended(job: str, step: str) -> dict[str, str]:
    """The sacct row of ``step`` once accounting has its end (slurmdbd lags a little)."""
    deadline = time.monotonic() + 30
    while True:
        row = _sacct(job).get(step)
        if row is not None and row["end"].isdigit():
            return row
        assert time.monotonic() < deadline, _sacct(job)
        time.sleep(0.2)


def _status_json(exp_dir: str) -> dict[str, dict[str, Any]]:
    """``smartsim status DIR --format json`` from another process."""
    done = subprocess.run(
        [sys.executable, "-m", "smartsim", "status", exp_dir, "--format", "json"],
        capture_output=True, text=True, cwd=str(ROOT), check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    launches: dict[str, dict[str, Any]] = json.loads(done.stdout)["launches"]
    return launches


def _says(path: Path, text: str) -> bool:
    try:
        return text in path.read_text()
    except OSError:
        return False


def _journal(exp_dir: str) -> list[dict[str, Any]]:
    with open(journal_path(exp_dir), encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _short_and_long(alloc: str, tmp_path: Path) -> tuple[Experiment, dict[str, float]]:
    """Members ``sleep 1`` and ``sleep 6`` as steps of ``alloc``, started with ``block=True``;
    returns the experiment and the wall time at which each ``sleep`` ended by its own clock."""
    exp = Experiment("truth", exp_path=str(tmp_path), launcher="slurm")
    models = []
    for name, seconds in (("short", 1), ("long", 6)):
        rs = exp.create_run_settings(
            sys.executable,
            ["-c", f"import time; time.sleep({seconds}); print(time.time())"],
            run_command="srun", nodes=1, ntasks=1, alloc=alloc,
        )  # fmt: skip
        models.append(exp.create_model(name, rs))
    exp.start(*models, block=True)
    ended_by_program = {
        m.name: float((tmp_path / m.name / f"{m.name}.out").read_text().split()[-1])
        for m in models
    }
    return exp, ended_by_program


def _check_end_times(exp: Experiment, ended_by_program: dict[str, float], tmp_path: Path) -> None:
    report = exp.report()
    assert [report[n]["status"] for n in ("short", "long")] == ["COMPLETED", "COMPLETED"]
    short, long = (float(report[n]["ended"]) for n in ("short", "long"))
    assert long - short >= 4, report
    for name in ("short", "long"):
        ended = float(report[name]["ended"])
        # recorded when it happened (the program's own last print is just before its exit)
        assert 0 <= ended - ended_by_program[name] + 1.0 <= 2.5, (name, report, ended_by_program)
    # the journal holds each end as it happened, not when block=True returned
    finals = {
        r["name"]: r for r in _journal(str(tmp_path)) if r.get("event") == "status"
        and r.get("status") == "COMPLETED"
    }  # fmt: skip
    assert float(finals["long"]["t"]) - float(finals["short"]["t"]) >= 4, finals
    # status from another process, twice: the recorded end times, identical each time
    first, second = _status_json(str(tmp_path)), _status_json(str(tmp_path))
    for name in ("short", "long"):
        assert first[name]["ended"] == second[name]["ended"] == report[name]["ended"]
        assert first[name]["job_id"] == report[name]["job_id"]


@pytest.mark.slurm(accounting=True)
def test_each_member_ends_when_it_ends_and_as_sacct_says(alloc: str, tmp_path: Path) -> None:
    """``sleep 1`` and ``sleep 6`` under ``block=True``: recorded ends >= 4 s apart, each
    within 1.5 s of sacct's End for its step, and ``status`` from elsewhere shows the same."""
    exp, ended_by_program = _short_and_long(alloc, tmp_path)
    _check_end_times(exp, ended_by_program, tmp_path)
    report = exp.report()
    for name in ("short", "long"):
        step = str(report[name]["job_id"])
        assert step.startswith(f"{alloc}.") and step.split(".")[1].isdigit(), report
        row = _sacct_until_ended(alloc, step)
        assert row["name"] == name and row["state"] == "COMPLETED", row
        assert abs(float(report[name]["ended"]) - float(row["end"])) <= 1.5, (row, report)
        assert abs(float(report[name]["started"]) - float(row["start"])) <= 1.5, (row, report)


@pytest.mark.slurm_no_accounting
def test_each_member_ends_when_it_ends_without_accounting(alloc: str, tmp_path: Path) -> None:
    """Without accounting the same: the end of each step as it was seen, >= 4 s apart, and the
    same recorded times from another process."""
    exp, ended_by_program = _short_and_long(alloc, tmp_path)
    _check_end_times(exp, ended_by_program, tmp_path)


@pytest.mark.slurm
def test_step_ids_are_slurms_in_summary_journal_and_squeue(alloc: str, tmp_path: Path) -> None:
    """A step in an allocation is shown and journaled as ``ALLOC.N`` -- the id squeue lists for
    the step of that name -- not as the allocation's id."""
    exp = Experiment("ids", exp_path=str(tmp_path), launcher="slurm")
    rs = exp.create_run_settings("sleep", ["30"], run_command="srun", nodes=1, ntasks=1,
                                 alloc=alloc)  # fmt: skip
    model = exp.create_model("idm", rs)
    exp.start(model, block=False)
    try:
        deadline = time.monotonic() + 30
        while exp.get_status(model) != [Status.RUNNING]:
            assert time.monotonic() < deadline, exp.summary()
            time.sleep(0.1)
        listed = subprocess.run(["squeue", "-h", "-s", "-j", alloc, "-o", "%i %j"],
                                capture_output=True, text=True, check=True).stdout  # fmt: skip
        (step,) = [line.split()[0] for line in listed.splitlines() if line.split()[1] == "idm"]
        assert exp.report()["idm"]["job_id"] == step
        assert f" {step} " in exp.summary()
        recorded = [r.get("step_id") for r in _journal(str(tmp_path)) if r.get("event") == "status"]
        assert step in recorded
        assert _status_json(str(tmp_path))["idm"]["job_id"] == step
    finally:
        exp.stop(model)


@pytest.mark.slurm
def test_stop_returns_final_cancelled_states_with_the_signal(alloc: str, tmp_path: Path) -> None:
    """``exp.stop`` returns once the step is final: CANCELLED with a signalled return code
    (-N, as a local process), its srun client is gone (ps), and Slurm agrees it ended."""
    exp = Experiment("stop", exp_path=str(tmp_path), launcher="slurm")
    rs = exp.create_run_settings("sh", ["-c", "echo started; exec sleep 60"],
                                 run_command="srun", nodes=1, ntasks=1, alloc=alloc)  # fmt: skip
    model = exp.create_model("victim", rs)
    exp.start(model, block=False)
    out = tmp_path / "victim" / "victim.out"
    deadline = time.monotonic() + 30
    # the program itself runs (a step listed by squeue may still be launching its tasks)
    while exp.get_status(model) != [Status.RUNNING] or not _says(out, "started"):
        assert time.monotonic() < deadline, exp.summary()
        time.sleep(0.1)
    step = str(exp.report()["victim"]["job_id"])
    final = exp.stop(model)
    state = final["victim"]
    assert state.status is Status.CANCELLED, state
    assert state.signal is not None and state.returncode == -state.signal, state
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    assert not [line for line in ps.splitlines() if "--job-name victim" in line], ps
    listed = subprocess.run(["squeue", "-h", "-s", "-j", alloc, "-o", "%i"],
                            capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert step not in listed.split()
    from tests.slurm_cluster import get_cluster

    cluster = get_cluster()
    if cluster is not None and cluster.accounting:
        row = _sacct_until_ended(alloc, step)
        assert row["state"].startswith("CANCELLED"), row


_CRASH = textwrap.dedent("""
    import sys
    from smartsim import Experiment
    exp = Experiment("crash", exp_path=sys.argv[1], launcher="slurm")
    rs = exp.create_run_settings("sleep", ["300"], run_command="srun", nodes=1, ntasks=1)
    exp.start(exp.create_model(sys.argv[2], rs), block=True)
""")


@pytest.mark.slurm(accounting=True)
def test_own_job_id_is_recorded_and_resolved_after_a_crash(tmp_path: Path) -> None:
    """A model with no allocation runs as srun's own job: its id ``N.0`` is journaled while
    it runs; after ``kill -9`` of the process and a cancel from outside, ``smartsim status``
    resolves it from Slurm: CANCELLED, as sacct says."""
    name = f"own{os.getpid()}"
    env = {k: v for k, v in os.environ.items() if k not in ("SLURM_JOB_ID", "SLURM_JOBID")}
    proc = subprocess.Popen([sys.executable, "-c", _CRASH, str(tmp_path), name],
                            cwd=str(ROOT), env=env)  # fmt: skip
    step = None
    try:
        deadline = time.monotonic() + 60
        while step is None:
            assert proc.poll() is None
            assert time.monotonic() < deadline, "no step id journaled"
            if os.path.exists(journal_path(str(tmp_path))):
                # while srun's job waits it is known as the job (N); once running, as N.0
                ids = [str(r["step_id"]) for r in _journal(str(tmp_path)) if r.get("step_id")]
                steps = [i for i in ids if "." in i]
                step = steps[-1] if steps else None
            time.sleep(0.1)
        job = step.split(".")[0]
        assert step == f"{job}.0" and job.isdigit(), step
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        subprocess.run(["scancel", job], check=True)
        _sacct_until_ended(job, job)
        status = _status_json(str(tmp_path))[name]
        assert status["status"] == "CANCELLED", status
        assert status["job_id"] == step
        row = _sacct(job)[step]
        assert row["state"].startswith("CANCELLED"), row
        assert float(status["ended"]) == float(row["end"])
    finally:
        if proc.poll() is None:
            proc.kill()
        if step is not None:
            subprocess.run(["scancel", step.split(".")[0]], check=False)


@pytest.mark.slurm(accounting=True)
def test_a_batch_members_status_is_its_own_steps(tmp_path: Path) -> None:
    """Members of one sbatch ensemble each get their own step's outcome and id (``N.M``, as
    sacct names it), not the batch job's: one exits 0, one exits 3, one is still running
    when the first two have ended."""
    from smartsim import BatchSettings

    exp = Experiment("members", exp_path=str(tmp_path), launcher="slurm")
    # the third member runs until the test opens its gate (no race with the other two)
    gate = tmp_path / "gate"
    prog = (
        "import os, sys, time\n"
        "end = time.time() + 120\n"
        "while sys.argv[2] != '-' and not os.path.exists(sys.argv[2]) and time.time() < end:\n"
        "    time.sleep(0.05)\n"
        "sys.exit(int(sys.argv[1]))\n"
    )
    rs = exp.create_run_settings(
        sys.executable, ["-c", prog, "{code}", "{gate}"], run_command="srun", ntasks=1,
    )  # fmt: skip
    # room for the three at once (sizing a job from its members is another test's subject)
    bs = exp.create_batch_settings(nodes=1, time="00:05:00", batch_args={"ntasks-per-node": 3})
    assert isinstance(bs, BatchSettings)
    params = {"gate": ["-", "-", str(gate)], "code": [0, 3, 0]}
    ens = exp.create_ensemble("bm", rs, params, batch_settings=bs, perm_strategy="step")
    exp.start(ens, block=False)
    try:
        deadline = time.monotonic() + 60
        while True:
            statuses = exp.get_status(ens)
            if statuses[:2] == [Status.COMPLETED, Status.FAILED]:
                break
            assert time.monotonic() < deadline, exp.summary()
            time.sleep(0.2)
        assert statuses[2] is Status.RUNNING, exp.summary()  # its batch job still runs
        gate.touch()
        while not exp.finished(ens):
            assert time.monotonic() < deadline, exp.summary()
            time.sleep(0.2)
    finally:
        exp.stop(ens)
    assert exp.get_status(ens) == [Status.COMPLETED, Status.FAILED, Status.COMPLETED]
    report = exp.report()["bm"]
    members = report["members"]
    assert isinstance(members, dict)
    job = str(report["job_id"])
    rows = _sacct(job)
    for member in ens.members:
        got = members[member.name]
        step = str(got["job_id"])
        assert step.startswith(f"{job}.") and rows[step]["name"] == member.name, (got, rows)
    assert members["bm_1"]["returncode"] == 3
    assert rows[str(members["bm_1"]["job_id"])]["exit"] == "3:0"
    summary = exp.summary()
    assert all(f"  {m.name}" in summary for m in ens.members), summary
    recorded = {r.get("member") for r in _journal(str(tmp_path)) if r.get("event") == "status"}
    assert {"bm_0", "bm_1", "bm_2"} <= recorded
    again = _status_json(str(tmp_path))["bm"]["members"]
    assert isinstance(again, dict)
    assert {k: v["status"] for k, v in again.items()} == {
        "bm_0": "COMPLETED", "bm_1": "FAILED", "bm_2": "COMPLETED"
    }  # fmt: skip


@pytest.mark.slurm(accounting=True)
def test_a_rerun_keeps_its_slurm_name_and_writes_its_own_files(alloc: str, tmp_path: Path) -> None:
    """The second run of a model writes ``m.1.out`` while Slurm still calls its step ``m``;
    each run is followed through its own step."""
    exp = Experiment("rerun", exp_path=str(tmp_path), launcher="slurm")
    rs = exp.create_run_settings("sh", ["-c", "echo run"], run_command="srun", nodes=1,
                                 ntasks=1, alloc=alloc)  # fmt: skip
    model = exp.create_model("again", rs)
    exp.start(model, block=True)
    first = str(exp.report()["again"]["job_id"])
    exp.start(model, block=True)
    second = str(exp.report()["again"]["job_id"])
    assert exp.get_status(model) == [Status.COMPLETED]
    assert first != second and first.startswith(f"{alloc}.") and second.startswith(f"{alloc}.")
    for step in (first, second):
        row = _sacct_until_ended(alloc, step)
        assert (row["name"], row["state"]) == ("again", "COMPLETED"), row
    assert (tmp_path / "again" / "again.out").read_text() == "run\n"
    assert (tmp_path / "again" / "again.1.out").read_text() == "run\n"
