"""Batch ensembles as Slurm job arrays: the pure plan (table, script, sbatch argv), the readers
of array task ids, and -- on the project's cluster -- that one array job runs every member with
its own status, id, times and output, that ``max_parallel`` caps how many run at once, and that
a stop leaves every member final and cancelled.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from returns.result import Failure, Success

from smartsim import BatchSettings, Experiment, RunSettings, Status
from smartsim.commands.launch import LaunchContext
from smartsim.commands.plan import World
from smartsim.commands.slurm import srun_command
from smartsim.commands.slurm_array import (
    ARRAY_MIN_MEMBERS,
    array_fallback,
    array_job_state,
    array_member_states,
    array_needs_accounting,
    array_table,
    parse_array_squeue,
    parse_indices,
    plan_array,
    table_problems,
    table_row,
)
from smartsim.commands.slurm_plan import plan_slurm
from smartsim.effects import slurm as slurm_effects
from smartsim.effects.journal import journal_path
from smartsim.errors import ForbiddenCharacter
from smartsim.status import JobState
from smartsim.values import Ensemble, JobId, Model
from tests import strategies

# --------------------------------------------------------------------------- pure: the table

#: Any text a table word may hold: everything but NUL and lone surrogates (hostile on purpose:
#: newlines, CR, quotes, '#', '$', backslashes, '%', unicode).
_texts = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=20
)
_hostile = st.one_of(
    _texts,
    st.sampled_from(["", "\n", "a\nb", "'", '"', "#x", "$HOME", "`id`", "\\", "\\'", "%a", "\r\n",
                     "$'x'", " ", "\t", "\x7f", "${a[@]}", "!!", "*", "~"]),
)  # fmt: skip


def _bash_words(table: str, line: int) -> list[str]:
    """What the array task script's own lines give back for task ``line`` of ``table``: bash
    reads the line and evaluates it (the oracle is bash itself, not our quoting)."""
    script = (
        'mapfile -t -s "$1" -n 1 row <"$2" || exit 9\n'
        '[ "${#row[@]}" -eq 1 ] || exit 8\n'
        'eval "words=(${row[0]})"\n'
        'printf "%s\\0" "${words[@]}"\n'
    )
    with_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"smartsim-table-{os.getpid()}"
    with_file.write_bytes(table.encode("utf-8"))
    try:
        done = subprocess.run(
            ["bash", "-c", script, "bash", str(line), str(with_file)],
            capture_output=True, check=False, env={"PATH": os.environ["PATH"]},
        )  # fmt: skip
    finally:
        with_file.unlink()
    assert done.returncode == 0, done
    return done.stdout.decode("utf-8").split("\0")[:-1]


@given(st.lists(st.lists(_hostile, min_size=1, max_size=6), min_size=1, max_size=4))
def test_every_table_word_comes_back_from_bash_exactly(rows: list[list[str]]) -> None:
    """Each row of the table, read and evaluated by bash as an array task does, gives back
    exactly its words -- whatever they hold -- and every row is one line."""
    table = "".join(table_row(words) + "\n" for words in rows)
    assert table.count("\n") == len(rows)
    k = len(rows) // 2
    assert _bash_words(table, k) == rows[k]


@given(_texts.filter(bool), st.sampled_from(["\x00", "\ud800", "\udcff"]))
def test_what_a_table_cannot_hold_is_a_typed_error(text: str, bad: str) -> None:
    """A NUL or a lone surrogate in a word is refused, naming the field, value and character."""
    value = text[: len(text) // 2] + bad + text[len(text) // 2 :]
    (error,) = [
        e for e in table_problems("args[1]", value)
        if isinstance(e, ForbiddenCharacter) and e.character == bad
    ]  # fmt: skip
    assert (error.field, error.value) == ("args[1]", value)


def _ensemble(
    n: int, args: Callable[[int], Sequence[str]] = lambda i: (f"v{i}",), *,
    bs: BatchSettings | None = None, exe: str = "echo", **shape: Any,
) -> Ensemble:  # fmt: skip
    members = [
        Model(
            name=f"e_{i}",
            path=f"/x/e/e_{i}",
            run_settings=RunSettings(exe=exe, args=tuple(args(i)), run_command="srun", **shape),
        )
        for i in range(n)
    ]
    return Ensemble(name="e", members=members, path="/x/e", batch_settings=bs or BatchSettings())


@given(st.integers(1, 3000), st.one_of(st.none(), st.integers(1, 64)))
def test_an_array_plan_is_one_sbatch_with_a_fixed_script_and_a_line_per_member(
    n: int, cap: int | None
) -> None:
    """N members are one ``sbatch`` of a script whose length does not grow with N, with
    ``--array=0-(N-1)%CAP`` (no ``%`` without a cap), and a table of N lines."""
    ens = _ensemble(n)
    if cap is None and n < ARRAY_MIN_MEMBERS:
        assert array_fallback(ens, cap) is not None
        return
    (launch,) = plan_slurm(ens, World(exp_path="/x"), max_parallel=cap).unwrap()
    assert launch.submission is not None
    assert launch.submission.submit.argv == ("sbatch", "--parsable", "/x/e/e.sbatch")
    script = launch.submission.script.splitlines()
    want = f"#SBATCH --array=0-{n - 1}" + ("" if cap is None else f"%{cap}")
    assert [line for line in script if "--array" in line] == [want]
    one = plan_array(_ensemble(1), World(exp_path="/x")).unwrap().submission
    assert one is not None and len(script) == len(one.script.splitlines())
    table = launch.files["/x/e/e.array"]
    assert table.count("\n") == n
    assert launch.members == tuple(f"e_{i}" for i in range(n))


@given(
    st.lists(st.lists(strategies.any_text(), max_size=4), min_size=1, max_size=5),
    strategies.valid_env(),
    st.data(),
)
def test_hostile_members_are_planned_exactly_or_refused(
    args: list[list[str]], env: dict[str, str], data: st.DataObject
) -> None:
    """Members with any arguments and environment (newlines, quotes, '#', '$', '%', CRLF,
    unicode) are either refused with typed errors naming a member's field and its value, or
    the task's own lines read back from the table exactly the srun step, directory and
    environment the one-job plan would run for that member."""
    members = [
        Model(name=f"e_{i}", path=f"/x/e/e_{i}",
              run_settings=RunSettings(exe="echo", args=a, env=env, run_command="srun"))
        for i, a in enumerate(args)
    ]  # fmt: skip
    ens = Ensemble(name="e", members=members, path="/x/e", batch_settings=BatchSettings())
    got = plan_slurm(ens, World(exp_path="/x"), max_parallel=2)
    if isinstance(got, Failure):
        errors = got.failure().errors
        assert errors
        for e in errors:
            assert e.field.startswith("e_") or e.field.startswith("e.members[")
        return
    (launch,) = got.unwrap()
    k = data.draw(st.integers(0, len(members) - 1))
    m = members[k]
    out, err = f"/x/e/e_{k}/e_{k}.out", f"/x/e/e_{k}/e_{k}.err"
    step = srun_command(m.run_settings, LaunchContext(cwd=m.path, name=m.name, stdout=out,
                                                      stderr=err), in_batch=True)  # fmt: skip
    pairs = [f"{key}={value}" for key, value in step.env.items()]
    words = _bash_words(launch.files["/x/e/e.array"], k)
    assert words == [m.path, str(len(pairs)), *pairs, *step.argv]


def test_the_table_runs_each_members_own_srun_with_its_files() -> None:
    """Task k's line holds member k's directory, env and srun argv (its own --output/--error,
    its job name), as the one-job plan would run it."""
    ens = _ensemble(2, lambda i: ("it's #" + str(i), "$X\n"), env={"A": "1 2"})
    launch = plan_array(ens, World(exp_path="/x"), max_parallel=1).unwrap()
    table = launch.files["/x/e/e.array"]
    words = _bash_words(table, 1)
    assert words[:3] == ["/x/e/e_1", "1", "A=1 2"]
    assert words[3:] == [
        "srun", "--job-name", "e_1", "--output", "/x/e/e_1/e_1.out", "--error",
        "/x/e/e_1/e_1.err", "--exact", "--mem=0", "-N", "1", "-n", "1", "echo", "it's #1", "$X\n",
    ]  # fmt: skip


def test_members_that_differ_in_resources_keep_the_one_job_plan() -> None:
    """An ensemble whose members ask for different task counts is not an array: today's plan
    (one job, its members background steps); a cap asked for it is a typed error naming
    max_parallel, never silently dropped."""
    ens = _ensemble(ARRAY_MIN_MEMBERS)
    members = list(ens.members)
    wider = RunSettings(exe="echo", ntasks=2, run_command="srun")
    members[3] = Model(name="e_3", path="/x/e/e_3", run_settings=wider)
    mixed = Ensemble(name="e", members=members, path="/x/e", batch_settings=BatchSettings())
    assert "other resources" in (array_fallback(mixed) or "")
    (launch,) = plan_slurm(mixed, World(exp_path="/x")).unwrap()
    assert launch.submission is not None and "--array" not in launch.submission.script
    assert launch.steps == tuple(m.name for m in members)
    refused = plan_slurm(mixed, World(exp_path="/x"), max_parallel=4)
    assert isinstance(refused, Failure)
    assert [e.field for e in refused.failure().errors] == ["max_parallel"]


def test_a_member_value_the_table_cannot_hold_is_refused_with_its_field() -> None:
    """A NUL in one member's argument refuses the whole plan with a typed error naming that
    member's field and value (nothing is written)."""
    ens = _ensemble(3, lambda i: ("ok", "bad\x00" if i == 2 else "fine"))
    got = plan_slurm(ens, World(exp_path="/x"), max_parallel=2)
    assert isinstance(got, Failure)
    errors = got.failure().errors
    assert errors and all("bad\x00" in str(e.value) for e in errors)
    assert [e.field for e in errors] == ["e_2.run_settings.args[1]"], errors
    # the array planner itself refuses it too, naming the member (not only model validation)
    direct = plan_array(ens, World(exp_path="/x"), max_parallel=2)
    assert isinstance(direct, Failure)
    assert direct.failure().errors and all(
        e.field.startswith("e.members[2].") and e.value == "bad\x00"
        for e in direct.failure().errors
    ), direct.failure().errors


