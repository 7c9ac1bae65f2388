"""MPI launchers under the Slurm launcher: ``mpirun`` (Open MPI) and ``mpiexec.mpich`` (Hydra)
run as local processes that see a 2-node allocation as ``salloc``'s shell would, so their
daemons start with ``srun`` inside it. Every rank writes one JSON line (rank, arguments, node)
to the model's output; the tests check that all four arrived, exactly, on both nodes.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from returns.result import Failure

from smartsim import Experiment, Model, RunSettings, SmartSimError, Status
from smartsim.commands.plan import World
from smartsim.effects.slurm import JobLayout, allocation_env, parse_job_layout, plan_slurm
from smartsim.errors import BadValue

OMPI_ENV = {
    "OMPI_ALLOW_RUN_AS_ROOT": "1",
    "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
    "OMPI_MCA_btl_tcp_if_include": "lo",
    "OMPI_MCA_oob_tcp_if_include": "lo",
    "OMPI_MCA_btl": "self,tcp",
    "OMPI_MCA_rmaps_base_oversubscribe": "1",
}

REPORT = """\
import json, os, sys
rank = os.environ.get("OMPI_COMM_WORLD_RANK") or os.environ.get("PMI_RANK")
line = json.dumps({"rank": int(rank), "argv": sys.argv[1:],
                   "node": os.environ.get("SLURMD_NODENAME")}, ensure_ascii=False)
sys.stdout.write(line + "\\n")
sys.stdout.flush()
sys.exit(int(os.environ.get("FAIL_CODE", "0")) if rank == "1" else 0)
"""

ARGS = ("plain", "with space", "it's", 'say "hi"', "ünïcødé ✓ 日本", "", "$HOME", "x:y")

LAUNCHERS = [
    pytest.param("mpirun", {"oversubscribe": None}, id="openmpi-mpirun"),
    pytest.param("mpiexec.mpich", {}, id="mpich-mpiexec.mpich"),
]


# =========================================================================== pure


def _model(run_command: str = "mpirun", **fields: Any) -> Model:
    rs = RunSettings(exe="hello", args=("a b",), run_command=run_command, ntasks=4, **fields)
    return Model(name="m", path="/e/m", run_settings=rs)


def test_mpirun_is_planned_as_a_local_process_in_the_allocation() -> None:
    """An mpirun model is the mpirun command itself, carrying the allocation's id."""
    (launch,) = plan_slurm(_model(), World(exp_path="/e", alloc="42")).unwrap()
    assert launch.command is not None
    assert launch.command.argv[0] == "mpirun"
    assert launch.command.argv[-2:] == ("hello", "a b")
    assert launch.command.env["SLURM_JOB_ID"] == "42"
    assert (launch.stdout, launch.stderr) == ("/e/m/m.out", "/e/m/m.err")


def test_run_settings_alloc_wins_for_mpi() -> None:
    """``RunSettings.alloc`` names the allocation an MPI launcher sees."""
    (launch,) = plan_slurm(_model(alloc="7"), World(exp_path="/e", alloc="42")).unwrap()
    assert launch.command is not None and launch.command.env["SLURM_JOB_ID"] == "7"


def test_mpi_without_an_allocation_is_a_typed_error() -> None:
    """No allocation anywhere: a BadValue on the model's ``run_settings.alloc``."""
    planned = plan_slurm(_model("mpiexec", flavour="mpich"), World(exp_path="/e"))
    assert isinstance(planned, Failure)
    (error,) = planned.failure().errors
    assert isinstance(error, BadValue) and error.field == "m.run_settings.alloc"


def test_what_mpirun_cannot_express_is_reported() -> None:
    """The MPI builder's own checks apply, named after the model."""
    planned = plan_slurm(_model(gpus_per_task=1), World(exp_path="/e", alloc="42"))
    assert isinstance(planned, Failure)
    assert [e.field for e in planned.failure().errors] == ["m.run_settings.gpus_per_task"]


