"""Grid Engine: qsub scripts with ``#$`` directives, -terse ids, qstat -xml, qacct, qdel, and the
SGE launcher driven through start, status and stop by the fake tools in tests/fakes/sge.
(``tests/test_sge_real.py`` runs the launcher against the real Grid Engine.)"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from returns.io import IOResult
from returns.result import Failure, Success
from returns.unsafe import unsafe_perform_io

from smartsim import Experiment, SmartSimError, Status
from smartsim.commands.pbs import BatchJob
from smartsim.commands.plan import World
from smartsim.commands.sge import SCHEDULER as SGE
from smartsim.commands.sge import (
    SgeJobId,
    accounting_state,
    check_job_name,
    check_qsub,
    check_variable_list,
    check_word,
    directive_lines,
    h_rt,
    parse_qacct,
    parse_qstat_xml,
    parse_qsub_output,
    plan_sge,
    qacct_argv,
    qdel_acted,
    qdel_argv,
    qdel_succeeded,
    qstat_argv,
    qstat_state,
    qsub_argv,
    qsub_options,
    qsub_script,
    slots,
    task_range,
    variable_list,
)
from smartsim.effects.launcher import Handle
from smartsim.effects.scheduler import SchedulerLauncher
from smartsim.errors import (
    BadName,
    BadValue,
    DuplicateOption,
    EffectError,
    ForbiddenCharacter,
    Invalid,
    Unsupported,
)
from smartsim.status import JobState
from smartsim.values import ArraySpec, BatchSettings, Duration, Ensemble, Model, RunSettings
from tests.oracles import sge_lexer
from tests.strategies import (
    arguments,
    durations,
    env_names,
    names,
    program_names,
    single_line_text,
    valid_batch_settings,
    valid_env,
)

FAKES = Path(__file__).parent / "fakes" / "sge"
T = TypeVar("T")

# =========================================================================== strategies

#: Values a #$ line carries: no '#', no quotes (Son of Grid Engine 8.1.9 removes them and
#: ends the directive at '#').
values = single_line_text(max_size=12).filter(lambda w: check_word("w", w) == [])
sge_arrays = st.builds(
    lambda start, span, step, limit: ArraySpec(start, start + span, step, limit),
    st.integers(1, 500),
    st.integers(0, 500),
    st.integers(1, 10),
    st.none() | st.integers(1, 50),
)
sge_names = st.builds(
    lambda a, b: a + b,
    st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    st.text("abcdefghijklmnopqrstuvwxyz0123456789._-", max_size=10),
)
_RAW = {
    "l": st.sampled_from(["h_vmem=4G", "mem_free=1G,gpu=1"]),
    "P": values,
    "hold_jid": st.integers(1, 99).map(str),
    "V": st.just(None),
    "notify": st.just(None),
    "m": st.sampled_from(["bea", "n"]),
}


@st.composite
def sge_batch_settings(draw: st.DrawFn) -> BatchSettings:
    keys = draw(st.lists(st.sampled_from(sorted(_RAW)), unique=True, max_size=3))
    return BatchSettings(
        nodes=draw(st.none() | st.integers(1, 64)),
        time=draw(st.none() | durations()),
        account=draw(st.none() | values),
        partition=draw(st.none() | values),
        job_name=draw(st.none() | sge_names),
        array=draw(st.none() | sge_arrays),
        batch_args={k: draw(_RAW[k]) for k in keys},
    )


sge_paths = st.lists(
    values.filter(lambda s: not set(s) & set("/:,$") and s not in (".", "..")),
    min_size=1,
    max_size=3,
).map(lambda parts: "/" + "/".join(parts))


@st.composite
def models(draw: st.DrawFn) -> Model:
    rs = RunSettings(
        exe=draw(program_names()),
        args=draw(st.lists(arguments().filter(lambda a: "\n#$" not in a), max_size=3)),
        env=draw(valid_env().filter(lambda e: all("\n#$" not in v for v in e.values()))),
    )
    return Model(
        name=draw(names()),
        path=draw(sge_paths),
        run_settings=rs,
        batch_settings=draw(sge_batch_settings()),
    )


def world() -> World:
    return World(exp_path="/exp")


def ok(result: IOResult[T, EffectError]) -> T:
    """The value of a successful effect (the test fails on an error)."""
    return unsafe_perform_io(result.unwrap())


# =========================================================================== golden rows


def test_golden_submit_argv_and_ids() -> None:
    """real-schedulers.md §6 (verified): ``qsub -terse ... script`` prints the id alone; Son of
    Grid Engine 8.1.9 printed ``2``, ``4.1-3:1`` and, without -terse,
    ``Your job-array 33.2-6:2 ("arr") has been submitted``."""
    assert qsub_argv("/w/s.sge.sh", tool="/usr/bin/qsub") == (
        "/usr/bin/qsub",
        "-terse",
        "/w/s.sge.sh",
    )
    assert parse_qsub_output("2\n").unwrap() == SgeJobId(2)
    assert parse_qsub_output("4.1-3:1\n").unwrap() == SgeJobId(4, 1, 3, 1)
    verbose = 'Your job-array 33.2-6:2 ("arr") has been submitted\n'
    assert list(parse_qsub_output(verbose).unwrap().tasks) == [2, 4, 6]
    assert str(parse_qsub_output('Your job 32 ("true") has been submitted').unwrap()) == "32"


def test_golden_script() -> None:
    """qsub(1) directives: one ``#$`` line per option; ``-pe`` has two words."""
    script = qsub_script(
        [("-N", "sgetest"), ("-pe", "smp 4"), ("-l", "h_rt=1:00:00")], ["hostname"]
    )
    assert script.splitlines()[1:] == [
        "#$ -N sgetest",
        "#$ -pe smp 4",
        "#$ -l h_rt=1:00:00",
        "hostname",
    ]
    assert sge_lexer.options(script) == [
        ("-N", "sgetest"),
        ("-pe", "smp 4"),
        ("-l", "h_rt=1:00:00"),
    ]


