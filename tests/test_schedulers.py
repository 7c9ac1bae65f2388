"""One conformance suite over every batch scheduler's :data:`SCHEDULER` record (PBS, LSF, Grid
Engine, Flux, Kubernetes) driven by the one driver, :class:`SchedulerLauncher`, against the
fake tools in ``tests/fakes`` (which check their input as the real tools would); plus the laws
of the shared rules (:func:`reconcile`, :func:`combine_states`) and, where it fits, Slurm's
pure readers.

Each case holds for every scheduler, so a scheduler added later (see ``docs/architecture.md``)
gets them by adding one :class:`Case`.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TypeVar

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from returns.io import IOResult
from returns.unsafe import unsafe_perform_io

from smartsim.commands import flux, kubernetes, lsf, pbs, sge
from smartsim.commands._options import OptionRules, option_problems
from smartsim.commands.plan import Launch, World
from smartsim.commands.scheduler import (
    Completed,
    Handle,
    Scheduler,
    combine_states,
    exit_file_state,
    reconcile,
)
from smartsim.commands.slurm import parse_sbatch_parsable
from smartsim.effects.launcher import Launcher
from smartsim.effects.scheduler import SchedulerLauncher
from smartsim.errors import (
    BadValue,
    DuplicateOption,
    EffectError,
    ExecutableNotFound,
    SchedulerUnavailable,
)
from smartsim.experiment import LAUNCHERS, Experiment
from smartsim.status import JobState, Status
from smartsim.values import BatchSettings, Model, RunSettings
from tests.oracles import flux_cli, lsf_lexer, pbs_lexer, sge_lexer

T = TypeVar("T")
FAKES = Path(__file__).parent / "fakes"


def ok(result: IOResult[T, EffectError]) -> T:
    """The value of a successful effect (the test fails on an error)."""
    return unsafe_perform_io(result.unwrap())


def error_of(result: IOResult[object, EffectError]) -> EffectError:
    return unsafe_perform_io(result.failure())


# =========================================================================== the cases


def _pbs_limits(launch: Launch) -> tuple[int, str]:
    assert launch.submission is not None
    script = launch.submission.script
    pbs_lexer.check_script(script)
    opts = pbs_lexer.options(script)
    (walltime,) = [v for k, v in opts if k == "-l" and v and v.startswith("walltime=")]
    (out,) = [v for k, v in opts if k == "-o"]
    return pbs_lexer.parse_walltime(walltime.split("=", 1)[1]), str(out)


def _lsf_limits(launch: Launch) -> tuple[int, str]:
    assert launch.submission is not None
    script = launch.submission.script
    assert launch.submission.submit.stdin == script  # bsub reads the script on stdin
    lsf_lexer.check_script(script)
    opts = dict(lsf_lexer.options(script))
    return lsf_lexer.parse_run_limit(str(opts["-W"])) * 60, str(opts["-o"])


def _sge_limits(launch: Launch) -> tuple[int, str]:
    assert launch.submission is not None
    opts = sge_lexer.options(launch.submission.script)
    (h_rt,) = [v for k, v in opts if k == "-l" and v and v.startswith("h_rt=")]
    (out,) = [v for k, v in opts if k == "-o"]
    return sge_lexer.parse_time(h_rt.split("=", 1)[1]), str(out)


def _flux_limits(launch: Launch) -> tuple[int, str]:
    assert launch.submission is not None
    words = [w for d in flux_cli.read_directives(launch.submission.script) for w in d]
    request = flux_cli.parse_options("batch", words)
    limit = request.get("time-limit")
    out = request.get("output")
    assert limit is not None and out is not None, words
    return int(flux_cli.parse_fsd(limit, default_unit="m")), out


def _kubernetes_limits(launch: Launch) -> tuple[int, str]:
    assert launch.command is not None and launch.command.stdin is not None
    manifest = json.loads(launch.command.stdin)
    return int(manifest["spec"]["activeDeadlineSeconds"]), launch.stdout


@attrs.frozen
class Case:
    """One scheduler under the suite: its record, its fakes and how they are observed."""

    scheduler: Scheduler
    #: Where the fake tools are, and the variable naming their state directory.
    fakes: Path
    state_var: str
    #: The variable that makes the fake scheduler unreachable.
    down_var: str
    #: The tool calls of one poll of live jobs, and of one stop (as the fakes log them).
    poll_calls: tuple[str, ...]
    stop_calls: tuple[str, ...]
    #: Time limit (seconds) and stdout path as the scheduler itself reads the plan.
    limits: Callable[[Launch], tuple[int, str]]
    #: Whether the job's output lands in the stdout file smartsim names.
    output_in_file: bool = True
    run_args: Mapping[str, str] = attrs.field(factory=dict)

    def __str__(self) -> str:
        return self.scheduler.name

    def calls(self, state: Path) -> list[str]:
        log = state / "calls.log"
        if not log.exists():
            return []
        rows = [json.loads(line) for line in log.read_text().splitlines()]
        return [r["tool"] if isinstance(r, dict) else r[0] for r in rows]

    def model(self, name: str, tmp: Path, exe: str, *args: str) -> Model:
        return Model(
            name=name,
            path=str(tmp / name),
            run_settings=RunSettings(exe=exe, args=args, run_args=dict(self.run_args)),
        )


CASES = [
    Case(pbs.SCHEDULER, FAKES / "pbs", "SMARTSIM_FAKE_STATE", "SMARTSIM_FAKE_DOWN",
         ("qstat",), ("qdel",), _pbs_limits),
    Case(lsf.SCHEDULER, FAKES / "lsf", "SMARTSIM_FAKE_STATE", "SMARTSIM_FAKE_DOWN",
         ("bjobs",), ("bkill",), _lsf_limits),
    Case(sge.SCHEDULER, FAKES / "sge", "SMARTSIM_FAKE_STATE", "SMARTSIM_FAKE_DOWN",
         ("qstat",), ("qdel",), _sge_limits),
    Case(flux.SCHEDULER, FAKES, "FAKE_FLUX_STATE", "FAKE_FLUX_UNREACHABLE",
         ("jobs",), ("cancel",), _flux_limits),
    Case(kubernetes.SCHEDULER, FAKES, "FAKE_KUBECTL_STATE", "FAKE_KUBECTL_UNREACHABLE",
         ("get",), ("delete",), _kubernetes_limits, output_in_file=False,
         run_args={"image": "busybox:1.36"}),
]  # fmt: skip
ALL = pytest.mark.parametrize("case", CASES, ids=str)


@pytest.fixture
def fake(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The case's fake tools first on PATH, with their own state directory."""
    state = tmp_path / "fake-state"
    monkeypatch.setenv(case.state_var, str(state))
    path = [str(case.fakes), os.path.dirname(sys.executable), os.environ["PATH"]]
    monkeypatch.setenv("PATH", os.pathsep.join(path))
    yield state


