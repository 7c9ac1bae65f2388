"""Flux builders, parsers and the Flux launcher (against the fake ``flux`` in tests/fakes)."""

from __future__ import annotations

import datetime as dt
import json
import os
import string
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from returns.result import Failure, Success

from smartsim.commands.flux import (
    FLUX_RUN,
    FluxJobId,
    batch_directive_options,
    check_flux_alloc,
    check_flux_batch,
    check_flux_run,
    directive_word,
    env_options,
    flux_alloc_argv,
    flux_batch_script,
    flux_cancel_argv,
    flux_job_argv,
    flux_jobs_argv,
    fsd,
    multi_prog_config,
    parse_flux_jobs,
    parse_flux_submit,
    plan_flux,
)
from smartsim.commands.flux import SCHEDULER as FLUX
from smartsim.commands.launch import LaunchContext, run_command_spec
from smartsim.commands.plan import World
from smartsim.effects.launcher import Handle
from smartsim.effects.scheduler import SchedulerLauncher
from smartsim.errors import (
    BadValue,
    ConflictingOptions,
    DuplicateOption,
    ForbiddenCharacter,
    Unsupported,
)
from smartsim.status import JobState, Status
from smartsim.validate import run_settings_problems
from smartsim.values import AllocationRequest, BatchSettings, Duration, Ensemble, Model, RunSettings
from tests.oracles import flux_cli
from tests.results import settle

FAKES = Path(__file__).parent / "fakes"

# --------------------------------------------------------------------------- strategies

#: Text a user may put in an argument or a value: anything but NUL (no newline where a line
#: is required).
any_text = st.text(st.characters(exclude_characters="\x00", codec="utf-8"), max_size=20)
line_text = st.text(st.characters(exclude_characters="\x00\n\r", codec="utf-8"), max_size=20)
env_names = st.from_regex(r"[A-Z_][A-Z0-9_]{0,8}", fullmatch=True)
counts = st.integers(1, 64)
durations = st.builds(Duration, st.integers(1, 10 * 86400))


def no_template(text: str) -> bool:
    return "{{" not in text


@st.composite
def flux_run_settings(draw: st.DrawFn) -> RunSettings:
    """Settings Flux can express: a per-task or a per-resource request."""
    exe = draw(st.from_regex(r"[a-z][a-z0-9_./]{0,10}", fullmatch=True))
    args = draw(st.lists(any_text.filter(no_template), max_size=4))
    env = draw(st.dictionaries(env_names, any_text, max_size=3))
    time_ = draw(st.none() | durations)
    if draw(st.booleans()):
        ntasks = draw(st.none() | counts)
        nodes = draw(st.none() | st.integers(1, ntasks or 64)) if ntasks else None
        return RunSettings(
            exe=exe,
            args=args,
            env=env,
            time=time_,
            ntasks=ntasks,
            nodes=nodes,
            cpus_per_task=draw(st.none() | counts),
            gpus_per_task=draw(st.none() | st.integers(1, 8)),
        )
    return RunSettings(
        exe=exe,
        args=args,
        env=env,
        time=time_,
        nodes=draw(st.none() | counts),
        tasks_per_node=draw(counts),
    )


def oracle(argv: tuple[str, ...]) -> flux_cli.FluxRequest:
    return flux_cli.parse_flux_argv(argv)


# --------------------------------------------------------------------------- golden rows


def test_run_argv_golden() -> None:
    """flux-run(1) SYNOPSIS ``flux run [OPTIONS] [--ntasks=N] COMMAND``: options, then env rules,
    then the command, each value whole."""
    rs = RunSettings(
        exe="./testprog",
        args=("a b",),
        nodes=2,
        ntasks=16,
        cpus_per_task=2,
        time=5400,
        env={"OMP_NUM_THREADS": "2"},
    )
    assert flux_job_argv("run", rs, name="t", cwd="/w") == (
        "flux", "run", "-N", "2", "-n", "16", "-c", "2", "-t", "90m", "--job-name=t",
        "--cwd=/w", "--env=OMP_NUM_THREADS=2", "./testprog", "a b",
    )  # fmt: skip


def test_flux_run_registry_entry() -> None:
    """``run_command="flux"`` resolves to FLUX_RUN, a blocking ``flux run`` whose output is
    the launch's output."""
    assert run_command_spec("flux") is FLUX_RUN
    ctx = LaunchContext(cwd="/w", name="m", stdout="/w/m.out", stderr="/w/m.err", alloc="77")
    cmd = FLUX_RUN.build(RunSettings(exe="hostname", run_command="flux", ntasks=2), ctx)
    assert cmd.argv == ("flux", "run", "-n", "2", "--job-name=m", "--cwd=/w", "hostname")
    assert (cmd.cwd, cmd.stdout, cmd.stderr) == ("/w", "/w/m.out", "/w/m.err")