def test_layout_and_environment_are_salloc_s() -> None:
    """``scontrol show job -d`` gives the variables salloc sets (verified for -N 2 -n 4)."""
    text = (
        "JobId=9 JobName=x\n   NumNodes=2 NumCPUs=4 NumTasks=4 CPUs/Task=1 ReqB:S:C:T=0:0:*:*\n"
        "   NodeList=n[1-2]\n     Nodes=n[1-2] CPU_IDs=0-1 Mem=0 GRES=\n"
    )
    layout = parse_job_layout(text).unwrap()
    assert layout == JobLayout("n[1-2]", (2, 2), (2, 2))
    env = allocation_env("9", layout)
    assert env["SLURM_TASKS_PER_NODE"] == env["SLURM_JOB_CPUS_PER_NODE"] == "2(x2)"
    assert (env["SLURM_NODELIST"], env["SLURM_NNODES"], env["SLURM_JOBID"]) == ("n[1-2]", "2", "9")
    assert isinstance(parse_job_layout("JobId=9 NodeList=(null)\n"), Failure)


def _recording_popen(monkeypatch: pytest.MonkeyPatch, run: bool) -> list[dict[str, Any]]:
    """Record the argv and environment every process the Slurm effects start gets (then start
    it for real when ``run``, else a process that exits at once)."""
    import subprocess

    seen: list[dict[str, Any]] = []
    real = subprocess.Popen

    def popen(argv: Any, **kwargs: Any) -> Any:
        seen.append({"argv": tuple(argv), "env": dict(kwargs.get("env") or {})})
        return real(argv if run else ["true"], **kwargs)

    monkeypatch.setattr(subprocess, "Popen", popen)  # the module smartsim.effects.slurm uses
    return seen


def test_preview_is_what_start_runs_for_mpi_in_an_allocation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the allocation's layout known to the launcher, preview carries salloc's layout
    variables, and start executes exactly the previewed argv with exactly that environment on
    top of the caller's (no variable is added or changed at start)."""
    from smartsim.effects.slurm import SlurmLauncher

    launcher = SlurmLauncher(environ={})
    launcher._layouts["42"] = JobLayout("n[1-2]", (2, 2), (2, 2))  # as read by scontrol
    exp = Experiment("pv", exp_path=str(tmp_path), launcher=launcher)
    rs = RunSettings(exe="hostname", run_command="mpirun", ntasks=4, alloc="42")
    model = exp.create_model("ranks", rs)
    (launch,) = exp.preview(model).launches
    assert launch.command is not None
    planned = dict(launch.command.env.items())
    assert planned == {"SLURM_JOB_ID": "42", "SLURM_JOBID": "42",
                       **allocation_env("42", launcher._layouts["42"])}  # fmt: skip
    assert "SLURM_JOB_NODELIST=n[1-2]" in str(exp.preview(model))  # the shell text too
    seen = _recording_popen(monkeypatch, run=False)
    exp.start(model, block=False)
    (started,) = seen
    assert started["argv"] == launch.command.argv
    assert {k: started["env"][k] for k in planned} == planned
    added = {k: v for k, v in started["env"].items() if os.environ.get(k) != v}
    assert added == {**planned, **rs.env}  # the caller's environment + exactly the plan's
    exp.stop()


# =========================================================================== real


@pytest.fixture(scope="module")
def alloc() -> Iterator[str]:
    """Two nodes, two tasks each, for the whole module (released at its end)."""
    from tests.slurm_cluster import cluster_problem

    if cluster_problem() is not None:
        pytest.skip(cluster_problem() or "")
    from smartsim import slurm

    with slurm.slurm_allocation(
        nodes=2, add_opts={"ntasks-per-node": 2}, time="00:10:00", timeout=120
    ) as alloc_id:
        yield alloc_id


def _nodes_of(alloc: str) -> set[str]:
    """The two nodes the allocation holds (whichever the shared cluster had free)."""
    import subprocess

    listed = subprocess.run(
        ["squeue", "-h", "-j", alloc, "-o", "%N"], capture_output=True, text=True, check=True
    ).stdout.strip()
    names = subprocess.run(
        ["scontrol", "show", "hostnames", listed], capture_output=True, text=True, check=True
    ).stdout.split()
    assert len(names) == 2, names
    return set(names)


def _run(tmp_path: Path, alloc: str, run_command: str, run_args: dict[str, None],
         fail: bool = False) -> tuple[Status, list[dict[str, Any]]]:  # fmt: skip
    script = tmp_path / "report.py"
    script.write_text(REPORT, encoding="utf-8")
    exp = Experiment("mpi", exp_path=str(tmp_path), launcher="slurm")
    env = {**OMPI_ENV, **({"FAIL_CODE": "3"} if fail else {})}
    rs = RunSettings(
        exe=sys.executable, args=(str(script), *ARGS), run_command=run_command, ntasks=4,
        env=env, run_args=run_args, alloc=alloc,
    )  # fmt: skip
    model = exp.create_model("ranks", rs)
    exp.start(model, block=True)
    (status,) = exp.get_status(model)
    out = Path(model.path) / "ranks.out"
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line]
    return status, sorted(lines, key=lambda r: int(r["rank"]))


