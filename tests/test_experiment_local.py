"""Experiment with the local launcher, end to end: preview = reality, parameters, lifecycle."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from returns.io import IOResult
from returns.result import Result

import smartsim
from smartsim import Ensemble, Experiment, Model, RunSettings, SmartSimError, Status
from smartsim.commands.plan import Launch, Plan, World
from smartsim.effects import journal
from smartsim.effects.launcher import Handle
from smartsim.effects.local import LocalLauncher
from smartsim.errors import (
    BadValue,
    EffectError,
    ExecutableNotFound,
    Invalid,
    NotStarted,
    UnknownLauncher,
    Unsupported,
)
from smartsim.status import JobState
from tests.strategies import any_text

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")
ROOT = Path(__file__).resolve().parent.parent

#: Prints its argv (after the program) and the P_* environment as JSON.
SHOW = (
    "import json, os, sys; print(json.dumps({'argv': sys.argv[1:], "
    "'env': {k: v for k, v in os.environ.items() if k.startswith('P_')}}))"
)


class Recording:
    """The local launcher, recording every Launch it is asked to start."""

    def __init__(self, inner: LocalLauncher) -> None:
        self.inner = inner
        self.name = inner.name
        self.started: list[Launch] = []

    def plan(self, entity: Model | Ensemble, world: World) -> Result[tuple[Launch, ...], Invalid]:
        return self.inner.plan(entity, world)

    def start(self, launch: Launch) -> IOResult[Handle, EffectError]:
        self.started.append(launch)
        return self.inner.start(launch)

    def poll(self, handles: Sequence[Handle]) -> IOResult[Mapping[Handle, JobState], EffectError]:
        return self.inner.poll(handles)

    def wait(
        self, handles: Sequence[Handle], timeout: float
    ) -> IOResult[Mapping[Handle, JobState], EffectError]:
        return self.inner.wait(handles, timeout)

    def stop(self, handles: Sequence[Handle]) -> IOResult[None, EffectError]:
        return self.inner.stop(handles)

    def watch(self, callback: Callable[[Handle, JobState], None]) -> None:
        self.inner.watch(callback)


def error_of(excinfo: pytest.ExceptionInfo[SmartSimError]) -> list[object]:
    error = excinfo.value.error
    return list(error.errors) if isinstance(error, Invalid) else [error]


def sweep(exp: Experiment) -> tuple[Ensemble, Model]:
    rs = RunSettings(
        exe=sys.executable,
        args=("-c", SHOW, "--alpha={alpha}", "{n}", '{"json": {n}}'),
        env={"P_N": "{n}", "P_FIXED": "same"},
    )
    ens = exp.create_ensemble("sim", run_settings=rs, params={"alpha": [0.1, 0.2], "n": [10, 20]})
    post = exp.create_model("post", RunSettings(exe="sh", args=("-c", "echo post; ls ..")))
    return ens, post


# --------------------------------------------------------------------------- preview


def test_preview_equals_what_start_executes(tmp_path: Path) -> None:
    """start() hands the effects exactly the launches preview() returned."""
    recording = Recording(LocalLauncher(grace=0.5))
    exp = Experiment("sweep", exp_path=tmp_path / "exp", launcher=recording)
    ens, post = sweep(exp)
    plan = exp.preview(ens, post)
    exp.start(ens, post, block=True)
    assert Plan(tuple(recording.started)) == plan
    assert [launch.name for launch in plan.launches] == ["sim_0", "sim_1", "sim_2", "sim_3", "post"]
    # the next preview already shows the next history index, and the next start uses it
    again = exp.preview(ens)
    recording.started.clear()
    exp.start(ens)
    assert Plan(tuple(recording.started)) == again
    assert again.launches[0].stdout.endswith("sim_0.1.out")


def test_preview_runs_and_creates_nothing(tmp_path: Path) -> None:
    """preview() leaves the file system untouched and starts nothing."""
    exp = Experiment("dry", exp_path=tmp_path / "exp")
    ens, post = sweep(exp)
    text = str(exp.preview(ens, post))
    assert not (tmp_path / "exp").exists()
    assert exp.get_status(ens, post) == [Status.NEW] * 5
    assert "--alpha=0.2" in text and "P_N=20" in text and "sim_3.out" in text


def test_pasted_preview_does_what_start_does(tmp_path: Path) -> None:
    """The preview's shell text, pasted into sh, writes the same output start() writes."""
    pasted = Experiment("sweep", exp_path=tmp_path / "pasted")
    ens_a, _ = sweep(pasted)
    subprocess.run(["sh", "-c", str(pasted.preview(ens_a))], check=True, timeout=60)
    started = Experiment("sweep", exp_path=tmp_path / "started")
    ens_b, _ = sweep(started)
    started.start(ens_b)
    for a, b in zip(ens_a.members, ens_b.members, strict=True):
        assert (
            Path(a.path, f"{a.name}.out").read_text() == Path(b.path, f"{b.name}.out").read_text()
        )


