"""Before/after import cost of two source trees, interleaved in the same rounds.

    python benchmarks/ab_import.py BEFORE_DIR AFTER_DIR [--rounds 21]

(e.g. ``git worktree add /tmp/before main`` for BEFORE_DIR). Each round starts, in a new random
order, one fresh interpreter per target: the two baselines of ``bench_import`` and, for each
tree (first on ``PYTHONPATH``), ``import smartsim.commands.slurm`` and ``import
smartsim.experiment``. Printed: medians of the same-round differences to each baseline, in wall
and in CPU time (``time.process_time``). Not run by ``run.py`` (it needs two trees).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
from collections.abc import Sequence

_TIMER = (
    "import time as _t\n_s, _c = _t.perf_counter(), _t.process_time()\n{code}\n"
    "_e, _d = _t.perf_counter(), _t.process_time()\nprint(_e - _s, _d - _c)"
)
BASELINES = {
    "attrs+returns": "import attrs, returns.result",
    "subprocess+asyncio": "import subprocess, asyncio",
}
MODULES = ("smartsim.commands.slurm", "smartsim.experiment")


def _time(root: str | None, code: str) -> tuple[float, float]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: bytecode cached
    env.pop("PYTHONPATH", None)
    if root is not None:
        env["PYTHONPATH"] = root
    done = subprocess.run(
        [sys.executable, "-c", _TIMER.format(code=code)],
        cwd=root or os.sep,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    wall, cpu = done.stdout.split()
    return float(wall), float(cpu)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--rounds", type=int, default=21)
    options = parser.parse_args(argv)
    targets: dict[str, tuple[str | None, str]] = {n: (None, c) for n, c in BASELINES.items()}
    for label, root in (("before", options.before), ("after", options.after)):
        for module in MODULES:
            targets[f"{label}: {module}"] = (os.path.abspath(root), f"import {module}")
    for root, code in targets.values():  # warm the file cache and write the bytecode
        _time(root, code)
    wall: dict[str, list[float]] = {n: [] for n in targets}
    cpu: dict[str, list[float]] = {n: [] for n in targets}
    rng = random.Random(15)
    for _ in range(options.rounds):
        order = list(targets)
        rng.shuffle(order)
        for name in order:
            w, c = _time(*targets[name])
            wall[name].append(w)
            cpu[name].append(c)

    def diff(times: dict[str, list[float]], name: str, base: str) -> str:
        pairs = zip(times[name], times[base], strict=True)
        return f"{statistics.median(a - b for a, b in pairs) * 1e3:+.1f}"

    print(f"imports, {options.rounds} interleaved rounds (medians of same-round differences, ms)")
    header = ("target", "- attrs+returns", "- subprocess+asyncio", "CPU - a+r", "CPU - s+a")
    rows = [header]
    for name in targets:
        rows.append(
            (
                name,
                diff(wall, name, "attrs+returns"),
                diff(wall, name, "subprocess+asyncio"),
                diff(cpu, name, "attrs+returns"),
                diff(cpu, name, "subprocess+asyncio"),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


if __name__ == "__main__":
    main()
