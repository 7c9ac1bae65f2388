"""Job arrays of PBS, LSF, Grid Engine and Flux, written once (smartsim/commands/array.py):
an ensemble of like members is one array submission; each task finds its member in the
generated table through the scheduler's index variable.

* properties: every value (newlines, quotes, ``#``, ``$``, ``%t``, ``{cc}``, non-ASCII) reaches
  the member byte for byte through the table and the real ``bash`` — or the plan refuses it,
  naming the field;
* each scheduler's documented syntax (qsub(1B) ``-J``, bsub(1) ``-J "name[...]%limit"``, qsub(1)
  ``-t``/``-tc``, flux-submit(1) ``--cc``) and its task ids in status output;
* the fakes in tests/fakes check the array flags as the real tools do, and run the tasks with
  the scheduler's index variable: per-member states from one status call per poll.

The real Grid Engine test is in tests/test_sge_real.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from returns.result import Failure, Result

from smartsim import Experiment, SmartSimError, Status
from smartsim.commands import flux, lsf, pbs, sge
from smartsim.commands.array import Row, ansi_word, array_members, member_table
from smartsim.commands.plan import Launch, World
from smartsim.commands.scheduler import Completed, Handle
from smartsim.effects.scheduler import SchedulerLauncher
from smartsim.errors import Invalid, Unsupported
from smartsim.values import BatchSettings, Ensemble, Model, RunSettings
from tests.strategies import any_text, arguments, valid_env

FAKES = Path(__file__).parent / "fakes"

Planner = Callable[..., Result[tuple[Launch, ...], Invalid]]
#: (planner, index variable, base) of each scheduler whose tasks run a script.
SCRIPTED = {
    "pbs": (pbs.plan_pbs, "PBS_ARRAY_INDEX", 0),
    "lsf": (lsf.plan_lsf, "LSB_JOBINDEX", 1),
    "sge": (sge.plan_sge, "SGE_TASK_ID", 1),
}
READ_ROW = 'eval "f=($1)"; for w in "${f[@]}"; do printf "%s\\0" "$w"; done'
PROBE = (
    'for a in "$@"; do printf "%s\\0" "$a"; done >argv.bin; '
    'printf "%s" "${SSX_V-unset}" >env.bin; exit "$#"'
)


def _ensemble(root: Path, args: list[tuple[str, ...]], envs: list[dict[str, str]]) -> Ensemble:
    members = tuple(
        Model(
            name=f"m{i}",
            path=str(root / f"m{i}"),
            run_settings=RunSettings(exe="bash", args=("-c", PROBE, "x", *a), env=e),
        )
        for i, (a, e) in enumerate(zip(args, envs, strict=True))
    )
    return Ensemble(name="ens", path=str(root), members=members)


def _write(launch: Launch) -> str:
    """Write what the effects layer writes; the script's text."""
    for directory in launch.mkdirs:
        os.makedirs(directory, exist_ok=True)
    for path, text in launch.files.items():
        Path(path).write_text(text, encoding="utf-8")
    assert launch.submission is not None
    return launch.submission.script


def _run_task(script: str, var: str, index: int, tmp: Path) -> int:
    path = tmp / "task.sh"
    path.write_text(script, encoding="utf-8")
    env = {"PATH": os.environ["PATH"], var: str(index)}
    return subprocess.run(["bash", str(path)], env=env, check=False).returncode


# =========================================================================== the table