def test_golden_preview_of_the_issue_example() -> None:
    """``BatchSettings(nodes=2, time=timedelta(hours=25))`` previews as ``h_rt=25:00:00`` and
    the qsub argv; two nodes are two slots of the parallel environment."""
    model = Model(
        name="sim",
        path="/exp/sim",
        run_settings=RunSettings(exe="a.out"),
        batch_settings=BatchSettings(nodes=2, time=dt.timedelta(hours=25)),
    )
    (launch,) = plan_sge(model, world()).unwrap()
    assert launch.submission is not None
    lines = launch.submission.script.splitlines()
    assert "#$ -l h_rt=25:00:00" in lines and "#$ -pe smp 2" in lines
    assert launch.submission.submit.argv == ("qsub", "-terse", "/exp/sim/sim.sge.sh")


# =========================================================================== the walltime table


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30", 30), ("010", 8), ("0x10", 16), ("1::1", 3601), ("25:00:00", 90000),
     ("90000", 90000), ("1:60:00", 7200), ("00:01:30", 90)],
)  # fmt: skip
def test_sge_reads_the_duration_table(text: str, seconds: int) -> None:
    """sge_types(1) time_specifier, each row checked on 8.1.9 (``qstat -j`` shows the
    seconds): seconds, octal with a leading 0, hex, three fields with empty ones zero."""
    assert sge_lexer.parse_time(text) == seconds


@pytest.mark.parametrize("text", ["10:00", "1:00:00:00", "1-00:00:00", "90m"])
def test_sge_refuses_what_qsub_refused(text: str) -> None:
    """8.1.9: ``attribute "h_rt" is not a time value`` for two or four fields."""
    with pytest.raises(sge_lexer.SgeLexError):
        sge_lexer.parse_time(text)


@given(durations())
def test_h_rt_round_trips_through_sge_parser(duration: Duration) -> None:
    """Every duration renders as an ``h_rt`` Grid Engine reads as the same seconds."""
    assert sge_lexer.parse_time(h_rt(duration)) == duration.seconds