def world(tmp: Path) -> World:
    return World(exp_path=str(tmp))


def start(launcher: SchedulerLauncher, model: Model, tmp: Path) -> Handle:
    (launch,) = launcher.plan(model, world(tmp)).unwrap()
    return ok(launcher.start(launch))


def poll_until(
    launcher: SchedulerLauncher, handles: list[Handle], done: Callable[[JobState], bool]
) -> dict[Handle, JobState]:
    """Poll until ``done`` holds for every handle (20 s at most; the last poll is returned)."""
    deadline = time.monotonic() + 20
    while True:
        states = dict(ok(launcher.poll(handles)))
        if all(done(states[h]) for h in handles) or time.monotonic() > deadline:
            return states
        time.sleep(0.05)


def is_final(state: JobState) -> bool:
    return state.status.is_final


# =========================================================================== the record


@ALL
def test_record_is_what_experiment_runs(case: Case) -> None:
    """``Experiment(launcher=name)`` resolves to this very record, driven by the one driver;
    the record names the tools its plans and queries use."""
    s = case.scheduler
    assert LAUNCHERS[s.name].endswith(":SCHEDULER")
    assert s.submit_tool in s.tools and s.queries
    exp = Experiment("e", exp_path="/nonexistent-exp", launcher=s.name)
    assert exp.launcher == s.name
    launcher: Launcher = SchedulerLauncher(s)  # the Launcher protocol (checked by mypy here)
    assert launcher.name == s.name


