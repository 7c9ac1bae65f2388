"""IBM Spectrum LSF: bsub scripts on standard input, job ids, bjobs JSON, bkill, and the LSF
launcher driven through start, status and stop by the fake tools in tests/fakes/lsf."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from returns.result import Failure, Success

from smartsim import Experiment, SmartSimError, Status
from smartsim.commands.lsf import (
    bjobs_argv,
    bkill_acted,
    bkill_argv,
    bkill_succeeded,
    bsub_argv,
    bsub_options,
    bsub_script,
    check_bsub,
    check_env,
    check_word,
    directive_lines,
    env_value,
    job_array,
    parse_bjobs_json,
    parse_bsub_output,
    plan_lsf,
    record_state,
    run_limit,
)
from smartsim.commands.plan import World
from smartsim.errors import (
    BadValue,
    DuplicateOption,
    ForbiddenCharacter,
    Invalid,
    Unsupported,
)
from smartsim.values import ArraySpec, BatchSettings, Duration, Ensemble, Model, RunSettings
from tests.oracles import lsf_lexer
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

FAKES = Path(__file__).parent / "fakes" / "lsf"
T = TypeVar("T")

# =========================================================================== strategies

#: Values a #BSUB line carries: no backslash, not both quote kinds (LSF documents no escape).
values = single_line_text(max_size=12).filter(lambda w: check_word("w", w) == [])
lsf_arrays = st.builds(
    lambda start, span, step, limit: ArraySpec(start, start + span, step, limit),
    st.integers(1, 500),
    st.integers(0, 500),
    st.integers(1, 10),
    st.none() | st.integers(1, 50),
)
_RAW = {
    "G": values,
    "app": st.sampled_from(["fluent", "abaqus"]),
    "x": st.just(None),
    "B": st.just(None),
    "R": st.sampled_from(["select[mem>4000]", "rusage[mem=2000]"]),
    "alloc_flags": st.sampled_from(["smt4", "gpumps"]),
}


@st.composite
def lsf_batch_settings(draw: st.DrawFn) -> BatchSettings:
    keys = draw(st.lists(st.sampled_from(sorted(_RAW)), unique=True, max_size=3))
    return BatchSettings(
        nodes=draw(st.none() | st.integers(1, 64)),
        time=draw(st.none() | durations()),
        account=draw(st.none() | values),
        partition=draw(st.none() | values),
        gpus=draw(st.none() | st.integers(1, 8)),
        job_name=draw(st.none() | names()),
        array=draw(st.none() | lsf_arrays),
        batch_args={k: draw(_RAW[k]) for k in keys},
    )


lsf_paths = (
    st.lists(
        values.filter(lambda s: "/" not in s and "%" not in s and s not in (".", "..")),
        min_size=1,
        max_size=3,
    )
    .map(lambda parts: "/" + "/".join(parts))
    .filter(lambda p: check_word("p", p) == [])
)


def _bsub_body_text(text: str) -> bool:
    return "\r" not in text and "\n#BSUB" not in text


@st.composite
def models(draw: st.DrawFn) -> Model:
    rs = RunSettings(
        exe=draw(program_names()),
        # lsf.READER: no CR (undocumented in a bsub script), no line starting with #BSUB
        args=draw(st.lists(arguments().filter(_bsub_body_text), max_size=3)),
        env=draw(valid_env().filter(lambda e: all(_bsub_body_text(v) for v in e.values()))),
    )
    return Model(
        name=draw(names()),
        path=draw(lsf_paths),
        run_settings=rs,
        batch_settings=draw(lsf_batch_settings()),
    )


def world() -> World:
    return World(exp_path="/exp")


# =========================================================================== golden rows


def test_golden_script_bsub_job_script_page() -> None:
    """bsub *job_script* (LSF 10.1): ``#BSUB -n 2``, the commands, and a ``#BSUB -P myproj``
    line after them, which bsub still reads (directives are read anywhere in the script)."""
    script = bsub_script([("-n", "2")], ["myjob1 arg1", "myjob2 arg2", "#BSUB -P myproj"])
    assert script.splitlines()[1:] == [
        "#BSUB -n 2",
        "myjob1 arg1",
        "myjob2 arg2",
        "#BSUB -P myproj",
    ]
    assert lsf_lexer.options(script) == [("-n", "2"), ("-P", "myproj")]


def test_golden_job_array_argv() -> None:
    """LSF "Job Arrays": ``bsub -J "myArray[1-1000]" myJob``; bsub -J:
    ``"job_name[index_list]%job_slot_limit"``."""
    assert bsub_argv([("-J", job_array("myArray", ArraySpec(1, 1000)))], ["myJob"]) == (
        "bsub", "-J", "myArray[1-1000]", "myJob",
    )  # fmt: skip
    assert job_array("sim", ArraySpec(1, 10, limit=4)) == "sim[1-10]%4"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(3.5 * 3600, "3:30"), (5400, "1:30"), (90000, "25:00"), (30 * 60, "30"), (61, "2")],
)
def test_golden_run_limits(seconds: float, text: str) -> None:
    """bsub -W: "three and a half hours can either be specified as 3:30, or 210"; 90 minutes
    is ``1:30`` (never ``01:30:00``), 25 hours ``25:00``; seconds round up to a minute."""
    assert run_limit(Duration.from_seconds(seconds)) == text


def test_golden_env_with_commas() -> None:
    """bsub -env: a value holding commas is single-quoted (``-env "T='A, B'"``), after ``all``
    so the rest of the submission environment still reaches the job."""
    assert env_value({"T": "A, B"}) == "all, T='A, B'"
    assert lsf_lexer.parse_env(env_value({"T": "A, B"})) == ("all", {"T": "A, B"})


def test_golden_submit_output() -> None:
    """bsub prints ``Job <1234> is submitted to [default ]queue <normal>.``"""
    assert parse_bsub_output("Job <1234> is submitted to queue <normal>.\n") == Success(1234)
    assert parse_bsub_output("Job <7> is submitted to default queue <normal>.") == Success(7)
    assert isinstance(parse_bsub_output("normal: No such queue. Job not submitted."), Failure)


def test_golden_preview_of_the_issue_example() -> None:
    """``BatchSettings(nodes=2, time=timedelta(hours=25))`` previews as ``-W 25:00``; the
    script goes to bsub on standard input."""
    model = Model(
        name="sim",
        path="/exp/sim",
        run_settings=RunSettings(exe="a.out"),
        batch_settings=BatchSettings(nodes=2, time=dt.timedelta(hours=25)),
    )
    (launch,) = plan_lsf(model, world()).unwrap()
    assert launch.submission is not None
    assert "#BSUB -W 25:00" in launch.submission.script.splitlines()
    assert launch.submission.submit.argv == ("bsub",)
    assert launch.submission.submit.stdin == launch.submission.script
    assert "bsub <<'SMARTSIM_EOF'" in launch.shell()


# =========================================================================== the walltime table


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("30", 30), ("10:00", 600), ("210", 210), ("3:30", 210), ("25:00", 1500)],
)
def test_lsf_reads_the_duration_table(text: str, minutes: int) -> None:
    """peers.md §2.6 for LSF: a bare number is minutes and ``10:00`` ten *hours*;
    ``1:00:00`` is refused."""
    assert lsf_lexer.parse_run_limit(text) == minutes
    with pytest.raises(lsf_lexer.LsfLexError):
        lsf_lexer.parse_run_limit("1:00:00")


@given(durations())
def test_run_limit_round_trips_through_lsf_parser(duration: Duration) -> None:
    """Every duration renders as a run limit LSF reads as the duration rounded up to whole
    minutes: never shorter, at most 59 s longer."""
    minutes = lsf_lexer.parse_run_limit(run_limit(duration))
    assert minutes == duration.minutes_up()
    assert duration.seconds <= minutes * 60 < duration.seconds + 60


# =========================================================================== directive lexer


@given(values)
def test_directive_word_reads_back_whole(word: str) -> None:
    """A ``#BSUB`` value, split as bsub splits shell words, is one word: the value."""
    line = directive_lines([("-G", word)])[0]
    assert lsf_lexer.options(line + "\n") == [("-G", word)]


