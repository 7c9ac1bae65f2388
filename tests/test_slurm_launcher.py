"""The Slurm launcher: its pure planner and outcome rules, then the real cluster.

The first half needs no Slurm: the plan of each kind of entity, the typed errors, the rule that
a step's ``srun`` evidence is never read as a completion it was not. The second half (marked
``slurm``) runs models as ``srun`` steps in an allocation and ensembles as one ``sbatch`` job on
the project's cluster, and reads back from every member's output what ran where and when.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure, Result, Success
from returns.unsafe import unsafe_perform_io

from smartsim import BatchSettings, Ensemble, JobId, Model, RunSettings, Status
from smartsim.commands.plan import World
from smartsim.commands.slurm_plan import (
    job_id_text,
    parse_squeue_steps,
    plan_slurm,
    squeue_steps_argv,
    srun_outcome,
)
from smartsim.effects.launcher import Handle
from smartsim.effects.slurm import SlurmLauncher, enclosing_allocation
from smartsim.errors import ConflictingOptions, EffectError, Unsupported
from smartsim.status import JobState
from tests.strategies import job_ids

# =========================================================================== pure


def _model(name: str = "m", path: str = "/e/m", **fields: object) -> Model:
    rs = RunSettings(exe="echo", args=("a b",), **fields)
    return Model(name=name, path=path, run_settings=rs)


def test_model_is_one_srun_step_in_the_worlds_allocation() -> None:
    """A model is one ``srun --jobid`` step named after the model (a rerun too), writing its
    run's files."""
    (launch,) = plan_slurm(_model(), World(exp_path="/e", alloc="42", run_index=2)).unwrap()
    assert launch.command is not None
    argv = launch.command.argv
    # -v: srun names the step it launches in its own log
    assert argv[:6] == ("srun", "-v", "--jobid", "42", "--job-name", "m")
    assert argv[6:8] == ("--output", "/e/m/m.2.out")
    assert argv[8:10] == ("--error", "/e/m/m.2.err")
    assert argv[-2:] == ("echo", "a b")
    assert launch.command.stderr == "/e/m/m.2.srun.log"
    assert launch.mkdirs == ("/e/m",)
    assert launch.submission is None


def test_run_settings_alloc_wins_over_the_world() -> None:
    """``RunSettings.alloc`` is the step's allocation even inside another one."""
    (launch,) = plan_slurm(_model(alloc="7"), World(exp_path="/e", alloc="42")).unwrap()
    assert launch.command is not None
    assert launch.command.argv[2:4] == ("--jobid", "7")


def test_without_allocation_srun_gets_its_own_job() -> None:
    """No allocation anywhere: srun makes its own job (no ``--jobid``)."""
    (launch,) = plan_slurm(_model(), World(exp_path="/e")).unwrap()
    assert launch.command is not None
    assert "--jobid" not in launch.command.argv


def test_launchers_enclosing_allocation_is_the_fallback() -> None:
    """The launcher's own ``SLURM_JOB_ID`` (read once) is used when the world has none."""
    launcher = SlurmLauncher(environ={"SLURM_JOB_ID": "99"})
    (launch,) = launcher.plan(_model(), World(exp_path="/e")).unwrap()
    assert launch.command is not None
    assert launch.command.argv[2:4] == ("--jobid", "99")
    assert enclosing_allocation({"SLURM_JOBID": "5"}) == "5"
    assert enclosing_allocation({"SLURM_JOB_ID": "not-an-id"}) is None


def test_batch_ensemble_is_one_script_with_background_members() -> None:
    """An ensemble with batch settings is ONE sbatch job; every member is a background step."""
    members = tuple(_model(f"e_{i}", f"/e/ens/e_{i}") for i in range(3))
    ens = Ensemble(
        name="ens", members=members, path="/e/ens", batch_settings=BatchSettings(nodes=2)
    )
    (launch,) = plan_slurm(ens, World(exp_path="/e", alloc="42")).unwrap()
    assert launch.members == ("e_0", "e_1", "e_2")
    assert launch.submission is not None
    assert launch.submission.submit.argv[:2] == ("sbatch", "--parsable")
    script = launch.submission.script
    assert "#SBATCH -N 2" in script
    for i in range(3):
        line = next(x for x in script.splitlines() if f"--job-name e_{i} " in x)
        assert line.endswith("&")
        assert f"--output /e/ens/e_{i}/e_{i}.out" in line
        assert "--jobid" not in line  # members run in the batch job, not the caller's
    assert script.rstrip().endswith('exit "$smartsim_rc"')


def test_after_makes_a_dependency() -> None:
    """Planning after other batch jobs adds ``--dependency=afterok`` with their ids."""
    bs = BatchSettings(nodes=1)
    model = attrs.evolve(_model(), batch_settings=bs)
    for planned in (
        plan_slurm(model, World(exp_path="/e"), after=("12", "13;cl")),
        plan_slurm(model, World(exp_path="/e", after=("12", "13;cl"))),
    ):
        (launch,) = planned.unwrap()
        assert launch.submission is not None
        argv = launch.submission.submit.argv
        assert argv[argv.index("--dependency") + 1] == "afterok:12:13"