@ALL
@settings(max_examples=20, deadline=None)
@given(
    name=st.from_regex(r"[a-z][a-z0-9]{0,10}", fullmatch=True),
    minutes=st.integers(1, 60 * 72),
)
def test_every_plan_is_read_back_by_the_scheduler(case: Case, name: str, minutes: int) -> None:
    """The plan's script (or manifest), read the way the scheduler reads it, asks for the time
    limit and the output file smartsim meant."""
    model = attrs.evolve(
        case.model(name, Path("/w"), "true"),
        batch_settings=BatchSettings(time=minutes * 60),
    )
    (launch,) = case.scheduler.plan(model, world(Path("/w"))).unwrap()
    seconds, out = case.limits(launch)
    assert seconds == minutes * 60
    assert out == launch.stdout


# =========================================================================== driver + fakes


@ALL
def test_submit_id_round_trip(case: Case, fake: Path, tmp_path: Path) -> None:
    """The id the submit tool printed is the handle's, and the scheduler reports that job
    (never UNKNOWN) until it completes with exit code 0."""
    launcher = SchedulerLauncher(case.scheduler)
    handle = start(launcher, case.model("ok", tmp_path, "true"), tmp_path)
    assert handle.launcher == case.scheduler.name and handle.job_id
    seen = ok(launcher.poll([handle]))[handle]
    assert seen.status is not Status.UNKNOWN, seen
    final = poll_until(launcher, [handle], is_final)[handle]
    assert final.status is Status.COMPLETED, final
    if case.scheduler.name != "kubernetes":  # a Job's condition carries no exit code
        assert final.returncode == 0


@ALL
def test_unknown_ids_are_unknown_not_an_error(case: Case, fake: Path, tmp_path: Path) -> None:
    """An id the scheduler does not know is UNKNOWN (with the scheduler named), beside a
    known job that keeps its state; stopping it is not an error."""
    launcher = SchedulerLauncher(case.scheduler)
    known = start(launcher, case.model("known", tmp_path, "sleep", "30"), tmp_path)
    extra = (("experiment", tmp_path.name),) if case.scheduler.name == "kubernetes" else ()
    stranger = Handle(launcher=case.scheduler.name, name="x", job_id="4321", extra=extra)
    states = ok(launcher.poll([known, stranger]))
    assert states[stranger] == JobState(
        Status.UNKNOWN, reason=f"{case.scheduler.name} does not report it"
    )
    assert states[known].status in (Status.PENDING, Status.RUNNING)
    assert ok(launcher.poll([stranger]))[stranger].status is Status.UNKNOWN
    ok(launcher.stop([known, stranger]))


@ALL
def test_finished_failed_and_cancelled(case: Case, fake: Path, tmp_path: Path) -> None:
    """Many jobs are polled with one call per query and stopped with one call; a job that
    failed keeps FAILED (and its code), a job smartsim stopped is CANCELLED."""
    launcher = SchedulerLauncher(case.scheduler)
    slow = [start(launcher, case.model(f"s{i}", tmp_path, "sleep", "30"), tmp_path)
            for i in range(3)]  # fmt: skip
    bad = start(launcher, case.model("bad", tmp_path, "false"), tmp_path)
    poll_until(launcher, [bad], is_final)
    before = len(case.calls(fake))
    states = ok(launcher.poll([*slow, bad]))
    polled = case.calls(fake)[before:]
    assert polled[: len(case.poll_calls)] == list(case.poll_calls)
    assert len(polled) <= len(case.scheduler.queries)  # later queries only for the unreported
    assert states[bad].status is Status.FAILED
    if case.scheduler.name != "kubernetes":
        assert states[bad].returncode == 1
    before = len(case.calls(fake))
    ok(launcher.stop([*slow, bad]))
    assert case.calls(fake)[before:] == list(case.stop_calls)
    final = poll_until(launcher, slow, is_final)
    assert [final[h].status for h in slow] == [Status.CANCELLED] * 3
    assert ok(launcher.poll([bad]))[bad].status is Status.FAILED