# =========================================================================== directive lexer


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ('#$ -N "a b"', ["-N", "a b"]),
        ("#$ -N 'a b'", ["-N", "a b"]),
        ('#$ -N a"b c"d', ["-N", "ab cd"]),
        ("#$ -N a\\b", ["-N", "a\\b"]),
        ('#$ -N "ab#c"', ["-N", "ab"]),
        ('#$ -N "a b" -A acct', ["-N", "a b -A acct"]),
        ("#$ -N ab\t-A tab", ["-N", "ab", "-A", "tab"]),
        ("#$-N nospace", ["-N", "nospace"]),
    ],
)
def test_lexer_model_matches_what_sge_did(line: str, words: list[str]) -> None:
    """Each row is what ``qsub -verify`` of Son of Grid Engine 8.1.9 showed on this machine:
    quotes group then run to the line's end, ``#`` ends the directive even quoted."""
    assert sge_lexer.read_directives(line + "\n") == [words]


def test_indented_prefix_is_not_a_directive() -> None:
    """``parse_script_file``: the prefix must start the line (8.1.9 ignored ``  #$ -N x``)."""
    assert sge_lexer.read_directives("  #$ -N x\n") == []


@given(values)
def test_directive_word_reads_back_whole(word: str) -> None:
    """A ``#$`` value, split as 8.1.9 splits it, is one word: the value."""
    line = directive_lines([("-A", word)])[0]
    assert sge_lexer.options(line + "\n") == [("-A", word)]


@pytest.mark.parametrize(("word", "ch"), [("run#3", "#"), ("it's", "'"), ('a"b', '"')])
def test_words_sge_cannot_carry_are_refused(word: str, ch: str) -> None:
    """A ``#`` ends a directive and quotes are removed: such values are typed errors."""
    (error,) = check_word("f", word)
    assert isinstance(error, ForbiddenCharacter) and error.character == ch


@given(sge_batch_settings(), sge_names, st.integers(1, 64), st.integers(1, 4))
def test_sge_options_values_whole(bs: BatchSettings, name: str, tasks: int, cpt: int) -> None:
    """Each typed value reaches its directive whole and reads back with Grid Engine's syntax:
    name, queue, account, h_rt, task range and limit, parallel environment slots."""
    job = _job(bs, tasks=tasks, cpus=tasks * cpt)
    count = slots(job)
    options = qsub_options(bs, name=name, slots=count, cwd="/w", stdout="/o", stderr="/e")
    read = sge_lexer.options(qsub_script(options, ["true"]))
    assert read == list(options)
    got = dict(read)
    assert got["-N"] == (bs.job_name or name) and got["-S"] == "/bin/bash"
    assert got.get("-q") == bs.partition and got.get("-A") == bs.account
    times = [sge_lexer.parse_resources(v or "") for k, v in read if k == "-l"]
    if isinstance(bs.time, Duration):
        assert sge_lexer.parse_time(times[0]["h_rt"]) == bs.time.seconds
    if bs.array is not None:
        assert list(sge_lexer.parse_task_range(got["-t"] or "")) == list(bs.array.indices)
        assert got.get("-tc") == (None if bs.array.limit is None else str(bs.array.limit))
    if count > 1:
        assert got["-pe"] == f"smp {count}" and count >= tasks * cpt
    else:
        assert "-pe" not in got


def _job(bs: BatchSettings, *, tasks: int, cpus: int) -> BatchJob:
    return BatchJob(
        name="j", kind="Model", path="/w", settings=bs, members=("j",), stdout="/o",
        stderr="/e", stem="/w/j", body=("true",), tasks=tasks, cpus=cpus,
    )  # fmt: skip


@given(sge_arrays)
def test_task_range_round_trips(array: ArraySpec) -> None:
    """``-t n-m:s`` gives back the array's task ids."""
    assert list(sge_lexer.parse_task_range(task_range(array))) == list(array.indices)


@given(st.text(max_size=12))
def test_job_name_rule_agrees_with_sge(name: str) -> None:
    """``check_job_name`` accepts exactly the names 8.1.9 accepted (and ``#``/quotes, which a
    directive cannot carry, are refused too)."""
    try:
        sge_lexer.check_name(name)
        accepted = not set(name) & set("#'\"")
    except sge_lexer.SgeLexError:
        accepted = False
    assert (check_job_name("n", name) == []) == accepted