def test_after_context_applies_to_batch_handles_only() -> None:
    """``launcher.after(handles)`` makes the next plans depend on those batch jobs."""
    launcher = SlurmLauncher(environ={})
    a = Handle(launcher="slurm", name="a", job_id="31", extra=(("kind", "batch"),))
    step = Handle(launcher="slurm", name="s", job_id="40", extra=(("kind", "step"),))
    model = attrs.evolve(_model(), batch_settings=BatchSettings(nodes=1))
    with launcher.after([a, step]):
        (launch,) = launcher.plan(model, World(exp_path="/e")).unwrap()
    assert launch.submission is not None
    assert "afterok:31" in launch.submission.submit.argv
    (later,) = launcher.plan(model, World(exp_path="/e")).unwrap()
    assert later.submission is not None
    assert "--dependency" not in later.submission.submit.argv


def test_other_run_commands_are_refused() -> None:
    """A model under the Slurm launcher runs as an srun step or an Open MPI/MPICH launcher in
    an allocation: mpirun is planned, aprun is a typed error."""
    assert isinstance(plan_slurm(_model(run_command="mpirun"), World(exp_path="/e", alloc="4")),
                      Success)  # fmt: skip
    bad = _model(run_command="aprun")
    errors = plan_slurm(bad, World(exp_path="/e", alloc="4")).failure().errors
    assert [type(e) for e in errors] == [Unsupported]
    assert errors[0].field == "m.run_settings.run_command"


def test_conflicting_member_batch_settings() -> None:
    """A member's own batch settings cannot differ from its batch ensemble's."""
    m = attrs.evolve(_model("e_0", "/e/ens/e_0"), batch_settings=BatchSettings(nodes=3))
    ens = Ensemble(name="ens", members=(m,), path="/e/ens", batch_settings=BatchSettings(nodes=2))
    errors = plan_slurm(ens, World(exp_path="/e")).failure().errors
    assert any(isinstance(e, ConflictingOptions) for e in errors)


def test_invalid_srun_settings_are_all_reported() -> None:
    """Every srun problem comes back, each named after the model."""
    bad = _model(nodes=0, run_args={"N": 2, "chdir": "/x"})
    errors = plan_slurm(bad, World(exp_path="/e")).failure().errors
    fields = {e.field for e in errors}
    assert "m.run_settings.nodes" in fields
    assert any(f.startswith("m.run_settings.run_args") for f in fields)


def test_planning_is_pure(monkeypatch: pytest.MonkeyPatch) -> None:
    """Planning runs nothing and reads no clock, environment or file."""

    def boom(*_: object, **__: object) -> None:
        raise AssertionError("planning touched the world")

    monkeypatch.setattr(subprocess, "Popen", boom)
    monkeypatch.setattr(subprocess, "run", boom)
    monkeypatch.setattr(time, "time", boom)
    monkeypatch.setattr(time, "monotonic", boom)
    monkeypatch.setattr(os, "getenv", boom)
    monkeypatch.setattr("builtins.open", boom)
    members = tuple(_model(f"e_{i}", f"/e/ens/e_{i}") for i in range(2))
    ens = Ensemble(name="ens", members=members, path="/e/ens", batch_settings=BatchSettings())
    assert isinstance(plan_slurm(ens, World(exp_path="/e")), Success)
    assert isinstance(plan_slurm(members[0], World(exp_path="/e")), Success)


_BANNER = "slurmstepd: error: *** STEP 9.0 ON n1 CANCELLED AT 2026-01-01T00:00:00{} ***"


@pytest.mark.parametrize(
    ("returncode", "messages", "stopped", "status", "raw"),
    [
        (0, "", False, Status.COMPLETED, "COMPLETED"),
        (3, "srun: error: n1: task 0: Exited with exit code 3", False, Status.FAILED, "FAILED"),
        (143, _BANNER.format(" DUE TO TIME LIMIT"), False, Status.FAILED, "TIMEOUT"),
        (143, _BANNER.format(""), False, Status.CANCELLED, "CANCELLED"),
        (143, _BANNER.format(" DUE TO PREEMPTION"), False, Status.FAILED, "PREEMPTED"),
        (137, "slurmstepd: error: Detected 1 oom-kill event(s)", False, Status.FAILED,
         "OUT_OF_MEMORY"),
        (143, "srun: Job step aborted", True, Status.CANCELLED, "CANCELLED"),
        # no banner (a cancel in a step's first ~0.1 s is logged to slurmd's log only), but
        # srun says slurmctld ended the step: a cancel, as far as can be told (verified 22.05)
        (137, "srun: Job step aborted: Waiting up to 7 seconds for job step to finish.\n"
              "srun: error: n1: task 0: Killed", False, Status.CANCELLED, "CANCELLED"),
        # a task killed by someone else: srun was not told by slurmctld (verified 22.05)
        (137, "srun: error: n1: task 0: Killed\nsrun: Force Terminated StepId=1.35", False,
         Status.FAILED, "FAILED"),
        # srun ended its own step (--kill-on-bad-exit): not a cancel
        (137, "srun: error: n1: task 1: Exited with exit code 3\nsrun: Terminating StepId=4.0"
              "\nsrun: Job step aborted", False, Status.FAILED, "FAILED"),
        # a task that exited 137 by itself is an exit code, not a signal
        (137, "srun: error: n1: task 0: Exited with exit code 137", False, Status.FAILED,
         "FAILED"),
        (1, "srun: error: Unable to create step for job 2: More processors requested than "
            "permitted", False, Status.FAILED, "FAILED"),
    ],
)  # fmt: skip
def test_srun_outcome_table(
    returncode: int, messages: str, stopped: bool, status: Status, raw: str
) -> None:
    """srun's exit status and Slurm's messages give the step's final state; srun's 128 + N
    (a task killed by signal N) reads returncode -N, as a local process would."""
    state = srun_outcome(returncode, messages, stopped=stopped)
    signalled = returncode > 128 and f"exit code {returncode}" not in messages
    code = 128 - returncode if signalled else returncode
    assert (state.status, state.raw, state.returncode) == (status, raw, code)
    assert state.signal == (returncode - 128 if signalled else None)