@ALL
def test_cancel_of_a_finished_job(case: Case, fake: Path, tmp_path: Path) -> None:
    """Stopping jobs that already ended succeeds and each keeps its own end (COMPLETED,
    FAILED) — also for a fresh launcher that never saw them end: the cancel's reader tells the
    jobs it acted on from those that had finished."""
    launcher = SchedulerLauncher(case.scheduler)
    good = start(launcher, case.model("done", tmp_path, "true"), tmp_path)
    bad = start(launcher, case.model("bad", tmp_path, "false"), tmp_path)
    ended = poll_until(launcher, [good, bad], is_final)
    assert [ended[good].status, ended[bad].status] == [Status.COMPLETED, Status.FAILED]
    fresh = SchedulerLauncher(case.scheduler)
    ok(fresh.stop([good, bad]))
    ok(launcher.stop([good, bad]))
    after = ok(launcher.poll([good, bad]))
    assert [after[good].status, after[bad].status] == [Status.COMPLETED, Status.FAILED]
    if case.scheduler.name != "kubernetes":  # a deleted Job is gone for a launcher that
        seen = ok(fresh.poll([good, bad]))  # never saw it end
        assert [seen[good].status, seen[bad].status] == [Status.COMPLETED, Status.FAILED]


@ALL
def test_unreachable_scheduler_is_transient(
    case: Case, fake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A status tool that cannot reach the scheduler is a transient SchedulerUnavailable."""
    extra = (("experiment", "e"),) if case.scheduler.name == "kubernetes" else ()
    handle = Handle(launcher=case.scheduler.name, name="m", job_id="12", extra=extra)
    monkeypatch.setenv(case.down_var, "1")
    error = error_of(SchedulerLauncher(case.scheduler).poll([handle]))
    assert isinstance(error, SchedulerUnavailable) and error.transient


@ALL
def test_missing_tools_are_named_before_anything_runs(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the submit tool — or with only the submit tool — start fails with
    ExecutableNotFound naming the missing one, before anything is created or submitted."""
    s = case.scheduler
    model = case.model("m", tmp_path, "true")
    absent = SchedulerLauncher(s, tools={s.submit_tool: str(tmp_path / "nowhere" / "x")})
    error = error_of(absent.start(absent.plan(model, world(tmp_path)).unwrap()[0]))
    assert isinstance(error, ExecutableNotFound) and error.command.endswith("nowhere/x")
    assert not (tmp_path / "m").exists()
    exp = Experiment("e", exp_path=tmp_path / "exp", launcher=absent)  # preview still works
    preview = str(exp.preview(exp.create_model("p", attrs.evolve(model.run_settings))))
    assert str(tmp_path / "nowhere" / "x") in preview
    others = [t for t in s.tools if t != s.submit_tool]
    if not others:
        return
    only = tmp_path / "only-submit"
    only.mkdir()
    shutil.copy(case.fakes / s.submit_tool, only / s.submit_tool)
    monkeypatch.setenv("PATH", os.pathsep.join([str(only), os.path.dirname(sys.executable)]))
    monkeypatch.setenv(case.state_var, str(tmp_path / "state"))
    launcher = SchedulerLauncher(s)
    error = error_of(launcher.start(launcher.plan(model, world(tmp_path)).unwrap()[0]))
    assert isinstance(error, ExecutableNotFound) and error.command == others[0]
    assert not (tmp_path / "state" / "calls.log").exists()


@ALL
def test_experiment_start_status_stop(case: Case, fake: Path, tmp_path: Path) -> None:
    """Through ``Experiment(launcher=name)``: a quick job completes (its output where smartsim
    said); a long one runs, is stopped, and is CANCELLED."""
    exp = Experiment("e", exp_path=tmp_path / "exp", launcher=case.scheduler.name)
    rs = RunSettings(exe="echo", args=("hello",), run_args=dict(case.run_args))
    quick = exp.create_model("quick", rs)
    exp.start(quick, block=True)
    assert exp.get_status(quick) == [Status.COMPLETED]
    if case.output_in_file:
        assert (tmp_path / "exp" / "quick" / "quick.out").read_text() == "hello\n"
    slow_rs = RunSettings(exe="sleep", args=("30",), run_args=dict(case.run_args))
    slow = exp.create_model("slow", slow_rs)
    exp.start(slow, block=False)
    deadline = time.monotonic() + 20
    while exp.get_status(slow) != [Status.RUNNING] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert exp.get_status(slow) == [Status.RUNNING]
    exp.stop(slow)
    assert exp.get_status(slow) == [Status.CANCELLED]


# =========================================================================== the shared rules

states = st.builds(
    JobState,
    st.sampled_from(list(Status)),
    raw=st.text(max_size=4),
    returncode=st.none() | st.integers(-5, 300),
    reason=st.text(max_size=8),
)


@given(states, st.booleans(), st.none() | states)
def test_reconcile_keeps_what_the_scheduler_reported(
    reported: JobState, stopped: bool, recorded: JobState | None
) -> None:
    """A report stands — except a failure of a job smartsim stopped, which is CANCELLED with
    everything else kept; the exit-status file is only read for unreported jobs."""
    out = reconcile(reported, stopped, recorded)
    if stopped and reported.status is Status.FAILED:
        assert out == attrs.evolve(reported, status=Status.CANCELLED)
    else:
        assert out == reported


@given(st.booleans(), st.none() | states, st.sampled_from(["pbs", "oar"]))
def test_reconcile_of_an_unreported_job(
    stopped: bool, recorded: JobState | None, name: str
) -> None:
    """Unreported: the exit-status file's state, else CANCELLED when smartsim stopped it,
    else UNKNOWN naming the scheduler — never a guessed end."""
    out = reconcile(None, stopped, recorded, scheduler=name)
    if recorded is not None:
        assert out == recorded
    elif stopped:
        assert out == JobState(Status.CANCELLED, reason="cancelled by smartsim")
    else:
        assert out == JobState(Status.UNKNOWN, reason=f"{name} does not report it")


@given(st.lists(states, min_size=1, max_size=6), st.randoms())
def test_combine_states_laws(rows: list[JobState], rnd: object) -> None:
    """One row stands for the job: a row of the job; live while one row is live, not known
    while one is not known, else the worst end; the order of rows does not change the status."""
    out = combine_states(rows)
    assert out in rows
    present = {r.status for r in rows}
    order = (Status.RUNNING, Status.PENDING, Status.NEW, Status.UNKNOWN, Status.FAILED)
    for status in (*order, Status.CANCELLED, Status.COMPLETED):
        if status in present:
            assert out.status is status
            break
    shuffled = list(rows)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert combine_states(shuffled).status is out.status
    assert combine_states([rows[0]]) == rows[0]


@given(st.integers(0, 255))
def test_exit_file_state(code: int) -> None:
    """The script's exit-status file gives the job's code; anything else gives nothing."""
    state = exit_file_state(f"{code}\n")
    assert state is not None and state.returncode == code
    assert state.status is (Status.COMPLETED if code == 0 else Status.FAILED)
    assert exit_file_state("") is None and exit_file_state("²") is None


SUBMITTED_OUTPUT = {
    "pbs": ("4711.server\n", "4711.server"),
    "lsf": ("Job <4711> is submitted to queue <normal>.\n", "4711"),
    "sge": ("4711\n", "4711"),
    "flux": ("ƒ2\n", "1"),
    "kubernetes": ("job.batch/m4711\n", "m4711"),
}


@ALL
def test_parse_submit_round_trip(case: Case) -> None:
    """The pure submit reader gives the id the tool printed, and refuses a banner alone."""
    out, job_id = SUBMITTED_OUTPUT[case.scheduler.name]
    done = Completed((case.scheduler.submit_tool,), 0, out, "")
    assert case.scheduler.parse_submit(done).unwrap() == job_id
    assert not case.scheduler.parse_submit(Completed(("x",), 0, "welcome\n", "")).value_or(None)


@settings(max_examples=50, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 2**31), st.none() | st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True))
def test_slurm_submit_reader_round_trip(job: int, cluster: str | None) -> None:
    """Slurm, where it fits (its launcher is its own): ``sbatch --parsable``'s id, after a
    site banner, reads back exactly; a banner alone is refused."""
    text = f"{job}" if cluster is None else f"{job};{cluster}"
    parsed = parse_sbatch_parsable(f"Welcome\n{text}\n").unwrap()
    assert (parsed.job, parsed.cluster) == (job, cluster)
    assert not parse_sbatch_parsable("Welcome\n").value_or(None)