@given(st.dictionaries(env_names(), values.filter(lambda v: "," not in v), max_size=3))
def test_variable_list_is_checked_and_rendered(env: dict[str, str]) -> None:
    """``-v`` pairs without commas pass the check and render as ``K=V`` items."""
    assert check_variable_list("v", env) == []
    assert variable_list(env).split(",") == ([f"{k}={v}" for k, v in env.items()] or [""])


@pytest.mark.parametrize(
    ("bs", "kind", "field"),
    [
        (BatchSettings(gpus=1), Unsupported, "batch_settings.gpus"),
        (BatchSettings(mem=1024), Unsupported, "batch_settings.mem"),
        (BatchSettings(array=ArraySpec(0, 3)), BadValue, "batch_settings.array.start"),
        (BatchSettings(job_name="1sim"), BadName, "batch_settings.job_name"),
        (BatchSettings(batch_args={"sync": "y"}), Unsupported, "batch_settings.batch_args['sync']"),
        (BatchSettings(batch_args={"pe": "mpi 4"}), Unsupported, "batch_settings.batch_args['pe']"),
        (
            BatchSettings(batch_args={"l": "h_rt=60"}, time=60),
            DuplicateOption,
            "batch_settings.batch_args",
        ),
        (BatchSettings(account="run #3"), ForbiddenCharacter, "batch_settings.account"),
    ],
    ids=[
        "qsub(gpus)",
        "qsub(mem)",
        "qsub(t=0-3)",
        "qsub(N=1sim)",
        "qsub(sync=y)",
        "qsub(pe raw)",
        "qsub(l h_rt+time)",
        "qsub(A='run #3')",
    ],
)
def test_check_qsub_names_each_problem(bs: BatchSettings, kind: type, field: str) -> None:
    """What Grid Engine cannot express is a typed error naming the field."""
    errors = check_qsub(bs)
    assert [type(e) for e in errors] == [kind]
    assert errors[0].field == field


def test_slots_without_a_parallel_environment_are_refused() -> None:
    """Two nodes need a parallel environment: with ``pe=None`` that is a typed error."""
    model = Model(
        name="m",
        path="/exp/m",
        run_settings=RunSettings(exe="a"),
        batch_settings=BatchSettings(nodes=2),
    )
    errors = plan_sge(model, world(), pe=None).failure().errors
    assert [(type(e), e.field) for e in errors] == [(Unsupported, "model.batch_settings.nodes")]


def test_paths_grid_engine_reads_differently_are_refused() -> None:
    """``host:path``, comma lists and ``$JOB_ID``-style names make a path mean something
    else to qsub -o/-e/-wd: refused, named."""
    for path in ("/a:b", "/a,b", "/$HOME/x"):
        model = Model(name="m", path=path, run_settings=RunSettings(exe="a"))
        errors = plan_sge(model, world()).failure().errors
        assert [e.field for e in errors] == ["model.path"], path


def test_script_line_that_would_be_a_directive_is_refused() -> None:
    """Grid Engine reads ``#$`` lines anywhere in the script: an argument that would put one
    at the start of a line is refused."""
    rs = RunSettings(exe="echo", args=("x\n#$ -q other",))
    errors = plan_sge(Model(name="m", path="/exp/m", run_settings=rs), world()).failure().errors
    assert [e.field for e in errors] == ["model.run_settings.args[0]"]


@given(valid_batch_settings(), names())
def test_plan_never_raises(bs: BatchSettings, name: str) -> None:
    """Any batch settings give a plan or typed errors, never an exception."""
    model = Model(name=name, path="/exp/m", run_settings=RunSettings(exe="x"), batch_settings=bs)
    result = plan_sge(model, world())
    assert isinstance(result, (Success, Failure))
    if isinstance(result, Failure):
        assert isinstance(result.failure(), Invalid) and result.failure().errors


@settings(max_examples=50)
@given(models())
def test_plan_is_deterministic_and_values_whole(model: Model) -> None:
    """Planning twice gives the same launch; its directives carry the output paths and the
    working directory whole."""
    first = plan_sge(model, world())
    assert first == plan_sge(model, world())
    (launch,) = first.unwrap()
    assert launch.submission is not None
    read = dict(sge_lexer.options(launch.submission.script))
    assert (read["-o"], read["-e"], read["-wd"]) == (launch.stdout, launch.stderr, model.path)