# Verified on 22.05: a step scancelled while srun was still launching it; srun exited 0.
_EARLY_CANCEL = (
    "srun: launch/slurm: launch_p_step_launch: StepId=25.2 aborted before step completely "
    "launched.\nsrun: Job step aborted: Waiting up to 7 seconds for job step to finish.\n"
    "srun: error: Timed out waiting for job step to complete\n"
)


@pytest.mark.parametrize("err", ["", _BANNER.format("")])
@pytest.mark.parametrize("stopped", [False, True])
def test_a_step_cancelled_while_launching_is_not_completed(err: str, stopped: bool) -> None:
    """srun exits 0 for a step ended before its tasks started: CANCELLED, no exit status."""
    state = srun_outcome(0, _EARLY_CANCEL + err, stopped=stopped)
    assert (state.status, state.returncode, state.signal) == (Status.CANCELLED, None, None)
    assert "before its tasks had started" in state.reason


@given(st.text(), st.booleans())
def test_an_exit_0_with_slurms_cancel_words_is_never_completed(text: str, stopped: bool) -> None:
    """Whatever else srun printed, an exit 0 next to a cancel banner or srun's abort is not a
    completion."""
    for words in (_BANNER.format(""), "srun: Job step aborted", _EARLY_CANCEL):
        assert srun_outcome(0, text + "\n" + words, stopped=stopped).status is not Status.COMPLETED


@given(st.integers(1, 255), st.text(), st.booleans())
def test_srun_outcome_never_invents_a_completion(code: int, messages: str, stopped: bool) -> None:
    """A non-zero srun exit is never COMPLETED, whatever was printed."""
    state = srun_outcome(code, messages, stopped=stopped)
    assert state.status in (Status.FAILED, Status.CANCELLED)
    if state.signal is None:
        assert state.returncode == code
    else:  # a signal is read only from 128 + N, and then the returncode says so
        assert (state.signal, state.returncode) == (code - 128, 128 - code)


@given(job_ids())
def test_job_id_text_round_trips(jid: JobId) -> None:
    """The recorded id text parses back to the same id, cluster included."""
    assert JobId.parse(job_id_text(jid)).unwrap() == jid


@given(st.text())
def test_parse_squeue_steps_never_raises(text: str) -> None:
    """The step listing parser returns a Result on any text."""
    assert isinstance(parse_squeue_steps(text), (Success, Failure))


@given(
    st.lists(
        st.tuples(
            st.integers(1, 10**6),
            st.integers(0, 99),
            st.text(
                alphabet=st.characters(
                    exclude_characters="\n\r\x00\x85\x0b\x0c\x1c\x1d\x1e\u2028\u2029"
                ),
                max_size=10,
            ),
        )
    )
)
def test_parse_squeue_steps_reads_every_line(rows: list[tuple[int, int, str]]) -> None:
    """Every ``id|name`` line comes back as (step id, name), names with ``|`` included."""
    text = "".join(f"{job}.{step}|{name}\n" for job, step, name in rows)
    parsed = parse_squeue_steps(text).unwrap()
    assert [(j.job, j.step, n) for j, n in parsed] == [(a, str(b), c) for a, b, c in rows]


def test_squeue_steps_argv_carries_the_cluster() -> None:
    """``-M`` goes on the step listing too."""
    assert squeue_steps_argv() == ("squeue", "-h", "-s", "--me", "-o", "%i|%j")
    assert squeue_steps_argv("c2")[1:3] == ("-M", "c2")


# --------------------------------------------------------------------------- poll, with stand-ins
# Fake squeue/sacct print what the test put in files and record their argv: states a small
# cluster cannot produce on demand (NODE_FAIL, OUT_OF_MEMORY, BOOT_FAIL, a controller that is
# down, accounting that is off).

_FAKE_TOOL = """#!/bin/bash
tool=$(basename "$0")
printf '%s\\n' "$tool $*" >> "$FAKE_DIR/calls"
[ -f "$FAKE_DIR/$tool.err" ] && cat "$FAKE_DIR/$tool.err" >&2
[ -f "$FAKE_DIR/$tool.out" ] && cat "$FAKE_DIR/$tool.out"
exit $(cat "$FAKE_DIR/$tool.rc" 2>/dev/null || echo 0)
"""


class FakeSlurm:
    """Canned outputs for squeue/sacct/scancel and the argv each was called with."""

    def __init__(self, root: os.PathLike[str]) -> None:
        self.root = str(root)

    def say(self, tool: str, out: str = "", err: str = "", rc: int = 0) -> None:
        for suffix, text in (("out", out), ("err", err), ("rc", str(rc))):
            with open(os.path.join(self.root, f"{tool}.{suffix}"), "w") as handle:
                handle.write(text)

    def calls(self) -> list[str]:
        path = os.path.join(self.root, "calls")
        if not os.path.exists(path):
            return []
        with open(path) as handle:
            return handle.read().splitlines()


