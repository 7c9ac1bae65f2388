"""Slurm launcher figures on the project's cluster, printed as a table (measured, never asserted).

    python benchmarks/bench_slurm.py [--rounds 10] [--counts 1,10,50]

1. Launch-to-RUNNING latency of an ``srun`` step: from ``SlurmLauncher.start`` until the first
   ``poll`` that reports RUNNING, polling back to back (no sleep), per step, in one allocation.
   Beside it, in the same run, the same moment reached by hand: ``Popen(srun ...)`` then
   ``squeue -s`` in a loop until the step is listed -- the floor any launcher pays here.
   Goal: <= 0.5 s (SmartSim 0.8 waits >= 3.2 s: a fixed 2 s + 1 s sleep and sacct retries).
2. Slurm client calls per ``poll`` for 1, 10 and 50 tracked jobs, each kind apart: running
   ``srun`` steps (sharing CPUs with ``--overlap``), held ``sbatch`` jobs (pending, using no
   resources), and both mixed. Goal: the same small constant for every count. The wall time of
   one poll is shown too.

Needs the project's cluster (``sudo scripts/slurm-cluster up``); without it the benchmark says
so and exits 77 (skipped).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from returns.io import IOSuccess  # noqa: E402
from returns.unsafe import unsafe_perform_io  # noqa: E402

from smartsim import BatchSettings, Model, RunSettings, Status, slurm  # noqa: E402
from smartsim.commands.plan import World  # noqa: E402
from smartsim.effects.launcher import Handle  # noqa: E402
from smartsim.effects.slurm import SlurmLauncher  # noqa: E402

REQUIRES = ("slurm",)
SKIP = 77
ENV_FILE = Path(os.environ.get("SMARTSIM_SLURM_DIR") or "/var/tmp/smartsim-slurm") / "env"


def _load_cluster_env() -> str | None:
    """Export the cluster's env file when ``SLURM_CONF`` is unset; why not usable, or None."""
    if not os.environ.get("SLURM_CONF") and ENV_FILE.is_file():
        for line in ENV_FILE.read_text().splitlines():
            if line.startswith("export ") and "=" in line:
                name, _, value = line[len("export ") :].partition("=")
                os.environ.setdefault(name, value.strip("'\""))
    if shutil.which("scontrol") is None:
        return "no Slurm client tools on PATH: run `sudo scripts/slurm-cluster up`"
    if not os.environ.get("SLURM_CONF"):
        return f"no Slurm cluster (no {ENV_FILE}): run `sudo scripts/slurm-cluster up`"
    done = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, check=False)
    if "is UP" not in done.stdout:
        return f"Slurm cluster not answering ({done.stdout.strip() or done.stderr.strip()})"
    return None


def _ok(result: object) -> object:
    assert isinstance(result, IOSuccess), result
    return unsafe_perform_io(result.unwrap())


def _start(launcher: SlurmLauncher, model: Model, world: World) -> Handle:
    (launch,) = launcher.plan(model, world).unwrap()
    handle = _ok(launcher.start(launch))
    assert isinstance(handle, Handle)
    return handle


def _states(launcher: SlurmLauncher, handles: Sequence[Handle]) -> dict[Handle, Status]:
    states = _ok(launcher.poll(handles))
    assert isinstance(states, dict)
    return {h: s.status for h, s in states.items()}


def _finish(launcher: SlurmLauncher, handles: Sequence[Handle]) -> None:
    if handles:
        _ok(launcher.stop(handles))
        _ok(launcher.wait(handles, 120))


def _sleeper(name: str, base: Path, alloc: str | None, seconds: int, **fields: object) -> Model:
    rs = RunSettings(
        exe="sleep", args=(str(seconds),), nodes=1, ntasks=1, alloc=alloc, run_command="srun",
        **fields,
    )  # fmt: skip
    return Model(name=name, path=str(base / name), run_settings=rs)