def test_alloc_runs_through_flux_proxy() -> None:
    """flux-alloc(1): ``flux proxy JOBID`` runs a command in that subinstance."""
    rs = RunSettings(exe="hostname", alloc="ƒM7Zq9AKHno")
    argv = flux_job_argv("run", rs)
    assert argv[:3] == ("flux", "proxy", str(FluxJobId.parse("ƒM7Zq9AKHno").unwrap().value))
    assert argv[3:] == ("flux", "run", "hostname")


def test_batch_golden_from_man_page() -> None:
    """flux-batch(1): ``flux batch -N 2 --queue=batch mybatch.sh``, as directives."""
    opts = batch_directive_options(BatchSettings(nodes=2, partition="batch"))
    assert opts == (("-N", "2"), ("--queue=batch",))
    script = flux_batch_script(opts, [("flux", "run", "-n16", "hostname")])
    assert script.splitlines()[:3] == ["#!/bin/sh", "#flux: -N 2", "#flux: --queue=batch"]
    request = flux_cli.parse_batch(script, ["mybatch.sh"])
    assert (request.get("nodes"), request.get("queue")) == ("2", "batch")


def test_batch_directive_example_reads_back() -> None:
    """flux-batch(1) SUBMISSION DIRECTIVES example (``# flux: -N4 -n16``, ``#`` comments) is read
    by the oracle as the man page says."""
    script = "#!/bin/sh\n# flux: -N4 -n16\n# flux: # -N8  (disabled)\nflux run -n16 hostname\n"
    assert flux_cli.read_directives(script) == [["-N4", "-n16"]]


def test_alloc_golden() -> None:
    """flux-alloc(1) example ``flux alloc --bg -N 2 --queue=batch``."""
    req = AllocationRequest(nodes=2, partition="batch")
    assert flux_alloc_argv(req) == ("flux", "alloc", "--bg", "-N", "2", "--queue=batch")
    assert check_flux_alloc(req) == []
    assert flux_cli.parse_flux_argv(flux_alloc_argv(req)).has("bg")


def test_multi_prog_golden() -> None:
    """flux-multi-prog(1) CONFIGURATION example: ``0-1 myapp arg1 arg2`` / ``2-3 myapp arg3 arg4``,
    run as ``flux run -N4 flux multi-prog myapp.conf``."""
    rs = RunSettings(exe="myapp", args=("arg1", "arg2"), ntasks=2, nodes=2).with_mpmd(
        RunSettings(exe="myapp", args=("arg3", "arg4"), ntasks=2)
    )
    assert multi_prog_config(rs) == "0-1 myapp arg1 arg2\n2-3 myapp arg3 arg4\n"
    assert check_flux_run(rs) == []
    argv = flux_job_argv("run", rs, name="myapp")
    assert argv[:6] == ("flux", "run", "-N", "2", "-n", "4")
    assert argv[-3:] == ("flux", "multi-prog", "{{tmpdir}}/myapp.conf")
    assert argv[-4] == "--add-file=myapp.conf=" + multi_prog_config(rs)
    for rank, expected in enumerate(
        [["myapp", "arg1", "arg2"]] * 2 + [["myapp", "arg3", "arg4"]] * 2
    ):
        assert flux_cli.multi_prog_args(multi_prog_config(rs), rank) == expected


def test_cancel_and_jobs_argv() -> None:
    """flux-cancel(1) and flux-jobs(1) take ids in any encoding; smartsim sends decimal."""
    ids = [FluxJobId(1234), FluxJobId(2**64 - 1)]
    assert flux_cancel_argv(ids) == ("flux", "cancel", "1234", "18446744073709551615")
    assert flux_jobs_argv(ids[:1]) == ("flux", "jobs", "--json", "1234")


