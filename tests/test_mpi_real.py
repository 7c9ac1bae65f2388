"""Real MPI launches with Debian's Open MPI (``mpirun``) and MPICH (``mpiexec.mpich``).

Every rank of a small Python program reports its rank, its arguments (as JSON) and its ``P_*``
environment into a file; the tests check that each one arrived exactly — arguments with spaces,
quotes, newlines and unicode included, and the entity's variables over the caller's. Launches
go through the builders and :func:`smartsim.effects.process.run`, and through
``Experiment(launcher="local")``; with the project's Slurm cluster, also ``srun --mpi=pmi2``
(``RunSettings.mpi``) and mpirun/mpiexec.mpich inside a 2-node ``salloc``.

As root on 2 cores Open MPI needs ``OMPI_ALLOW_RUN_AS_ROOT(_CONFIRM)=1`` and oversubscription,
and stays on loopback with ``OMPI_MCA_btl_tcp_if_include=lo``/``OMPI_MCA_oob_tcp_if_include=lo``
(``/work/shared/notes/real-schedulers.md`` §3); these go into the launched command's environment
only, never into this process's.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest
from returns.io import IOSuccess
from returns.unsafe import unsafe_perform_io

from smartsim import Experiment, RunSettings, SmartSimError, Status
from smartsim.commands.launch import (
    LaunchContext,
    RunCommandSpec,
    check_run_command,
    launch_command,
)
from smartsim.commands.mpi import MPICH, OPENMPI
from smartsim.effects.mpi_detect import clear_cache, detect_flavour, resolve_flavour
from smartsim.effects.process import Completed, run
from smartsim.validate import run_settings_problems

# conftest.py skips these without Open MPI and MPICH (and fails them when CI is set)
pytestmark = pytest.mark.mpi

OMPI_ENV = {
    "OMPI_ALLOW_RUN_AS_ROOT": "1",
    "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
    "OMPI_MCA_btl_tcp_if_include": "lo",
    "OMPI_MCA_oob_tcp_if_include": "lo",
    "OMPI_MCA_rmaps_base_oversubscribe": "1",
}

REPORT = """\
import json, os, sys
rank = os.environ.get("OMPI_COMM_WORLD_RANK") or os.environ.get("PMI_RANK")
size = os.environ.get("OMPI_COMM_WORLD_SIZE") or os.environ.get("PMI_SIZE")
report = {
    "rank": int(rank),
    "size": int(size),
    "argv": sys.argv[1:],
    "env": {k: v for k, v in os.environ.items() if k.startswith("P_")},
    "cwd": os.getcwd(),
    "node": os.environ.get("SLURMD_NODENAME"),
}
with open(os.path.join(os.environ["P_REPORT_DIR"], f"rank-{rank}.json"), "w",
          encoding="utf-8") as out:
    json.dump(report, out, ensure_ascii=False)
