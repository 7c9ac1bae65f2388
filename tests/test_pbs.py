"""PBS Pro / OpenPBS: qsub scripts and argv, job ids, qstat JSON, qdel, and the PBS launcher
driven through start, status and stop by the fake tools in tests/fakes/pbs."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from returns.io import IOResult
from returns.result import Failure, Success
from returns.unsafe import unsafe_perform_io

from smartsim import Experiment, SmartSimError, Status
from smartsim.commands.pbs import (
    JOB_NAME,
    PbsJobId,
    check_array,
    check_job_name,
    check_qsub,
    check_variable_list,
    directive_lines,
    job_state,
    parse_qstat_json,
    parse_qsub_output,
    plan_pbs,
    qdel_acted,
    qdel_argv,
    qdel_succeeded,
    qstat_argv,
    qsub_argv,
    qsub_options,
    qsub_script,
    select,
    variable_list,
    walltime,
)
from smartsim.commands.pbs import SCHEDULER as PBS
from smartsim.commands.plan import World
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
from smartsim.values import ArraySpec, BatchSettings, Duration, Ensemble, Model, RunSettings
from tests.oracles import pbs_lexer
from tests.strategies import (
    arguments,
    array_specs,
    durations,
    env_names,
    memories,
    names,
    program_names,
    single_line_text,
    valid_batch_settings,
    valid_env,
)

FAKES = Path(__file__).parent / "fakes" / "pbs"
T = TypeVar("T")

# =========================================================================== strategies

_LETTER = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
pbs_names = st.builds(
    lambda a, b: a + b, st.sampled_from(_LETTER), st.text(_LETTER + "0123456789_.-", max_size=10)
)
#: Directive values: any single-line text (both quotes, backslashes, '#', blanks, unicode).
values = single_line_text(max_size=12)
pbs_arrays = array_specs().filter(lambda a: len(a.indices) >= 2)
#: Raw qsub options smartsim passes through (letter -> values qsub accepts).
_RAW = {
    "W": st.sampled_from(["depend=afterok:12.srv", "group_list=proj", "sandbox=PRIVATE"]),
    "p": st.integers(-1024, 1023),
    "m": st.sampled_from(["abe", "n", "a"]),
    "P": values,
    "M": values,
    "r": st.just("y"),
    "V": st.just(None),
}


@st.composite
def pbs_batch_settings(draw: st.DrawFn) -> BatchSettings:
    """Settings qsub can express, with nasty text wherever qsub takes any string."""
    keys = draw(st.lists(st.sampled_from(sorted(_RAW)), unique=True, max_size=3))
    return BatchSettings(
        nodes=draw(st.none() | st.integers(1, 64)),
        time=draw(st.none() | durations()),
        account=draw(st.none() | values),
        partition=draw(st.none() | values),
        mem=draw(st.none() | memories()),
        gpus=draw(st.none() | st.integers(1, 8)),
        job_name=draw(st.none() | pbs_names),
        array=draw(st.none() | pbs_arrays),
        batch_args={k: draw(_RAW[k]) for k in keys},
    )


pbs_paths = st.lists(
    values.filter(lambda s: "/" not in s and ":" not in s and s not in (".", "..")),
    min_size=1,
    max_size=3,
).map(lambda parts: "/" + "/".join(parts))


@st.composite
def models(draw: st.DrawFn, *, batch: bool = True) -> Model:
    rs = RunSettings(
        exe=draw(program_names()),
        args=draw(st.lists(arguments(), max_size=3)),
        env=draw(valid_env()),
    )
    return Model(
        name=draw(names()),
        path=draw(pbs_paths),
        run_settings=rs,
        batch_settings=draw(pbs_batch_settings()) if batch else None,
    )


def world() -> World:
    return World(exp_path="/exp")


# =========================================================================== golden rows
# Each row: what a PBS manual page shows, and the call that must produce exactly that.


def test_golden_script_qsub_man_weather() -> None:
    """qsub(1B) EXAMPLES, "weatherscript": a ``-N`` and a ``walltime`` directive, then the
    program; one ``#PBS`` line per option."""
    script = qsub_script(
        [("-N", "Weather1"), ("-l", f"walltime={walltime(Duration(3600))}")],
        ["/usr/local/weathersim"],
    )
    assert script.splitlines()[1:] == [
        "#PBS -N Weather1",
        "#PBS -l walltime=1:00:00",
        "/usr/local/weathersim",
    ]