# RFC 19 examples and flux-core's t/t2201-job-cmd.t and libutil/test/fluid.c tables.
ID_TABLE = [
    (0, ["ƒ1", "f1", "f111", "0", "0x0", "0.0.0.0", "0000.0000.0000.0000",
         "job.0000.0000.0000.0000"]),
    (1, ["ƒ2", "f2", "0x1", "0000.0000.0000.0001"]),
    (57, ["ƒz", "fz", "0x39", "0.0.0.0039"]),
    (1234, ["ƒNH", "fNH", "1234", "0x4d2", "0000.0000.0000.04d2"]),
    (1888, ["ƒZZ", "1888", "0x760"]),
    (3363, ["ƒzz", "fzz", "3363", "0xd23"]),
    (3364, ["ƒ211", "f211", "3364"]),
    (4369, ["ƒ2JL", "4369", "0x1111", "0000.0000.0000.1111"]),
    (65535, ["ƒLUv", "0xffff", "0.0.0.ffff"]),
    (633528662, ["ƒxyzzy", "fxyzzy", "0x25c2e156"]),
    (4294967295, ["ƒ7YXq9G", "f7YXq9G", "0xffffffff", "0000.0000.ffff.ffff"]),
    (6731191091817518, ["ƒuZZybuNNy", "fuZZybuNNy", "6731191091817518", "0x17e9fb8df16c2e",
                        "0017.e9fb.8df1.6c2e"]),
    (2**64 - 2, ["ƒjpXCZedGfVP", "fjpXCZedGfVP", "18446744073709551614"]),
    (2**64 - 1, ["ƒjpXCZedGfVQ", "fjpXCZedGfVQ", "18446744073709551615", "0xffffffffffffffff",
                 "ffff.ffff.ffff.ffff", "job.ffff.ffff.ffff.ffff"]),
]  # fmt: skip


@pytest.mark.parametrize(("value", "forms"), ID_TABLE)
def test_job_id_golden(value: int, forms: list[str]) -> None:
    """Every encoding in flux-core's tables decodes to the same id."""
    for form in forms:
        assert FluxJobId.parse(form) == Success(FluxJobId(value)), form
        assert FluxJobId.parse(f"  {form}\n") == Success(FluxJobId(value))


def test_job_id_renderers_golden() -> None:
    """RFC 19: ``6731191091817518`` is ``ƒuZZybuNNy``, ``0x17e9fb8df16c2e``,
    ``0017.e9fb.8df1.6c2e``."""
    job = FluxJobId(6731191091817518)
    assert (job.f58(), job.f58plain(), job.hex(), job.dothex(), job.kvs(), job.dec()) == (
        "ƒuZZybuNNy", "fuZZybuNNy", "0x17e9fb8df16c2e", "0017.e9fb.8df1.6c2e",
        "job.0017.e9fb.8df1.6c2e", "6731191091817518",
    )  # fmt: skip


@pytest.mark.parametrize(
    "bad",
    ["", "f", "flux", "f1230", "x1", "boo", "-1", "18446744073709551616", "0xg",
     "academy-academy-academy--academy-academy-academy", "😃", "1.2.3", "fO"],
)  # fmt: skip
def test_job_id_rejects(bad: str) -> None:
    """Text that is no id (flux-core's rejection cases; words and emoji are not decoded)."""
    assert isinstance(FluxJobId.parse(bad), Failure)


def test_submit_output_golden() -> None:
    """flux-batch(1): the job id is printed on stdout (``ƒM7Zq9AKHno``); a banner before it is
    ignored."""
    assert parse_flux_submit("site banner\nƒM7Zq9AKHno\n").unwrap().f58() == "ƒM7Zq9AKHno"
    assert isinstance(parse_flux_submit(""), Failure)
    assert isinstance(parse_flux_submit("error: nope\n"), Failure)


# --------------------------------------------------------------------------- walltime table

WALLTIME = [
    (dt.timedelta(hours=25), "25h"),
    (dt.timedelta(minutes=90), "90m"),
    (dt.timedelta(hours=2), "2h"),
    (dt.timedelta(seconds=30), "30s"),
    (dt.timedelta(seconds=61), "61s"),
    (dt.timedelta(days=2), "48h"),
    (dt.timedelta(seconds=0.2), "1s"),
]


@pytest.mark.parametrize(("delta", "text"), WALLTIME)
def test_walltime_table(delta: dt.timedelta, text: str) -> None:
    """One Duration renders as an exact FSD, and Flux's ``-t`` reads it back as that duration."""
    seconds = Duration.from_timedelta(delta)
    assert fsd(seconds) == text
    assert flux_cli.parse_fsd(text, default_unit="m") == seconds.seconds


def test_issue_walltime_example_previews_25h() -> None:
    """BatchSettings(nodes=2, time=timedelta(hours=25)) previews as ``#flux: -t 25h``."""
    model = Model(
        name="m", path="/w/m", run_settings=RunSettings(exe="true"),
        batch_settings=BatchSettings(nodes=2, time=dt.timedelta(hours=25)),
    )  # fmt: skip
    (launch,) = plan_flux(model, World(exp_path="/w")).unwrap()
    assert launch.submission is not None
    assert "#flux: -t 25h" in launch.submission.script.splitlines()
    assert launch.submission.submit.argv == ("flux", "batch", "/w/m/m.flux.sh")


@given(durations)
def test_fsd_round_trip(d: Duration) -> None:
    """Every duration renders exactly (never 0, never HH:MM:SS) and Flux reads it back."""
    text = fsd(d)
    assert ":" not in text and text[-1] in "smh"
    assert flux_cli.parse_fsd(text, default_unit="m") == d.seconds