# --------------------------------------------------------------------------- raw option tables

#: (check, settings whose raw option repeats a typed field, the raw key, the typed field)
_DUPLICATES = [
    (pbs.check_qsub, BatchSettings(partition="b", batch_args={"q": "a"}), "q", "partition"),
    (lsf.check_bsub, BatchSettings(time=60, batch_args={"W": "10"}), "W", "time"),
    (sge.check_qsub, BatchSettings(account="b", batch_args={"A": "a"}), "A", "account"),
    (flux.check_flux_batch, BatchSettings(nodes=1, batch_args={"N": 2}), "N", "nodes"),
    (flux.check_flux_batch, BatchSettings(excluded_hosts=("n1",), batch_args={"requires": "x"}),
     "requires", "excluded_hosts"),
]  # fmt: skip


@pytest.mark.parametrize(("check", "bs", "key", "typed"), _DUPLICATES)
def test_raw_option_that_repeats_a_typed_field_names_both(
    check: Callable[[BatchSettings], list[object]], bs: BatchSettings, key: str, typed: str
) -> None:
    """Every scheduler's table (an ``OptionRules``) refuses a raw option a typed field already
    renders, naming the raw key, its value and the typed field."""
    (error,) = check(bs)
    assert isinstance(error, DuplicateOption)
    assert (error.field, error.value) == (f"batch_settings.batch_args[{key!r}]", bs.batch_args[key])
    assert error.other == f"batch_settings.{typed}"