def test_golden_directives_qsub_man_python_job() -> None:
    """qsub(1B) "Python Job Scripts": ``#PBS -l select=1:ncpus=3:mem=1gb`` then
    ``#PBS -N HelloJob``."""
    assert directive_lines([("-l", "select=1:ncpus=3:mem=1gb"), ("-N", "HelloJob")]) == (
        "#PBS -l select=1:ncpus=3:mem=1gb",
        "#PBS -N HelloJob",
    )


@pytest.mark.parametrize(
    ("env", "argv"),
    [
        # qsub(1B) -v: qsub -v "var1='A,B,C,D'" job.sh
        ({"var1": "A,B,C,D"}, ("qsub", "-v", "var1='A,B,C,D'", "job.sh")),
        # qsub(1B) -v: qsub -v a=10, "var2='A,B'", c=20, HOME=/home/zzz job.sh
        (
            {"a": "10", "var2": "A,B", "c": "20", "HOME": "/home/zzz"},
            ("qsub", "-v", "a=10,var2='A,B',c=20,HOME=/home/zzz", "job.sh"),
        ),
    ],
    ids=["qsub_man_v_commas", "qsub_man_v_list"],
)
def test_golden_variable_list(env: dict[str, str], argv: tuple[str, ...]) -> None:
    """A ``-v`` value holding commas is single-quoted inside the pair (qsub(1B) -v)."""
    assert qsub_argv([("-v", variable_list(env))], "job.sh") == argv


def test_golden_dependency_argv() -> None:
    """qsub(1B) -W: ``qsub -W depend=afterok:123.host1.domain.com /tmp/script``."""
    options = qsub_options(BatchSettings(batch_args={"W": "depend=afterok:123.host1.domain.com"}))
    assert qsub_argv(options, "/tmp/script") == (
        "qsub",
        "-W",
        "depend=afterok:123.host1.domain.com",
        "/tmp/script",
    )


@pytest.mark.parametrize(
    ("text", "seq", "array", "index", "server"),
    [
        ("1.vbox", 1, False, None, "vbox"),  # qstat JSON design page PP-483
        ("1234[].pbs01.example.org", 1234, True, None, "pbs01.example.org"),  # qsub(1B)
        ("1234[7].pbs01", 1234, True, 7, "pbs01"),  # a subjob (qstat(1B) -t)
        ("42", 42, False, None, None),  # a bare sequence number (Debian's Torque wrappers)
    ],
)
def test_golden_job_ids(
    text: str, seq: int, array: bool, index: int | None, server: str | None
) -> None:
    """Job ids in every form qsub and qstat print parse into one value and print back."""
    job = PbsJobId.parse(text).unwrap()
    assert (job.seq, job.array, job.index, job.server) == (seq, array, index, server)
    assert str(job) == text


def test_golden_preview_of_the_issue_example() -> None:
    """``BatchSettings(nodes=2, time=timedelta(hours=25))`` previews as ``walltime=25:00:00``
    and the submit tool's argv."""
    model = Model(
        name="sim",
        path="/exp/sim",
        run_settings=RunSettings(exe="a.out"),
        batch_settings=BatchSettings(nodes=2, time=dt.timedelta(hours=25)),
    )
    launch = plan_pbs(model, world()).unwrap()[0]
    assert launch.submission is not None
    assert "#PBS -l walltime=25:00:00" in launch.submission.script.splitlines()
    assert launch.submission.submit.argv == ("qsub", "/exp/sim/sim.pbs.sh")
    assert "qsub /exp/sim/sim.pbs.sh" in launch.shell()


# =========================================================================== the walltime table


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30", 30), ("10:00", 600), ("1:00:00", 3600), ("25:00:00", 90000), ("1:30.5", 91)],
)
def test_pbs_reads_the_duration_table(text: str, seconds: int) -> None:
    """peers.md §2.6 for PBS: a bare number is seconds, ``10:00`` ten minutes, hours unbounded
    (``decode_time``), a fraction of .5 rounds up."""
    assert pbs_lexer.parse_walltime(text) == seconds