# --------------------------------------------------------------------------- properties


@given(flux_run_settings())
def test_valid_settings_round_trip_through_flux_parser(rs: RunSettings) -> None:
    """Flux's own option rules accept what smartsim renders and read every value back."""
    assert run_settings_problems(rs) == []
    assert check_flux_run(rs) == []
    argv = flux_job_argv("submit", rs, name="m", cwd="/w", output="/w/m.out", error="/w/m.err")
    request = oracle(argv)
    assert request.command == [rs.exe, *rs.args]
    assert request.int("nodes") == rs.nodes
    if rs.tasks_per_node is not None and (rs.ntasks is None or rs.nodes is None):
        assert request.int("tasks-per-node") == rs.tasks_per_node
    else:
        assert request.int("ntasks") == rs.ntasks
    assert request.int("cores-per-task") == rs.cpus_per_task
    assert request.int("gpus-per-task") == rs.gpus_per_task
    expected_time = rs.time.seconds if isinstance(rs.time, Duration) else None
    assert request.time_limit_seconds == expected_time
    caller = {"HOME": "/root", **{k: "caller's" for k in rs.env}}
    env = flux_cli.apply_env_rules(caller, request.env_rules)
    assert {k: env[k] for k in rs.env} == dict(rs.env)  # the entity's values win
    assert (request.get("output"), request.get("cwd")) == ("/w/m.out", "/w")


@given(flux_run_settings())
def test_render_is_deterministic_and_values_whole(rs: RunSettings) -> None:
    """The same settings give the same argv; each argument is one whole word."""
    a = flux_job_argv("submit", rs, name="m")
    assert a == flux_job_argv("submit", rs, name="m")
    assert a[len(a) - len(rs.args) :] == rs.args
    for key, value in rs.env.items():
        assert f"--env={key}={value.replace('$', '$$')}" in a


@given(line_text)
def test_directive_word_reads_back(text: str) -> None:
    """Flux's directive lexer gives every single-line value back exactly."""
    assert flux_cli.flux_lex(directive_word(text)) == [text]


@given(st.lists(line_text, min_size=1, max_size=4), st.sampled_from(["#flux: ", "# flux: "]))
def test_directive_lines_read_back(values: list[str], sentinel: str) -> None:
    """A directive line of quoted words is read back word for word."""
    line = "--setopt " + " ".join(directive_word(v) for v in values)
    script = f"#!/bin/sh\n{sentinel}{line}\nhostname\n"
    assert flux_cli.read_directives(script) == [["--setopt", *values]]


@st.composite
def batch_settings(draw: st.DrawFn) -> BatchSettings:
    raw = draw(
        st.dictionaries(
            st.sampled_from(["setopt", "setattr", "conf", "dependency", "requires"]),
            line_text.filter(lambda s: s != "" and not s.startswith("-")),
            max_size=3,
        )
    )
    return BatchSettings(
        nodes=draw(st.none() | counts),
        time=draw(st.none() | durations),
        partition=draw(st.none() | st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)),
        account=draw(st.none() | line_text.filter(lambda s: s.strip() != "")),
        job_name=draw(
            st.none() | st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,12}", fullmatch=True)
        ),
        batch_args=raw,
    )


@given(batch_settings(), st.integers(1, 8))
def test_batch_directives_read_back(bs: BatchSettings, slots: int) -> None:
    """Directives re-read by the model of Flux's directive reader give back every value."""
    assert check_flux_batch(bs) == []
    opts = batch_directive_options(bs, slots=slots, output="/w/o.out", error="/w/o.err")
    script = flux_batch_script(opts, [("flux", "run", "true")], preamble=("module load x",))
    assert script == flux_batch_script(opts, [("flux", "run", "true")], preamble=("module load x",))
    request = flux_cli.parse_batch(script, ["job.sh"])
    if bs.nodes is not None:
        assert request.int("nodes") == bs.nodes
    else:
        assert request.int("nslots") == slots
    assert request.time_limit_seconds == (
        bs.time.seconds if isinstance(bs.time, Duration) else None
    )
    assert request.get("queue") == bs.partition
    assert request.get("job-name") == bs.job_name
    assert (request.get("output"), request.get("error")) == ("/w/o.out", "/w/o.err")
    banks = [v for v in request.all("setattr") if v and v.startswith("system.bank=")]
    if bs.account is not None:
        assert json.loads(banks[-1].split("=", 1)[1]) == bs.account
    for key, value in bs.batch_args.items():
        assert value in request.all(key)


