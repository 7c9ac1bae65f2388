"""The Grid Engine launcher against the real Grid Engine of ``scripts/sge-cluster up`` (Debian's
Son of Grid Engine 8.1.9, one host): submit, poll and cancel real jobs through ``Experiment``,
and check the test-only lexer and time models against the real ``qsub``.

Marked ``sge``: skipped when the cluster is not up, a failure when ``CI`` is set. The tools are
named by path (from the cluster's env file): ``qsub`` is also the name of PBS's tool and of the
fakes these tests must not pick up from ``PATH``.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartsim import Experiment, Status
from smartsim.commands.sge import check_word, directive_lines, h_rt, scheduler
from smartsim.effects.scheduler import SchedulerLauncher
from smartsim.values import Duration, Ensemble, Model
from tests.oracles import sge_lexer
from tests.slurm_cluster import in_ci, read_env_file
from tests.strategies import single_line_text

pytestmark = pytest.mark.sge

ROOT = Path(__file__).resolve().parent.parent
ENV_FILE = Path(os.environ.get("SMARTSIM_SGE_DIR") or "/var/tmp/smartsim-sge") / "env"
HINT = "run `sudo scripts/sge-cluster up` (it installs Debian's gridengine packages)"


def _cluster() -> dict[str, str] | None:
    if not ENV_FILE.exists():
        return None
    values = read_env_file(ENV_FILE)
    done = subprocess.run(
        [str(ROOT / "scripts" / "sge-cluster"), "status"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **values},
    )
    return values if done.returncode == 0 else None


@pytest.fixture(scope="module")
def sge() -> Iterator[dict[str, str]]:
    """The cluster's env file values (tool paths, SGE_ROOT, the parallel environment)."""
    values = _cluster()
    if values is None:
        message = f"no Grid Engine: {HINT}"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    saved = {k: os.environ.get(k) for k in ("SGE_ROOT", "SGE_CELL")}
    os.environ.update({k: values[k] for k in ("SGE_ROOT", "SGE_CELL")})
    yield values
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def tools(sge: Mapping[str, str]) -> dict[str, str]:
    return {
        "qsub": sge["SMARTSIM_SGE_QSUB"],
        "qstat": sge["SMARTSIM_SGE_QSTAT"],
        "qdel": sge["SMARTSIM_SGE_QDEL"],
        "qacct": sge["SMARTSIM_SGE_QACCT"],
    }


def launcher(sge: Mapping[str, str]) -> SchedulerLauncher:
    return SchedulerLauncher(scheduler(pe=sge["SMARTSIM_SGE_PE"]), tools=tools(sge))