@pytest.mark.parametrize(
    ("rules", "flag", "valued"),
    [(pbs.QSUB_OPTIONS, "V", "l"), (lsf.BSUB_OPTIONS, "x", "R"), (sge.QSUB_OPTIONS, "V", "l"),
     (flux.FLUX_BATCH_OPTIONS, "quiet", "setopt"), (flux.FLUX_RUN_OPTIONS, "verbose", "setopt")],
)  # fmt: skip
def test_option_kinds_are_typed_errors(rules: OptionRules, flag: str, valued: str) -> None:
    """A value for an option that takes none, and a bare flag for one that needs a value, are
    ``BadValue`` naming the option as the tool spells it."""
    bad = {flag: "x", valued: None}
    errors = option_problems(rules, "ba", bad, {})
    assert [(type(e), e.field) for e in errors] == [
        (BadValue, f"ba[{flag!r}]"),
        (BadValue, f"ba[{valued!r}]"),
    ]
    assert rules.spelled(flag) in errors[0].message
    assert rules.spelled(valued) in errors[1].message


def test_flux_refuses_two_spellings_of_one_option() -> None:
    """``-n`` and ``--ntasks`` are one flux-run(1) option: given both, Flux's argparse keeps
    the last one silently; smartsim refuses the pair (a fix: both used to be passed on)."""
    rs = RunSettings(exe="a", run_args={"n": 2, "ntasks": 3})
    (error,) = flux.check_flux_run(rs)
    assert isinstance(error, DuplicateOption)
    assert error.field == "run_settings.run_args['ntasks']"
    assert error.other == "run_settings.run_args['n']"
    # flux batch reads -n as --nslots
    bs = BatchSettings(batch_args={"n": 2, "nslots": 3})
    assert [type(e) for e in flux.check_flux_batch(bs)] == [DuplicateOption]


_CANCEL_WORDS = [
    # (module, its cancel argv for these ids, what the cancel printed, rc, whether it succeeded)
    ("lsf", ["12", "13"], ("bkill", "12", "13"), 255, "Job <12>: Job has already finished\n", True),
    ("lsf", ["12"], ("bkill", "12"), 255, "Job <12>: User permission denied\n", False),
    ("pbs", ["12.srv", "13[].srv"], ("qdel", "12.srv", "13[].srv"), 35,
     "qdel: Job has finished 12.srv\n", True),
    ("pbs", ["12.srv"], ("qdel", "12.srv"), 1, "qdel: Unauthorized Request  12.srv\n", False),
    ("sge", [3, 4], ("qdel", "3", "4"), 1,
     'root has deleted job 5\ndenied: job "2" does not exist\n', True),
    ("sge", [7], ("qdel", "7"), 1, 'root - not allowed to delete job "7"\n', False),
]  # fmt: skip


@pytest.mark.parametrize("case", _CANCEL_WORDS)
def test_cancel_words(case: tuple[str, list[object], tuple[str, ...], int, str, bool]) -> None:
    """Each batch scheduler's ToolWords: one cancel argv for many ids, and a cancel that found
    its jobs already gone is not a failure (its tool's own words, from its documentation)."""
    module, ids, argv, rc, said, ok = case
    words = importlib.import_module(f"smartsim.commands.{module}").WORDS
    assert words.cancel_argv(ids) == argv
    assert words.cancel_succeeded(rc, "", said) is ok
    assert words.cancel_succeeded(rc, said, "") is ok
    assert not words.unavailable(said)