# --------------------------------------------------------------------------- parameters


def test_parameters_land_in_each_member(tmp_path: Path) -> None:
    """Each member gets its parameters in argv, env, configured files and params.json."""
    config = tmp_path / "in.cfg"
    config.write_text("alpha = ;alpha;\nn = ;n;\nkept = ;nope;\n")
    data = tmp_path / "data.txt"
    data.write_text("shared\n")
    exp = Experiment("params", exp_path=tmp_path / "exp")
    ens, _ = sweep(exp)
    ens = exp.attach_generator_files(ens, to_configure=[str(config)], to_symlink=[str(data)])
    exp.generate(ens)
    exp.start(ens)
    expected = [(0.1, 10), (0.1, 20), (0.2, 10), (0.2, 20)]
    assert exp.get_status(ens) == [Status.COMPLETED] * 4
    for member, (alpha, n) in zip(ens.members, expected, strict=True):
        d = Path(member.path)
        shown = json.loads((d / f"{member.name}.out").read_text())
        assert shown["argv"] == [f"--alpha={alpha}", str(n), '{"json": ' + str(n) + "}"]
        assert shown["env"] == {"P_N": str(n), "P_FIXED": "same"}
        assert (d / "in.cfg").read_text() == f"alpha = {alpha}\nn = {n}\nkept = ;nope;\n"
        assert json.loads((d / "params.json").read_text()) == {"alpha": alpha, "n": n}
        assert (d / "data.txt").is_symlink() and (d / "data.txt").read_text() == "shared\n"


@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(any_text(max_size=6), min_size=1, max_size=3))
def test_any_text_parameter_reaches_the_process_unchanged(
    tmp_path: Path, values: list[str]
) -> None:
    """A parameter with any text (quotes, $, spaces, unicode) reaches the program's argv/env."""
    exp_dir = tmp_path / f"exp{time.monotonic_ns()}"
    exp = Experiment("text", exp_path=exp_dir)
    rs = RunSettings(exe=sys.executable, args=("-c", SHOW, "{v}"), env={"P_V": "{v}"})
    ens = exp.create_ensemble("t", run_settings=rs, params={"v": values})
    exp.start(ens)
    for member, value in zip(ens.members, values, strict=True):
        shown = json.loads(Path(member.path, f"{member.name}.out").read_text())
        assert shown == {"argv": [value], "env": {"P_V": value}}


# --------------------------------------------------------------------------- errors


def test_run_settings_the_run_command_cannot_express_fail_at_creation(tmp_path: Path) -> None:
    """create_run_settings refuses an option the chosen run_command cannot express."""
    exp = Experiment("e", exp_path=tmp_path)
    with pytest.raises(SmartSimError) as excinfo:
        exp.create_run_settings("a.out", ntasks=4)
    assert any(
        isinstance(e, Unsupported) and e.field == "run_settings.ntasks" for e in error_of(excinfo)
    )
    with pytest.raises(SmartSimError) as excinfo:
        exp.create_run_settings("a.out", run_command="no-such-launcher")
    assert any(isinstance(e, UnknownLauncher) for e in error_of(excinfo))
    assert exp.create_run_settings("a.out", args=("x",)).args == ("x",)