@pytest.mark.parametrize(("word", "ch"), [("a\\b", "\\"), ("""it's "x\"""", '"')])
def test_words_lsf_cannot_carry_are_refused(word: str, ch: str) -> None:
    """A backslash or both quote kinds have no documented #BSUB form: a typed error."""
    (error,) = check_word("f", word)
    assert isinstance(error, ForbiddenCharacter) and error.character == ch


@given(lsf_batch_settings(), names(), st.integers(1, 64), st.integers(1, 4), st.booleans())
def test_bsub_options_values_whole(
    bs: BatchSettings, name: str, tasks: int, cpt: int, csm: bool
) -> None:
    """Each typed value reaches its directive whole and reads back with LSF's own syntax:
    run limit, array, slots and span, GPUs, queue, project."""
    options = bsub_options(
        bs, name=name, tasks=tasks, cpus=tasks * cpt, stdout="/o", stderr="/e", csm=csm
    )
    read = lsf_lexer.options(bsub_script(options, ["true"]))
    assert read == list(options)
    got = dict(read)
    if bs.array is not None:
        array_name, indices, limit = lsf_lexer.parse_job_array(got["-J"] or "")
        assert array_name == (bs.job_name or name)
        assert (indices, limit) == (list(bs.array.indices), bs.array.limit)
    else:
        assert got["-J"] == (bs.job_name or name)
    assert got.get("-q") == bs.partition and got.get("-P") == bs.account
    if isinstance(bs.time, Duration):
        assert lsf_lexer.parse_run_limit(got["-W"] or "") == bs.time.minutes_up()
    if bs.nodes is not None and not csm:
        (span,) = [v for k, v in read if k == "-R" and (v or "").startswith("span[")]
        ptile = lsf_lexer.parse_span(span or "")
        assert int(got["-n"] or 0) == bs.nodes * ptile >= tasks * cpt
    if csm and bs.nodes is not None:
        assert got["-nnodes"] == str(bs.nodes) and "-n" not in got
    if bs.gpus is not None:
        assert got["-gpu"] == f"num={bs.gpus}"


