"""Import cost of what embedders and scripts import, against two baselines, in fresh interpreters.

    python benchmarks/bench_import.py [--rounds 21] [--json PATH]

Protocol: every round starts one fresh interpreter per target, in a new random order each round
(so all targets see the same machine load), and each interpreter reports how long its own
``import`` statement took (``time.perf_counter`` around it; interpreter start-up is the same for
every target and left out) and the CPU time it spent in it (``time.process_time``: on a shared
machine, wall time also counts the time other processes held the CPU). The figures are medians
over rounds of the per-round difference to a baseline measured in that same round:

* ``attrs + returns``: ``import attrs, returns.result`` — what the builders' two dependencies
  cost by themselves; the goal for ``smartsim.commands.slurm`` is <= this + 10 ms;
* ``subprocess + asyncio``: the stdlib a hand-written launcher would import; the goal for
  ``smartsim.experiment`` is <= this + 15 ms.

It also lists which heavy stdlib modules each builder module pulls in (it should pull in none).
Figures, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

BASELINES: dict[str, str] = {
    "bare": "pass",
    "attrs+returns": "import attrs, returns.result",
    "subprocess+asyncio": "import subprocess, asyncio",
}
LAUNCHER_MODULES = (
    "slurm",
    "mpi",
    "pbs",
    "lsf",
    "sge",
    "flux",
    "jsrun",
    "aprun",
    "kubernetes",
    "local",
)
TARGETS: dict[str, str] = {
    "smartsim": "import smartsim",
    **{f"smartsim.commands.{m}": f"import smartsim.commands.{m}" for m in LAUNCHER_MODULES},
    "smartsim.experiment": "import smartsim.experiment",
    # what smartsim.experiment cannot go below while the core is built on attrs and returns
    # (it imports no asyncio)
    "(floor) subprocess+attrs+returns": "import subprocess, attrs, returns.result, returns.io",
}
#: What a builder module should not need (the issue's list, and their usual companions).
HEAVY = (
    "asyncio",
    "subprocess",
    "logging",
    "tomllib",
    "json",
    "threading",
    "selectors",
    "signal",
    "inspect",
    "ast",
    "dis",
    "tokenize",
    "pathlib",
    "datetime",
    "urllib",
)

_TIMER = (
    "import time as _t\n_s, _c = _t.perf_counter(), _t.process_time()\n{code}\n"
    "_e, _d = _t.perf_counter(), _t.process_time()\n"
    "import sys as _sys\n_sys.stdout.write(repr((_e - _s, _d - _c)))"
)
_LOADED = (
    "import sys, json\nbefore = set(sys.modules)\n{code}\n"
    "print(json.dumps(sorted(set(sys.modules) - before)))"
)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    # Measure what an installed package costs: with its bytecode cached (pip writes it). An
    # environment that forbids writing bytecode would make every run recompile our sources.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def time_import(code: str, env: dict[str, str]) -> tuple[float, float]:
    """Seconds the ``code`` import statement took in a fresh interpreter: wall, CPU."""
    done = subprocess.run(
        [sys.executable, "-c", _TIMER.format(code=code)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    wall, cpu = done.stdout.strip("()\n").split(",")
    return float(wall), float(cpu)


def loaded(code: str, env: dict[str, str]) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _LOADED.format(code=code)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return list(json.loads(done.stdout))


def measure(rounds: int, seed: int = 15) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Per target, the wall and the CPU seconds of its import in each round."""
    env = _env()
    everything = {**BASELINES, **TARGETS}
    for code in everything.values():  # warm the file cache and bytecode
        time_import(code, env)
    rng = random.Random(seed)
    wall: dict[str, list[float]] = {name: [] for name in everything}
    cpu: dict[str, list[float]] = {name: [] for name in everything}
    for _ in range(rounds):
        order = list(everything)
        rng.shuffle(order)
        for name in order:
            w, c = time_import(everything[name], env)
            wall[name].append(w)
            cpu[name].append(c)
    return wall, cpu


def _diff_ms(times: dict[str, list[float]], name: str, base: str) -> float:
    return statistics.median(a - b for a, b in zip(times[name], times[base], strict=True)) * 1e3


def _ratio(times: dict[str, list[float]], name: str, base: str) -> float:
    return statistics.median(a / b for a, b in zip(times[name], times[base], strict=True))


def main(argv: Sequence[str] | None = None) -> None:
    quick = os.environ.get("SMARTSIM_BENCH_QUICK") == "1"
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7 if quick else 21)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    options = parser.parse_args(argv)
    times, cpu = measure(options.rounds)
    env = _env()
    result: dict[str, object] = {"rounds": options.rounds, "targets": {}}
    print(
        f"imports, {options.rounds} interleaved rounds of fresh interpreters "
        "(medians of same-round differences)"
    )
    header = (
        "module",
        "ms",
        "- attrs+returns",
        "x attrs+returns",
        "- subprocess+asyncio",
        "CPU - a+r",
        "CPU - s+a",
        "heavy stdlib beyond attrs+returns",
        "goal",
    )
    rows: list[tuple[str, ...]] = [header]
    for name, code in BASELINES.items():
        med = statistics.median(times[name]) * 1e3
        rows.append((f"baseline: {code}", f"{med:.1f}", "", "", "", "", "", "", ""))
    targets: dict[str, object] = {}
    # what attrs + returns load themselves (typing_extensions pulls in inspect) is not ours
    theirs = set(loaded(BASELINES["attrs+returns"], env))
    for name, code in TARGETS.items():
        med = statistics.median(times[name]) * 1e3
        over_ar = _diff_ms(times, name, "attrs+returns")
        over_sa = _diff_ms(times, name, "subprocess+asyncio")
        cpu_ar = _diff_ms(cpu, name, "attrs+returns")
        cpu_sa = _diff_ms(cpu, name, "subprocess+asyncio")
        heavy = [m for m in loaded(code, env) if m in HEAVY and m not in theirs]
        goal = ""
        if name == "smartsim.commands.slurm":
            goal = f"<= attrs+returns + 10 ms: {'met' if over_ar <= 10 else 'missed'}"
            goal += f" (CPU: {'met' if cpu_ar <= 10 else 'missed'})"
        elif name == "smartsim.experiment":
            goal = f"<= subprocess+asyncio + 15 ms: {'met' if over_sa <= 15 else 'missed'}"
            goal += f" (CPU: {'met' if cpu_sa <= 15 else 'missed'})"
        rows.append(
            (
                name,
                f"{med:.1f}",
                f"{over_ar:+.1f}",
                f"{_ratio(times, name, 'attrs+returns'):.2f}",
                f"{over_sa:+.1f}",
                f"{cpu_ar:+.1f}",
                f"{cpu_sa:+.1f}",
                ",".join(heavy) or "none",
                goal,
            )
        )
        targets[name] = {
            "median_ms": med,
            "over_attrs_returns_ms": over_ar,
            "over_subprocess_asyncio_ms": over_sa,
            "cpu_over_attrs_returns_ms": cpu_ar,
            "cpu_over_subprocess_asyncio_ms": cpu_sa,
            "heavy": heavy,
        }
    result["targets"] = targets
    result["baselines_ms"] = {n: statistics.median(times[n]) * 1e3 for n in BASELINES}
    result["baselines_cpu_ms"] = {n: statistics.median(cpu[n]) * 1e3 for n in BASELINES}
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for i, row in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    if options.json is not None:
        options.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