def test_ensemble_is_one_job() -> None:
    """An ensemble with batch settings is one job whose slots add up its members' tasks."""
    members = tuple(
        Model(
            name=f"m{i}",
            path=f"/exp/e/m{i}",
            run_settings=RunSettings(exe="mpirun", run_command=None, ntasks=None),
        )
        for i in range(3)
    )
    ens = Ensemble(name="e", path="/exp/e", members=members, batch_settings=BatchSettings())
    (launch,) = plan_sge(ens, world()).unwrap()
    assert launch.submission is not None
    assert ("-pe", "smp 3") in sge_lexer.options(launch.submission.script)


# =========================================================================== status
# Captured from Son of Grid Engine 8.1.9 on this machine (qstat -xml with a running job, a
# running array of three tasks and a held job; qacct records), trimmed of repeated fields.

QSTAT_XML = """<?xml version='1.0'?>
<job_info  xmlns:xsd="http://arc.liv.ac.uk/repos/darcs/sge/source/dist/util/resources/schemas/qstat/qstat.xsd">
  <queue_info>
    <job_list state="running">
      <JB_job_number>3</JB_job_number>
      <JAT_prio>0.50000</JAT_prio>
      <JB_name>sleeper</JB_name>
      <JB_owner>root</JB_owner>
      <state>r</state>
      <JAT_start_time>2026-11-24T21:51:37</JAT_start_time>
      <queue_name>all.q@localhost</queue_name>
      <slots>1</slots>
    </job_list>
    <job_list state="running">
      <JB_job_number>4</JB_job_number>
      <JAT_prio>0.50000</JAT_prio>
      <JB_name>sleeper</JB_name>
      <JB_owner>root</JB_owner>
      <state>r</state>
      <JAT_start_time>2026-11-24T21:51:37</JAT_start_time>
      <queue_name>all.q@localhost</queue_name>
      <slots>1</slots>
      <tasks>1</tasks>
    </job_list>
  </queue_info>
  <job_info>
    <job_list state="pending">
      <JB_job_number>5</JB_job_number>
      <JAT_prio>0.00000</JAT_prio>
      <JB_name>sleeper</JB_name>
      <JB_owner>root</JB_owner>
      <state>hqw</state>
      <JB_submission_time>2026-11-24T21:51:37</JB_submission_time>
      <queue_name></queue_name>
      <slots>1</slots>
    </job_list>
  </job_info>
</job_info>
"""

QACCT = """==============================================================
qname        all.q
hostname     localhost
jobname      sleeper
jobnumber    3
taskid       undefined
failed       100 : assumedly after job
exit_status  137                  (Killed)
==============================================================
qname        all.q
jobname      arr
jobnumber    33
taskid       2
failed       0
exit_status  0
==============================================================
qname        all.q
jobname      arr
jobnumber    33
taskid       4
failed       0
exit_status  0
==============================================================
qname        all.q
jobname      sleep
jobnumber    29
taskid       undefined
failed       37  : qmaster enforced h_rt, h_cpu, or h_vmem limit
exit_status  137                  (Killed)
==============================================================
qname        all.q
jobname      false
jobnumber    30
taskid       undefined
failed       0
exit_status  1
Total System Usage
    WALLCLOCK         UTIME         STIME           CPU             MEMORY      IO      IOW
==========================================================================================
            2         0.179         0.076         0.255              0.000   0.000    0.000
"""


def test_status_of_the_qstat_sample() -> None:
    """Running, running array task and held jobs, by job number."""
    states = parse_qstat_xml(QSTAT_XML).unwrap()
    assert {k: v.status for k, v in states.items()} == {
        3: Status.RUNNING,
        4: Status.RUNNING,
        5: Status.PENDING,
    }