def test_a_users_own_array_keeps_its_meaning() -> None:
    """BatchSettings(array=...) means every task runs every member: not a member array."""
    ens = _ensemble(ARRAY_MIN_MEMBERS, bs=BatchSettings(array=range(4)))
    assert array_fallback(ens) is not None


# --------------------------------------------------------------------------- pure: the readers


@given(st.sets(st.integers(0, 300), min_size=1, max_size=20), st.integers(1, 9))
def test_a_pending_range_names_exactly_its_tasks(indices: set[int], cap: int) -> None:
    """``J_[a-b,c,...%CAP]`` as squeue/sacct print it reads back the same task indices."""
    ordered = sorted(indices)
    parts: list[str] = []
    start = prev = ordered[0]
    for i in [*ordered[1:], None]:
        if i is not None and i == prev + 1:
            prev = i
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if i is not None:
            start = prev = i
    assert parse_indices(",".join(parts) + f"%{cap}") == frozenset(indices)


_STATES = st.sampled_from([
    ("PENDING", "0"), ("RUNNING", "0"), ("COMPLETED", "0"), ("FAILED", "768"),
    ("CANCELLED", "15"), ("TIMEOUT", "9"),
])  # fmt: skip


@given(st.integers(1, 40), st.data())
def test_each_member_is_its_own_array_task(n: int, data: st.DataObject) -> None:
    """From one squeue listing -- tasks one per line and pending ranges -- each member gets its
    task's state under the id ``J_k``, exit statuses decoded, pending range members PENDING."""
    listed = data.draw(st.integers(0, n))
    lines = []
    states = {}
    for k in range(listed):
        state, code = data.draw(_STATES)
        lines.append(f"77_{k}|{state}|{code}|None")
        states[k] = (state, code)
    if listed < n:
        lines.append(f"77_[{listed}-{n - 1}%3]|PENDING|0|JobArrayTaskLimit")
    queued = parse_array_squeue("\n".join(lines) + "\n").unwrap()
    names = [f"m{k}" for k in range(n)]
    got = array_member_states(JobId(77), names, queued, None, accounting=False, known={})
    assert list(got) == names
    for k, name in enumerate(names):
        member = got[name]
        assert member.job_id == f"77_{k}"
        if k >= listed:
            assert (member.status, member.reason) == (Status.PENDING, "JobArrayTaskLimit")
            continue
        state, code = states[k]
        assert member.raw == state
        if state == "COMPLETED":
            assert member.returncode == 0
        elif state == "FAILED":
            assert member.returncode == 3
        elif state in ("CANCELLED", "TIMEOUT"):
            assert member.returncode == -int(code) and member.signal == int(code)
    assert array_needs_accounting(JobId(77), names, queued, {}) == any(
        states[k][0] not in ("PENDING", "RUNNING") for k in range(listed)
    )
    overall = array_job_state(list(got.values()))
    if any(s.status is Status.RUNNING for s in got.values()):
        assert overall.status is Status.RUNNING
    elif all(s.status.is_final for s in got.values()):
        assert overall.status.is_final