@st.composite
def mpmd_settings(draw: st.DrawFn) -> RunSettings:
    word = line_text.filter(lambda s: "%t" not in s and "%o" not in s and no_template(s))
    parts = [
        RunSettings(
            exe=draw(st.from_regex(r"[a-z][a-z0-9_./]{0,8}", fullmatch=True)),
            args=draw(st.lists(word, max_size=3)),
            env=draw(st.dictionaries(env_names, word, max_size=2)),
            ntasks=draw(st.none() | st.integers(1, 4)),
        )
        for _ in range(draw(st.integers(2, 4)))
    ]
    return parts[0].with_mpmd(*parts[1:])


@pytest.mark.parametrize("value", ["%t", "rank %o here"])
def test_multi_prog_refuses_a_rank_pattern_in_an_env_value(value: str) -> None:
    """flux multi-prog replaces %t/%o on the whole line, env NAME=VALUE words included: a
    value holding one is refused, naming the variable (found by the CI profile)."""
    rs = RunSettings(exe="a", env={"A": value}).with_mpmd(RunSettings(exe="b"))
    errors = check_flux_run(rs)
    assert any(isinstance(e, Unsupported) and "A" in e.field for e in errors), errors


@given(mpmd_settings())
def test_multi_prog_gives_each_rank_its_program(rs: RunSettings) -> None:
    """flux multi-prog reads back, for every rank, its part's environment, program and args."""
    assert check_flux_run(rs) == []
    config = multi_prog_config(rs)
    rank = 0
    for part in rs.parts:
        expected = [part.exe, *part.args]
        if part.env:
            expected = ["env", *(f"{k}={v}" for k, v in part.env.items()), *expected]
        for _ in range(part.ntasks or 1):
            assert flux_cli.multi_prog_args(config, rank) == expected
            rank += 1
    request = oracle(flux_job_argv("run", rs, name="x"))
    assert request.int("ntasks") == rank


@given(st.integers(0, 2**64 - 1))
def test_job_id_round_trip(value: int) -> None:
    """Every renderer's output decodes to the same id, here and in the independent decoder."""
    job = FluxJobId(value)
    for text in (job.f58(), job.f58plain(), job.hex(), job.dothex(), job.kvs(), job.dec()):
        assert FluxJobId.parse(text) == Success(job)
        assert flux_cli.parse_jobid(text) == value


@given(st.text(max_size=40))
def test_job_id_parser_total(text: str) -> None:
    """The id decoder returns a Result for any text."""
    assert isinstance(FluxJobId.parse(text), (Success, Failure))


# --------------------------------------------------------------------------- status parser

# flux-core issue #4994 (the --json prototype, a running job) and flux/job/info.py to_dict():
# inactive jobs carry result/returncode/waitstatus, exceptions as an object.
RUNNING_SAMPLE = """{
    "id": 361295786278912, "userid": 0, "urgency": 16, "priority": 16,
    "t_submit": 1668305924.5898263, "t_depend": 1668305924.5898263,
    "t_run": 1668305924.6036532, "state": "RUN", "name": "sleep", "ntasks": 1,
    "ncores": 1, "duration": 0.0, "nnodes": 1, "ranks": "3", "nodelist": "57d0f60fce2e",
    "expiration": 4821905924.0, "status": "RUN", "runtime": 3.1,
    "exception": {"occurred": false}, "annotations": {}, "dependencies": []
}"""
LIST_SAMPLE = {
    "jobs": [
        {"id": 1, "state": "SCHED", "status": "SCHED", "exception": {"occurred": False}},
        {"id": 2, "state": "DEPEND", "status": "DEPEND"},
        {"id": 3, "state": "INACTIVE", "result": "COMPLETED", "status": "COMPLETED",
         "waitstatus": 0, "returncode": 0, "success": True, "exception": {"occurred": False}},
        {"id": 4, "state": "INACTIVE", "result": "FAILED", "status": "FAILED",
         "waitstatus": 256, "returncode": 1, "success": False,
         "exception": {"occurred": False}},
        {"id": 5, "state": "INACTIVE", "result": "CANCELED", "status": "CANCELED",
         "returncode": -128, "success": False,
         "exception": {"occurred": True, "severity": 0, "type": "cancel", "note": ""}},
        {"id": 6, "state": "INACTIVE", "result": "TIMEOUT", "status": "TIMEOUT",
         "waitstatus": 9, "returncode": -9, "success": False,
         "exception": {"occurred": True, "severity": 0, "type": "timeout",
                       "note": "resource allocation expired"}},
        {"id": 7, "state": "CLEANUP", "status": "CLEANUP"},
        {"id": 8, "state": "PRIORITY"},
    ]
}  # fmt: skip


