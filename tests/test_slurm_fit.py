"""Steps fit their allocation (issue 11, item 6): a batch script is sized from the members it
holds, each member step carries its own node and task counts, and a step that can never fit
the allocation it is given is a typed error before anything is submitted.

The first half is pure; the second half (marked ``slurm``) runs on the project's cluster.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from returns.result import Failure
from returns.unsafe import unsafe_perform_io

from smartsim import BatchSettings, Ensemble, Model, RunSettings, Status
from smartsim.commands.launch import LaunchContext
from smartsim.commands.plan import World
from smartsim.commands.slurm import batch_size, sbatch_script, step_shape
from smartsim.commands.slurm_plan import plan_slurm
from smartsim.effects.journal import replay

# =========================================================================== pure


def _members(n: int, **fields: object) -> list[tuple[RunSettings, LaunchContext]]:
    rs = RunSettings(exe="a.out", run_command="srun", **fields)
    return [(rs, LaunchContext(cwd=f"/w/m{i}", name=f"m{i}")) for i in range(n)]


def _member_lines(script: str) -> list[str]:
    return [line for line in script.splitlines() if " srun " in line]


def test_four_one_task_members_on_two_nodes_get_four_tasks() -> None:
    """BatchSettings(nodes=2) with four 1-task members: the job asks for 4 tasks, so all four
    run at once; each member step says 1 node, 1 task (nothing inherited from the job)."""
    members = _members(4)
    script = sbatch_script(members, BatchSettings(nodes=2), job_name="ens")
    assert "#SBATCH -N 2\n" in script
    assert "#SBATCH --ntasks 4\n" in script
    lines = _member_lines(script)
    assert len(lines) == 4
    for line in lines:
        assert " -N 1 -n 1 " in line, line


def test_cpus_and_gpus_per_task_size_the_job() -> None:
    """Members of 2 tasks x 3 CPUs x 1 GPU: 4 tasks, 3 CPUs each, 4 GPUs, 2 nodes for the
    2-node member."""
    members = _members(2, ntasks=2, cpus_per_task=3, gpus_per_task=1, nodes=2)
    assert batch_size(members, BatchSettings()) == [
        ("-N", "2"), ("--ntasks", "4"), ("--cpus-per-task", "3"), ("--gpus", "4"),
    ]  # fmt: skip


def test_mixed_cpus_per_task_counts_cpus() -> None:
    """Members asking different CPUs per task: the job gets one task per CPU they need."""
    members = _members(1, cpus_per_task=4) + _members(3)
    assert batch_size(members, BatchSettings(nodes=1)) == [("--ntasks", "7")]


def test_what_the_user_sized_is_kept() -> None:
    """ntasks-per-node (or any task/CPU option) in batch_args, or gpus given: no sizing of
    that kind is added; a count that is not a plain number leaves the job as written."""
    bs = BatchSettings(nodes=2, batch_args={"ntasks-per-node": 4})
    assert batch_size(_members(4), bs) == []
    assert batch_size(_members(2, gpus_per_task=1), BatchSettings(gpus=1)) == [
        ("--ntasks", "2")
    ]
    ranged = _members(1, run_args={"nodes": "1-3"})
    assert batch_size(ranged + _members(3), BatchSettings()) == []
    assert step_shape(ranged[0][0]) is None


def test_member_counts_from_run_args_are_its_own() -> None:
    """A member giving ``-n`` in run_args keeps it (no second ``-n``); its count sizes the job."""
    members = _members(2, run_args={"n": 3})
    script = sbatch_script(members, BatchSettings(), job_name="ens")
    assert "#SBATCH --ntasks 6\n" in script
    for line in _member_lines(script):
        assert line.count(" -n ") == 1 and " -n 3 " in line and " -N 1-3 " in line


def test_a_member_wider_than_the_job_is_refused() -> None:
    """A member asking 3 nodes of a 2-node batch job could never start: a typed error."""
    model = Model(
        name="m", path="/e/m",
        run_settings=RunSettings(exe="a", nodes=3), batch_settings=BatchSettings(nodes=2),
    )  # fmt: skip
    planned = plan_slurm(model, World(exp_path="/e"))
    errors = planned.failure().errors
    assert [e.field for e in errors] == ["m.members[0].nodes"], errors


# =========================================================================== real cluster

SLEEPER = (
    "import json, os, sys, time\n"
    "t0 = time.time()\n"
    "time.sleep(4)\n"
    "print(json.dumps({'t0': t0, 't1': time.time(), 'step': os.environ.get('SLURM_STEP_ID')}))\n"
)


def _sacct_steps(job: str, names: set[str]) -> dict[str, tuple[str, str]]:
    """name -> (Start, End) of the job's steps, once accounting has every one of them ended."""
    deadline = time.monotonic() + 60
    while True:
        done = subprocess.run(
            ["sacct", "-n", "-P", "-j", job, "-o", "JobID,JobName,Start,End"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        rows = {}
        for line in done.stdout.splitlines():
            fields = line.split("|")
            if len(fields) == 4 and fields[1] in names:
                rows[fields[1]] = (fields[2], fields[3])
        if set(rows) == names and all(end not in ("", "Unknown") for _, end in rows.values()):
            return rows
        assert time.monotonic() < deadline, done.stdout + done.stderr
        time.sleep(0.2)  # waiting for slurmdbd to have written the rows, not for the job


@pytest.mark.slurm(accounting=True)
def test_four_member_batch_on_two_nodes_runs_them_concurrently(tmp_path: Path) -> None:
    """A 4-member 1-task batch ensemble with nodes=2: sacct's Start/End of the four member
    steps overlap (all were running at one moment), as do the members' own clocks, and no
    member step warns about node counts inherited from the job."""
    from smartsim import Experiment

    exp = Experiment("fit", exp_path=str(tmp_path), launcher="slurm")
    rs = RunSettings(exe=sys.executable, args=("-c", SLEEPER), run_command="srun")
    bs = BatchSettings(nodes=2, time="00:03:00")
    ens = exp.create_ensemble("ens", rs, replicas=4, batch_settings=bs)
    assert isinstance(ens, Ensemble) and len(ens.members) == 4
    try:
        exp.start(ens, block=True)
    finally:
        exp.stop()
    assert exp.get_status(ens) == [Status.COMPLETED] * 4
    (entry,) = unsafe_perform_io(replay(str(tmp_path)).unwrap()).entries  # one batch job
    assert entry.handle is not None
    job = entry.handle.job_id

    reports = []
    for member in ens.members:
        with open(os.path.join(member.path, f"{member.name}.out"), encoding="utf-8") as handle:
            reports.append(json.loads(handle.read()))
    assert max(r["t0"] for r in reports) < min(r["t1"] for r in reports), reports
    rows = _sacct_steps(job, {m.name for m in ens.members})
    starts = sorted(start for start, _ in rows.values())
    ends = sorted(end for _, end in rows.values())
    assert starts[-1] < ends[0], rows  # ISO times compare as text
    batch_err = Path(ens.path, "ens.err").read_text(encoding="utf-8")
    assert "can't run" not in batch_err, batch_err


# --------------------------------------------------------------------------- allocations


def test_a_request_for_nodes_gets_whole_nodes_unless_it_sizes_cpus() -> None:
    """nodes=N alone is --exclusive (whole nodes); a request that sizes tasks or CPUs, or says
    exclusive=False, is left as asked."""
    from smartsim import AllocationRequest
    from smartsim.commands.slurm import salloc_argv

    assert salloc_argv(AllocationRequest(nodes=2))[-1] == "--exclusive"
    sized = AllocationRequest(nodes=2, add_opts={"ntasks-per-node": 4})
    assert "--exclusive" not in salloc_argv(sized)
    assert "--exclusive" not in salloc_argv(AllocationRequest(nodes=2, exclusive=False))
    assert salloc_argv(AllocationRequest(nodes=2, exclusive=True)).count("--exclusive") == 1
    assert "--exclusive" not in salloc_argv(AllocationRequest(add_opts={"n": 4}))


def test_a_step_that_cannot_fit_the_known_layout_is_refused_when_planned() -> None:
    """With the allocation's layout known (8 CPUs on 1 node): 8 tasks fit; 9 tasks, 2 nodes,
    or 9 CPUs per task never could -- each a typed error naming the field; a step that lets
    steps share CPUs (--overcommit) is not checked."""
    from smartsim.commands.slurm_plan import JobLayout

    layouts = {"7": JobLayout("n1", (8,), (1,))}

    def plan(**fields: object) -> list[str]:
        model = Model(name="m", path="/e/m", run_settings=RunSettings(exe="a", **fields))
        planned = plan_slurm(model, World(exp_path="/e", alloc="7"), layouts=layouts)
        return [e.field for e in planned.failure().errors] if isinstance(planned, Failure) else []

    assert plan(ntasks=8) == []
    assert plan(ntasks=9) == ["m.run_settings.ntasks"]
    assert plan(nodes=2) == ["m.run_settings.nodes"]
    assert plan(cpus_per_task=9) == ["m.run_settings.ntasks"]
    assert plan(ntasks=9, run_args={"overcommit": None}) == []


@pytest.mark.slurm
def test_one_node_allocation_runs_a_four_task_step(tmp_path: Path) -> None:
    """get_slurm_allocation(nodes=1) is a whole node: a 4-task step runs (4 tasks, COMPLETED);
    a 16-task step (more than the node's 8 CPUs) is refused when created, before any srun."""
    from smartsim import Experiment, SmartSimError, slurm
    from smartsim.errors import Invalid

    with slurm.slurm_allocation(nodes=1, time="00:05:00", job_name="ss-fit", timeout=120) as a:
        shown = subprocess.run(
            ["scontrol", "show", "job", a], capture_output=True, text=True, check=True
        ).stdout
        cpus = int(shown.split("NumCPUs=")[1].split()[0])
        assert cpus >= 4, shown
        exp = Experiment("fit1", exp_path=str(tmp_path), launcher="slurm")
        rs = RunSettings(exe="hostname", ntasks=4, alloc=a)
        four = exp.create_model("four", rs)
        exp.start(four, block=True)
        assert exp.get_status(four) == [Status.COMPLETED]
        lines = Path(four.path, "four.out").read_text().split()
        assert len(lines) == 4, lines
        with pytest.raises(SmartSimError) as info:
            exp.create_model("many", RunSettings(exe="hostname", ntasks=cpus * 2, alloc=a))
        assert isinstance(info.value.error, Invalid)
        assert [e.field for e in info.value.error.errors] == ["many.run_settings.ntasks"]
        assert not Path(tmp_path, "many").exists()  # nothing was started for it


# --------------------------------------------------------------------------- waits that never end


def _cluster_nodes() -> int:
    out = subprocess.run(["sinfo", "-h", "-o", "%D"], capture_output=True, text=True, check=True)
    return sum(int(n) for n in out.stdout.split())


def _listed(job: str) -> str:
    return subprocess.run(
        ["squeue", "-h", "-o", "%T|%r", f"--jobs={job}"], capture_output=True, text=True,
        check=False,
    ).stdout.strip()  # fmt: skip


@pytest.mark.slurm
@pytest.mark.parametrize("kind", ["batch", "own srun job"])
def test_a_job_that_can_never_start_ends_the_wait_with_a_typed_error(
    tmp_path: Path, kind: str
) -> None:
    """One node more than the cluster has: Slurm queues it pending (PartitionConfig, later
    PartitionNodeLimit) for ever; start(block=True) ends with NeverStarts naming it, instead
    of spinning, and stop cancels it (squeue no longer lists it)."""
    from smartsim import Experiment, SmartSimError
    from smartsim.commands.slurm import NEVER_STARTS
    from smartsim.errors import NeverStarts

    too_many = _cluster_nodes() + 1
    exp = Experiment("never", exp_path=str(tmp_path), launcher="slurm")
    if kind == "batch":
        bs = BatchSettings(nodes=too_many, time="00:01:00")
        model = exp.create_model("big", RunSettings(exe="true"), batch_settings=bs)
    else:
        model = exp.create_model("big", RunSettings(exe="true", nodes=too_many, time=60))
    try:
        with pytest.raises(SmartSimError) as info:
            exp.start(model, block=True)
        assert isinstance(info.value.error, NeverStarts), info.value
        (stuck,) = info.value.error.jobs
        assert stuck.startswith("big") and stuck.split(": ")[1] in NEVER_STARTS, stuck
        job = stuck.split("(")[1].split(")")[0].split(".")[0]  # the error names the job
        assert job.isdigit() and _listed(job).startswith("PENDING|"), stuck
    finally:
        exp.stop()
    assert _listed(job) == ""
    assert exp.get_status(model)[0].is_final


NEVER_SPEC = """
[experiment]
name = "never"
launcher = "slurm"

[run_settings.big]
exe = "true"
nodes = {nodes}
time = "0:01:00"

[[model]]
name = "{name}"
run_settings = "big"
"""


@pytest.mark.slurm
def test_smartsim_run_of_a_job_that_can_never_start_exits_1_and_cancels_it(
    tmp_path: Path,
) -> None:
    """`smartsim run` of a model one node wider than the cluster: exit 1 with the reason,
    and the job it queued is cancelled (squeue lists no job of that name)."""
    name = f"never_{os.getpid()}"
    spec = tmp_path / "never.toml"
    spec.write_text(NEVER_SPEC.format(nodes=_cluster_nodes() + 1, name=name))
    try:
        done = subprocess.run(
            [sys.executable, "-m", "smartsim", "run", str(spec), "--path", str(tmp_path / "e"),
             "--interval", "0.2"],
            capture_output=True, text=True, timeout=120, check=False,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
        )  # fmt: skip
        assert done.returncode == 1, done.stdout + done.stderr
        assert "can never start as the cluster is configured" in done.stderr, done.stderr
        left = subprocess.run(
            ["squeue", "-h", "--me", f"--name={name}", "-o", "%i"], capture_output=True,
            text=True, check=False,
        )  # fmt: skip
        assert left.stdout.strip() == ""
    finally:
        subprocess.run(["scancel", "--me", f"--name={name}"], capture_output=True, check=False)