def test_status_of_the_qacct_sample() -> None:
    """Accounting records: a kill, an h_rt kill with its reason, a failure, and an array whose
    last task has no record yet (not final)."""
    records = parse_qacct(QACCT).unwrap()
    killed = accounting_state(records[3], SgeJobId(3))
    assert killed is not None and (killed.status, killed.signal) == (Status.FAILED, 9)
    limit = accounting_state(records[29], SgeJobId(29))
    assert limit is not None and "h_rt" in limit.reason
    failed = accounting_state(records[30], SgeJobId(30))
    assert failed is not None and (failed.status, failed.returncode) == (Status.FAILED, 1)
    assert accounting_state(records[33], SgeJobId(33, 2, 6, 2)) is None
    done = accounting_state(records[33], SgeJobId(33, 2, 4, 2))
    assert done is not None and done.status is Status.COMPLETED


def test_empty_accounting_is_no_records() -> None:
    """With nothing to report qacct prints only its usage summary (8.1.9)."""
    summary = "Total System Usage\n    WALLCLOCK  UTIME\n" + "=" * 40 + "\n   0  0.000\n"
    assert parse_qacct(summary) == Success({})


@pytest.mark.parametrize(
    ("state", "status"),
    [("qw", Status.PENDING), ("hqw", Status.PENDING), ("hRwq", Status.PENDING),
     ("r", Status.RUNNING), ("t", Status.RUNNING), ("Rr", Status.RUNNING),
     ("s", Status.RUNNING), ("S", Status.RUNNING), ("Eqw", Status.FAILED),
     ("dr", Status.CANCELLED), ("dt", Status.CANCELLED), ("z", Status.UNKNOWN)],
)  # fmt: skip
def test_qstat_state_letters(state: str, status: Status) -> None:
    """qstat(1) state letters map to statuses (an error state is a failure)."""
    assert qstat_state(state).status is status


@given(st.text(max_size=300))
def test_status_parsers_never_raise(text: str) -> None:
    """Arbitrary text gives a Result, never an exception."""
    assert isinstance(parse_qstat_xml(text), (Success, Failure))
    assert isinstance(parse_qacct(text), (Success, Failure))
    assert isinstance(parse_qsub_output(text), (Success, Failure))
    assert isinstance(SgeJobId.parse(text), (Success, Failure))


@given(st.lists(st.tuples(st.text(max_size=6), st.text(max_size=6)), max_size=4))
def test_status_parsers_never_raise_on_xml(entries: list[tuple[str, str]]) -> None:
    """Arbitrary job_list contents give a Result, never an exception."""
    from xml.sax.saxutils import escape

    body = "".join(
        f"<job_list><JB_job_number>{escape(a)}</JB_job_number><state>{escape(b)}</state></job_list>"
        for a, b in entries
    )
    assert isinstance(parse_qstat_xml(f"<job_info>{body}</job_info>"), (Success, Failure))


def test_cancel_and_status_argv() -> None:
    """qstat, qacct and qdel are one call each whatever the number of jobs."""
    assert qstat_argv(tool="/usr/bin/qstat") == ("/usr/bin/qstat", "-xml")
    assert qacct_argv(begin="202611241500") == ("qacct", "-b", "202611241500", "-j")
    assert qdel_argv([3, 4]) == ("qdel", "3", "4")
    text = 'root has registered the job 3 for deletion\ndenied: job "2" does not exist\n'
    assert qdel_succeeded(1, text, "") and qdel_acted(text) == {3}
    assert not qdel_succeeded(1, 'root - not allowed to delete job "7"\n', "")


# =========================================================================== launcher (fakes)