@pytest.fixture
def fake(tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch) -> FakeSlurm:
    bin_dir = os.path.join(tmp_path, "bin")
    os.makedirs(bin_dir)
    for tool in ("squeue", "sacct", "scancel"):
        path = os.path.join(bin_dir, tool)
        with open(path, "w") as handle:
            handle.write(_FAKE_TOOL)
        os.chmod(path, 0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_DIR", str(tmp_path))
    return FakeSlurm(tmp_path)


def _batch(job_id: str) -> Handle:
    return Handle(launcher="slurm", name="b", job_id=job_id, extra=(("kind", "batch"),))


def _poll_one(launcher: SlurmLauncher, handle: Handle) -> JobState:
    return unsafe_perform_io(launcher.poll([handle]).unwrap())[handle]


@pytest.mark.parametrize("state", ["NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL", "TIMEOUT",
                                   "DEADLINE", "FAILED"])  # fmt: skip
def test_failure_states_from_accounting(fake: FakeSlurm, state: str) -> None:
    """A job that left squeue and that sacct says ended in a failure state is FAILED."""
    fake.say("squeue", err="slurm_load_jobs error: Invalid job id specified\n", rc=1)
    fake.say("sacct", out=f"12|{state}|0:9|None|1|2|b\n12.batch|{state}|0:9||1|2|batch\n")
    got = _poll_one(SlurmLauncher(environ={}), _batch("12"))
    assert (got.status, got.raw) == (Status.FAILED, state)


def test_squeue_wins_while_the_job_is_listed(fake: FakeSlurm) -> None:
    """A requeued job that squeue lists PENDING is PENDING, whatever sacct's older rows say."""
    fake.say("squeue", out="12|PENDING|BeginTime\n")
    fake.say("sacct", out="12|PREEMPTED|0:15|None|1|2|b\n")
    launcher = SlurmLauncher(environ={})
    got = _poll_one(launcher, _batch("12"))
    assert (got.status, got.reason) == (Status.PENDING, "BeginTime")
    assert [c.split()[0] for c in fake.calls()] == ["squeue"]  # live: no sacct at all


def test_finished_in_squeue_gets_its_exit_code_from_sacct(fake: FakeSlurm) -> None:
    """A job squeue still shows as FAILED takes its exit code from sacct when it has it."""
    fake.say("squeue", out="12|FAILED|NonZeroExitCode\n")
    fake.say("sacct", out="12|FAILED|3:0|None|1|2|b\n")
    got = _poll_one(SlurmLauncher(environ={}), _batch("12"))
    assert (got.status, got.returncode) == (Status.FAILED, 3)


def test_without_accounting_a_vanished_job_is_unknown_not_completed(fake: FakeSlurm) -> None:
    """No squeue row and no accounting: UNKNOWN (never COMPLETED), and sacct is not asked
    again."""
    fake.say("squeue", err="slurm_load_jobs error: Invalid job id specified\n", rc=1)
    fake.say("sacct", err="sacct: error: Slurm accounting storage is disabled\n", rc=1)
    launcher = SlurmLauncher(environ={})
    got = _poll_one(launcher, _batch("12"))
    assert got.status is Status.UNKNOWN
    assert launcher.accounting is False
    _poll_one(launcher, _batch("12"))
    assert [c.split()[0] for c in fake.calls()] == ["squeue", "sacct", "squeue"]


def test_unreachable_controller_is_a_transient_failure(fake: FakeSlurm) -> None:
    """squeue that cannot reach slurmctld makes the poll a transient SchedulerUnavailable."""
    fake.say(
        "squeue", err="slurm_load_jobs error: Unable to contact slurm controller (connect "
        "failure)\n", rc=1,
    )  # fmt: skip
    result = SlurmLauncher(environ={}).poll([_batch("12")])
    assert isinstance(result, IOFailure)
    error = unsafe_perform_io(result.failure())
    assert error.transient and "Unable to contact" in error.message


def test_cluster_goes_on_every_call(fake: FakeSlurm) -> None:
    """A job id ``12;other`` puts ``-M other`` on squeue, sacct and scancel."""
    fake.say("squeue", out="")
    fake.say("sacct", out="12|CANCELLED by 0|0:0|None|1|2|b\n")
    launcher = SlurmLauncher(environ={})
    handle = _batch("12;other")
    assert isinstance(launcher.stop([handle]), IOSuccess)
    assert _poll_one(launcher, handle).status is Status.CANCELLED
    calls = fake.calls()
    assert [c.split()[:3] for c in calls] == [
        ["scancel", "-M", "other"], ["squeue", "-M", "other"], ["sacct", "-M", "other"],
    ]  # fmt: skip


def test_polls_cost_the_same_for_many_jobs(fake: FakeSlurm) -> None:
    """One poll of 1 or 200 batch jobs is one squeue call; finished ones cost nothing later."""
    rows = "".join(f"{100 + i}|RUNNING|None\n" for i in range(200))
    fake.say("squeue", out=rows)
    for n in (1, 200):
        launcher = SlurmLauncher(environ={})
        handles = [_batch(str(100 + i)) for i in range(n)]
        states = unsafe_perform_io(launcher.poll(handles).unwrap())
        assert {s.status for s in states.values()} == {Status.RUNNING}
        assert launcher.calls == 1
    fake.say("squeue", out="".join(f"{100 + i}|COMPLETED|None\n" for i in range(200)))
    fake.say("sacct", out="")
    launcher = SlurmLauncher(environ={})
    handles = [_batch(str(100 + i)) for i in range(200)]
    unsafe_perform_io(launcher.poll(handles).unwrap())
    before = launcher.calls
    states = unsafe_perform_io(launcher.poll(handles).unwrap())
    assert {s.status for s in states.values()} == {Status.COMPLETED}
    assert launcher.calls == before  # final states are remembered


# =========================================================================== the real cluster

#: A program that reports what it got and where it ran, as one JSON line, after sleeping.
REPORT = (
    "import json, os, sys, time\n"
    "t0 = time.time()\n"
    # SMARTSIM_TEST_BARRIER=DIR:N: wait until N runs have arrived (all N are alive together)
    "where, _, count = os.environ.get('SMARTSIM_TEST_BARRIER', '').rpartition(':')\n"
    "if where:\n"
    "    open(os.path.join(where, str(os.getpid()) + os.uname().nodename), 'w').close()\n"
    "    end = time.time() + 120\n"
    "    while len(os.listdir(where)) < int(count) and time.time() < end:\n"
    "        time.sleep(0.02)\n"
    "time.sleep(float(os.environ.get('SMARTSIM_TEST_SLEEP', '0')))\n"
    "print(json.dumps({'argv': sys.argv[1:], 'job': os.environ.get('SLURM_JOB_ID'),\n"
    "                  'step': os.environ.get('SLURM_STEP_ID'),\n"
    "                  'node': os.environ.get('SLURMD_NODENAME'), 't0': t0, 't1': time.time(),\n"
    "                  'env': {k: v for k, v in os.environ.items() if k.startswith('SSX_')}}))\n"
)


def report_settings(
    *args: str, sleep: float = 0.0, barrier: tuple[str, int] | None = None, **fields: object
) -> RunSettings:
    """RunSettings that run :data:`REPORT` with ``args`` as one task on one node; with
    ``barrier=(dir, n)`` each run waits (up to 120 s) until ``n`` runs have reached it."""
    env = dict(fields.pop("env", {}) or {})  # type: ignore[call-overload]
    env["SMARTSIM_TEST_SLEEP"] = str(sleep)
    if barrier is not None:
        os.makedirs(barrier[0], exist_ok=True)
        env["SMARTSIM_TEST_BARRIER"] = f"{barrier[0]}:{barrier[1]}"
    fields.setdefault("nodes", 1)
    fields.setdefault("ntasks", 1)
    return RunSettings(
        exe=sys.executable, args=("-c", REPORT, *args), env=env, run_command="srun",
        **fields,
    )  # fmt: skip


def read_report(path: str) -> dict[str, object]:
    with open(path, encoding="utf-8") as handle:
        lines = [line for line in handle.read().splitlines() if line.strip()]
    assert len(lines) == 1, lines
    report = json.loads(lines[0])
    assert isinstance(report, dict)
    return report


def _ok(result: IOResult[object, EffectError]) -> object:
    assert isinstance(result, IOSuccess), result
    return unsafe_perform_io(result.unwrap())


def start(launcher: SlurmLauncher, entity: Model | Ensemble, world: World) -> list[Handle]:
    launches = launcher.plan(entity, world).unwrap()
    return [unsafe_perform_io(launcher.start(launch).unwrap()) for launch in launches]


def wait(
    launcher: SlurmLauncher, handles: Sequence[Handle], timeout: float = 120
) -> Mapping[Handle, JobState]:
    result = launcher.wait(handles, timeout)
    assert isinstance(result, IOSuccess), result
    states: Mapping[Handle, JobState] = unsafe_perform_io(result.unwrap())
    assert all(s.status.is_final for s in states.values()), states
    return states


def poll_until(
    launcher: SlurmLauncher,
    handles: Sequence[Handle],
    want: Status,
    timeout: float = 60,
) -> Mapping[Handle, JobState]:
    """Poll until every handle has status ``want`` (no fixed sleep: a tight loop)."""
    deadline = time.monotonic() + timeout
    while True:
        states = unsafe_perform_io(launcher.poll(handles).unwrap())
        if all(s.status is want for s in states.values()):
            return states
        assert time.monotonic() < deadline, states
        time.sleep(0.02)


def squeue_state(job: str) -> str:
    done = subprocess.run(
        ["squeue", "-h", "-t", "all", "-o", "%T", f"--jobs={job}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return done.stdout.strip()


@pytest.fixture(scope="module")
def alloc() -> Iterator[str]:
    """Two nodes, four CPUs each, for the whole module (released at its end)."""
    from tests.slurm_cluster import cluster_problem

    if cluster_problem() is not None:
        pytest.skip(cluster_problem() or "")
    from smartsim import slurm

    with slurm.slurm_allocation(
        nodes=2, add_opts={"ntasks-per-node": 4}, time="00:20:00",
        job_name="smartsim-test-launcher", timeout=120,
    ) as alloc_id:  # fmt: skip
        yield alloc_id


def _nodes_of(alloc: str) -> set[str]:
    """The nodes allocation ``alloc`` holds (whichever the cluster had free)."""
    listed = subprocess.run(["squeue", "-h", "-j", alloc, "-o", "%N"], capture_output=True,
                            text=True, check=True).stdout.strip()  # fmt: skip
    names = subprocess.run(["scontrol", "show", "hostnames", listed], capture_output=True,
                           text=True, check=True).stdout  # fmt: skip
    return set(names.split())


def _overlap(reports: Sequence[Mapping[str, object]]) -> bool:
    """Whether every run was going at one same moment."""
    starts = [float(r["t0"]) for r in reports]  # type: ignore[arg-type]
    ends = [float(r["t1"]) for r in reports]  # type: ignore[arg-type]
    return max(starts) < min(ends)


@pytest.mark.slurm
def test_ensemble_of_8_via_srun_in_one_allocation(alloc: str, tmp_path: object) -> None:
    """8 members in one allocation: each output holds exactly its parameters, every member saw
    the allocation's SLURM_JOB_ID, both nodes were used, and all ran at the same time."""
    from smartsim import Experiment

    exp = Experiment("srun8", exp_path=str(tmp_path), launcher="slurm")
    rs = report_settings("x={x}", "y={y}", barrier=(f"{tmp_path}/barrier", 8), alloc=alloc)
    ens = exp.create_ensemble("ens", rs, params={"x": [0, 1, 2, 3], "y": ["a b", "c#d"]})
    assert len(ens.members) == 8
    exp.start(ens, block=True)
    assert exp.get_status(ens) == [Status.COMPLETED] * 8
    reports = []
    for member in ens.members:
        report = read_report(os.path.join(member.path, f"{member.name}.out"))
        assert report["argv"] == [f"x={member.params['x']}", f"y={member.params['y']}"]
        assert report["job"] == alloc
        reports.append(report)
    assert {r["node"] for r in reports} == _nodes_of(alloc)  # both of its nodes
    assert _overlap(reports)


@pytest.mark.slurm
def test_ensemble_of_8_via_one_sbatch_script(tmp_path: object) -> None:
    """The same ensemble as ONE batch job: one job id for all, both nodes, overlapping runs."""
    from smartsim import Experiment

    exp = Experiment("sbatch8", exp_path=str(tmp_path), launcher="slurm")
    bs = exp.create_batch_settings(nodes=2, time="00:05:00", batch_args={"ntasks-per-node": 4})
    # all 8 wait for each other: they can only all finish if the job runs them at once
    rs = report_settings("x={x}", "y={y}", barrier=(f"{tmp_path}/barrier", 8))
    ens = exp.create_ensemble(
        "ens", rs, params={"x": [0, 1, 2, 3], "y": ["a b", "c#d"]}, batch_settings=bs
    )
    (launch,) = exp.preview(ens).launches
    assert launch.submission is not None
    assert launch.submission.script.count("srun ") == 8
    exp.start(ens, block=True)
    assert exp.get_status(ens) == [Status.COMPLETED] * 8
    (state,) = exp.states().values()
    assert state.status is Status.COMPLETED
    reports = []
    for member in ens.members:
        report = read_report(os.path.join(member.path, f"{member.name}.out"))
        assert report["argv"] == [f"x={member.params['x']}", f"y={member.params['y']}"]
        reports.append(report)
    assert len({r["job"] for r in reports}) == 1
    # both of the job's nodes (which two depends on what else the cluster runs)
    assert len({r["node"] for r in reports}) == 2
    assert _overlap(reports)


@pytest.mark.slurm
def test_failed_step_keeps_its_exit_code(alloc: str, tmp_path: object) -> None:
    """A step whose program exits 3 is FAILED with returncode 3, never COMPLETED."""
    launcher = SlurmLauncher(environ={})
    model = Model(
        name="bad", path=f"{tmp_path}/bad",
        run_settings=RunSettings(exe="bash", args=("-c", "exit 3"), alloc=alloc, nodes=1,
                                 ntasks=1),
    )  # fmt: skip
    (handle,) = start(launcher, model, World(exp_path=str(tmp_path)))
    state = wait(launcher, [handle])[handle]
    assert (state.status, state.returncode) == (Status.FAILED, 3)


@pytest.mark.slurm
def test_step_without_allocation_gets_its_own_job(tmp_path: object) -> None:
    """No allocation anywhere: srun makes a job of its own, followed to COMPLETED."""
    launcher = SlurmLauncher(environ={})
    model = Model(name="own", path=f"{tmp_path}/own", run_settings=report_settings(sleep=1.0))
    (handle,) = start(launcher, model, World(exp_path=str(tmp_path)))
    assert _kind_of(handle) == "job"
    poll_until(launcher, [handle], Status.RUNNING)
    state = wait(launcher, [handle])[handle]
    assert state.status is Status.COMPLETED
    report = read_report(f"{tmp_path}/own/own.out")
    step = launcher.step_id(handle)
    assert step is not None and step.step == "0"
    assert report["job"] == str(step.job)


def _kind_of(handle: Handle) -> str | None:
    return handle.get("kind")


@pytest.mark.slurm
def test_running_is_seen_at_once_and_stop_cancels(alloc: str, tmp_path: object) -> None:
    """A step is RUNNING at the first poll after Slurm lists it (no fixed sleep), and
    ``stop`` cancels it with scancel: CANCELLED."""
    launcher = SlurmLauncher(environ={})
    model = Model(name="long", path=f"{tmp_path}/long", run_settings=report_settings(
        sleep=60, alloc=alloc))  # fmt: skip
    t0 = time.monotonic()
    (handle,) = start(launcher, model, World(exp_path=str(tmp_path)))
    poll_until(launcher, [handle], Status.RUNNING, timeout=10)
    assert time.monotonic() - t0 < 3.0
    step = launcher.step_id(handle)
    assert step is not None and str(step.job) == alloc
    _ok(launcher.stop([handle]))
    state = wait(launcher, [handle], timeout=30)[handle]
    assert state.status is Status.CANCELLED


@pytest.mark.slurm
def test_slurm_calls_per_poll_do_not_grow_with_jobs(alloc: str, tmp_path: object) -> None:
    """One poll of 1 running step and one of 6 cost the same number of Slurm calls."""
    launcher = SlurmLauncher(environ={})
    counts = []
    for n in (1, 6):
        ens = Ensemble(
            name=f"e{n}", path=f"{tmp_path}/e{n}",
            members=tuple(
                Model(name=f"e{n}_{i}", path=f"{tmp_path}/e{n}/{i}",
                      run_settings=report_settings(sleep=30, alloc=alloc))
                for i in range(n)
            ),
        )  # fmt: skip
        handles = start(launcher, ens, World(exp_path=str(tmp_path)))
        poll_until(launcher, handles, Status.RUNNING, timeout=30)
        before = launcher.calls
        unsafe_perform_io(launcher.poll(handles).unwrap())
        counts.append(launcher.calls - before)
        _ok(launcher.stop(handles))
        wait(launcher, handles, timeout=30)
    assert counts[0] == counts[1] <= 3, counts


@pytest.mark.slurm
def test_dependency_waits_for_the_first_job(tmp_path: object) -> None:
    """A batch entity planned after another waits (reason Dependency), then runs after it."""
    launcher = SlurmLauncher(environ={})
    bs = BatchSettings(nodes=1, time="00:05:00")
    first = Model(name="first", path=f"{tmp_path}/first", batch_settings=bs,
                  run_settings=report_settings(sleep=2.0))  # fmt: skip
    second = Model(name="second", path=f"{tmp_path}/second", batch_settings=bs,
                   run_settings=report_settings())  # fmt: skip
    world = World(exp_path=str(tmp_path))
    (a,) = start(launcher, first, world)
    with launcher.after([a]):
        (b,) = start(launcher, second, world)
    states = unsafe_perform_io(launcher.poll([a, b]).unwrap())
    assert states[b].status is Status.PENDING
    assert "Dependency" in states[b].reason
    final = wait(launcher, [a, b])
    assert final[a].status is final[b].status is Status.COMPLETED
    ra = read_report(f"{tmp_path}/first/first.out")
    rb = read_report(f"{tmp_path}/second/second.out")
    assert float(rb["t0"]) >= float(ra["t1"])  # type: ignore[arg-type]


@pytest.mark.slurm(accounting=True)
def test_cluster_of_a_job_id_reaches_every_later_call(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job submitted with ``-M`` keeps its cluster: squeue, sacct and scancel get ``-M``."""
    import smartsim.effects.slurm as effects

    seen: list[tuple[str, ...]] = []
    real = effects._client_done  # every Slurm client call of the launcher goes through it

    def spy(argv: Sequence[str], **kw: object) -> Result[object, EffectError]:
        seen.append(tuple(argv))
        return real(argv, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(effects, "_client_done", spy)
    cluster = os.environ.get("SMARTSIM_SLURM_CLUSTER", "smartsim")
    launcher = SlurmLauncher(environ={})
    bs = BatchSettings(nodes=1, time="00:05:00", batch_args={"M": cluster})
    model = Model(name="mc", path=f"{tmp_path}/mc", batch_settings=bs,
                  run_settings=report_settings(sleep=30))  # fmt: skip
    (handle,) = start(launcher, model, World(exp_path=str(tmp_path)))
    assert handle.job_id.endswith(f";{cluster}")
    poll_until(launcher, [handle], Status.RUNNING)
    _ok(launcher.stop([handle]))
    state = wait(launcher, [handle])[handle]
    assert state.status is Status.CANCELLED
    tools = {argv[0] for argv in seen}
    assert {"squeue", "scancel", "sacct"} <= tools, seen
    for argv in seen:
        assert argv[1:3] == ("-M", cluster), argv


@pytest.mark.slurm
def test_requeued_job_is_pending_again(tmp_path: object) -> None:
    """A running batch job that is requeued (as after preemption) reads PENDING, not done."""
    launcher = SlurmLauncher(environ={})
    bs = BatchSettings(nodes=1, time="00:05:00", batch_args={"requeue": None})
    model = Model(name="rq", path=f"{tmp_path}/rq", batch_settings=bs,
                  run_settings=report_settings(sleep=60))  # fmt: skip
    (handle,) = start(launcher, model, World(exp_path=str(tmp_path)))
    poll_until(launcher, [handle], Status.RUNNING)
    done = subprocess.run(["scontrol", "requeue", handle.job_id], capture_output=True,
                          text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    seen: list[JobState] = []
    deadline = time.monotonic() + 30
    while not seen or seen[-1].status is not Status.PENDING:
        assert time.monotonic() < deadline, seen
        seen.append(unsafe_perform_io(launcher.poll([handle]).unwrap())[handle])
        assert not seen[-1].status.is_final, seen  # COMPLETING, then PENDING again
        time.sleep(0.05)
    _ok(launcher.stop([handle]))
    assert wait(launcher, [handle])[handle].status is Status.CANCELLED


@pytest.mark.slurm
def test_handles_from_another_process_are_followed(alloc: str, tmp_path: object) -> None:
    """A launcher that did not start a step (a journal's handle) still sees it RUNNING, and
    finished (from accounting when there is some)."""
    first = SlurmLauncher(environ={})
    model = Model(name="adopt", path=f"{tmp_path}/adopt",
                  run_settings=report_settings(sleep=3, alloc=alloc))  # fmt: skip
    (handle,) = start(first, model, World(exp_path=str(tmp_path)))
    poll_until(first, [handle], Status.RUNNING)
    second = SlurmLauncher(environ={})
    assert unsafe_perform_io(second.poll([handle]).unwrap())[handle].status is Status.RUNNING
    wait(first, [handle])
    deadline = time.monotonic() + 20
    while True:
        state = unsafe_perform_io(second.poll([handle]).unwrap())[handle]
        if state.status is not Status.RUNNING or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    if second.accounting:
        assert state.status is Status.COMPLETED, state
    else:
        assert state.status is Status.UNKNOWN, state


# =========================================================================== no accounting


@pytest.mark.slurm_no_accounting
def test_no_accounting_steps_resolve_from_srun(alloc: str, tmp_path: object) -> None:
    """Without accounting, ended steps come from srun's exit and messages: 0 is COMPLETED,
    3 is FAILED with 3, and sacct is asked once at most."""
    launcher = SlurmLauncher(environ={})
    good = Model(name="good", path=f"{tmp_path}/good", run_settings=report_settings(alloc=alloc))
    bad = Model(name="bad", path=f"{tmp_path}/bad", run_settings=RunSettings(
        exe="bash", args=("-c", "exit 3"), alloc=alloc, nodes=1, ntasks=1))  # fmt: skip
    world = World(exp_path=str(tmp_path))
    handles = start(launcher, good, world) + start(launcher, bad, world)
    states = wait(launcher, handles)
    assert states[handles[0]].status is Status.COMPLETED
    assert (states[handles[1]].status, states[handles[1]].returncode) == (Status.FAILED, 3)
    assert launcher.accounting is False


@pytest.mark.slurm_no_accounting
def test_no_accounting_batch_job_from_squeue(tmp_path: object) -> None:
    """Without accounting a batch job's end comes from squeue's record: COMPLETED or FAILED."""
    launcher = SlurmLauncher(environ={})
    bs = BatchSettings(nodes=1, time="00:05:00")
    ok = Model(name="ok", path=f"{tmp_path}/ok", batch_settings=bs,
               run_settings=report_settings())  # fmt: skip
    ko = Model(name="ko", path=f"{tmp_path}/ko", batch_settings=bs, run_settings=RunSettings(
        exe="bash", args=("-c", "exit 4"), run_command="srun"))  # fmt: skip
    world = World(exp_path=str(tmp_path))
    handles = start(launcher, ok, world) + start(launcher, ko, world)
    states = wait(launcher, handles)
    assert states[handles[0]].status is Status.COMPLETED
    assert states[handles[1]].status is Status.FAILED


@pytest.mark.slurm
def test_stopping_what_already_ended_is_not_an_error(alloc: str, tmp_path: object) -> None:
    """scancel of a step that has ended fails in Slurm ("Invalid job id"); stop does not."""
    launcher = SlurmLauncher(environ={})
    model = Model(name="brief", path=f"{tmp_path}/brief",
                  run_settings=report_settings(sleep=0.5, alloc=alloc))  # fmt: skip
    (handle,) = start(launcher, model, World(exp_path=str(tmp_path)))
    poll_until(launcher, [handle], Status.RUNNING)
    step = launcher.step_id(handle)
    assert step is not None
    subprocess.run(["scancel", str(step)], check=True)
    time.sleep(1.0)  # let it end, unseen by the launcher: its stop comes too late
    done = subprocess.run(["scancel", str(step)], capture_output=True, text=True, check=False)
    assert done.returncode != 0 and "Invalid job id" in done.stderr  # what Slurm says
    assert isinstance(launcher.stop([handle]), IOSuccess)
    assert wait(launcher, [handle])[handle].status is Status.CANCELLED


def test_batch_model_keeps_the_scripts_files_apart_from_its_own() -> None:
    """A model with batch settings writes its output to ``m.out``; the script's to
    ``m.batch.out`` (two writers never share a file)."""
    model = attrs.evolve(_model(), batch_settings=BatchSettings(nodes=1))
    (launch,) = plan_slurm(model, World(exp_path="/e")).unwrap()
    assert launch.submission is not None
    script = launch.submission.script
    assert "#SBATCH --output /e/m/m.batch.out" in script
    assert "#SBATCH --error /e/m/m.batch.err" in script
    assert "--output /e/m/m.out" in script
    assert (launch.stdout, launch.stderr) == ("/e/m/m.out", "/e/m/m.err")


@pytest.mark.slurm
def test_array_job_is_the_combination_of_its_tasks(tmp_path: object) -> None:
    """A batch job array is followed as one job: COMPLETED when every task was, FAILED when
    one task failed (squeue and sacct print a row per task: ``12_0``, ``12_[1-2]``)."""
    from smartsim import ArraySpec

    launcher = SlurmLauncher(environ={})
    world = World(exp_path=str(tmp_path))
    handles = []
    for name, code in (("fine", "exit 0"), ("one_bad", "exit $(( SLURM_ARRAY_TASK_ID == 1 ))")):
        bs = BatchSettings(nodes=1, time="00:05:00", array=ArraySpec(0, 2))
        model = Model(name=name, path=f"{tmp_path}/{name}", batch_settings=bs,
                      run_settings=RunSettings(exe="bash", args=("-c", code),
                                               run_command="srun"))  # fmt: skip
        handles += start(launcher, model, world)
    states = wait(launcher, handles)
    assert states[handles[0]].status is Status.COMPLETED, states[handles[0]]
    assert states[handles[1]].status is Status.FAILED, states[handles[1]]


@pytest.mark.slurm
def test_allocations_the_launcher_obtained_are_released_by_close() -> None:
    """An allocation obtained through the launcher is released by ``close`` (Ctrl-C's path)."""
    from smartsim import AllocationRequest

    launcher = SlurmLauncher(environ={})
    got = launcher.allocate(AllocationRequest(nodes=1, time="00:02:00"), timeout=60)
    jid = unsafe_perform_io(got.unwrap())
    assert squeue_state(str(jid)) == "RUNNING"
    assert isinstance(launcher.close(), IOSuccess)
    deadline = time.monotonic() + 20
    while squeue_state(str(jid)) not in ("CANCELLED", ""):
        assert time.monotonic() < deadline
        time.sleep(0.05)