def test_with_accounting_an_ended_task_waits_for_its_sacct_row() -> None:
    """With accounting, squeue's end is not final until sacct has the row (with Slurm's own
    start/end); a range sacct lists as cancelled never ran: CANCELLED with no exit status."""
    queued = parse_array_squeue("5_0|COMPLETED|0|None\n5_1|RUNNING|0|None\n").unwrap()
    names = ["a", "b", "c"]
    got = array_member_states(JobId(5), names, queued, [], accounting=True, known={})
    assert (got["a"].status, got["a"].raw) == (Status.RUNNING, "COMPLETING")
    rows = [
        ("5_0", JobState(Status.COMPLETED, "COMPLETED", 0, start=10.0, end=12.0,
                         reason="JobArrayTaskLimit")),
        ("5_0.0", JobState(Status.COMPLETED, "COMPLETED", 0)),
        ("5_1", JobState(Status.CANCELLED, "CANCELLED by 1", -15, 15, start=10.0, end=13.0)),
        ("5_[2]", JobState(Status.CANCELLED, "CANCELLED by 1", 0)),
    ]  # fmt: skip
    got = array_member_states(JobId(5), names, {}, rows, accounting=True, known=got)
    assert (got["a"].status, got["a"].end, got["a"].reason) == (Status.COMPLETED, 12.0, "")
    assert (got["b"].status, got["b"].returncode, got["b"].job_id) == (
        Status.CANCELLED, -15, "5_1"
    )  # fmt: skip
    assert (got["c"].status, got["c"].returncode, got["c"].job_id) == (
        Status.CANCELLED, None, "5_2"
    )  # fmt: skip
    # a cancelled task's own row reads 0:0; its member's step says how it was ended
    rows = [
        ("6_0", JobState(Status.CANCELLED, "CANCELLED by 0", 0)),
        ("6_0.batch", JobState(Status.FAILED, "FAILED", 15)),
        ("6_0.0", JobState(Status.CANCELLED, "CANCELLED", -15, 15)),
        ("6_1", JobState(Status.CANCELLED, "CANCELLED by 0", 0)),
    ]
    got = array_member_states(JobId(6), ["a", "b"], {}, rows, accounting=True, known={})
    assert (got["a"].returncode, got["a"].signal) == (-15, 15)
    assert got["b"].returncode is None and "no exit status" in got["b"].reason