@given(durations())
def test_walltime_round_trips_through_pbs_parser(duration: Duration) -> None:
    """Every duration renders as a walltime PBS reads back as the same number of seconds."""
    assert pbs_lexer.parse_walltime(walltime(duration)) == duration.seconds


# =========================================================================== directive lexer


@given(values)
def test_directive_word_reads_back_whole(word: str) -> None:
    """qsub's make_argv gives back exactly one word, the value, and the line never ends with a
    backslash (which would join the next line)."""
    line = directive_lines([("-N", word)])[0]
    assert pbs_lexer.read_directives(line + "\n") == [["-N", word]]
    assert not line.endswith("\\")


_FLAGS = st.sampled_from(["-V", "-h", "-z"])
_VALUED = st.sampled_from(list("aAcejJklmMNopPqrRSuvW"))


@given(
    st.lists(
        st.one_of(st.tuples(_FLAGS, st.none()), st.tuples(_VALUED.map("-".__add__), values)),
        max_size=6,
    )
)
def test_directives_give_back_every_option(options: list[tuple[str, str | None]]) -> None:
    """A script's ``#PBS`` lines, re-read by the model of qsub's lexer, give back the options
    in order, each value whole."""
    script = qsub_script(options, ["echo body", "#PBS -N not-a-directive"])
    assert pbs_lexer.options(script) == options


@given(pbs_batch_settings(), names(), st.integers(1, 64), st.integers(1, 4))
def test_qsub_options_values_whole(bs: BatchSettings, name: str, tasks: int, cpt: int) -> None:
    """Each typed value reaches its directive whole: name, queue, account, walltime, array,
    select and raw options, read back by the lexer model and each value's own parser."""
    options = qsub_options(bs, name=name, tasks=tasks, cpus=tasks * cpt, stdout="/o", stderr="/e")
    read = pbs_lexer.options(qsub_script(options, ["true"]))
    assert read == list(options)
    got = dict((k, v) for k, v in read if k != "-l")
    expected_name = bs.job_name or name
    assert got.get("-N") == (expected_name if JOB_NAME.fullmatch(expected_name) else None)
    assert got.get("-q") == bs.partition
    assert got.get("-A") == bs.account
    resources: dict[str, str] = {}
    for key, value in read:
        if key == "-l" and value is not None:
            resources.update(pbs_lexer.parse_resource_list(value))
    if isinstance(bs.time, Duration):
        assert pbs_lexer.parse_walltime(resources["walltime"]) == bs.time.seconds
    if bs.nodes is not None:
        ((count, chunk),) = pbs_lexer.parse_select(resources["select"])
        assert count == bs.nodes
        assert int(chunk["mpiprocs"]) * bs.nodes >= tasks
        assert int(chunk["ncpus"]) * bs.nodes >= tasks * cpt
    if bs.array is not None:
        indices, limit = pbs_lexer.parse_array_range(got["-J"] or "")
        assert (list(indices), limit) == (list(bs.array.indices), bs.array.limit)
    for raw_key, raw_value in bs.batch_args.items():
        if raw_value is not None:
            assert (f"-{raw_key}", str(raw_value)) in read


# =========================================================================== values and rules


@given(st.dictionaries(env_names(), values.filter(lambda v: not set(v) & set("'\"\\")), max_size=4))
def test_variable_list_round_trips(env: dict[str, str]) -> None:
    """``-v`` pairs, read by qsub's comma splitter and value reader, and through a directive,
    give back the environment (commas and blanks included)."""
    assert check_variable_list("v", env) == []
    if env:
        text = variable_list(env)
        assert pbs_lexer.parse_variable_list(text) == env
        (option,) = pbs_lexer.options(qsub_script([("-v", text)], []))
        assert pbs_lexer.parse_variable_list(option[1] or "") == env


@pytest.mark.parametrize("ch", ["'", '"', "\\"])
def test_variable_list_refuses_quotes_and_backslashes(ch: str) -> None:
    """qsub removes quotes from ``-v`` values and its comma splitter and value reader disagree
    on backslashes: such values are a typed error, not a mangled variable."""
    (error,) = check_variable_list("v", {"A": f"x{ch}y"})
    assert isinstance(error, ForbiddenCharacter)