def wait_status(exp: Experiment, entity: object, wanted: Status, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    status = exp.get_status(entity)  # type: ignore[arg-type]
    while status != [wanted] and time.monotonic() < deadline:
        time.sleep(0.3)
        status = exp.get_status(entity)  # type: ignore[arg-type]
    assert status == [wanted]


def test_model_runs_and_completes(sge: dict[str, str], tmp_path: Path) -> None:
    """A model submitted with qsub runs in its directory, writes its output where smartsim
    said, and completes (its end read from the accounting file)."""
    exp = Experiment("real", exp_path=tmp_path / "exp", launcher=launcher(sge))
    rs = exp.create_run_settings("bash", ["-c", 'echo "job $JOB_ID in $PWD" "$1"', "x", "a b"])
    bs = exp.create_batch_settings(time=dt.timedelta(minutes=5))
    model = exp.create_model("hello", rs, batch_settings=bs)
    exp.start(model, block=True)
    assert exp.get_status(model) == [Status.COMPLETED]
    out = (tmp_path / "exp" / "hello" / "hello.out").read_text()
    assert f"in {tmp_path / 'exp' / 'hello'} a b" in out


def test_carriage_returns_reach_the_program_exactly(sge: dict[str, str], tmp_path: Path) -> None:
    """Grid Engine's reader keeps CR LF and a lone CR in the body (smartsim's sge.READER does
    not refuse them): the real job's program gets each argument and env value byte for byte."""
    exp = Experiment("real", exp_path=tmp_path / "exp", launcher=launcher(sge))
    words = ["a\r\nb", "c\rd", "e\r"]
    script = 'printf "%s\\0" "$@" "$SSX_V" > argv.bin'
    rs = exp.create_run_settings("bash", ["-c", script, "x", *words], env={"SSX_V": "v\r\nw"})
    model = exp.create_model("crs", rs, batch_settings=exp.create_batch_settings(time=120))
    exp.start(model, block=True)
    assert exp.get_status(model) == [Status.COMPLETED]
    data = (tmp_path / "exp" / "crs" / "argv.bin").read_bytes()
    assert data.split(b"\0")[:-1] == [w.encode() for w in [*words, "v\r\nw"]]


def test_failure_keeps_its_exit_status(sge: dict[str, str], tmp_path: Path) -> None:
    """A job whose program exits 3 is FAILED with return code 3."""
    exp = Experiment("real", exp_path=tmp_path / "exp", launcher=launcher(sge))
    model = exp.create_model(
        "fails", exp.create_run_settings("bash", ["-c", "exit 3"]),
        batch_settings=exp.create_batch_settings(time=60),
    )  # fmt: skip
    exp.start(model, block=True)
    assert exp.get_status(model) == [Status.FAILED]
    assert exp.states()["fails"].returncode == 3


def test_running_job_is_cancelled(sge: dict[str, str], tmp_path: Path) -> None:
    """A running job is stopped with qdel and ends CANCELLED."""
    exp = Experiment("real", exp_path=tmp_path / "exp", launcher=launcher(sge))
    model = exp.create_model(
        "sleeper", exp.create_run_settings("sleep", ["120"]),
        batch_settings=exp.create_batch_settings(time=300),
    )  # fmt: skip
    exp.start(model, block=False)
    wait_status(exp, model, Status.RUNNING)
    exp.stop(model)
    wait_status(exp, model, Status.CANCELLED, timeout=30)


def test_ensemble_array_with_slots(sge: dict[str, str], tmp_path: Path) -> None:
    """An ensemble is one job: its members run side by side in a slot each of the parallel
    environment, as a two-task array; it completes when every task's members succeeded."""
    exp = Experiment("real", exp_path=tmp_path / "exp", launcher=launcher(sge))
    rs = exp.create_run_settings("bash", ["-c", "echo member {x} task $SGE_TASK_ID slots $NSLOTS"])
    bs = exp.create_batch_settings(time=300, array=range(1, 3))
    ens = exp.create_ensemble("ens", rs, params={"x": [1, 2]}, batch_settings=bs)
    exp.start(ens, block=True)
    assert exp.get_status(ens) == [Status.COMPLETED, Status.COMPLETED]
    texts = [(tmp_path / "exp" / "ens" / m.name / f"{m.name}.out").read_text() for m in ens.members]
    assert all("slots 2" in t for t in texts)
    assert {t.split()[1] for t in texts} == {"1", "2"}


def test_run_time_limit_is_enforced(sge: dict[str, str], tmp_path: Path) -> None:
    """``time`` becomes ``h_rt``: Grid Engine kills the job when it is over, and the failure
    says why."""
    exp = Experiment("real", exp_path=tmp_path / "exp", launcher=launcher(sge))
    model = exp.create_model(
        "late", exp.create_run_settings("sleep", ["60"]),
        batch_settings=exp.create_batch_settings(time=2),
    )  # fmt: skip
    exp.start(model, block=True)
    state = exp.states()["late"]
    assert state.status is Status.FAILED and "h_rt" in state.reason


def _verify(sge: Mapping[str, str], tmp_path: Path, directive: str) -> dict[str, str]:
    """``qsub -verify`` of a script holding ``directive``: the job description qsub parsed."""
    script = tmp_path / "verify.sh"
    script.write_text(f"#!/bin/bash\n{directive}\ntrue\n")
    done = subprocess.run(
        [sge["SMARTSIM_SGE_QSUB"], "-verify", str(script)],
        capture_output=True,
        text=True,
        check=False,
    )
    fields: dict[str, str] = {}
    for line in done.stdout.split("\n"):  # not splitlines(): values may hold U+0085
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip() if key.strip() != "account" else value[1:].lstrip(" ")
    return fields


_WORDS = single_line_text(max_size=10).filter(
    lambda w: check_word("w", w) == [] and w.strip() == w and w != ""
)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(word=_WORDS)
def test_directive_quoting_is_read_back_by_real_qsub(
    sge: dict[str, str], tmp_path_factory: pytest.TempPathFactory, word: str
) -> None:
    """A value quoted by smartsim, in a ``#$`` line, is what the real qsub parses — and what
    the test-only lexer model says it parses."""
    line = directive_lines([("-A", word)])[0]
    fields = _verify(sge, tmp_path_factory.mktemp("v"), line)
    assert fields.get("account") == word
    assert sge_lexer.options(line + "\n") == [("-A", word)]


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(seconds=st.integers(1, 400 * 86400))
def test_h_rt_is_read_back_by_real_qsub(
    sge: dict[str, str], tmp_path_factory: pytest.TempPathFactory, seconds: int
) -> None:
    """The rendered ``h_rt`` is accepted by the real qmaster as the same number of seconds
    (a held job, deleted at once)."""
    duration = Duration(seconds)
    done = subprocess.run(
        [sge["SMARTSIM_SGE_QSUB"], "-terse", "-h", "-l", f"h_rt={h_rt(duration)}", "-b", "y",
         "/bin/true"],
        capture_output=True, text=True, check=False,
        cwd=tmp_path_factory.mktemp("h"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    job = done.stdout.strip()
    try:
        shown = subprocess.run(
            [sge["SMARTSIM_SGE_QSTAT"], "-j", job], capture_output=True, text=True, check=False
        ).stdout
        (line,) = [x for x in shown.splitlines() if x.startswith("hard resource_list")]
        assert f"h_rt={seconds}" in line
    finally:
        subprocess.run([sge["SMARTSIM_SGE_QDEL"], job], capture_output=True, check=False)


#: Values every array member carries through the generated table: quotes, '#', '$', '%t',
#: '{cc}', a newline and non-ASCII (the Grid Engine reader keeps them all in a table row).
HOSTILE = ('it\'s "q" #1 $HOME %t {cc}', "two\nlines", "é ' \\ `x`", "")


def test_ensemble_of_20_is_one_array_capped_at_2(sge: dict[str, str], tmp_path: Path) -> None:
    """20 like members are one ``qsub -t 1-20 -tc 2`` job: each task runs its own member (its
    arguments and environment byte for byte, its output files), each member has its own state
    (4 of them fail with 3), Grid Engine's accounting has 20 tasks of one job, and no more than
    2 members ran at once (from the members' own clocks)."""
    name = f"arr{os.getpid()}"
    exp = Experiment("real", exp_path=tmp_path / "exp", launcher=_capped(sge, 2))
    script = (
        'date +%s.%N >start; printf "%s\\0" "$@" "$SSX_V" >argv.bin; sleep 0.5; '
        'date +%s.%N >end; echo "member $SGE_TASK_ID"; [ "$1" != fail ] || exit 3'
    )
    root = tmp_path / "exp" / name
    members = []
    for i in range(20):
        args = ("-c", script, "x", "fail" if i % 5 == 4 else "ok", *HOSTILE, str(i))
        env = {"SSX_V": f"{HOSTILE[i % len(HOSTILE)]}{i}"}
        rs = exp.create_run_settings("bash", args, env=env)
        members.append(Model(name=f"{name}_{i}", path=str(root / f"{name}_{i}"), run_settings=rs))
    ens = Ensemble(name=name, path=str(root), members=tuple(members))
    (launch,) = exp.preview(ens).launches
    assert launch.submission is not None
    assert "#$ -t 1-20\n#$ -tc 2\n" in launch.submission.script
    exp.start(ens, block=True)
    statuses = exp.get_status(ens)
    assert statuses == [Status.FAILED if i % 5 == 4 else Status.COMPLETED for i in range(20)]
    intervals = []
    for i, member in enumerate(ens.members):
        where = Path(member.path)
        words = (where / "argv.bin").read_bytes().split(b"\0")[:-1]
        assert words == [w.encode() for w in member.run_settings.args[3:]] + [
            member.run_settings.env["SSX_V"].encode()
        ]
        assert (where / f"{member.name}.out").read_text().split() == ["member", str(i + 1)]
        assert (where / f"{member.name}.rc").read_text().strip() == ("3" if i % 5 == 4 else "0")
        intervals.append((float((where / "start").read_text()), float((where / "end").read_text())))
    most = max(sum(1 for s, e in intervals if s <= t < e) for t, _ in intervals)
    assert 1 <= most <= 2, intervals
    done = subprocess.run(
        [sge["SMARTSIM_SGE_QACCT"], "-j", name], capture_output=True, text=True, check=False
    )
    tasks = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("taskid")]
    numbers = {line.split()[1] for line in done.stdout.splitlines() if line.startswith("jobnumber")}
    assert sorted(tasks, key=int) == [str(i) for i in range(1, 21)] and len(numbers) == 1


def _capped(sge: Mapping[str, str], cap: int) -> SchedulerLauncher:
    return SchedulerLauncher(
        scheduler(pe=sge["SMARTSIM_SGE_PE"]), tools=tools(sge), max_parallel=cap
    )