def test_a_cancelled_task_whose_step_still_runs_has_not_ended() -> None:
    """slurmctld records a cancelled task's end (0:0) when it cancels it, the running step's
    only once its tasks are dead: in between the member is not final (it did run; its exit is
    not "none"), and it ends with its step's signal once that row is there."""
    rows = [
        ("6_0", JobState(Status.CANCELLED, "CANCELLED by 0", 0)),
        ("6_0.0", JobState(Status.RUNNING, "RUNNING")),
    ]
    got = array_member_states(JobId(6), ["a"], {}, rows, accounting=True, known={})
    assert (got["a"].status, got["a"].raw, got["a"].returncode) == (
        Status.RUNNING, "COMPLETING", None
    )  # fmt: skip
    rows[1] = ("6_0.0", JobState(Status.CANCELLED, "CANCELLED", -15, 15))
    got = array_member_states(JobId(6), ["a"], {}, rows, accounting=True, known=got)
    assert (got["a"].status, got["a"].returncode, got["a"].signal) == (Status.CANCELLED, -15, 15)


def test_without_accounting_a_task_gone_unseen_is_unknown_not_guessed() -> None:
    """A member seen running whose task left squeue, with no accounting, is UNKNOWN -- never
    COMPLETED by guess."""
    running = {"b": JobState(Status.RUNNING, "RUNNING", job_id="5_1")}
    got = array_member_states(JobId(5), ["a", "b"], {}, None, accounting=False, known=running)
    assert got["b"].status is Status.UNKNOWN and "not known" in got["b"].reason