@given(array_specs())
def test_array_rule_agrees_with_chk_jrange(array: ArraySpec) -> None:
    """An array passes :func:`check_array` exactly when qsub's ``chk_Jrange`` model accepts its
    ``-J`` range, and then the range gives back its indices and limit."""
    ok = check_array("a", array) == []
    try:
        indices, limit = pbs_lexer.parse_array_range(str(array))
    except pbs_lexer.PbsLexError:
        assert not ok or len(array.indices) < 2
        return
    if len(array.indices) < 2:
        assert not ok
    else:
        assert ok and (list(indices), limit) == (list(array.indices), array.limit)


def test_array_of_one_subjob_is_refused() -> None:
    """openpbs/openpbs#2701: ``-J 1-1`` fails; smartsim says so before submitting."""
    (error,) = check_array("batch_settings.array", ArraySpec(1, 1))
    assert isinstance(error, BadValue)
    assert isinstance(plan_pbs(_model(BatchSettings(array=ArraySpec(3, 5, 7))), world()), Failure)


@given(st.text(max_size=12))
def test_job_name_rule_agrees_with_qsub(name: str) -> None:
    """``check_job_name`` accepts exactly the names qsub's ``check_job_name`` model does."""
    try:
        pbs_lexer.check_job_name(name)
        accepted = True
    except pbs_lexer.PbsLexError:
        accepted = False
    assert (check_job_name("n", name) == []) == accepted


def test_select_statement() -> None:
    """One chunk per node: ``select=N:ncpus=C:mpiprocs=P[:ngpus=G][:mem=Mmb]``."""
    resources = pbs_lexer.parse_resource_list(select(2, 8, 4, ngpus=1, mem_mb=4096))
    chunks = pbs_lexer.parse_select(resources["select"])
    assert chunks == [(2, {"ncpus": "8", "mpiprocs": "4", "ngpus": "1", "mem": "4096mb"})]


@pytest.mark.parametrize(
    ("bs", "kind", "field"),
    [
        (BatchSettings(job_name="1sim"), BadName, "batch_settings.job_name"),
        (BatchSettings(batch_args={"o": "/x"}), Unsupported, "batch_settings.batch_args['o']"),
        (BatchSettings(batch_args={"I": None}), Unsupported, "batch_settings.batch_args['I']"),
        (
            BatchSettings(batch_args={"q": "a"}, partition="b"),
            DuplicateOption,
            "batch_settings.batch_args['q']",
        ),
        (
            BatchSettings(batch_args={"l": "walltime=1:00:00"}, time=60),
            DuplicateOption,
            "batch_settings.batch_args",
        ),
        (
            BatchSettings(batch_args={"l": "select=1:ncpus=2"}, nodes=1),
            DuplicateOption,
            "batch_settings.batch_args",
        ),
        (BatchSettings(batch_args={"nodes": 2}), BadValue, "batch_settings.batch_args"),
    ],
    ids=[
        "qsub(N=1sim)",
        "qsub(o=raw)",
        "qsub(I)",
        "qsub(q+partition)",
        "qsub(l walltime+time)",
        "qsub(l select+nodes)",
        "qsub(nodes=raw)",
    ],
)
def test_check_qsub_names_each_problem(bs: BatchSettings, kind: type, field: str) -> None:
    """What qsub cannot express is a typed error naming the field."""
    errors = check_qsub(bs)
    assert [type(e) for e in errors] == [kind]
    assert errors[0].field == field


def test_output_path_with_colon_is_refused() -> None:
    """qsub -o reads ``host:path``: a path holding ``:`` is refused, not misrouted."""
    model = Model(name="m", path="/x:y/m", run_settings=RunSettings(exe="a"))
    errors = plan_pbs(model, world()).failure().errors
    assert [type(e) for e in errors] == [Unsupported]


@given(valid_batch_settings(), names(), pbs_paths)
def test_plan_never_raises(bs: BatchSettings, name: str, path: str) -> None:
    """Any batch settings give a plan or typed errors, never an exception."""
    model = Model(name=name, path=path, run_settings=RunSettings(exe="x"), batch_settings=bs)
    result = plan_pbs(model, world())
    assert isinstance(result, (Success, Failure))
    if isinstance(result, Failure):
        assert isinstance(result.failure(), Invalid) and result.failure().errors