@given(
    st.dictionaries(env_names(), values.filter(lambda v: "'" not in v and '"' not in v), max_size=4)
)
def test_env_value_round_trips(env: dict[str, str]) -> None:
    """``-env`` items, read as bsub documents them, and through a directive, give back the
    environment after ``all``."""
    assert check_env("env", env) == []
    text = env_value(env)
    assert lsf_lexer.parse_env(text) == ("all", env)
    assert lsf_lexer.parse_env(
        lsf_lexer.options(bsub_script([("-env", text)], []))[0][1] or ""
    ) == (
        "all",
        env,
    )


@given(names(), lsf_arrays)
def test_job_array_round_trips(name: str, array: ArraySpec) -> None:
    """A job array spec reads back as its name, indices and slot limit."""
    assert lsf_lexer.parse_job_array(job_array(name, array)) == (
        name,
        list(array.indices),
        array.limit,
    )


@pytest.mark.parametrize(
    ("bs", "kind", "field"),
    [
        (BatchSettings(mem="4G"), Unsupported, "batch_settings.mem"),
        (BatchSettings(array=ArraySpec(0, 3)), BadValue, "batch_settings.array.start"),
        (BatchSettings(batch_args={"K": None}), Unsupported, "batch_settings.batch_args['K']"),
        (BatchSettings(batch_args={"o": "/x"}), Unsupported, "batch_settings.batch_args['o']"),
        (
            BatchSettings(batch_args={"W": "10"}, time=60),
            DuplicateOption,
            "batch_settings.batch_args['W']",
        ),
        (
            BatchSettings(batch_args={"nnodes": 2}, nodes=2),
            DuplicateOption,
            "batch_settings.batch_args['nnodes']",
        ),
        (BatchSettings(account="a\\b"), ForbiddenCharacter, "batch_settings.account"),
    ],
    ids=[
        "bsub(mem)",
        "bsub(J=name[0-3])",
        "bsub(K)",
        "bsub(o=raw)",
        "bsub(W+time)",
        "bsub(nnodes+nodes)",
        "bsub(P=a\\b)",
    ],
)
def test_check_bsub_names_each_problem(bs: BatchSettings, kind: type, field: str) -> None:
    """What bsub cannot express is a typed error naming the field."""
    errors = check_bsub(bs)
    assert [type(e) for e in errors] == [kind]
    assert errors[0].field == field