def test_status_samples() -> None:
    """flux-jobs(1) states and results map to ours, with return codes and reasons."""
    running = parse_flux_jobs(RUNNING_SAMPLE).unwrap()
    assert running[FluxJobId(361295786278912)].status is Status.RUNNING
    states = parse_flux_jobs(json.dumps(LIST_SAMPLE)).unwrap()
    got = {job.value: (s.status, s.raw, s.returncode, s.signal) for job, s in states.items()}
    assert got == {
        1: (Status.PENDING, "SCHED", None, None),
        2: (Status.PENDING, "DEPEND", None, None),
        3: (Status.COMPLETED, "COMPLETED", 0, None),
        4: (Status.FAILED, "FAILED", 1, None),
        5: (Status.CANCELLED, "CANCELED", -128, None),
        6: (Status.FAILED, "TIMEOUT", -9, 9),
        7: (Status.RUNNING, "CLEANUP", None, None),
        8: (Status.PENDING, "PRIORITY", None, None),
    }
    assert states[FluxJobId(6)].reason == "timeout resource allocation expired"


def test_status_accepts_id_strings_and_empty_list() -> None:
    """Ids printed in another encoding are decoded; an empty listing is no job."""
    out = parse_flux_jobs('{"jobs": [{"id": "ƒ2", "state": "RUN"}]}').unwrap()
    assert out[FluxJobId(1)].status is Status.RUNNING
    assert parse_flux_jobs('{"jobs": []}') == Success({})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(st.text(max_size=200) | json_values.map(json.dumps))
def test_status_parser_never_raises(text: str) -> None:
    """Arbitrary text or JSON gives a Result, never an exception."""
    assert isinstance(parse_flux_jobs(text), (Success, Failure))


@given(st.lists(st.fixed_dictionaries({
    "id": st.integers(-5, 2**65) | st.text(max_size=6), "state": json_values,
    "result": json_values, "returncode": json_values, "exception": json_values,
}), max_size=4))  # fmt: skip
def test_status_parser_total_on_job_shaped_json(jobs: list[dict[str, object]]) -> None:
    """Job-shaped objects with arbitrary field values never make the parser raise."""
    assert isinstance(parse_flux_jobs(json.dumps({"jobs": jobs})), (Success, Failure))


# --------------------------------------------------------------------------- typed failures

RS = RunSettings
INVALID = [
    ("per-task and per-resource", RS(exe="a", tasks_per_node=2, cpus_per_task=2),
     ConflictingOptions),
    ("tasks_per_node with ntasks, no nodes", RS(exe="a", tasks_per_node=2, ntasks=4),
     ConflictingOptions),
    ("raw per-resource with ntasks", RS(exe="a", ntasks=2, run_args={"cores": 4}),
     ConflictingOptions),
    ("more nodes than tasks", RS(exe="a", nodes=4, ntasks=2), ConflictingOptions),
    ("exclusive without nodes", RS(exe="a", run_args={"exclusive": None}), ConflictingOptions),
    ("memory", RS(exe="a", mem="1G"), Unsupported),
    ("mustache in args", RS(exe="a", args=("{{id}}",)), Unsupported),
    ("exe looks like an option", RS(exe="-a"), BadValue),
    ("raw duplicates typed", RS(exe="a", ntasks=2, run_args={"n": 3}), DuplicateOption),
    ("raw sets output", RS(exe="a", run_args={"output": "x"}), Unsupported),
    ("alloc not a flux id", RS(exe="a", alloc="12_3"), BadValue),
    ("%t in mpmd", RS(exe="a").with_mpmd(RS(exe="b", args=("%t",))), Unsupported),
    ("newline in mpmd", RS(exe="a").with_mpmd(RS(exe="b", args=("x\ny",))), ForbiddenCharacter),
    ("geometry in mpmd part", RS(exe="a").with_mpmd(RS(exe="b", cpus_per_task=2)), Unsupported),
]  # fmt: skip


@pytest.mark.parametrize(
    ("rs", "error"), [(r, e) for _, r, e in INVALID], ids=[i for i, _, _ in INVALID]
)
def test_invalid_run_settings_are_typed(rs: RunSettings, error: type) -> None:
    """Each thing Flux cannot express is a typed error, never a silent drop."""
    errors = check_flux_run(rs)
    assert any(isinstance(e, error) for e in errors), errors


@pytest.mark.parametrize(
    ("bs", "error"),
    [
        (BatchSettings(nodes=1, mem="1G"), Unsupported),
        (BatchSettings(nodes=1, gpus=2), Unsupported),
        (BatchSettings(nodes=1, array=range(4)), Unsupported),
        (BatchSettings(nodes=1, batch_args={"N": 2}), DuplicateOption),
        (BatchSettings(nodes=1, preamble=("# flux: -N 3",)), BadValue),
    ],
    ids=["mem", "gpus", "array", "raw-nodes", "directive-in-preamble"],
)
def test_invalid_batch_settings_are_typed(bs: BatchSettings, error: type) -> None:
    """What flux batch cannot express is a typed error."""
    assert any(isinstance(e, error) for e in check_flux_batch(bs))


