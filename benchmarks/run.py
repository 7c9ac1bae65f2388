"""Run every ``benchmarks/bench_*.py`` and print one combined table.

    python benchmarks/run.py [--only TEXT] [--list] [--timeout S] [--quick] [--json PATH]

Works from a fresh clone: each benchmark runs in its own interpreter (``sys.executable``) with
the clone first on ``PYTHONPATH``, so ``smartsim`` is imported from here whether or not it is
installed (its two dependencies, attrs and returns, must be). Figures are measured, never
asserted; ratios against a baseline measured in the same run are the figures to compare.

What a benchmark may tell this runner:

* its output: any text table (a row is a line whose cells are separated by two or more spaces;
  lines of dashes are rules). Rows come out as ``benchmark | figure | value``; a line with one
  cell is kept as a note under the benchmark;
* ``REQUIRES = ("slurm",)`` at module level (or ``slurm`` in its file name): it needs the
  project's Slurm cluster. When no cluster answers, the benchmark is not started and the table
  says it was skipped and how to start one;
* exit status 77: it skipped itself; its last line of output says why;
* any other non-zero exit: the table says it failed, with its last line of error output.

``--json PATH`` also writes the machine line and every benchmark's rows and notes as JSON.

``--quick`` sets ``SMARTSIM_BENCH_QUICK=1`` in the benchmarks' environment (those that honour
it use fewer rounds). Exit status: 0, or 1 when a benchmark failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final, NamedTuple

HERE: Final = Path(__file__).resolve().parent
ROOT: Final = HERE.parent
#: Exit status a benchmark uses to say it skipped itself (the automake convention).
SKIP: Final = 77
#: The env file the project's cluster writes when it is up (scripts/slurm-cluster).
CLUSTER_ENV: Final = Path(os.environ.get("SMARTSIM_SLURM_DIR") or "/var/tmp/smartsim-slurm") / "env"
_REQUIRES: Final = re.compile(r"^REQUIRES\s*(?::[^=]*)?=\s*(.*)$", re.MULTILINE)
_RULE: Final = re.compile(r"^[\s\-=+|:]*$")


class Row(NamedTuple):
    bench: str
    figure: str
    value: str


class Outcome(NamedTuple):
    bench: str
    status: str  # "ok", "skipped", "failed"
    rows: list[Row]
    notes: list[str]
    seconds: float


def discover(directory: Path, only: str | None = None) -> list[Path]:
    """The ``bench_*.py`` files of ``directory``, sorted; ``only`` filters by substring."""
    found = sorted(directory.glob("bench_*.py"))
    return [p for p in found if only is None or only in p.stem]


def requirements(path: Path) -> set[str]:
    """What a benchmark declares it needs (``REQUIRES = ("slurm",)``, or its file name)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    needs = {word for match in _REQUIRES.finditer(text) for word in re.findall(r"\w+", match[1])}
    if "slurm" in path.stem:
        needs.add("slurm")
    return needs


def _cluster_env() -> dict[str, str]:
    """The cluster's variables (its env file's ``export`` lines), when the file exists."""
    values: dict[str, str] = {}
    if not CLUSTER_ENV.is_file():
        return values
    for line in CLUSTER_ENV.read_text().splitlines():
        words = shlex.split(line, comments=True)
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            name, _, value = words[1].partition("=")
            values[name] = value
    return values