def test_script_line_that_would_be_a_directive_is_refused() -> None:
    """bsub reads ``#BSUB`` lines anywhere: an argument holding a newline and ``#BSUB`` would
    smuggle in an option, so it is refused."""
    rs = RunSettings(exe="echo", args=("a\n#BSUB -q other",))
    errors = plan_lsf(Model(name="m", path="/exp/m", run_settings=rs), world()).failure().errors
    assert [e.field for e in errors] == ["model.run_settings.args[0]"]


@given(valid_batch_settings(), names())
def test_plan_never_raises(bs: BatchSettings, name: str) -> None:
    """Any batch settings give a plan or typed errors, never an exception."""
    model = Model(name=name, path="/exp/m", run_settings=RunSettings(exe="x"), batch_settings=bs)
    result = plan_lsf(model, world())
    assert isinstance(result, (Success, Failure))
    if isinstance(result, Failure):
        assert isinstance(result.failure(), Invalid) and result.failure().errors


@settings(max_examples=50)
@given(models())
def test_plan_is_deterministic_and_values_whole(model: Model) -> None:
    """Planning twice gives the same launch; the script reaches bsub on standard input and
    its directives carry the output paths whole."""
    first = plan_lsf(model, world())
    assert first == plan_lsf(model, world())
    (launch,) = first.unwrap()
    assert launch.submission is not None
    assert launch.submission.submit.stdin == launch.submission.script
    read = dict(lsf_lexer.options(launch.submission.script))
    assert read["-o"] == launch.stdout and read["-e"] == launch.stderr


def test_csm_asks_for_nodes_with_nnodes() -> None:
    """On CSM systems (Summit) nodes are ``-nnodes``; elsewhere ``-n`` and ``span[ptile]``."""
    model = Model(
        name="m",
        path="/exp/m",
        run_settings=RunSettings(exe="jsrun"),
        batch_settings=BatchSettings(nodes=4),
    )
    csm = plan_lsf(model, world(), csm=True).unwrap()[0].submission
    plain = plan_lsf(model, world()).unwrap()[0].submission
    assert csm is not None and plain is not None
    assert ("-nnodes", "4") in lsf_lexer.options(csm.script)
    assert ("-R", "span[ptile=1]") in lsf_lexer.options(plain.script)


def test_ensemble_is_one_job() -> None:
    """An ensemble with batch settings is one bsub job running every member."""
    members = tuple(
        Model(name=f"m{i}", path=f"/exp/e/m{i}", run_settings=RunSettings(exe="echo"))
        for i in range(3)
    )
    ens = Ensemble(name="e", path="/exp/e", members=members, batch_settings=BatchSettings())
    (launch,) = plan_lsf(ens, world()).unwrap()
    assert launch.members == ("m0", "m1", "m2")
    assert launch.submission is not None
    assert launch.submission.script.count(" &\n") == 3