def test_plan_reports_every_problem() -> None:
    """The planner gathers generic and Flux problems into one Invalid, never raising."""
    bad = Model(
        name="m",
        path="/w",
        run_settings=RunSettings(exe="a", nodes=0, mem="1G", run_command="srun"),
    )
    result = plan_flux(bad, World(exp_path="/w"))
    fields = {e.field for e in result.failure().errors}
    assert {
        "model.run_settings.nodes",
        "model.run_settings.mem",
        "model.run_settings.run_command",
    } <= fields


def test_batch_argument_that_looks_like_a_directive_is_refused() -> None:
    """An argument line Flux would read as an orphan directive is refused in batch scripts."""
    m = Model(
        name="m",
        path="/w",
        run_settings=RunSettings(exe="echo", args=("a\n#flux: -N9",)),
        batch_settings=BatchSettings(nodes=1),
    )
    errors = plan_flux(m, World(exp_path="/w")).failure().errors
    assert any(isinstance(e, ForbiddenCharacter) for e in errors)


@given(flux_run_settings(), st.integers(0, 3))
def test_plan_is_deterministic(rs: RunSettings, run_index: int) -> None:
    """Planning twice gives equal launches; later runs write new output files."""
    m = Model(name="m", path="/w/m", run_settings=rs)
    world = World(exp_path="/w", run_index=run_index)
    assert plan_flux(m, world) == plan_flux(m, world)
    (launch,) = plan_flux(m, world).unwrap()
    suffix = "" if run_index == 0 else f".{run_index}"
    assert launch.stdout == f"/w/m/m{suffix}.out"


def test_batch_ensemble_script_runs_members_and_waits() -> None:
    """A batch ensemble is one script: one ``flux run … &`` per member, then every wait."""
    members = [
        Model(name=f"e_{i}", path=f"/w/e_{i}", run_settings=RunSettings(exe="echo", args=(str(i),)))
        for i in range(3)
    ]
    ens = Ensemble(name="e", path="/w", members=members, batch_settings=BatchSettings(time=60))
    (launch,) = plan_flux(ens, World(exp_path="/w")).unwrap()
    assert launch.members == ("e_0", "e_1", "e_2")
    script = launch.submission.script if launch.submission else ""
    assert flux_cli.read_directives(script)[0] == ["-n", "3"]
    runs = [line for line in script.splitlines() if line.startswith("flux run")]
    assert len(runs) == 3 and all(line.endswith(" &") for line in runs)
    assert script.count("wait ") == 3 and script.rstrip().endswith('exit "$status"')


# --------------------------------------------------------------------------- effects (fake flux)


@pytest.fixture
def fake_flux(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    state = tmp_path / "flux-state"
    monkeypatch.setenv("FAKE_FLUX_STATE", str(state))
    path = os.pathsep.join([str(FAKES), os.path.dirname(sys.executable), os.environ["PATH"]])
    monkeypatch.setenv("PATH", path)
    yield state


def calls(state: Path) -> list[list[str]]:
    log = state / "calls.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def wait_final(
    launcher: SchedulerLauncher, handles: list[Handle], timeout: float = 10
) -> dict[Handle, JobState]:
    deadline = time.monotonic() + timeout
    while True:
        states = settle(launcher.poll(handles)).unwrap()
        if all(s.status.is_final for s in states.values()) or time.monotonic() > deadline:
            return dict(states)
        time.sleep(0.05)


def test_launcher_start_poll_complete(fake_flux: Path, tmp_path: Path) -> None:
    """A model submitted with the fake flux runs to COMPLETED; its output lands in its file."""
    launcher = SchedulerLauncher(FLUX)
    model = Model(
        name="hello",
        path=str(tmp_path / "hello"),
        run_settings=RunSettings(exe="echo", args=("a b", "$HOME"), ntasks=2),
    )
    (launch,) = launcher.plan(model, World(exp_path=str(tmp_path))).unwrap()
    handle = settle(launcher.start(launch)).unwrap()
    assert handle.launcher == "flux" and handle.job_id.isdigit()
    states = wait_final(launcher, [handle])
    assert states[handle].status is Status.COMPLETED and states[handle].returncode == 0
    assert (tmp_path / "hello" / "hello.out").read_text() == "a b $HOME\n"