"""

ARGS = (
    "plain",
    "with space",
    "it's",
    'say "hi"',
    "ünïcødé ✓ 日本",
    "",
    "--",
    "-n",
    "$HOME",
    "*",
    "line1\nline2",
    "tab\there",
    "=x",
    "x:y",
    "--mca",
)
ENV = {
    "P_SAME": "entity value with spaces",
    "P_QUOTE": 'it\'s "quoted"',
    "P_UNI": "ü✓日本",
    "P_EQ": "a=b,c",
    "P_NL": "line1\nline2",
}
#: The caller sets every name to something else: the entity's values must win.
CALLER = {key: f"caller-{key}" for key in (*ENV, "P_ONLY_A", "P_ONLY_B")}

LAUNCHERS = [
    pytest.param(OPENMPI, "mpirun", {"oversubscribe": None}, id="openmpi-mpirun"),
    pytest.param(MPICH, "mpiexec.mpich", {}, id="mpich-mpiexec.mpich"),
]


@pytest.fixture
def script(tmp_path: Path) -> str:
    path = tmp_path / "report.py"
    path.write_text(REPORT, encoding="utf-8")
    return str(path)


def _reports(directory: Path, count: int) -> list[dict[str, Any]]:
    files = sorted(directory.glob("rank-*.json"))
    assert [f.name for f in files] == [f"rank-{i}.json" for i in range(count)]
    return [json.loads(f.read_text(encoding="utf-8")) for f in files]


def _run(spec: RunCommandSpec, rs: RunSettings, cwd: Path, timeout: float = 120) -> Completed:
    assert run_settings_problems(rs) == [] and spec.check(rs) == []
    cmd = spec.build(rs, LaunchContext(cwd=str(cwd), name="job")).with_env(OMPI_ENV)
    result = run(cmd, timeout=timeout, base_env={**os.environ, **CALLER})
    assert isinstance(result, IOSuccess), result
    done: Completed = unsafe_perform_io(result.unwrap())
    return done


def _workdir(tmp_path: Path, name: str) -> tuple[Path, Path]:
    work = tmp_path / name
    reports = work / "reports"
    reports.mkdir(parents=True)
    return work, reports


@pytest.mark.parametrize(("spec", "run_command", "run_args"), LAUNCHERS)
def test_four_ranks_get_exact_arguments_and_environment(
    spec: RunCommandSpec,
    run_command: str,
    run_args: Mapping[str, None],
    script: str,
    tmp_path: Path,
) -> None:
    """Four ranks each receive the program's arguments and the entity's variables exactly."""
    work, reports = _workdir(tmp_path, "four")
    rs = RunSettings(
        exe=sys.executable,
        args=(script, *ARGS),
        ntasks=4,
        env={**ENV, "P_REPORT_DIR": str(reports)},
        run_command=run_command,
        run_args=run_args,
    )
    done = _run(spec, rs, work)
    assert done.returncode == 0, done.stderr
    for i, report in enumerate(_reports(reports, 4)):
        assert report["rank"] == i and report["size"] == 4
        assert report["argv"] == list(ARGS)
        assert report["env"] == {**CALLER, **rs.env}
        assert report["cwd"] == str(work)


@pytest.mark.parametrize(("spec", "run_command", "run_args"), LAUNCHERS)
def test_two_plus_two_mpmd_keeps_each_programs_arguments_and_environment(
    spec: RunCommandSpec,
    run_command: str,
    run_args: Mapping[str, None],
    script: str,
    tmp_path: Path,
) -> None:
    """In ``a : b`` ranks 0-1 run a and ranks 2-3 run b, each with only its own variables."""
    work, reports = _workdir(tmp_path, "mpmd")
    shared = {"P_REPORT_DIR": str(reports), "P_SAME": "shared by both"}
    a = RunSettings(
        exe=sys.executable,
        args=(script, "A", *ARGS),
        ntasks=2,
        env={**shared, "P_ONLY_A": "only a", "P_QUOTE": "a's"},
        run_command=run_command,
        run_args=run_args,
    )
    b = RunSettings(
        exe=sys.executable,
        args=(script, "B", "b with space", "ü"),
        ntasks=2,
        env={**shared, "P_ONLY_B": "only\nb", "P_QUOTE": 'b "q"'},
    )
    done = _run(spec, a.with_mpmd(b), work)
    assert done.returncode == 0, done.stderr
    got = _reports(reports, 4)
    for report in got[:2]:
        assert report["size"] == 4
        assert report["argv"] == ["A", *ARGS]
        assert report["env"] == {**CALLER, **a.env}  # P_ONLY_B keeps the caller's value here
    for report in got[2:]:
        assert report["argv"] == ["B", "b with space", "ü"]
        assert report["env"] == {**CALLER, **b.env}
    assert {r["cwd"] for r in got} == {str(work)}


@pytest.mark.parametrize(("spec", "run_command", "run_args"), LAUNCHERS)
def test_time_limit_stops_the_job_in_seconds(
    spec: RunCommandSpec, run_command: str, run_args: Mapping[str, None], tmp_path: Path
) -> None:
    """A 2-second time limit (Open MPI --timeout, Hydra MPIEXEC_TIMEOUT) ends a 60 s job."""
    rs = RunSettings(
        exe="sleep", args=("60",), ntasks=1, time=2, run_command=run_command, run_args=run_args
    )
    start = time.monotonic()
    done = _run(spec, rs, tmp_path, timeout=50)
    assert done.returncode != 0
    assert time.monotonic() - start < 30


def test_flavours_are_detected_once_from_version_text() -> None:
    """mpirun is Open MPI and mpiexec.mpich is MPICH on Debian; the answer is cached."""
    clear_cache()
    assert detect_flavour("mpirun") == IOSuccess("openmpi")
    assert detect_flavour("mpiexec.mpich") == IOSuccess("mpich")
    assert detect_flavour("mpiexec.mpich", base_env={"PATH": "/nonexistent"}).failure()


def test_auto_flavour_resolves_then_runs(script: str, tmp_path: Path) -> None:
    """flavour="auto" on mpiexec.mpich becomes "mpich" in the effects layer, then runs."""
    work, reports = _workdir(tmp_path, "auto")
    rs = RunSettings(
        exe=sys.executable,
        args=(script, "x y"),
        ntasks=2,
        env={"P_REPORT_DIR": str(reports)},
        run_command="mpiexec.mpich",
        flavour="auto",
    )
    assert check_run_command(rs) != []  # the pure check refuses an unresolved flavour
    resolved = unsafe_perform_io(resolve_flavour(rs).unwrap())
    assert resolved.flavour == "mpich"
    done = _run(MPICH, resolved, work)
    assert done.returncode == 0, done.stderr
    assert [r["argv"] for r in _reports(reports, 2)] == [["x y"], ["x y"]]


# --------------------------------------------------------------------------- through Experiment


def _experiment_run(
    tmp_path: Path, rs: RunSettings, reports: Path, count: int
) -> list[dict[str, Any]]:
    exp = Experiment("mpi", exp_path=str(tmp_path / "exp"), launcher="local")
    model = exp.create_model("model", rs)
    exp.start(model, block=True)
    assert exp.get_status(model) == [Status.COMPLETED], Path(model.path, "model.err").read_text(
        encoding="utf-8"
    )
    return _reports(reports, count)


def test_experiment_runs_a_four_rank_mpirun_model(script: str, tmp_path: Path) -> None:
    """Experiment(launcher="local") runs create_run_settings(run_command="mpirun", ntasks=4)."""
    reports = tmp_path / "reports"
    reports.mkdir()
    exp = Experiment("mpi-settings", exp_path=str(tmp_path / "settings"), launcher="local")
    rs = exp.create_run_settings(
        exe=sys.executable,
        args=[script, *ARGS],
        run_command="mpirun",
        ntasks=4,
        env={**OMPI_ENV, **ENV, "P_REPORT_DIR": str(reports)},
        run_args={"oversubscribe": None},
    )
    for i, report in enumerate(_experiment_run(tmp_path, rs, reports, 4)):
        assert report["rank"] == i
        assert report["argv"] == list(ARGS)
        assert report["env"] == {**ENV, "P_REPORT_DIR": str(reports)}


def test_experiment_runs_an_mpich_mpmd_model(script: str, tmp_path: Path) -> None:
    """Experiment(launcher="local") runs RunSettings(run_command="mpiexec.mpich") with 2+2."""
    reports = tmp_path / "reports"
    reports.mkdir()
    shared = {"P_REPORT_DIR": str(reports)}
    rs = RunSettings(
        exe=sys.executable,
        args=(script, "A", "a b"),
        ntasks=2,
        env={**shared, "P_ONLY_A": "a"},
        run_command="mpiexec.mpich",
    ).with_mpmd(RunSettings(exe=sys.executable, args=(script, "B", "ü"), ntasks=2, env={**shared}))
    got = _experiment_run(tmp_path, rs, reports, 4)
    assert [r["argv"] for r in got] == [["A", "a b"]] * 2 + [["B", "ü"]] * 2
    assert [r["env"].get("P_ONLY_A") for r in got] == ["a", "a", None, None]


def test_experiment_refuses_what_mpirun_cannot_express(tmp_path: Path) -> None:
    """An option mpirun cannot express is an error at create_run_settings time."""
    exp = Experiment("mpi-bad", exp_path=str(tmp_path / "bad"), launcher="local")
    with pytest.raises(SmartSimError) as caught:
        exp.create_run_settings(exe="a.out", run_command="mpirun", gpus_per_task=1)
    assert "gpus_per_task" in str(caught.value)


# --------------------------------------------------------------------------- under Slurm


@pytest.mark.slurm
def test_srun_mpi_pmi2_gives_the_ranks_one_world(script: str, tmp_path: Path) -> None:
    """RunSettings(mpi="pmi2") makes srun start one 2-rank PMI world, not two singletons."""
    work, reports = _workdir(tmp_path, "srun")
    rs = RunSettings(
        exe=sys.executable,
        args=(script, "a b"),
        ntasks=2,
        time=120,
        mpi="pmi2",
        env={"P_REPORT_DIR": str(reports)},
        run_command="srun",
        run_args={"immediate": 60},
    )
    assert check_run_command(rs) == []
    cmd = launch_command(rs, LaunchContext(cwd=str(work), name="srun-mpi"))
    assert "--mpi=pmi2" in cmd.argv
    result = run(cmd, timeout=150)
    assert isinstance(result, IOSuccess), result
    done: Completed = unsafe_perform_io(result.unwrap())
    assert done.returncode == 0, done.stderr
    got = _reports(reports, 2)
    assert [(r["rank"], r["size"], r["argv"]) for r in got] == [(0, 2, ["a b"]), (1, 2, ["a b"])]


@pytest.mark.slurm
@pytest.mark.parametrize(("spec", "run_command", "run_args"), LAUNCHERS)
def test_mpi_launcher_inside_a_slurm_allocation(
    spec: RunCommandSpec,
    run_command: str,
    run_args: Mapping[str, None],
    script: str,
    tmp_path: Path,
) -> None:
    """mpirun / mpiexec.mpich run inside a 2-node allocation place the ranks on its nodes."""
    work, reports = _workdir(tmp_path, "alloc")
    rs = RunSettings(
        exe=sys.executable,
        args=(script, "x y", "ü"),
        ntasks=4,
        env={"P_REPORT_DIR": str(reports)},
        run_command=run_command,
        run_args=run_args,
    )
    assert spec.check(rs) == []
    # real-schedulers.md §3: two virtual nodes share one host, so Open MPI needs btl self,tcp
    cmd = spec.build(rs, LaunchContext(cwd=str(work), name="job"))
    cmd = cmd.with_env({**OMPI_ENV, "OMPI_MCA_btl": "self,tcp"})
    salloc = ("salloc", "--immediate=60", "-N", "2", "-n", "4", "-t", "2")
    result = run(attrs.evolve(cmd, argv=(*salloc, *cmd.argv)), timeout=150)
    assert isinstance(result, IOSuccess), result
    done: Completed = unsafe_perform_io(result.unwrap())
    assert done.returncode == 0, done.stderr
    got = _reports(reports, 4)
    assert [r["argv"] for r in got] == [["x y", "ü"]] * 4
    assert len({r["node"] for r in got}) == 2