@settings(max_examples=50)
@given(models())
def test_plan_is_deterministic_and_values_whole(model: Model) -> None:
    """Planning twice gives the same launch; the script's directives carry the name, output
    paths and settings whole; every argument reaches the script."""
    first, second = plan_pbs(model, world()), plan_pbs(model, world())
    assert first == second
    launch = first.unwrap()[0]
    assert launch.submission is not None
    read = dict(pbs_lexer.options(launch.submission.script))
    assert read["-o"] == launch.stdout and read["-e"] == launch.stderr
    assert launch.submission.submit.argv == ("qsub", launch.submission.script_path)
    assert launch.cwd == model.path


def test_ensemble_is_one_job_running_members_in_background() -> None:
    """An ensemble with batch settings is one job: one line per member, each in the
    background with its own output, then a wait on each."""
    members = tuple(
        Model(
            name=f"m{i}", path=f"/exp/e/m{i}", run_settings=RunSettings(exe="echo", args=(str(i),))
        )
        for i in range(2)
    )
    ens = Ensemble(name="e", path="/exp/e", members=members, batch_settings=BatchSettings(nodes=1))
    (launch,) = plan_pbs(ens, world()).unwrap()
    assert launch is not None and launch.submission is not None
    script = launch.submission.script
    assert "cd /exp/e/m0 && echo 0 >/exp/e/m0/m0.out 2>/exp/e/m0/m0.err &" in script
    assert launch.members == ("m0", "m1") and launch.mkdirs == ("/exp/e", "/exp/e/m0", "/exp/e/m1")
    # without batch settings, like members are one array (qsub -J 0-1), unlike ones a job each
    separate = Ensemble(name="e", path="/exp/e", members=members)
    (array,) = plan_pbs(separate, world()).unwrap()
    assert array.submission is not None and "#PBS -J 0-1\n" in array.submission.script
    unlike = (*members[:1], attrs.evolve(members[1], run_settings=RunSettings(exe="true")))
    assert len(plan_pbs(Ensemble(name="e", path="/exp/e", members=unlike), world()).unwrap()) == 2


def _model(bs: BatchSettings | None = None) -> Model:
    return Model(name="m", path="/exp/m", run_settings=RunSettings(exe="a.out"), batch_settings=bs)


# =========================================================================== status

#: OpenPBS design page PP-483 ("Enhance output of qstat ... JSON"), its example, shortened.
PP483 = """{
     "timestamp":1479277336,
     "pbs_version":"14.1",
     "pbs_server":"vbox",
     "Jobs":{
                 "1.vbox":{
                         "Job_Name":"STDIN",
                         "Job_Owner":"root@vbox",
                         "job_state":"Q",
                         "queue":"workq",
                         "server":"vbox",
                         "Checkpoint":"u",
                         "ctime":"Fri Nov 11 17:57:05 2016",
                         "Error_Path":"vbox:/home/nithinj/Tasks/overlay/STDIN.e1",
                         "Hold_Types":"n",
                         "Join_Path":"n"
                 }
     }
}"""


def test_status_of_the_pp483_sample() -> None:
    """The design page's sample is a queued job: PENDING, found by sequence number."""
    states = parse_qstat_json(PP483, ["1.vbox.example.org"]).unwrap()
    assert states["1.vbox.example.org"].status is Status.PENDING
    assert states["1.vbox.example.org"].raw == "Q"


@pytest.mark.parametrize(
    ("attributes", "array", "status", "returncode", "signal"),
    [
        ({"job_state": "R"}, False, Status.RUNNING, None, None),
        ({"job_state": "B"}, True, Status.RUNNING, None, None),
        ({"job_state": "H"}, False, Status.PENDING, None, None),
        ({"job_state": "F", "Exit_status": 0}, False, Status.COMPLETED, 0, None),
        ({"job_state": "F", "Exit_status": 2}, False, Status.FAILED, 2, None),
        ({"job_state": "F", "Exit_status": -29}, False, Status.FAILED, -29, None),  # JOB_EXEC_*
        ({"job_state": "F", "Exit_status": 265}, False, Status.CANCELLED, 265, 9),  # 256 + 9
        ({"job_state": "F", "Exit_status": 267}, False, Status.FAILED, 267, 11),  # SIGSEGV
        ({"job_state": "F"}, False, Status.CANCELLED, None, None),  # deleted while queued
        ({"job_state": "F", "Exit_status": 1}, True, Status.FAILED, 1, None),  # array: a subjob
        ({"job_state": "F", "Exit_status": 2}, True, Status.CANCELLED, 2, None),  # array: deleted
        ({"job_state": "X", "Exit_status": "0"}, False, Status.COMPLETED, 0, None),
    ],
)
def test_job_state_table(
    attributes: dict[str, object],
    array: bool,
    status: Status,
    returncode: int | None,
    signal: int | None,
) -> None:
    """qstat(1B) job states and the PBS Reference Guide's exit-status rules map to statuses."""
    state = job_state(attributes, array=array)
    assert (state.status, state.returncode, state.signal) == (status, returncode, signal)