@pytest.fixture
def fake_sge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The fake qsub/qstat/qdel/qacct first on PATH, with their own state directory."""
    state = tmp_path / "sge-state"
    monkeypatch.setenv("SMARTSIM_FAKE_STATE", str(state))
    monkeypatch.setenv("PATH", os.pathsep.join([str(FAKES), os.environ["PATH"]]))
    yield state


def _calls(state: Path) -> list[dict[str, object]]:
    path = state / "calls.log"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_experiment_start_status_stop(fake_sge: Path, tmp_path: Path) -> None:
    """Through ``Experiment(launcher="sge")``: a quick job completes (its state from qacct)
    with its output in place (a long job's stop: test_schedulers)."""
    exp = Experiment("e", exp_path=tmp_path / "exp", launcher="sge")
    bs = exp.create_batch_settings(time=dt.timedelta(minutes=5))
    quick = exp.create_model(
        "quick", exp.create_run_settings("bash", ["-c", "echo hello from $JOB_ID"]),
        batch_settings=bs,
    )  # fmt: skip
    exp.start(quick, block=True)
    assert exp.get_status(quick) == [Status.COMPLETED]
    assert "hello from 1" in (tmp_path / "exp" / "quick" / "quick.out").read_text()
    assert "qacct" in [c["tool"] for c in _calls(fake_sge)]


def test_poll_is_at_most_two_calls(fake_sge: Path, tmp_path: Path) -> None:
    """Polling any number of jobs runs qstat once and, only for jobs qstat no longer lists,
    qacct once."""
    launcher = SchedulerLauncher(SGE)
    handles: list[Handle] = []
    for i, exe in enumerate(["true", "sleep", "sleep"]):
        rs = RunSettings(exe=exe, args=() if exe == "true" else ("30",))
        model = Model(name=f"m{i}", path=str(tmp_path / f"m{i}"), run_settings=rs)
        handles.append(ok(launcher.start(plan_sge(model, world()).unwrap()[0])))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        before = len(_calls(fake_sge))
        states = ok(launcher.poll(handles))
        calls = [c["tool"] for c in _calls(fake_sge)[before:]]
        if states[handles[0]].status is Status.COMPLETED:
            break
        time.sleep(0.2)
    assert calls == ["qstat", "qacct"]
    assert [states[h].status for h in handles] == [Status.COMPLETED, Status.RUNNING, Status.RUNNING]
    ok(launcher.stop(handles))
    final = ok(launcher.poll(handles))
    assert [final[h].status for h in handles] == [
        Status.COMPLETED,
        Status.CANCELLED,
        Status.CANCELLED,
    ]


def test_a_pending_job_deleted_leaves_no_record_but_is_cancelled(
    fake_sge: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job deleted while pending has no accounting record (8.1.9); the launcher that
    deleted it reports CANCELLED, another reports UNKNOWN."""
    monkeypatch.setenv("SMARTSIM_FAKE_HOLD", "1")
    launcher = SchedulerLauncher(SGE)
    model = Model(name="held", path=str(tmp_path / "held"), run_settings=RunSettings(exe="true"))
    handle = ok(launcher.start(plan_sge(model, world()).unwrap()[0]))
    assert ok(launcher.poll([handle]))[handle].status is Status.PENDING
    ok(launcher.stop([handle]))
    assert ok(launcher.poll([handle]))[handle].status is Status.CANCELLED
    assert ok(SchedulerLauncher(SGE).poll([handle]))[handle] == JobState(
        Status.UNKNOWN, reason="sge does not report it"
    )


def test_fake_qsub_rejects_what_qsub_rejected(fake_sge: Path, tmp_path: Path) -> None:
    """The fake is strict with 8.1.9's messages: h_rt of two fields, task id 0, an unknown
    parallel environment, a name starting with a digit."""
    script = tmp_path / "s.sh"
    for directive, message in [
        ("#$ -l h_rt=10:00", 'attribute "h_rt" is not a time value'),
        ("#$ -t 0-3", "0 is an invalid task id"),
        ("#$ -pe nosuch 2", 'parallel environment "nosuch" does not exist'),
        ("#$ -N 1abc", "is not a valid object name"),
    ]:
        script.write_text(f"#!/bin/bash\n{directive}\ntrue\n")
        done = subprocess.run(["qsub", str(script)], capture_output=True, text=True, check=False)
        assert done.returncode != 0 and message in done.stderr, directive


def test_experiment_refuses_what_qsub_cannot_express(fake_sge: Path, tmp_path: Path) -> None:
    """An entity Grid Engine cannot run is an error when it is created, naming the field."""
    exp = Experiment("e", exp_path=tmp_path / "exp", launcher="sge")
    with pytest.raises(SmartSimError) as raised:
        exp.create_model("m", RunSettings(exe="true"), batch_settings=BatchSettings(gpus=1))
    error = raised.value.error
    assert isinstance(error, Invalid)
    assert [e.field for e in error.errors] == ["model.batch_settings.gpus"]