@given(words=st.lists(any_text(max_size=12), max_size=6))
def test_a_table_row_reads_back_exactly_in_bash(words: list[str]) -> None:
    """``eval "f=( <row> )"`` in the real bash gives back every field byte for byte."""
    line = " ".join(ansi_word(w) for w in words)
    assert "\n" not in line and "\r" not in line
    done = subprocess.run(
        [
            "bash",
            "-c",
            'eval "f=($1)"; for w in "${f[@]}"; do printf "%s\\0" "$w"; done',
            "x",
            line,
        ],
        capture_output=True,
        check=False,
        env={"PATH": os.environ["PATH"], "LC_ALL": "C"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split(b"\0")[:-1] == [w.encode("utf-8", "surrogateescape") for w in words]


def test_table_has_one_line_per_member() -> None:
    row = Row(cwd="/a", stdout="/a/o", stderr="/a/e", exit_file="/a/r", env=(), argv=("x\ny",))
    text = member_table([row, row])
    assert text.count("\n") == 2 and "$'x\\x0ay'" in text


# =========================================================================== properties


@settings(deadline=None, suppress_health_check=list(HealthCheck))
@given(
    scheduler=st.sampled_from(sorted(SCRIPTED)),
    args=st.lists(st.lists(arguments(), max_size=3).map(tuple), min_size=2, max_size=3),
    env=valid_env(max_size=2),
    data=st.data(),
)
def test_each_task_runs_its_member_exactly_or_the_plan_names_the_field(
    tmp_path_factory: pytest.TempPathFactory,
    scheduler: str,
    args: list[tuple[str, ...]],
    env: dict[str, str],
    data: st.DataObject,
) -> None:
    """A task started with the scheduler's index variable runs its own member: its arguments
    and environment reach the program byte for byte, its exit status is the task's and is
    written to the member's exit-status file. A value the scheduler's reader cannot carry is
    refused with the field that holds it."""
    plan, var, base = SCRIPTED[scheduler]
    root = tmp_path_factory.mktemp("arr")
    envs = [{k: f"{v}{i}" for k, v in env.items()} for i in range(len(args))]
    ens = _ensemble(root / "ens", args, envs)
    planned = plan(ens, World(exp_path=str(root)))
    if isinstance(planned, Failure):
        errors = planned.failure().errors
        assert errors and all(e.field.startswith("ensemble.members[") for e in errors), errors
        return
    (launch,) = planned.unwrap()
    assert launch.members == tuple(m.name for m in ens.members)
    script = _write(launch)
    k = data.draw(st.integers(0, len(args) - 1))
    rc = _run_task(script, var, base + k, root)
    member = Path(ens.members[k].path)
    assert rc == len(args[k])  # the program's exit status: its number of arguments
    assert (member / f"m{k}.rc").read_text().strip() == str(rc)
    got = (member / "argv.bin").read_bytes().split(b"\0")[:-1]
    assert got == [a.encode("utf-8", "surrogateescape") for a in args[k]]
    expected = envs[k].get("SSX_V", "unset")
    assert (member / "env.bin").read_bytes() == expected.encode("utf-8", "surrogateescape")
    for i in range(len(args)):
        if i != k:
            assert not (Path(ens.members[i].path) / "argv.bin").exists()


def test_an_index_outside_the_table_fails_the_task(tmp_path: Path) -> None:
    """A task whose index has no row fails (exit 1) and says so; no member runs."""
    ens = _ensemble(tmp_path / "ens", [("a",), ("b",)], [{}, {}])
    (launch,) = sge.plan_sge(ens, World(exp_path=str(tmp_path))).unwrap()
    assert _run_task(_write(launch), "SGE_TASK_ID", 3, tmp_path) == 1
    assert not list(tmp_path.glob("ens/m*/argv.bin"))


def test_unlike_members_and_batch_ensembles_are_not_arrays(tmp_path: Path) -> None:
    ens = _ensemble(tmp_path, [("a",), ("b",)], [{}, {"X": "1"}])
    assert array_members(ens) is not None
    other = Model(name="o", path=str(tmp_path / "o"), run_settings=RunSettings(exe="true"))
    assert array_members(Ensemble(name="e", path="/e", members=(*ens.members, other))) is None
    batch = Ensemble(name="e", path="/e", members=ens.members, batch_settings=BatchSettings())
    assert array_members(batch) is None
    one = Ensemble(name="e", path="/e", members=ens.members[:1])
    assert array_members(one) is None
    assert len(pbs.plan_pbs(one, World(exp_path="/e")).unwrap()) == 1


# =========================================================================== documented syntax


def _script(plan: Planner, n: int, cap: int | None, **kw: object) -> str:
    ens = _ensemble(Path("/e/ens"), [(str(i),) for i in range(n)], [{}] * n)
    (launch,) = plan(ens, World(exp_path="/e"), max_parallel=cap, **kw).unwrap()
    assert launch.submission is not None
    return launch.submission.submit.stdin or launch.submission.script


def test_pbs_array_is_qsub_J_from_0_with_its_subjob_limit() -> None:
    """qsub(1B): ``-J X-Y[:Z]``, X > Y; the running-subjob limit is ``%N`` (OpenPBS 20+)."""
    assert "#PBS -J 0-9%4\n" in _script(pbs.plan_pbs, 10, 4)
    assert "#PBS -J 0-2\n" in _script(pbs.plan_pbs, 3, None)
    assert "PBS_ARRAY_INDEX - 0" in _script(pbs.plan_pbs, 3, None)


def test_lsf_array_is_bsub_J_name_indices_and_slot_limit() -> None:
    """bsub(1) -J: ``"job_name[index_list]%job_slot_limit"``, indices from 1."""
    assert '#BSUB -J "ens[1-10]%4"\n' in _script(lsf.plan_lsf, 10, 4)
    assert '#BSUB -J "ens[1-2]"\n' in _script(lsf.plan_lsf, 2, None)
    assert "LSB_JOBINDEX - 1" in _script(lsf.plan_lsf, 2, None)


def test_sge_array_is_qsub_t_from_1_with_tc() -> None:
    """qsub(1): ``-t n[-m[:s]]`` and ``-tc max_running_tasks``."""
    text = _script(sge.plan_sge, 20, 2)
    assert "#$ -t 1-20\n#$ -tc 2\n" in text and "SGE_TASK_ID - 1" in text
    assert "-tc" not in _script(sge.plan_sge, 3, None)


def test_a_cap_below_one_is_refused() -> None:
    ens = _ensemble(Path("/e/ens"), [("a",), ("b",)], [{}, {}])
    errors = pbs.plan_pbs(ens, World(exp_path="/e"), max_parallel=0).failure().errors
    assert [e.field for e in errors] == ["max_parallel"]


def test_task_ids_as_status_output_names_them() -> None:
    assert pbs.task_id("123[].pbs01", 4) == "123[4].pbs01"
    assert lsf.task_id("123", 4) == "123[4]"
    assert sge.task_id("123.1-20:1", 4) == "123.4"


def test_pbs_subjob_states_from_qstat_t() -> None:
    """qstat -t -f -F json lists ``N[i].server`` subjobs; a finished subjob is ``X``."""
    out = json.dumps(
        {
            "Jobs": {
                "7[].srv": {"job_state": "B"},
                "7[0].srv": {"job_state": "X", "Exit_status": 0},
                "7[1].srv": {"job_state": "X", "Exit_status": 3},
                "7[2].srv": {"job_state": "R"},
            }
        }
    )
    tasks = [
        Handle(launcher="pbs", name=f"m{i}", job_id=f"7[{i}].srv", extra=(("array:of", "7[].srv"),))
        for i in range(4)
    ]
    states = pbs.read_status(Completed(("qstat",), 0, out, ""), tasks).unwrap()
    assert {k: v.status for k, v in states.items()} == {
        "7[0].srv": Status.COMPLETED,
        "7[1].srv": Status.FAILED,
        "7[2].srv": Status.RUNNING,
    }
    argv = pbs.SCHEDULER.queries[0].argv(tasks, {"qstat": "qstat"}, None)  # type: ignore[arg-type]
    assert argv == ("qstat", "-f", "-F", "json", "-x", "-t", "7[].srv")


def test_lsf_element_states_from_bjobs_jobindex() -> None:
    """bjobs -o "jobid jobindex stat ..." -json: one record per element."""
    records = [
        {"JOBID": "5", "JOBINDEX": "1", "STAT": "DONE", "EXIT_CODE": ""},
        {"JOBID": "5", "JOBINDEX": "2", "STAT": "EXIT", "EXIT_CODE": "3"},
        {"JOBID": "5", "JOBINDEX": "3", "STAT": "PEND"},
    ]
    out = json.dumps({"COMMAND": "bjobs", "JOBS": 3, "RECORDS": records})
    tasks = [Handle(launcher="lsf", name=f"m{i}", job_id=f"5[{i}]") for i in (1, 2, 3)]
    states = lsf.read_status(Completed(("bjobs",), 0, out, ""), tasks).unwrap()
    assert [states[t.job_id].status for t in tasks] == [
        Status.COMPLETED,
        Status.FAILED,
        Status.PENDING,
    ]
    assert lsf.parse_bjobs_json(out, ["5"]).unwrap()["5"].status is Status.PENDING


def test_sge_task_states_from_qstat_xml_and_qacct() -> None:
    """qstat -xml: a running task has ``<tasks>4</tasks>``, pending ones a list or range;
    qacct: one record per ``taskid``."""
    xml = (
        "<job_info><queue_info><job_list state='running'><JB_job_number>9</JB_job_number>"
        "<state>r</state><tasks>2</tasks></job_list></queue_info><job_info>"
        "<job_list state='pending'><JB_job_number>9</JB_job_number><state>qw</state>"
        "<tasks>3,5-6:1</tasks></job_list></job_info></job_info>"
    )
    tasks = [Handle(launcher="sge", name=f"m{i}", job_id=f"9.{i}") for i in range(1, 7)]
    states = sge.read_qstat(Completed(("qstat",), 0, xml, ""), tasks).unwrap()
    assert {k: v.status.value for k, v in states.items()} == {
        "9.2": "RUNNING",
        "9.3": "PENDING",
        "9.5": "PENDING",
        "9.6": "PENDING",
    }
    record = "=" * 62 + "\njobnumber 9\ntaskid {t}\nfailed 0\nexit_status {c}\n"
    acct = record.format(t=1, c=0) + record.format(t=4, c=2)
    done = sge.read_qacct(Completed(("qacct",), 0, acct, ""), tasks).unwrap()
    assert {k: v.returncode for k, v in done.items()} == {"9.1": 0, "9.4": 2}


# =========================================================================== fakes


@pytest.fixture
def fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    state = tmp_path / "state"
    monkeypatch.setenv("SMARTSIM_FAKE_STATE", str(state))
    yield state


def _calls(state: Path) -> list[dict[str, object]]:
    path = state / "calls.log"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.parametrize("name", ["pbs", "lsf"])
def test_an_ensemble_runs_as_one_array_through_the_fake(
    name: str, fakes: Path, tmp_path: Path
) -> None:
    """Six like members under ``Experiment``: one submission of an array, each member's
    own state (members 2 and 5 fail with 3), their outputs, and one status call per poll."""
    module = {"pbs": pbs, "lsf": lsf}[name]
    tools = {t: str(FAKES / name / t) for t in module.TOOLS}
    launcher = SchedulerLauncher(module.SCHEDULER, tools=tools, max_parallel=2)
    exp = Experiment("arr", exp_path=tmp_path / "exp", launcher=launcher)
    root = tmp_path / "exp" / "ens"
    members = tuple(
        Model(
            name=f"ens_{i}",
            path=str(root / f"ens_{i}"),
            run_settings=RunSettings(
                exe="bash",
                args=("-c", 'echo "$0 $X"; exit "$1"', f"m{i}", "3" if i % 3 == 2 else "0"),
                env={"X": f"x y {i}"},
            ),
        )
        for i in range(6)
    )
    ens = Ensemble(name="ens", path=str(root), members=members)
    exp.start(ens, block=True)
    expected = [Status.FAILED if i % 3 == 2 else Status.COMPLETED for i in range(6)]
    assert exp.get_status(ens) == expected
    for i, member in enumerate(members):
        assert (Path(member.path) / f"{member.name}.out").read_text() == f"m{i} x y {i}\n"
    calls = _calls(fakes)
    submit = module.TOOL
    assert [c["tool"] for c in calls].count(submit) == 1
    polls = [c for c in calls if c["tool"] in ("qstat", "bjobs")]
    argvs = [list(map(str, c["argv"])) for c in polls]  # type: ignore[call-overload]
    assert argvs and all(len([a for a in argv if "[" in a]) <= 1 for argv in argvs)
    (launch,) = exp.preview(ens).launches
    assert launch.submission is not None
    text = launch.submission.submit.stdin or launch.submission.script
    assert ("#PBS -J 0-5%2\n" in text) if name == "pbs" else ('#BSUB -J "ens[1-6]%2"\n' in text)


def test_stopping_an_array_cancels_every_member(fakes: Path, tmp_path: Path) -> None:
    """A stopped array: every member that had not finished is CANCELLED (one qdel)."""
    tools = {t: str(FAKES / "pbs" / t) for t in pbs.TOOLS}
    exp = Experiment("arr", exp_path=tmp_path / "exp", launcher=SchedulerLauncher(
        pbs.SCHEDULER, tools=tools))  # fmt: skip
    root = tmp_path / "exp" / "ens"
    members = tuple(
        Model(name=f"ens_{i}", path=str(root / f"ens_{i}"),
              run_settings=RunSettings(exe="sleep", args=(str(30 + i),)))
        for i in range(3)
    )  # fmt: skip
    ens = Ensemble(name="ens", path=str(root), members=members)
    exp.start(ens, block=False)
    deadline = time.monotonic() + 30
    while Status.RUNNING not in exp.get_status(ens) and time.monotonic() < deadline:
        time.sleep(0.2)
    exp.stop(ens)
    assert exp.get_status(ens) == [Status.CANCELLED] * 3
    assert [c["tool"] for c in _calls(fakes)].count("qdel") == 1


# =========================================================================== flux


def test_flux_has_no_cap_and_says_so() -> None:
    """flux-submit(1) ``--cc`` replicates a job with no limit on how many run at once: a cap
    is refused, naming the field, rather than dropped."""
    ens = _ensemble(Path("/e/ens"), [("a",), ("b",)], [{}, {}])
    errors = flux.plan_flux(ens, World(exp_path="/e"), max_parallel=2).failure().errors
    assert [(type(e), e.field) for e in errors] == [(Unsupported, "max_parallel")]


def test_flux_array_is_one_submit_cc_with_a_job_per_member(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """flux-submit(1) ``--cc=0-(N-1)``: one submit prints one id per copy; each copy finds
    its member through ``FLUX_JOB_CC``; each member's state is its own job's (one ``flux
    jobs`` per poll for every copy); a stop cancels every copy in one ``flux cancel``."""
    monkeypatch.setenv("FAKE_FLUX_STATE", str(tmp_path / "flux-state"))
    launcher = SchedulerLauncher(flux.SCHEDULER, tools={"flux": str(FAKES / "flux")})
    exp = Experiment("arr", exp_path=tmp_path / "exp", launcher=launcher)
    ens = _ensemble(tmp_path / "exp" / "ens", [("a b",), ("{cc} %t",), ("x", "y")],
                    [{"SSX_V": "$HOME"}, {}, {"SSX_V": "q'\n"}])  # fmt: skip
    (launch,) = exp.preview(ens).launches
    assert launch.command is not None
    assert launch.command.argv[1:3] == ("submit", "--cc=0-2")
    exp.start(ens, block=True)
    assert exp.get_status(ens) == [Status.FAILED, Status.FAILED, Status.FAILED]  # exit "$#"
    members = exp.report()["ens"]["members"]
    assert [members[m.name]["returncode"] for m in ens.members] == [1, 1, 2]
    ids = [members[m.name]["job_id"] for m in ens.members]
    assert len(set(ids)) == 3 and all(ids)  # each copy is a job of its own
    for member, (args, env) in zip(
        ens.members,
        [(["a b"], "$HOME"), (["{cc} %t"], "unset"), (["x", "y"], "q'\n")],
        strict=True,
    ):
        where = Path(member.path)
        assert (where / "argv.bin").read_bytes().split(b"\0")[:-1] == [a.encode() for a in args]
        assert (where / "env.bin").read_text() == env


def test_start_max_parallel_is_the_arrays_cap(fakes: Path, tmp_path: Path) -> None:
    """``Experiment.start(..., max_parallel=3)`` caps the array's running tasks (PBS ``%3``);
    under Flux, which has no cap, it is an error naming ``max_parallel`` — never dropped."""
    tools = {t: str(FAKES / "pbs" / t) for t in pbs.TOOLS}
    exp = Experiment("arr", exp_path=tmp_path / "exp", launcher=SchedulerLauncher(
        pbs.SCHEDULER, tools=tools))  # fmt: skip
    ens = _ensemble(tmp_path / "exp" / "ens", [(str(i),) for i in range(6)], [{}] * 6)
    exp.start(ens, block=True, max_parallel=3)
    assert "#PBS -J 0-5%3\n" in (tmp_path / "exp" / "ens" / "ens.pbs.sh").read_text()
    assert exp.get_status(ens) == [Status.FAILED] * 6  # each exits with its argument count, 1
    fexp = Experiment("f", exp_path=tmp_path / "f", launcher="flux")
    fens = _ensemble(tmp_path / "f" / "ens", [("a",), ("b",)], [{}, {}])
    with pytest.raises(SmartSimError) as raised:
        fexp.start(fens, max_parallel=2)
    assert [e.field for e in raised.value.error.errors] == ["max_parallel"]  # type: ignore[union-attr]


@pytest.mark.parametrize("planner", ["pbs", "lsf", "sge", "flux"])
def test_the_fuzz_oracle_reads_array_tables(planner: str) -> None:
    """tests/fuzz_checks.py reads an array's table as bash does (tests/oracles/ansi_c.py): a
    hostile array plan passes, and a table that lost a member's argument does not."""
    import attrs

    from tests import fuzz_checks

    ens = _ensemble(Path("/w/ens"), [("a'b", "$x\n#y"), ("é %t {cc}",)], [{"V": "1 2"}, {}])
    assert fuzz_checks.check_plan(planner, ens)
    (launch,) = fuzz_checks.PLANNERS[planner](ens, fuzz_checks.WORLD).unwrap()
    assert "array:members" in launch.facts
    (path,) = [p for p in launch.files if p.endswith(".tasks")]
    cut = launch.files[path].replace(" $'$x\\x0a#y'", "", 1)  # member 0's last argument
    assert cut != launch.files[path]
    broken = attrs.evolve(launch, files={**launch.files, path: cut})
    with pytest.raises(AssertionError):
        fuzz_checks._check_table(ens, broken)