# =========================================================================== status

#: The layout of the bjobs -json reference (LSF 10.1, "bjobs -o ... -json"): COMMAND, JOBS,
#: RECORDS, one record per job (per element for arrays), fields in capitals.
SAMPLE = """{
  "COMMAND":"bjobs",
  "JOBS":4,
  "RECORDS":[
    {"JOBID":"3091","STAT":"RUN","EXIT_CODE":"","EXIT_REASON":"","KILL_REASON":""},
    {"JOBID":"3092","STAT":"DONE","EXIT_CODE":"","EXIT_REASON":"","KILL_REASON":""},
    {"JOBID":"3093","STAT":"EXIT","EXIT_CODE":"2","EXIT_REASON":"","KILL_REASON":""},
    {"JOBID":"3094","ERROR":"Job <3094> is not found"}
  ]
}"""


def test_status_of_the_sample() -> None:
    """RUN, DONE and EXIT map to statuses; an ERROR record leaves its job out."""
    states = parse_bjobs_json(SAMPLE, ["3091", "3092", "3093", "3094"]).unwrap()
    assert {k: v.status for k, v in states.items()} == {
        "3091": Status.RUNNING,
        "3092": Status.COMPLETED,
        "3093": Status.FAILED,
    }
    assert states["3093"].returncode == 2


@pytest.mark.parametrize(
    ("stat", "status"),
    [("PEND", Status.PENDING), ("PROV", Status.PENDING), ("PSUSP", Status.PENDING),
     ("RUN", Status.RUNNING), ("USUSP", Status.RUNNING), ("SSUSP", Status.RUNNING),
     ("DONE", Status.COMPLETED), ("EXIT", Status.FAILED), ("UNKWN", Status.UNKNOWN),
     ("WAIT", Status.PENDING), ("ZOMBI", Status.UNKNOWN)],
)  # fmt: skip
def test_every_bjobs_state(stat: str, status: Status) -> None:
    """bjobs(1) "Job states" each map to a status."""
    assert record_state({"STAT": stat}).status is status


def test_killed_by_owner_is_cancelled() -> None:
    """EXIT with a TERM_OWNER reason ("Termination reasons", LSF 10.1) is CANCELLED."""
    state = record_state(
        {"STAT": "EXIT", "EXIT_CODE": "130", "EXIT_REASON": "TERM_OWNER: job killed by owner"}
    )
    assert state.status is Status.CANCELLED


def test_array_elements_make_one_state() -> None:
    """Records sharing a JOBID are one job: running while an element runs, failed when one
    failed once all ended."""
    running = '{"RECORDS":[{"JOBID":"5","STAT":"DONE"},{"JOBID":"5","STAT":"RUN"}]}'
    failed = '{"RECORDS":[{"JOBID":"5","STAT":"DONE"},{"JOBID":"5","STAT":"EXIT","EXIT_CODE":"1"}]}'
    assert parse_bjobs_json(running, ["5"]).unwrap()["5"].status is Status.RUNNING
    assert parse_bjobs_json(failed, ["5"]).unwrap()["5"].status is Status.FAILED


@given(st.text(max_size=200), st.lists(st.text(max_size=10), max_size=3))
def test_status_parser_never_raises(text: str, ids: list[str]) -> None:
    """Arbitrary text gives a Result, never an exception."""
    assert isinstance(parse_bjobs_json(text, ids), (Success, Failure))
    assert isinstance(parse_bsub_output(text), (Success, Failure))


@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["JOBID", "STAT", "EXIT_CODE", "ERROR"]),
            st.text(max_size=4) | st.integers() | st.none(),
        ),
        max_size=3,
    )
)
def test_status_parser_never_raises_on_json(records: list[dict[str, object]]) -> None:
    """Arbitrary records give a Result, never an exception."""
    assert isinstance(parse_bjobs_json(json.dumps({"RECORDS": records}), ["1"]), (Success, Failure))