def test_launcher_batch_ensemble(fake_flux: Path, tmp_path: Path) -> None:
    """A batch ensemble is written as a script, submitted with ``flux batch`` and completes."""
    launcher = SchedulerLauncher(FLUX)
    members = [
        Model(
            name=f"m{i}",
            path=str(tmp_path / f"m{i}"),
            run_settings=RunSettings(exe="true", env={"I": str(i)}),
        )
        for i in range(2)
    ]
    ens = Ensemble(
        name="b",
        path=str(tmp_path / "b"),
        members=members,
        batch_settings=BatchSettings(nodes=1, time=dt.timedelta(hours=25)),
    )
    (launch,) = launcher.plan(ens, World(exp_path=str(tmp_path))).unwrap()
    handle = settle(launcher.start(launch)).unwrap()
    assert launch.submission is not None
    assert Path(launch.submission.script_path).read_text() == launch.submission.script
    assert wait_final(launcher, [handle])[handle].status is Status.COMPLETED


def test_fake_flux_rejects_what_flux_rejects(fake_flux: Path) -> None:
    """The fake refuses mixed per-task/per-resource options and HH:MM:SS limits."""
    import subprocess

    for argv in (
        ["flux", "submit", "-n", "2", "--tasks-per-node=2", "true"],
        ["flux", "submit", "-t", "1:00:00", "true"],
        ["flux", "submit", "--env=A=$(x)", "true"],
    ):
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        assert done.returncode == 1 and "ERROR" in done.stderr, argv


def test_env_rules_follow_flux_order() -> None:
    """job-env-rules: ``--env-remove=*`` then ``--env=PATH=/bin`` then
    ``--env=PATH=$PATH:/usr/bin`` builds PATH from the rules, in order."""
    env = flux_cli.apply_env_rules(
        {"PATH": "/x", "A": "1"}, ["-*", "PATH=/bin", "PATH=$PATH:/usr/bin"]
    )
    assert env == {"PATH": "/bin:/usr/bin"}
    assert env_options({"P": "$PATH:/usr/bin"}) == ("--env=P=$$PATH:/usr/bin",)
    assert flux_cli.apply_env_rules({}, [env_options({"P": "$(x) $$"})[0][6:]]) == {"P": "$(x) $$"}


@given(st.dictionaries(env_names, any_text, max_size=4))
def test_env_values_exact_under_template_rules(env: dict[str, str]) -> None:
    """Every value, ``$`` included, reaches the job exactly (string.Template sees ``$$``)."""
    rules = [r.removeprefix("--env=") for r in env_options(env)]
    assert flux_cli.apply_env_rules({"HOME": "/h"}, rules) == {"HOME": "/h", **env}


@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.text(string.ascii_letters + " $'\"#;", max_size=8), max_size=3))
def test_fake_flux_run_receives_exact_args(fake_flux: Path, args: list[str]) -> None:
    """``flux run`` (FLUX_RUN) passes every argument through the fake flux unchanged."""
    import subprocess

    rs = RunSettings(
        exe=sys.executable,
        args=("-c", "import sys, json; print(json.dumps(sys.argv[1:]))", *args),
        run_command="flux",
        env={"X": "$y"},
    )
    cmd = FLUX_RUN.build(rs, LaunchContext(cwd=str(fake_flux.parent), name="r"))
    done = subprocess.run(cmd.argv, capture_output=True, text=True, check=False, cwd=cmd.cwd)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == args


def test_experiment_start_status_stop(fake_flux: Path, tmp_path: Path) -> None:
    """``Experiment(launcher="flux")`` drives the fake flux: start, status, stop."""
    from smartsim.experiment import Experiment

    exp = Experiment("fx", exp_path=str(tmp_path / "fx"), launcher="flux")
    slow = exp.create_model("slow", exp.create_run_settings("sleep", ["30"], run_command="flux",
                                                            ntasks=2))  # fmt: skip
    quick = exp.create_model("quick", exp.create_run_settings("echo", ["hi"], run_command="flux"))
    batch = exp.create_model(
        "batch", exp.create_run_settings("true", run_command="flux"),
        batch_settings=exp.create_batch_settings(nodes=2, time=dt.timedelta(hours=25)),
    )  # fmt: skip
    preview = str(exp.preview(slow, quick, batch))
    assert "flux submit -n 2 --job-name=slow" in preview and "#flux: -t 25h" in preview
    exp.start(slow, quick, batch, block=False)
    deadline = time.monotonic() + 10
    while exp.get_status(quick, batch) != [Status.COMPLETED] * 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert exp.get_status(quick, batch) == [Status.COMPLETED] * 2
    assert exp.get_status(slow) == [Status.RUNNING]
    exp.stop(slow)
    assert exp.get_status(slow) == [Status.CANCELLED]
    assert (tmp_path / "fx" / "quick" / "quick.out").read_text() == "hi\n"
