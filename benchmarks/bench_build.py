"""Microseconds per srun command: smartsim (construct + validate + build) beside a plain function.

For N distinct settings drawn up front (a fixed seed), each round times, per settings:

* ``construct``: ``RunSettings(**fields)`` (attrs converters freeze the dicts and lists);
* ``validate``: the generic rules and srun's (:func:`smartsim.commands.slurm.validate_srun`);
* ``build``: :func:`smartsim.commands.slurm.srun_command` (argv, environment, directory);
* ``total``: the three in one loop, as a caller pays them;

and, in the same round, a hand-written function that builds the same argv from the plain dict
(no validation, no frozen values). Both outputs are compared once before timing, so the baseline
does the same work. Nothing is cached between settings. Figures, not a test: run it with
``python benchmarks/bench_build.py [N] [ROUNDS]``; the goal is ``total`` <= 3x the baseline.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from smartsim import RunSettings
from smartsim.commands.launch import LaunchContext
from smartsim.commands.slurm import check_srun, srun_command, validate_srun
from smartsim.validate import run_settings_problems

Fields = dict[str, Any]


def draw_settings(n: int, seed: int = 7) -> list[Fields]:
    """N distinct plain-dict settings of the shapes scripts use."""
    rng = random.Random(seed)
    out: list[Fields] = []
    for i in range(n):
        nodes = rng.randint(1, 16)
        per_node = rng.randint(1, 8)
        fields: Fields = {
            "exe": rng.choice(["python", "/opt/app/bin/sim", "./a.out"]),
            "args": [f"--step={i}", "input file.h5", rng.choice(["-v", "--fast", "x=1"])],
            "env": {"OMP_NUM_THREADS": str(rng.randint(1, 8)), "RUN": f"run-{i}", "LIST": "a,b"},
            "nodes": nodes,
            "ntasks": nodes * per_node,
            "tasks_per_node": per_node,
            "cpus_per_task": rng.choice([None, 2, 4]),
            "time": rng.randint(60, 3 * 86400),
            "hostlist": [f"n{rng.randint(1, 99)}", f"n[{i % 10}-{i % 10 + 3}]"],
            "run_command": "srun",
            "run_args": {"distribution": "block", "label": None, "K": 1},
            "alloc": str(1000 + i),
        }
        out.append(fields)
    return out


def _slurm_time(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}-{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{hours:02d}:{minutes:02d}:{secs:02d}"


_OPTIONAL = {"exclusive", "K", "immediate", "I", "propagate", "nice", "bcast"}


def baseline_argv(d: Mapping[str, Any], cwd: str, name: str, out: str, err: str) -> list[str]:
    """The same srun argv from a plain dict, written by hand (what a script would do)."""
    argv = ["srun", "--jobid", d["alloc"], "--job-name", name, "--output", out, "--error", err,
            "--exact", "--mem=0", "-N", str(d["nodes"]), "-n", str(d["ntasks"]),
            "--ntasks-per-node", str(d["tasks_per_node"])]  # fmt: skip
    if d["cpus_per_task"] is not None:
        argv += ["-c", str(d["cpus_per_task"])]
    argv += ["--time", _slurm_time(d["time"]), "--nodelist", ",".join(d["hostlist"])]
    for key, value in d["run_args"].items():
        flag = f"-{key}" if len(key) == 1 else f"--{key}"
        if value is None or value is True:
            argv.append(flag)
        elif value is not False:
            text = str(value)
            if key in _OPTIONAL:
                argv.append(flag + text if len(key) == 1 else f"{flag}={text}")
            else:
                argv += [flag, text]
    return [*argv, d["exe"], *d["args"]]


def _contexts(n: int) -> list[LaunchContext]:
    return [
        LaunchContext(cwd=f"/w/m{i}", name=f"m{i}", stdout=f"/w/m{i}/m{i}.out",
                      stderr=f"/w/m{i}/m{i}.err")
        for i in range(n)
    ]  # fmt: skip


def check_same(settings: Sequence[Fields], contexts: Sequence[LaunchContext]) -> None:
    """The baseline builds exactly what smartsim builds (else the comparison is meaningless)."""
    for d, ctx in zip(settings, contexts, strict=True):
        rs = validate_srun(RunSettings(**d)).unwrap()
        cmd = srun_command(rs, ctx)
        assert ctx.stdout is not None and ctx.stderr is not None
        expected = baseline_argv(d, ctx.cwd, ctx.name, ctx.stdout, ctx.stderr)
        assert list(cmd.argv) == expected, (cmd.argv, expected)
        assert dict(cmd.env) == d["env"]


def _time_per_item(fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) / n * 1e6


def one_round(settings: Sequence[Fields], contexts: Sequence[LaunchContext]) -> dict[str, float]:
    n = len(settings)
    pairs = list(zip(settings, contexts, strict=True))
    built: list[RunSettings] = []

    def construct() -> None:
        built.clear()
        built.extend(RunSettings(**d) for d in settings)

    def validate() -> None:
        for rs in built:
            validate_srun(rs)

    def generic() -> None:
        for rs in built:
            run_settings_problems(rs)

    def srun_rules() -> None:
        for rs in built:
            check_srun(rs)

    def build() -> None:
        for rs, ctx in zip(built, contexts, strict=True):
            srun_command(rs, ctx)

    def total() -> None:
        for d, ctx in pairs:
            srun_command(validate_srun(RunSettings(**d)).unwrap(), ctx)

    def baseline() -> None:
        for d, ctx in pairs:
            baseline_argv(d, ctx.cwd, ctx.name, ctx.stdout or "", ctx.stderr or "")

    return {
        "baseline": _time_per_item(baseline, n),
        "construct": _time_per_item(construct, n),
        "validate": _time_per_item(validate, n),
        "generic": _time_per_item(generic, n),
        "srun_rules": _time_per_item(srun_rules, n),
        "build": _time_per_item(build, n),
        "total": _time_per_item(total, n),
    }


def main(argv: Sequence[str]) -> None:
    quick = os.environ.get("SMARTSIM_BENCH_QUICK") == "1"
    n = int(argv[1]) if len(argv) > 1 else (500 if quick else 2000)
    rounds = int(argv[2]) if len(argv) > 2 else (3 if quick else 7)
    settings = draw_settings(n)
    contexts = _contexts(n)
    check_same(settings, contexts)
    results = [one_round(settings, contexts) for _ in range(rounds)]
    base = statistics.median(r["baseline"] for r in results)
    print(
        f"srun command, N={n} distinct settings, {rounds} rounds (median, min-max), µs per command"
    )
    print(f"{'case':<36}  {'µs':>8}  {'range':>15}  {'x baseline':>10}")
    rows = [
        ("baseline: plain dict -> argv", "baseline"),
        ("RunSettings(...) construct", "construct"),
        ("validate_srun (generic + srun)", "validate"),
        ("validate: smartsim.validate rules", "generic"),
        ("validate: check_srun rules", "srun_rules"),
        ("srun_command (argv, env, cwd)", "build"),
        ("total: construct+validate+build", "total"),
    ]
    for label, key in rows:
        values = [r[key] for r in results]
        med = statistics.median(values)
        spread = f"{min(values):.2f}-{max(values):.2f}"
        print(f"{label:<36}  {med:>8.2f}  {spread:>15}  {med / base:>9.1f}x")
    total = statistics.median(r["total"] for r in results)
    verdict = "meets" if total <= 3 * base else "misses"
    print(f"goal: total <= 3x baseline -> {total / base:.1f}x ({verdict} the goal)")


if __name__ == "__main__":
    main(sys.argv)