def test_cancel_and_status_argv() -> None:
    """One call for every job; bkill's "already finished" is not an error."""
    assert bjobs_argv(["1", "2"]) == (
        "bjobs", "-o", "jobid jobindex stat exit_code exit_reason kill_reason", "-json", "-a", "1",
        "2",
    )  # fmt: skip
    assert bkill_argv(["1"]) == ("bkill", "1")
    assert bkill_succeeded(255, "Job <1>: Job has already finished\n", "")
    assert bkill_succeeded(255, "Job <2>: No matching job found\n", "")
    assert not bkill_succeeded(255, "Job <1>: User permission denied\n", "")
    assert bkill_acted("Job <1> is being terminated\nJob <2>: Job has already finished\n") == {"1"}


# =========================================================================== launcher (fakes)


@pytest.fixture
def fake_lsf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The fake bsub/bjobs/bkill first on PATH, with their own state directory."""
    state = tmp_path / "lsf-state"
    monkeypatch.setenv("SMARTSIM_FAKE_STATE", str(state))
    monkeypatch.setenv("PATH", os.pathsep.join([str(FAKES), os.environ["PATH"]]))
    yield state


def _calls(state: Path) -> list[dict[str, object]]:
    path = state / "calls.log"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_experiment_start_status_stop(fake_lsf: Path, tmp_path: Path) -> None:
    """Through ``Experiment(launcher="lsf")``: the script reaches bsub on standard input and
    the job completes with its output in place (a long job's stop: test_schedulers)."""
    exp = Experiment("e", exp_path=tmp_path / "exp", launcher="lsf")
    bs = exp.create_batch_settings(nodes=1, time=dt.timedelta(minutes=5))
    quick = exp.create_model(
        "quick", exp.create_run_settings("bash", ["-c", "echo hello from $LSB_JOBID"]),
        batch_settings=bs,
    )  # fmt: skip
    exp.start(quick, block=True)
    assert exp.get_status(quick) == [Status.COMPLETED]
    assert "hello from 1" in (tmp_path / "exp" / "quick" / "quick.out").read_text()
    (submission,) = [c for c in _calls(fake_lsf) if c["tool"] == "bsub"]
    assert submission["argv"] == [] and "#BSUB -W 5" in str(submission["stdin"])


def test_fake_bsub_ignores_directives_of_a_script_argument(fake_lsf: Path, tmp_path: Path) -> None:
    """On a default site (``LSB_BSUB_PARSE_SCRIPT`` unset) a script given as an argument is a
    command: its ``#BSUB -J`` line is ignored — the reason smartsim uses standard input."""
    script = tmp_path / "s.sh"
    script.write_text("#!/bin/bash\n#BSUB -J named\ntrue\n")
    script.chmod(0o755)
    done = subprocess.run(["bsub", str(script)], capture_output=True, text=True, check=False)
    assert done.returncode == 0
    state = json.loads((fake_lsf / "jobs" / "1" / "job.json").read_text())
    assert state["name"] == str(script)
    for bad in ("#BSUB -W 01:00:00", '#BSUB -J "a[0-3]"', "#BSUB -n zero", "#BSUB -Q"):
        done = subprocess.run(
            ["bsub"],
            input=f"#!/bin/bash\n{bad}\ntrue\n",
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode != 0, bad


def test_experiment_refuses_what_bsub_cannot_express(fake_lsf: Path, tmp_path: Path) -> None:
    """An entity LSF cannot run is an error when it is created, naming the field."""
    exp = Experiment("e", exp_path=tmp_path / "exp", launcher="lsf")
    with pytest.raises(SmartSimError) as raised:
        exp.create_model("m", RunSettings(exe="true"), batch_settings=BatchSettings(mem=1024))
    error = raised.value.error
    assert isinstance(error, Invalid)
    assert [e.field for e in error.errors] == ["model.batch_settings.mem"]