def latency(alloc: str, base: Path, rounds: int) -> tuple[list[float], list[float], list[int]]:
    """(smartsim launch->RUNNING seconds, by-hand seconds, Slurm calls until RUNNING)."""
    ours: list[float] = []
    calls: list[int] = []
    by_hand: list[float] = []
    world = World(exp_path=str(base))
    for i in range(rounds):
        launcher = SlurmLauncher(environ={})
        model = _sleeper(f"lat{i}", base, alloc, 30)
        (launch,) = launcher.plan(model, world).unwrap()
        os.makedirs(model.path, exist_ok=True)
        t0 = time.perf_counter()
        handle = _ok(launcher.start(launch))
        assert isinstance(handle, Handle)
        while _states(launcher, [handle])[handle] is not Status.RUNNING:
            pass
        ours.append(time.perf_counter() - t0)
        calls.append(launcher.calls)
        _finish(launcher, [handle])

        name = f"hand{i}"
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            ["srun", "--jobid", alloc, "--job-name", name, "--exact", "--mem=0", "-N", "1",
             "-n", "1", "sleep", "30"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        while True:
            out = subprocess.run(["squeue", "-h", "-s", "--me", "-o", "%i|%j"],
                                 capture_output=True, text=True, check=False).stdout  # fmt: skip
            step = next((ln.split("|")[0] for ln in out.splitlines()
                         if ln.split("|")[1:] == [name]), None)  # fmt: skip
            if step is not None:
                break
        by_hand.append(time.perf_counter() - t0)
        subprocess.run(["scancel", step], check=False)
        proc.wait(timeout=60)
    return ours, by_hand, calls


def calls_per_poll(alloc: str, base: Path, count: int, kind: str) -> tuple[int, float]:
    """(Slurm calls of one poll, median seconds of a poll) with ``count`` tracked jobs."""
    launcher = SlurmLauncher(environ={})
    world = World(exp_path=str(base))
    handles: list[Handle] = []
    try:
        if kind in ("steps", "mixed"):
            for i in range(count):
                model = _sleeper(f"{kind}{count}s{i}", base, alloc, 300,
                                 run_args={"overlap": None})  # fmt: skip
                handles.append(_start(launcher, model, world))
        if kind in ("batch", "mixed"):
            bs = BatchSettings(nodes=1, time="00:05:00", batch_args={"hold": None})
            for i in range(count):
                model = _sleeper(f"{kind}{count}b{i}", base, None, 300)
                model = Model(name=model.name, path=model.path,
                              run_settings=model.run_settings, batch_settings=bs)  # fmt: skip
                handles.append(_start(launcher, model, world))
        steps = [h for h in handles if h.get("kind") != "batch"]
        deadline = time.monotonic() + 120
        while steps and set(_states(launcher, steps).values()) != {Status.RUNNING}:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{count} steps not all RUNNING after 120 s")
            time.sleep(0.2)
        figures: list[tuple[int, float]] = []
        for _ in range(5):
            before = launcher.calls
            t0 = time.perf_counter()
            states = _states(launcher, handles)
            figures.append((launcher.calls - before, time.perf_counter() - t0))
            assert not any(s.is_final for s in states.values()), states
        made = {c for c, _ in figures}
        if len(made) != 1:
            raise RuntimeError(f"calls per poll varied between polls: {sorted(made)}")
        return made.pop(), statistics.median(t for _, t in figures)
    finally:
        _finish(launcher, handles)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    quick = os.environ.get("SMARTSIM_BENCH_QUICK") == "1"
    parser.add_argument("--rounds", type=int, default=5 if quick else 10)
    parser.add_argument("--counts", default="1,10,50")
    args = parser.parse_args(argv[1:])
    problem = _load_cluster_env()
    if problem is not None:
        print(f"skipped: {problem}")
        return SKIP
    counts = [int(c) for c in args.counts.split(",")]
    alloc = slurm.get_slurm_allocation(
        nodes=1, add_opts={"ntasks-per-node": 4}, time="00:30:00", job_name="smartsim-bench",
        timeout=120,
    )  # fmt: skip
    try:
        with tempfile.TemporaryDirectory(prefix="bench-slurm-") as tmp:
            base = Path(tmp)
            ours, by_hand, calls = latency(alloc, base, args.rounds)
            table = [(kind, n, *calls_per_poll(alloc, base, n, kind))
                     for kind in ("steps", "batch", "mixed") for n in counts]  # fmt: skip
    finally:
        slurm.release_slurm_allocation(alloc)

    def ms(values: Sequence[float]) -> str:
        ordered = sorted(values)
        p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
        return (f"{statistics.median(values) * 1e3:.0f} ms (p90 {p90 * 1e3:.0f}, "
                f"max {max(values) * 1e3:.0f})")  # fmt: skip

    print(f"Slurm launcher on the project's cluster ({args.rounds} steps; SLURM_CONF="
          f"{os.environ['SLURM_CONF']})")  # fmt: skip
    print("-" * 80)
    print(f"{'launch -> RUNNING, smartsim (start + poll)':<44}  {ms(ours)}")
    print(f"{'launch -> listed, by hand (Popen + squeue -s)':<44}  {ms(by_hand)}")
    ratio = statistics.median(ours) / statistics.median(by_hand)
    print(f"{'smartsim / by hand (median)':<44}  {ratio:.2f}")
    print(f"{'Slurm calls until RUNNING (median)':<44}  {statistics.median(calls):.0f}")
    for kind, n, made, seconds in table:
        label = f"calls per poll, {n} {kind}"
        print(f"{label:<44}  {made} ({seconds * 1e3:.0f} ms per poll)")
    print("-" * 80)
    median = statistics.median(ours)
    verdict = "meets" if median <= 0.5 else "misses"
    print(f"goal: launch -> RUNNING <= 0.5 s -> {median * 1e3:.0f} ms median ({verdict} the goal)")
    per_kind = {kind: {made for k, _, made, _ in table if k == kind} for kind, *_ in table}
    constant = all(len(v) == 1 for v in per_kind.values())
    print(f"goal: calls per poll the same for {args.counts} jobs -> "
          + ", ".join(f"{k} {sorted(v)}" for k, v in per_kind.items())
          + (" (meets the goal)" if constant else " (misses the goal)"))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