def test_status_with_unescaped_backslashes() -> None:
    """Some PBS versions print ``\\,`` unescaped in Variable_List; the JSON is still read."""
    text = '{"Jobs": {"7.s": {"job_state": "R", "Variable_List": "A=x\\,y"}}}'
    assert parse_qstat_json(text, ["7.s"]).unwrap()["7.s"].status is Status.RUNNING


@given(st.text(max_size=200), st.lists(st.text(max_size=10), max_size=3))
def test_status_parser_never_raises(text: str, ids: list[str]) -> None:
    """Arbitrary text gives a Result, never an exception."""
    assert isinstance(parse_qstat_json(text, ids), (Success, Failure))
    assert isinstance(PbsJobId.parse(text), (Success, Failure))
    assert isinstance(parse_qsub_output(text), (Success, Failure))


@given(st.dictionaries(st.text(max_size=5), st.text(max_size=5) | st.integers(), max_size=4))
def test_status_parser_never_raises_on_json(attributes: dict[str, object]) -> None:
    """Arbitrary JSON attributes give a Result, never an exception."""
    text = json.dumps({"Jobs": {"3.s": attributes, "x": attributes}})
    assert isinstance(parse_qstat_json(text, ["3.s"]), (Success, Failure))


def test_submit_output_takes_the_last_line() -> None:
    """A site wrapper's banner before the id is not the id."""
    assert str(parse_qsub_output("Welcome to Stampede3\n12.pbs01\n").unwrap()) == "12.pbs01"
    assert isinstance(parse_qsub_output("qsub: illegal -N value\n"), Failure)


def test_cancel_and_status_argv() -> None:
    """One call for every job: ``qstat -f -F json -x ids`` and ``qdel ids``."""
    assert qstat_argv(["1.s", "2[].s"], tool="/opt/pbs/bin/qstat") == (
        "/opt/pbs/bin/qstat", "-f", "-F", "json", "-x", "1.s", "2[].s",
    )  # fmt: skip
    assert qdel_argv(["1.s"]) == ("qdel", "1.s")
    assert qdel_succeeded(153, "", "qdel: Unknown Job Id 9.s\n")
    assert not qdel_succeeded(1, "", "qdel: Unauthorized Request  9.s\n")
    assert qdel_acted("qdel: Job has finished 9.s\n", ["9.s", "10.s"]) == {"10.s"}


# =========================================================================== launcher (fakes)