def test_the_squeue_reader_refuses_what_it_does_not_know() -> None:
    """A line that is not ``id|state|exit|reason`` makes the whole text a failure."""
    assert isinstance(parse_array_squeue("garbage\n"), Failure)
    assert isinstance(parse_array_squeue("12|RUNNING|0|None\n"), Success)


def test_array_table_has_one_line_per_member() -> None:
    """A member whose argument holds newlines is still one table line."""
    rs = RunSettings(exe="echo", args=("a\nb\nc",), run_command="srun")
    ctx = LaunchContext(cwd="/w", name="m", stdout="/w/m.out", stderr="/w/m.err")
    assert array_table([(rs, ctx)] * 3).count("\n") == 3


# --------------------------------------------------------------------------- on the cluster


def _sacct(job: str) -> dict[str, dict[str, str]]:
    done = subprocess.run(
        ["sacct", "-n", "-P", "--format=JobID,State,ExitCode,Start,End,JobName", "-j", job],
        capture_output=True, text=True, check=True, env={**os.environ, "SLURM_TIME_FORMAT": "%s"},
    )  # fmt: skip
    rows = {}
    for line in done.stdout.splitlines():
        jid, state, code, start, end, name = line.split("|", 5)
        rows[jid] = {"state": state, "exit": code, "start": start, "end": end, "name": name}
    return rows


_ENDING = ("CANCELLED", "COMPLETING")


