"""Wall time of ``import smartsim`` over a bare interpreter, in fresh processes.

Each round starts ``python -c pass`` and ``python -c "import smartsim"`` (interleaved, so both
see the same machine load) and the median of the differences is reported, with the modules the
import loads. Figures, not a test: ``python benchmarks/bench_import.py [ROUNDS]``; the goal is
a median difference <= 50 ms.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence

_MODULES = (
    "import json, sys; before = set(sys.modules); import smartsim; "
    "print(json.dumps(sorted(set(sys.modules) - before)))"
)


def _wall(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - start


def main(argv: Sequence[str]) -> None:
    quick = os.environ.get("SMARTSIM_BENCH_QUICK") == "1"
    rounds = int(argv[1]) if len(argv) > 1 else (7 if quick else 21)
    _wall("import smartsim")  # warm the file cache and bytecode
    bare: list[float] = []
    full: list[float] = []
    for _ in range(rounds):
        bare.append(_wall("pass"))
        full.append(_wall("import smartsim"))
    deltas = [f - b for f, b in zip(full, bare, strict=True)]
    loaded = json.loads(
        subprocess.run([sys.executable, "-c", _MODULES], capture_output=True, text=True,
                       check=True).stdout
    )  # fmt: skip
    ours = [m for m in loaded if m.startswith("smartsim")]
    print(f"import smartsim, {rounds} fresh interpreters each (ms, median and min-max)")
    print(f"{'python -c pass':<30}  {statistics.median(bare) * 1e3:>7.1f} ms"
          f"  {min(bare) * 1e3:.1f}-{max(bare) * 1e3:.1f}")  # fmt: skip
    print(f"{'python -c import smartsim':<30}  {statistics.median(full) * 1e3:>7.1f} ms"
          f"  {min(full) * 1e3:.1f}-{max(full) * 1e3:.1f}")  # fmt: skip
    delta = statistics.median(deltas) * 1e3
    print(f"{'import smartsim over bare':<30}  {delta:>7.1f} ms")
    print(f"modules loaded: {len(loaded)} ({len(ours)} of smartsim: {', '.join(ours)})")
    print("subprocess loaded:", "subprocess" in loaded)
    verdict = "meets" if delta <= 50 else "misses"
    print(f"goal: <= 50 ms over a bare interpreter -> {delta:.1f} ms ({verdict} the goal)")


if __name__ == "__main__":
    main(sys.argv)