@pytest.fixture
def fake_pbs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The fake qsub/qstat/qdel first on PATH, with their own state directory."""
    state = tmp_path / "pbs-state"
    monkeypatch.setenv("SMARTSIM_FAKE_STATE", str(state))
    monkeypatch.setenv("PATH", os.pathsep.join([str(FAKES), os.environ["PATH"]]))
    yield state


def _calls(state: Path) -> list[dict[str, object]]:
    path = state / "calls.log"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def ok(result: IOResult[T, EffectError]) -> T:
    """The value of a successful effect (the test fails on an error)."""
    return unsafe_perform_io(result.unwrap())


def test_experiment_start_status_stop(fake_pbs: Path, tmp_path: Path) -> None:
    """Through ``Experiment(launcher="pbs")``: the job sees its PBS job id and completes with
    its output where smartsim said (start -> status -> stop of a long job: test_schedulers)."""
    exp = Experiment("e", exp_path=tmp_path / "exp", launcher="pbs")
    bs = exp.create_batch_settings(nodes=1, time=dt.timedelta(minutes=5))
    quick = exp.create_model(
        "quick", exp.create_run_settings("bash", ["-c", "echo hello from $PBS_JOBID"]),
        batch_settings=bs,
    )  # fmt: skip
    exp.start(quick, block=True)
    assert exp.get_status(quick) == [Status.COMPLETED]
    assert "hello from 1.fakepbs" in (tmp_path / "exp" / "quick" / "quick.out").read_text()
    tools = [c["tool"] for c in _calls(fake_pbs)]
    assert tools.count("qsub") == 1 and "qstat" in tools


def test_fake_qsub_rejects_what_qsub_rejects(fake_pbs: Path, tmp_path: Path) -> None:
    """The fake is strict: an illegal name, a one-subjob array, a float walltime fail."""
    import subprocess

    script = tmp_path / "s.sh"
    for directive in ("#PBS -N 1abc", "#PBS -J 1-1", "#PBS -l walltime=1.0:0:0", "#PBS -Q x"):
        script.write_text(f"#!/bin/bash\n{directive}\ntrue\n")
        done = subprocess.run(["qsub", str(script)], capture_output=True, text=True, check=False)
        assert done.returncode != 0, directive
        assert "qsub:" in done.stderr


def test_experiment_refuses_what_qsub_cannot_express(fake_pbs: Path, tmp_path: Path) -> None:
    """An entity PBS cannot run is an error when it is created, naming the field."""
    exp = Experiment("e", exp_path=tmp_path / "exp", launcher="pbs")
    with pytest.raises(SmartSimError) as raised:
        exp.create_model(
            "m", RunSettings(exe="true"), batch_settings=BatchSettings(job_name="9lives")
        )
    error = raised.value.error
    assert isinstance(error, Invalid)
    assert [e.field for e in error.errors] == ["model.batch_settings.job_name"]


def test_reconnect_uses_the_tools_the_job_was_submitted_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job submitted with qsub named by path is polled and stopped, from the journal of an
    earlier process, with the qstat and qdel beside that qsub — not whatever ``qstat`` PATH
    finds."""
    monkeypatch.setenv("SMARTSIM_FAKE_STATE", str(tmp_path / "state"))
    launcher = SchedulerLauncher(PBS, tools={"qsub": str(FAKES / "qsub")})
    exp = Experiment("e", exp_path=tmp_path / "exp", launcher=launcher)
    model = exp.create_model("slow", RunSettings(exe="sleep", args=("30",)))
    exp.start(model, block=False)
    again = Experiment.reconnect(tmp_path / "exp", launcher="pbs")
    assert again.get_status() in ([Status.PENDING], [Status.RUNNING])
    again.stop()
    assert again.get_status() == [Status.CANCELLED]


def test_without_job_history_the_exit_file_tells(
    fake_pbs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a server without job history (PBS's default) qstat forgets finished jobs: the exit
    status the script recorded tells COMPLETED from FAILED."""
    monkeypatch.setenv("SMARTSIM_FAKE_PBS_JOB_HISTORY", "0")
    exp = Experiment("e", exp_path=tmp_path / "exp", launcher="pbs")
    good = exp.create_model("good", RunSettings(exe="true"))
    bad = exp.create_model("bad", RunSettings(exe="bash", args=("-c", "exit 7")))
    exp.start(good, bad, block=True)
    assert exp.get_status(good, bad) == [Status.COMPLETED, Status.FAILED]
    assert exp.states()["bad"].returncode == 7
    assert "exit-status file" in exp.states()["bad"].reason


def test_an_earlier_runs_exit_file_is_never_read(
    fake_pbs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The exit-status file is removed before submitting: a job deleted before it ran, on a
    server without history, is CANCELLED, not the COMPLETED a stale file would say."""
    monkeypatch.setenv("SMARTSIM_FAKE_PBS_JOB_HISTORY", "0")
    monkeypatch.setenv("SMARTSIM_FAKE_HOLD", "1")
    launcher = SchedulerLauncher(PBS)
    model = Model(name="m", path=str(tmp_path / "m"), run_settings=RunSettings(exe="true"))
    (launch,) = plan_pbs(model, world()).unwrap()
    stale = tmp_path / "m" / "m.rc"
    stale.parent.mkdir()
    stale.write_text("0\n")
    handle = ok(launcher.start(launch))
    assert not stale.exists()
    assert ok(launcher.poll([handle]))[handle].status is Status.PENDING
    ok(launcher.stop([handle]))
    assert ok(launcher.poll([handle]))[handle].status is Status.CANCELLED