def _squeue_jobs(job: str) -> list[str]:
    done = subprocess.run(
        ["squeue", "-h", "-r", "-o", "%i|%T", f"--jobs={job}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return [line for line in done.stdout.splitlines() if line.strip()]


def _squeue_steps() -> list[str]:
    done = subprocess.run(
        ["squeue", "-h", "-s", "--me", "-o", "%i"], capture_output=True, text=True, check=False
    )
    return done.stdout.split()


class _Calls:
    """Every Slurm client argv the launcher runs, and where each poll began."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.argvs: list[tuple[str, ...]] = []
        self.polls: list[int] = []
        real_run = slurm_effects.run  # type: ignore[attr-defined]
        real_poll = slurm_effects.SlurmLauncher.poll

        def run(command: Any, **kw: Any) -> Any:
            self.argvs.append(tuple(command.argv))
            return real_run(command, **kw)

        def poll(launcher: Any, handles: Any) -> Any:
            self.polls.append(len(self.argvs))
            return real_poll(launcher, handles)

        monkeypatch.setattr(slurm_effects, "run", run)
        monkeypatch.setattr(slurm_effects.SlurmLauncher, "poll", poll)

    def per_poll(self) -> list[list[str]]:
        """The client names each poll ran (``squeue``, ``sacct``...)."""
        bounds = [*self.polls, len(self.argvs)]
        return [[a[0] for a in self.argvs[i:j]] for i, j in itertools.pairwise(bounds)]


@pytest.fixture
def cleanup() -> Iterator[list[str]]:
    """Job ids to scancel after the test, whatever happened."""
    jobs: list[str] = []
    yield jobs
    if jobs:
        subprocess.run(["scancel", *jobs], capture_output=True, check=False)


def _journal_members(exp_dir: Path) -> dict[str, dict[str, Any]]:
    last: dict[str, dict[str, Any]] = {}
    for line in Path(journal_path(str(exp_dir))).read_text().splitlines():
        record = json.loads(line)
        if record.get("event") == "status" and record.get("member"):
            last[record["member"]] = record
    return last


@pytest.mark.slurm(accounting=True)
def test_500_members_run_as_one_array_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cleanup: list[str]
) -> None:
    """500 parameter members are one ``sbatch --array=0-499``: sacct has tasks J_0 ... J_499
    whose steps carry the members' names; each member's status, id ``J_k``, return code and
    Slurm's own start/end are recorded (summary, journal), and its own file holds its echo.
    Every poll runs one squeue and at most one sacct."""
    calls = _Calls(monkeypatch)
    n = 500
    exp = Experiment("arr500", exp_path=str(tmp_path), launcher="slurm")
    rs = exp.create_run_settings("echo", ["value-{v}"], run_command="srun", ntasks=1)
    bs = exp.create_batch_settings(time="00:05:00")
    ens = exp.create_ensemble("N", rs, {"v": [str(i) for i in range(n)]}, batch_settings=bs)
    plan = exp.preview(ens)
    (launch,) = plan.launches
    assert launch.submission is not None and "--array=0-499\n" in launch.submission.script
    try:
        exp.start(ens, block=True)
    finally:
        report = exp.report()["N"]
        if report.get("job_id"):
            cleanup.append(str(report["job_id"]))
    job = str(report["job_id"])
    assert [a[0] for a in calls.argvs].count("sbatch") == 1
    for names in calls.per_poll():
        assert names.count("squeue") <= 1 and names.count("sacct") <= 1, names
        assert set(names) <= {"squeue", "sacct"}, names
    assert exp.get_status(ens) == [Status.COMPLETED] * n, exp.summary()
    rows = _sacct(job)
    members = report["members"]
    assert isinstance(members, dict)
    summary = exp.summary()
    journaled = _journal_members(tmp_path)
    # sacct says which member ran as which task (the step of task k is named after member k)
    by_name = {row["name"]: jid.split(".")[0] for jid, row in rows.items() if jid.endswith(".0")}
    for k, member in enumerate(ens.members):
        task = f"{job}_{k}"
        assert rows[task]["state"] == "COMPLETED", rows.get(task)
        assert by_name[member.name] == task
        got = members[member.name]
        assert (got["job_id"], got["status"], got["returncode"]) == (task, "COMPLETED", 0)
        assert journaled[member.name]["step_id"] == task
        assert f"  {member.name}  " in summary and f"  {task}  " in summary
        out = Path(member.path) / f"{member.name}.out"
        assert out.read_text() == f"value-{member.params['v']}\n"
    # another process reads the same from the journal
    done = subprocess.run(
        [sys.executable, "-m", "smartsim", "status", str(tmp_path), "--format", "json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    again = json.loads(done.stdout)["launches"]["N"]["members"]
    assert {k: (v["status"], v["job_id"]) for k, v in again.items()} == {
        m.name: ("COMPLETED", f"{job}_{k}") for k, m in enumerate(ens.members)
    }
    # Slurm's own times: the recorded end of a member is sacct's End (to the second)
    last = ens.members[-1]
    ended = members[last.name]["ended"]
    assert ended is not None and abs(float(ended) - float(rows[f"{job}_{n - 1}"]["end"])) < 1.5


def _overlap(intervals: Sequence[tuple[float, float]]) -> int:
    """The most half-open intervals ``[start, end)`` that share one instant."""
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    most = now = 0
    for _, step in events:
        now += step
        most = max(most, now)
    return most


@pytest.mark.slurm
def test_a_cap_of_4_keeps_at_most_4_tasks_running(
    tmp_path: Path, cleanup: list[str], slurm_cluster: Any
) -> None:
    """``max_parallel=4`` is ``--array=...%4``: sampled squeue never lists more than 4 of the
    12 tasks running (and does list 4), and, with accounting, sacct's Start/End never overlap
    more than 4 deep."""
    exp = Experiment("cap4", exp_path=str(tmp_path), launcher="slurm")
    rs = exp.create_run_settings("sleep", ["{t}"], run_command="srun", ntasks=1)
    bs = exp.create_batch_settings(time="00:05:00")
    ens = exp.create_ensemble("C", rs, {"t": ["2"] * 12}, batch_settings=bs, perm_strategy="step")
    (launch,) = exp.preview(ens, max_parallel=4).launches
    assert launch.submission is not None and "--array=0-11%4\n" in launch.submission.script
    exp.start(ens, block=False, max_parallel=4)
    job = str(exp.report()["C"]["job_id"])
    cleanup.append(job)
    samples: list[int] = []
    deadline = time.monotonic() + 90
    while not exp.finished(ens):
        assert time.monotonic() < deadline, exp.summary()
        samples.append(sum(1 for line in _squeue_jobs(job) if line.endswith("|RUNNING")))
        time.sleep(0.1)
    assert exp.get_status(ens) == [Status.COMPLETED] * 12, exp.summary()
    assert max(samples) == 4, samples
    if slurm_cluster.accounting:
        rows = _sacct(job)
        spans = [(float(rows[f"{job}_{k}"]["start"]), float(rows[f"{job}_{k}"]["end"]))
                 for k in range(12)]  # fmt: skip
        assert 2 <= _overlap(spans) <= 4, spans


@pytest.mark.slurm
def test_stop_cancels_the_array_and_every_member_ends_cancelled(
    tmp_path: Path, cleanup: list[str], slurm_cluster: Any
) -> None:
    """Stopping a capped array mid-run: ``stop`` returns once every member is final; the
    running ones are CANCELLED with a signalled return code (with accounting), the pending ones
    CANCELLED without one (they never ran); squeue lists nothing of the job after."""
    exp = Experiment("stoparr", exp_path=str(tmp_path), launcher="slurm")
    rs = exp.create_run_settings("sleep", ["{t}"], run_command="srun", ntasks=1)
    bs = exp.create_batch_settings(time="00:05:00")
    ens = exp.create_ensemble("S", rs, {"t": ["60"] * 6}, batch_settings=bs, perm_strategy="step")
    exp.start(ens, block=False, max_parallel=2)
    job = str(exp.report()["S"]["job_id"])
    cleanup.append(job)
    deadline = time.monotonic() + 60
    while sum(1 for line in _squeue_jobs(job) if line.endswith("|RUNNING")) < 2:
        assert time.monotonic() < deadline, _squeue_jobs(job)
        time.sleep(0.2)
    # the members' own steps run, not only the tasks' scripts (a task cancelled before its
    # srun step started has no exit status to give)
    while {f"{job}_0.0", f"{job}_1.0"} - set(_squeue_steps()):
        assert time.monotonic() < deadline, _squeue_steps()
        time.sleep(0.2)
    while exp.get_status(ens)[:2] != [Status.RUNNING, Status.RUNNING]:
        assert time.monotonic() < deadline, exp.summary()
        time.sleep(0.2)
    exp.stop(ens)
    assert exp.get_status(ens) == [Status.CANCELLED] * 6, exp.summary()
    members = exp.report()["S"]["members"]
    assert isinstance(members, dict)
    for k, m in enumerate(ens.members):
        got = members[m.name]
        assert got["job_id"] == f"{job}_{k}", got
        if k >= 2:
            assert got["returncode"] is None, got  # never ran: no exit status
        elif slurm_cluster.accounting:
            assert got["returncode"] is not None and got["returncode"] < 0, got
    # nothing of the job runs or waits to run (a cancelled job is COMPLETING in squeue until
    # its nodes report it clean, which can come after its steps' ends are recorded)
    left = [line for line in _squeue_jobs(job) if line.rpartition("|")[2] not in _ENDING]
    assert left == []


@pytest.mark.slurm_no_accounting
def test_without_accounting_members_end_with_squeues_exit_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cleanup: list[str]
) -> None:
    """Without accounting, 100 members' ends and return codes come from their tasks' squeue
    rows (the wait status), with ids ``J_k`` and each output in its own file; every poll is
    one squeue, and no sacct runs once one said there is no accounting."""
    calls = _Calls(monkeypatch)
    n = 100
    exp = Experiment("noacct", exp_path=str(tmp_path), launcher="slurm")
    prog = 'echo "$1"; exit "$2"'
    rs = exp.create_run_settings("sh", ["-c", prog, "sh", "{p}", "{c}"], run_command="srun")
    bs = exp.create_batch_settings(time="00:05:00")
    hostile = ["it's #0 $HOME", "two\nlines", "%a %% \\ `x`", '"q" $(id)']
    texts = [hostile[k] if k < len(hostile) else f"v{k}" for k in range(n)]
    codes = [str(k % 7 if k % 5 == 1 else 0) for k in range(n)]
    params = {"p": texts, "c": codes}
    ens = exp.create_ensemble("Q", rs, params, batch_settings=bs, perm_strategy="step")
    try:
        exp.start(ens, block=True, max_parallel=16)
    finally:
        report = exp.report()["Q"]
        if report.get("job_id"):
            cleanup.append(str(report["job_id"]))
    job = str(report["job_id"])
    members = report["members"]
    assert isinstance(members, dict)
    for k, m in enumerate(ens.members):
        got = members[m.name]
        want = int(codes[k])
        assert got["job_id"] == f"{job}_{k}", got
        assert (got["status"], got["returncode"]) == (
            "COMPLETED" if want == 0 else "FAILED", want
        ), got  # fmt: skip
        assert (Path(m.path) / f"{m.name}.out").read_text() == texts[k] + "\n"
    names = [a[0] for a in calls.argvs]
    assert names.count("sbatch") == 1 and names.count("sacct") <= 1, names
    for polled in calls.per_poll():
        assert polled.count("squeue") <= 1 and set(polled) <= {"squeue", "sacct"}, polled