@pytest.mark.slurm
@pytest.mark.mpi
@pytest.mark.parametrize(("run_command", "run_args"), LAUNCHERS)
def test_four_ranks_on_both_nodes(
    alloc: str, tmp_path: Path, run_command: str, run_args: dict[str, None]
) -> None:
    """All 4 ranks report their exact arguments from both nodes of the allocation; the model
    COMPLETED."""
    status, reports = _run(tmp_path, alloc, run_command, run_args)
    assert [r["rank"] for r in reports] == [0, 1, 2, 3]
    assert all(r["argv"] == list(ARGS) for r in reports)
    assert {r["node"] for r in reports} == _nodes_of(alloc)
    assert status is Status.COMPLETED


@pytest.mark.slurm
@pytest.mark.mpi
@pytest.mark.parametrize(("run_command", "run_args"), LAUNCHERS)
def test_failing_rank_fails_the_model(
    alloc: str, tmp_path: Path, run_command: str, run_args: dict[str, None]
) -> None:
    """Rank 1 exits 3: the model ends FAILED."""
    status, _ = _run(tmp_path, alloc, run_command, run_args, fail=True)
    assert status is Status.FAILED


@pytest.mark.slurm
@pytest.mark.mpi
def test_without_allocation_create_model_refuses(tmp_path: Path) -> None:
    """Outside any allocation an mpirun model is refused when created, naming ``alloc``."""
    if os.environ.get("SLURM_JOB_ID"):
        pytest.skip("this process runs inside an allocation")
    exp = Experiment("mpi", exp_path=str(tmp_path), launcher="slurm")
    rs = RunSettings(exe="true", run_command="mpirun", ntasks=2)
    with pytest.raises(SmartSimError, match="alloc"):
        exp.create_model("lonely", rs)


def test_create_run_settings_accepts_an_allocation_for_mpirun_under_slurm(
    tmp_path: object,
) -> None:
    """Under the Slurm launcher, `alloc=` with run_command="mpirun" is the allocation mpirun
    runs in, not an option mpirun cannot express; the local launcher still refuses it."""
    from smartsim import Experiment, SmartSimError

    exp = Experiment("alloc", exp_path=f"{tmp_path}/s", launcher="slurm")
    rs = exp.create_run_settings("hostname", run_command="mpirun", ntasks=2, alloc="12")
    assert rs.alloc == "12"
    local = Experiment("alloc", exp_path=f"{tmp_path}/l", launcher="local")
    with pytest.raises(SmartSimError):
        local.create_run_settings("hostname", run_command="mpirun", ntasks=2, alloc="12")


@pytest.mark.slurm
@pytest.mark.mpi("openmpi")
def test_preview_is_what_start_runs_on_the_cluster(
    alloc: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a real 2-node allocation: preview shows the layout scontrol reports, start runs that
    very argv and environment, and the 4 ranks run on both nodes."""
    script = tmp_path / "report.py"
    script.write_text(REPORT, encoding="utf-8")
    exp = Experiment("pv", exp_path=str(tmp_path), launcher="slurm")
    rs = RunSettings(
        exe=sys.executable, args=(str(script), "x"), run_command="mpirun", ntasks=4,
        env=OMPI_ENV, run_args={"oversubscribe": None}, alloc=alloc,
    )  # fmt: skip
    model = exp.create_model("ranks", rs)
    (launch,) = exp.preview(model).launches
    assert launch.command is not None
    planned = dict(launch.command.env.items())
    assert planned["SLURM_JOB_ID"] == alloc and planned["SLURM_NNODES"] == "2"
    assert planned["SLURM_TASKS_PER_NODE"] == "2(x2)"
    seen = _recording_popen(monkeypatch, run=True)
    exp.start(model, block=True)
    (started,) = seen
    assert started["argv"] == launch.command.argv
    added = {k: v for k, v in started["env"].items() if os.environ.get(k) != v}
    assert added == planned  # the caller's environment + exactly the plan's
    assert exp.get_status(model) == [Status.COMPLETED]
    out = Path(model.path) / "ranks.out"
    nodes = {json.loads(line)["node"] for line in out.read_text().splitlines() if line}
    assert nodes == _nodes_of(alloc)
