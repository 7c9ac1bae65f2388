"""The documented paths work: under a workload manager's launcher, settings that ask for tasks,
nodes or run arguments and name no run_command use that launcher's own parallel launcher
(srun on Slurm, flux under Flux, jsrun under LSF with CSM); a serial program keeps its direct
launch; run_command="auto" (SmartSim's default) means exactly that."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smartsim import Experiment, RunSettings, SmartSimError, Status
from smartsim.commands.launch import needs_parallel_launcher, resolve_run_command
from smartsim.commands.lsf import scheduler as lsf_scheduler
from smartsim.effects.scheduler import SchedulerLauncher
from smartsim.errors import Invalid, Unsupported

PARALLEL = [
    {"ntasks": 4},
    {"nodes": 2},
    {"tasks_per_node": 2},
    {"run_args": {"label": None}},
    {"hostlist": ("n1",)},
]


@pytest.mark.parametrize("fields", PARALLEL, ids=lambda f: next(iter(f)))
@pytest.mark.parametrize("run_command", [None, "auto"])
def test_slurm_settings_that_need_a_launcher_become_srun_steps(
    fields: dict[str, Any], run_command: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """create_run_settings("a.out", ntasks=4 / nodes=2 / tasks_per_node / run_args) under the
    Slurm launcher is an srun step in the enclosing allocation carrying those options."""
    monkeypatch.setenv("SLURM_JOB_ID", "77")
    exp = Experiment("e", exp_path="/tmp/e", launcher="slurm")
    rs = exp.create_run_settings("a.out", run_command=run_command, **fields)
    assert rs.run_command == "srun"
    argv = exp.preview(exp.create_model("m", rs)).launches[0].command.argv  # type: ignore[union-attr]
    assert argv[:4] == ("srun", "-v", "--jobid", "77") and argv[-1] == "a.out"
    flag = {"ntasks": "-n", "nodes": "-N", "tasks_per_node": "--ntasks-per-node",
            "run_args": "--label", "hostlist": "--nodelist"}[next(iter(fields))]  # fmt: skip
    assert flag in argv


@pytest.mark.parametrize("run_command", [None, "auto"])
def test_a_serial_program_keeps_its_direct_launch(run_command: str | None) -> None:
    """A serial program with no parallel settings is not given a launcher: locally it runs as
    itself, under Slurm it stays a plain step (run_command None)."""
    for launcher in ("local", "slurm", "flux", "pbs"):
        exp = Experiment("e", exp_path="/tmp/e", launcher=launcher)
        assert exp.create_run_settings("a.out", run_command=run_command).run_command is None


@pytest.mark.parametrize("fields", PARALLEL[:3], ids=lambda f: next(iter(f)))
def test_flux_uses_flux_and_lsf_with_csm_uses_jsrun(fields: dict[str, Any]) -> None:
    """Under Flux the model becomes a Flux job; under LSF with CSM a jsrun launch."""
    flux = Experiment("e", exp_path="/tmp/e", launcher="flux")
    rs = flux.create_run_settings("a.out", **fields)
    assert rs.run_command == "flux"
    argv = flux.preview(flux.create_model("m", rs)).launches[0].command.argv  # type: ignore[union-attr]
    assert argv[:2] == ("flux", "submit")
    lsf = Experiment("e", exp_path="/tmp/e", launcher=SchedulerLauncher(lsf_scheduler(csm=True)))
    if "nodes" not in fields:  # jsrun needs tasks per node with nodes
        rs = lsf.create_run_settings("a.out", run_command="auto", **fields)
        assert rs.run_command == "jsrun"
        script = lsf.preview(lsf.create_model("m", rs)).launches[0].submission.script  # type: ignore[union-attr]
        assert "jsrun --chdir" in script


def test_without_a_launcher_of_its_own_the_error_names_the_field() -> None:
    """The local launcher has no parallel launcher: ntasks=4 is a typed Unsupported naming the
    field, for run_command None and "auto" alike."""
    exp = Experiment("e", exp_path="/tmp/e")
    for run_command in (None, "auto"):
        with pytest.raises(SmartSimError) as info:
            exp.create_run_settings("a.out", run_command=run_command, ntasks=4)
        assert isinstance(info.value.error, Invalid)
        (error,) = info.value.error.errors
        assert isinstance(error, Unsupported) and error.field == "run_settings.ntasks"


def test_resolution_is_pure_and_leaves_named_launchers_alone() -> None:
    """resolve_run_command only fills None/"auto"; an explicit run_command is kept, and MPMD
    parts follow the first program."""
    explicit = RunSettings(exe="a", ntasks=4, run_command="mpirun")
    assert resolve_run_command(explicit, "srun") is explicit
    mpmd = RunSettings(exe="a", ntasks=2, run_command="auto").with_mpmd(
        RunSettings(exe="b", ntasks=2, run_command="auto")
    )
    done = resolve_run_command(mpmd, "srun")
    assert [p.run_command for p in done.parts] == ["srun", "srun"]
    assert needs_parallel_launcher(RunSettings(exe="a", ntasks=1)) is False
    assert needs_parallel_launcher(RunSettings(exe="a", ntasks=2)) is True


def test_create_model_resolves_auto_too() -> None:
    """A RunSettings built by hand with run_command="auto" passed to create_model is resolved
    the same way."""
    exp = Experiment("e", exp_path="/tmp/e", launcher="slurm")
    model = exp.create_model("m", RunSettings(exe="a.out", ntasks=4, run_command="auto"))
    assert model.run_settings.run_command == "srun"


# --------------------------------------------------------------------------- the real cluster


@pytest.fixture(scope="module")
def alloc() -> Iterator[str]:
    """One node with four CPUs (released at the end of the module)."""
    from tests.slurm_cluster import cluster_problem

    if cluster_problem() is not None:
        pytest.skip(cluster_problem() or "")
    from smartsim import slurm

    with slurm.slurm_allocation(
        nodes=1, add_opts={"ntasks-per-node": 4}, time="00:10:00",
        job_name="smartsim-test-auto", timeout=120,
    ) as alloc_id:  # fmt: skip
        yield alloc_id


@pytest.mark.slurm
@pytest.mark.parametrize("run_command", [None, "auto"])
def test_hostname_with_ntasks_4_runs_4_tasks_on_real_slurm(
    alloc: str, run_command: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """create_run_settings("hostname", ntasks=4) on launcher="slurm" inside an allocation runs
    4 tasks (4 lines of output, one per task), with run_command None and "auto"."""
    monkeypatch.setenv("SLURM_JOB_ID", alloc)
    exp = Experiment("auto", exp_path=str(tmp_path), launcher="slurm")
    rs = exp.create_run_settings("hostname", run_command=run_command, ntasks=4)
    model = exp.create_model("h", rs)
    exp.start(model, block=True)
    assert exp.get_status(model) == [Status.COMPLETED]
    lines = (tmp_path / "h" / "h.out").read_text().split()
    assert lines == [socket.gethostname()] * 4, lines  # the emulated nodes share one host
    ranks = exp.create_run_settings(
        "sh", args=["-c", "echo $SLURM_JOB_ID $SLURM_PROCID"], run_command=run_command, ntasks=4
    )
    shown = exp.create_model("ranks", ranks)
    exp.start(shown, block=True)
    assert exp.get_status(shown) == [Status.COMPLETED]
    seen = sorted((tmp_path / "ranks" / "ranks.out").read_text().splitlines())
    assert seen == [f"{alloc} {rank}" for rank in range(4)], seen