def test_unknown_launcher_lists_the_known_ones(tmp_path: Path) -> None:
    """An unknown launcher name is an UnknownLauncher naming every known launcher."""
    with pytest.raises(SmartSimError) as excinfo:
        Experiment("e", exp_path=tmp_path, launcher="cobalt")
    (error,) = error_of(excinfo)
    assert isinstance(error, UnknownLauncher)
    assert {"local", "slurm", "pbs", "lsf", "sge", "flux", "kubernetes"} <= set(error.known)


def test_known_launcher_not_installed_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A known launcher whose module is missing says so, naming the available ones."""
    from smartsim import experiment

    monkeypatch.setitem(experiment.LAUNCHERS, "lsf", "smartsim.effects.no_such_module:X")
    with pytest.raises(SmartSimError) as excinfo:
        Experiment("e", exp_path=tmp_path, launcher="lsf")
    (error,) = error_of(excinfo)
    assert isinstance(error, BadValue) and "local" in error.expected and "not in" in error.expected


def test_batch_settings_are_refused_by_the_local_launcher(tmp_path: Path) -> None:
    """The local launcher cannot run batch jobs: an error at creation, never ignored."""
    exp = Experiment("e", exp_path=tmp_path)
    with pytest.raises(SmartSimError) as excinfo:
        exp.create_batch_settings(nodes=1)
    assert any(isinstance(e, Unsupported) for e in error_of(excinfo))
    from smartsim import BatchSettings

    with pytest.raises(SmartSimError):
        exp.create_model("m", RunSettings(exe="true"), batch_settings=BatchSettings(nodes=1))


def test_a_missing_executable_fails_only_its_own_entity(tmp_path: Path) -> None:
    """start() still launches the siblings; the bad entity is FAILED with its typed error."""
    exp = Experiment("e", exp_path=tmp_path / "exp")
    good = exp.create_model("good", RunSettings(exe="true"))
    bad = exp.create_model("bad", RunSettings(exe="no-such-program-smartsim"))
    also = exp.create_model("also", RunSettings(exe="true"))
    exp.start(good, bad, also)
    assert exp.get_status(good, bad, also) == [Status.COMPLETED, Status.FAILED, Status.COMPLETED]
    assert isinstance(exp.errors()["bad"], ExecutableNotFound)
    assert "not found" in exp.summary()


def test_names_are_unique_within_an_experiment(tmp_path: Path) -> None:
    """A second, different entity with a used name (or a member's name) is refused."""
    exp = Experiment("e", exp_path=tmp_path)
    exp.create_ensemble("s", run_settings=RunSettings(exe="true"), replicas=2)
    with pytest.raises(SmartSimError):
        exp.create_model("s_1", RunSettings(exe="true"))
    with pytest.raises(SmartSimError):
        exp.create_model("s", RunSettings(exe="true"))


# --------------------------------------------------------------------------- lifecycle


def test_nonblocking_start_poll_stop(tmp_path: Path) -> None:
    """block=False returns at once; stop() cancels; poll() returns once all are final."""
    exp = Experiment("life", exp_path=tmp_path / "exp", launcher=LocalLauncher(grace=0.5))
    slow = exp.create_ensemble(
        "slow", run_settings=RunSettings(exe="sleep", args=("30",)), replicas=2
    )
    quick = exp.create_model("quick", RunSettings(exe="sh", args=("-c", "sleep 0.2")))
    with pytest.raises(SmartSimError) as excinfo:
        exp.finished(quick)
    assert isinstance(excinfo.value.error, NotStarted)
    t0 = time.monotonic()
    exp.start(slow, quick, block=False)
    assert time.monotonic() - t0 < 2
    assert exp.get_status(slow) == [Status.RUNNING, Status.RUNNING]
    assert not exp.finished(slow)
    with pytest.raises(SmartSimError):
        exp.start(slow)  # still running
    exp.stop(slow)
    assert exp.get_status(slow) == [Status.CANCELLED, Status.CANCELLED]
    exp.poll(interval=0.1, verbose=False)
    assert exp.finished(quick) and exp.get_status(quick) == [Status.COMPLETED]


def test_poll_reports_every_interval(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """poll(interval) prints what is still running each interval until everything is final."""
    exp = Experiment("report", exp_path=tmp_path / "exp")
    model = exp.create_model("m", RunSettings(exe="sleep", args=("0.5",)))
    exp.start(model, block=False)
    exp.poll(interval=0.1)
    assert "m: RUNNING" in capsys.readouterr().out
    assert exp.get_status(model) == [Status.COMPLETED]


def test_every_run_keeps_its_output(tmp_path: Path) -> None:
    """A second run writes <name>.1.out beside the first run's untouched <name>.out."""
    exp = Experiment("history", exp_path=tmp_path / "exp")
    counter = tmp_path / "count"
    model = exp.create_model(
        "m", RunSettings(exe="sh", args=("-c", f"echo run >> {counter}; wc -l < {counter}"))
    )
    exp.start(model)
    exp.start(model)
    out = tmp_path / "exp" / "m"
    assert (out / "m.out").read_text().strip() == "1"
    assert (out / "m.1.out").read_text().strip() == "2"


def test_attached_files_use_the_new_version(tmp_path: Path) -> None:
    """attach_generator_files returns a new value; the old value resolves to it too."""
    src = tmp_path / "dir"
    src.mkdir()
    (src / "a.txt").write_text("x=;x;\n")
    exp = Experiment("gen", exp_path=tmp_path / "exp")
    model = exp.create_model("m", RunSettings(exe="true"), params={"x": 5})
    newer = exp.attach_generator_files(model, to_copy=[str(src)], to_configure=[str(src / "a.txt")])
    assert newer != model and model.files.to_copy == ()
    exp.generate(model)  # the old value: generates the new version's files
    assert (tmp_path / "exp" / "m" / "dir" / "a.txt").read_text() == "x=;x;\n"
    assert (tmp_path / "exp" / "m" / "a.txt").read_text() == "x=5\n"


def test_summary_lists_each_launch(tmp_path: Path) -> None:
    """summary() has one row per launch with type, job id, status, return code and times."""
    exp = Experiment("table", exp_path=tmp_path / "exp")
    ens, post = sweep(exp)
    exp.start(ens, post)
    text = exp.summary()
    lines = text.splitlines()
    assert lines[1].split()[:5] == ["name", "type", "job", "id", "status"]
    rows = {line.split()[0]: line for line in lines[2:]}
    assert set(rows) == {"sim_0", "sim_1", "sim_2", "sim_3", "post"}
    assert "Member of sim" in rows["sim_0"] and "COMPLETED" in rows["post"]


def test_experiment_is_exported_lazily() -> None:
    """smartsim.Experiment is the shell class, loaded on first use."""
    assert smartsim.Experiment is Experiment


@pytest.mark.mpi
@pytest.mark.skipif(shutil.which("mpiexec.mpich") is None, reason="MPICH is not installed")
@pytest.mark.skipif(
    importlib.util.find_spec("smartsim.commands.mpi") is None, reason="no MPI builders"
)
def test_a_run_command_works_locally(tmp_path: Path) -> None:
    """run_command='mpiexec.mpich' goes through the registry and runs ntasks copies locally."""
    exp = Experiment("mpi", exp_path=tmp_path / "exp")
    rs = exp.create_run_settings("echo", args=("hi",), run_command="mpiexec.mpich", ntasks=2)
    model = exp.create_model("m", rs)
    (launch,) = exp.preview(model).launches
    assert launch.command is not None and launch.command.argv[0] == "mpiexec.mpich"
    exp.start(model)
    assert exp.get_status(model) == [Status.COMPLETED], exp.summary()
    assert (tmp_path / "exp" / "m" / "m.out").read_text() == "hi\nhi\n"


def test_the_sweep_example_runs(tmp_path: Path) -> None:
    """examples/sweep/run.py runs its ensemble and post step and prints the summary."""
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "sweep" / "run.py"),
            "--exp-path",
            str(tmp_path / "s"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    assert "COMPLETED" in done.stdout and "post" in done.stdout
    statuses = journal.parse_journal((tmp_path / "s" / "journal.jsonl").read_text().splitlines())
    assert set(statuses.statuses().values()) == {Status.COMPLETED}
