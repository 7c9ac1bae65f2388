"""Microseconds per srun command: smartsim (construct + validate + build) beside a plain function.

For N distinct settings drawn up front (a fixed seed), each round times, per settings:

* ``construct``: ``RunSettings(**fields)`` (attrs converters freeze the dicts and lists);
* ``validate``: the generic rules and srun's (:func:`smartsim.commands.slurm.validate_srun`);
* ``build``: :func:`smartsim.commands.slurm.srun_command` (argv, environment, directory);
* ``total``: the three in one loop, as a caller pays them;

and, in the same round, a hand-written function that builds the same argv from the plain dict
(no validation, no frozen values). Both outputs are compared once before timing, so the baseline
does the same work. Times are CPU times of this process (``time.process_time``). Nothing is
cached between settings. Figures, not a test: run it with ``python benchmarks/bench_build.py [N]
[ROUNDS] [--json PATH]``; the goals are ``total`` <= 3x the baseline and ``build`` (from
already-validated values) <= 1.5x.

The other launchers' builders (mpirun, mpiexec for MPICH and PALS, aprun, jsrun, flux run and a
direct launch) are timed the same way on settings they all accept (exe, args, env, ntasks),
against a hand-written ``[tool, -n, N, env..., exe, args...]`` from the same dict, same round.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from smartsim import RunSettings
from smartsim.commands.launch import LaunchContext, RunCommandSpec, run_command_spec
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
    argv = [
        "srun",
        "--jobid",
        d["alloc"],
        "--job-name",
        name,
        "--output",
        out,
        "--error",
        err,
        "--exact",
        "--mem=0",
        "-N",
        str(d["nodes"]),
        "-n",
        str(d["ntasks"]),
        "--ntasks-per-node",
        str(d["tasks_per_node"]),
    ]
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
        LaunchContext(
            cwd=f"/w/m{i}", name=f"m{i}", stdout=f"/w/m{i}/m{i}.out", stderr=f"/w/m{i}/m{i}.err"
        )
        for i in range(n)
    ]


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
    """CPU microseconds per item: this process's own time (``time.process_time``), so that on a
    shared machine the time other processes hold the CPU is not counted (idle, it equals the
    wall time)."""
    start = time.process_time()
    fn()
    return (time.process_time() - start) / n * 1e6


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


OTHERS: tuple[tuple[str | None, str | None], ...] = (
    ("mpirun", None),
    ("mpiexec.mpich", None),
    ("mpiexec", "pals"),
    ("aprun", None),
    ("jsrun", None),
    ("flux", None),
    (None, None),
)


def draw_simple(
    n: int, run_command: str | None, flavour: str | None, seed: int = 11
) -> list[Fields]:
    rng = random.Random(seed)
    return [
        {
            "exe": rng.choice(["python", "/opt/app/bin/sim", "./a.out"]),
            "args": [f"--step={i}", "input file.h5"],
            "env": {"OMP_NUM_THREADS": str(rng.randint(1, 8)), "RUN": f"run-{i}"},
            "ntasks": rng.randint(1, 64) if run_command else None,
            "run_command": run_command,
            "flavour": flavour,
        }
        for i in range(n)
    ]


def simple_baseline(d: Mapping[str, Any]) -> list[str]:
    """A minimal hand-written argv from the dict: tool, task count, environment, program."""
    argv = [] if d["run_command"] is None else [d["run_command"], "-n", str(d["ntasks"])]
    if d["run_command"] is not None:
        for key, value in d["env"].items():
            argv += ["-x", f"{key}={value}"]
    return [*argv, d["exe"], *d["args"]]


def other_round(
    spec: RunCommandSpec, settings: Sequence[Fields], contexts: Sequence[LaunchContext]
) -> dict[str, float]:
    n = len(settings)
    pairs = list(zip(settings, contexts, strict=True))
    built = [RunSettings(**d) for d in settings]

    def total() -> None:
        for d, ctx in pairs:
            rs = RunSettings(**d)
            if not run_settings_problems(rs) and not spec.check(rs):
                spec.build(rs, ctx)

    def build() -> None:
        for rs, ctx in zip(built, contexts, strict=True):
            spec.build(rs, ctx)

    def baseline() -> None:
        for d in settings:
            simple_baseline(d)

    return {
        "baseline": _time_per_item(baseline, n),
        "build": _time_per_item(build, n),
        "total": _time_per_item(total, n),
    }


def others(n: int, rounds: int, contexts: Sequence[LaunchContext]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for run_command, flavour in OTHERS:
        spec = run_command_spec(run_command)
        assert isinstance(spec, RunCommandSpec)
        settings = draw_simple(n, run_command, flavour)
        for d in settings:  # every drawn settings is valid for this launcher
            rs = RunSettings(**d)
            assert not run_settings_problems(rs) and not spec.check(rs), (run_command, d)
        results = [other_round(spec, settings, contexts) for _ in range(rounds)]
        label = f"{run_command or 'direct'}{f' ({flavour})' if flavour else ''}"
        out[label] = {
            "baseline_us": statistics.median(r["baseline"] for r in results),
            "build_us": statistics.median(r["build"] for r in results),
            "total_us": statistics.median(r["total"] for r in results),
            "build_x": statistics.median(r["build"] / r["baseline"] for r in results),
            "total_x": statistics.median(r["total"] / r["baseline"] for r in results),
        }
    return out


def main(argv: Sequence[str]) -> None:
    quick = os.environ.get("SMARTSIM_BENCH_QUICK") == "1"
    json_path = None
    if "--json" in argv:
        at = list(argv).index("--json")
        json_path = argv[at + 1]
        argv = [*argv[:at], *argv[at + 2 :]]
    n = int(argv[1]) if len(argv) > 1 else (500 if quick else 2000)
    rounds = int(argv[2]) if len(argv) > 2 else (3 if quick else 7)
    settings = draw_settings(n)
    contexts = _contexts(n)
    check_same(settings, contexts)
    results = [one_round(settings, contexts) for _ in range(rounds)]
    figures: dict[str, Any] = {"n": n, "rounds": rounds, "srun": {}}
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
        ("build from validated (srun_command)", "build"),
        ("total: construct+validate+build", "total"),
    ]
    for label, key in rows:
        values = [r[key] for r in results]
        med = statistics.median(values)
        ratio = statistics.median(r[key] / r["baseline"] for r in results)
        spread = f"{min(values):.2f}-{max(values):.2f}"
        print(f"{label:<36}  {med:>8.2f}  {spread:>15}  {ratio:>9.2f}x")
        figures["srun"][key] = {"us": med, "x_baseline": ratio}
    total = figures["srun"]["total"]["x_baseline"]
    build = figures["srun"]["build"]["x_baseline"]
    print(f"goal: total <= 3x baseline -> {total:.2f}x ({'met' if total <= 3 else 'missed'})")
    verdict = "met" if build <= 1.5 else "missed"
    print(f"goal: build from validated <= 1.5x -> {build:.2f}x ({verdict})")
    other = others(n, rounds, contexts)
    figures["others"] = other
    print(
        f"other launchers, N={n} settings (exe, args, env, ntasks), µs per command, x own baseline"
    )
    heads = ("baseline µs", "build µs", "build x", "total µs", "total x")
    print(f"{'launcher':<22}  " + "  ".join(f"{h:>11}" for h in heads))
    for label, f in other.items():
        cells = (
            f"{f['baseline_us']:.2f}",
            f"{f['build_us']:.2f}",
            f"{f['build_x']:.2f}x",
            f"{f['total_us']:.2f}",
            f"{f['total_x']:.2f}x",
        )
        print(f"{label:<22}  " + "  ".join(f"{c:>11}" for c in cells))
    if json_path is not None:
        with open(json_path, "w") as handle:
            json.dump(figures, handle, indent=1)


if __name__ == "__main__":
    main(sys.argv)