def slurm_problem(env: dict[str, str]) -> str | None:
    """Why no Slurm cluster can be used, or None when ``scontrol ping`` says it is up.
    ``env`` gets the cluster's variables when its env file exists."""
    if not env.get("SLURM_CONF"):
        for name, value in _cluster_env().items():
            env.setdefault(name, value)
    hint = "start one with `sudo scripts/slurm-cluster up`"
    if shutil.which("scontrol") is None:
        return f"no Slurm cluster (no `scontrol` on PATH); {hint}"
    try:
        done = subprocess.run(
            ["scontrol", "ping"], capture_output=True, text=True, timeout=20, env=env, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"no Slurm cluster ({exc}); {hint}"
    if done.returncode != 0 or "is UP" not in done.stdout:
        said = (done.stdout + done.stderr).strip().splitlines()
        return f"no Slurm cluster up (scontrol ping: {said[-1] if said else 'no answer'}); {hint}"
    return None


def parse_table(bench: str, text: str) -> tuple[list[Row], list[str]]:
    """Rows and notes from a benchmark's text output (see the module docstring).

    >>> rows, notes = parse_table("b", "b: host, 2 CPUs\\nfigure  value\\n------  -----\\n"
    ...                                "raw Popen  100 launches/s  baseline\\n")
    >>> rows, notes
    ([Row(bench='b', figure='figure', value='value'), Row(bench='b', figure='raw Popen', \
value='100 launches/s | baseline')], ['b: host, 2 CPUs'])
    """
    rows: list[Row] = []
    notes: list[str] = []
    for line in text.splitlines():
        if not line.strip() or _RULE.fullmatch(line):
            continue
        cells = [c for c in re.split(r"\s{2,}|\t", line.strip()) if c]
        if len(cells) < 2:
            notes.append(line.strip())
        else:
            rows.append(Row(bench, cells[0], " | ".join(cells[1:])))
    return rows, notes


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def run_one(path: Path, env: dict[str, str], timeout: float, slurm: str | None) -> Outcome:
    """Run one benchmark (or skip it) and read its table."""
    bench = path.stem
    if "slurm" in requirements(path) and slurm is not None:
        return Outcome(bench, "skipped", [], [f"skipped: {slurm}"], 0.0)
    t0 = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, str(path)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Outcome(bench, "failed", [], [f"failed: still running after {timeout:g} s"], timeout)
    seconds = time.monotonic() - t0
    if done.returncode == SKIP:
        why = _last_line(done.stdout) or _last_line(done.stderr) or "no reason given"
        return Outcome(bench, "skipped", [], [f"skipped: {why}"], seconds)
    rows, notes = parse_table(bench, done.stdout)
    if done.returncode != 0:
        why = _last_line(done.stderr) or _last_line(done.stdout) or "no output"
        notes.append(f"failed (exit {done.returncode}): {why}")
        return Outcome(bench, "failed", rows, notes, seconds)
    return Outcome(bench, "ok", rows, notes, seconds)


def render(outcomes: Sequence[Outcome]) -> str:
    """One table: benchmark, figure, value; notes and skips as rows of their benchmark."""
    lines: list[tuple[str, str, str]] = [("benchmark", "figure", "value")]
    for outcome in outcomes:
        for note in outcome.notes:
            lines.append((outcome.bench, f"({note})", ""))
        lines += [(r.bench, r.figure, r.value) for r in outcome.rows]
        if outcome.status == "ok" and not outcome.rows and not outcome.notes:
            lines.append((outcome.bench, "(no table printed)", ""))
    # notes (in parentheses, no value) overflow rather than widen the figure column
    sized = [line for line in lines if line[2] or not line[1].startswith("(")]
    widths = [max(len(line[i]) for line in sized) for i in range(2)]
    out = []
    for i, (bench, figure, value) in enumerate(lines):
        out.append(f"{bench.ljust(widths[0])}  {figure.ljust(widths[1])}  {value}".rstrip())
        if i == 0:
            out.append(f"{'-' * widths[0]}  {'-' * widths[1]}  {'-' * 5}")
    return "\n".join(out)


def machine() -> str:
    try:
        with open("/proc/loadavg") as handle:
            load = handle.read().split()[0]
    except OSError:
        load = "?"
    return (
        f"{platform.node()}, {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M %Z')}, load {load}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--only", help="run only benchmarks whose name contains this text")
    parser.add_argument("--list", action="store_true", help="list the benchmarks; run nothing")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per benchmark")
    parser.add_argument("--quick", action="store_true", help="set SMARTSIM_BENCH_QUICK=1")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    parser.add_argument("--dir", type=Path, default=HERE, help=argparse.SUPPRESS)
    options = parser.parse_args(argv)

    benches = discover(options.dir, options.only)
    if options.list:
        for path in benches:
            needs = requirements(path)
            print(f"{path.stem}{'  (needs ' + ', '.join(sorted(needs)) + ')' if needs else ''}")
        return 0
    if not benches:
        print(f"no benchmarks matched in {options.dir}", file=sys.stderr)
        return 1
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    if options.quick:
        env["SMARTSIM_BENCH_QUICK"] = "1"
    needs_slurm = any("slurm" in requirements(p) for p in benches)
    slurm = slurm_problem(env) if needs_slurm else None
    outcomes = []
    for path in benches:
        print(f"running {path.stem} ...", file=sys.stderr, flush=True)
        outcome = run_one(path, env, options.timeout, slurm)
        print(f"  {outcome.status} in {outcome.seconds:.1f} s", file=sys.stderr, flush=True)
        outcomes.append(outcome)
    print(f"smartsim benchmarks: {machine()}")
    print(render(outcomes))
    if options.json is not None:
        document = {
            "machine": machine(),
            "command": " ".join(["python", "benchmarks/run.py", *(argv or sys.argv[1:])]),
            "benchmarks": [
                {
                    "bench": o.bench,
                    "status": o.status,
                    "seconds": round(o.seconds, 1),
                    "notes": o.notes,
                    "rows": [{"figure": r.figure, "value": r.value} for r in o.rows],
                }
                for o in outcomes
            ],
        }
        options.json.write_text(json.dumps(document, indent=1) + "\n")
    return 1 if any(o.status == "failed" for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
