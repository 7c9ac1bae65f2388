"""Local launcher figures, printed as a table (measured, never asserted).

    python benchmarks/bench_local.py [--members 200] [--rounds 5]

1. Throughput: an ensemble of ``--members`` ``/bin/true`` members started with
   ``Experiment.start(block=True)`` (planning, output files, journal and reaping included),
   against raw ``subprocess.Popen`` of the same program with the same two output files per
   member, alternating in the same process; the ratio is raw time / smartsim time (goal >= 0.8).
2. Exit-to-status latency: members print ``time.time()`` and exit at staggered moments; the
   latency is the journal's time for their final status minus that (goal <= 50 ms).
3. Peak memory (``ru_maxrss``) of a fresh process that launches ``--members`` members (goal
   <= 25 MB), next to a bare interpreter that does the same with raw Popen.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from smartsim import Experiment, RunSettings, Status  # noqa: E402
from smartsim.effects import journal  # noqa: E402
from smartsim.effects.local import LocalLauncher  # noqa: E402


def raw_popen(base: Path, members: int, *, new_session: bool = False) -> float:
    """Seconds to start ``members`` /bin/true with two fresh output files each, and reap all."""
    dirs = [base / f"m_{i}" for i in range(members)]
    for d in dirs:
        d.mkdir(parents=True)
    t0 = time.perf_counter()
    procs = []
    for i, d in enumerate(dirs):
        with open(d / f"m_{i}.out", "xb") as out, open(d / f"m_{i}.err", "xb") as err:
            procs.append(
                subprocess.Popen(
                    ["/bin/true"], stdout=out, stderr=err, cwd=d, start_new_session=new_session
                )
            )
    for p in procs:
        p.wait()
    return time.perf_counter() - t0


def smartsim_start(base: Path, members: int, *, new_session: bool = True) -> float:
    """Seconds for ``Experiment.start(block=True)`` of an ensemble of ``members`` /bin/true."""
    exp = Experiment("bench", exp_path=base, launcher=LocalLauncher(new_session=new_session))
    ens = exp.create_ensemble("m", run_settings=RunSettings(exe="/bin/true"), replicas=members)
    exp.generate(ens)  # directories exist in the baseline too; not timed
    t0 = time.perf_counter()
    exp.start(ens, block=True)
    elapsed = time.perf_counter() - t0
    assert set(exp.get_status(ens)) == {Status.COMPLETED}, exp.summary()
    return elapsed


VARIANTS: dict[str, Callable[[Path, int], float]] = {
    "raw": functools.partial(raw_popen, new_session=False),
    "raw_session": functools.partial(raw_popen, new_session=True),
    "ours": functools.partial(smartsim_start, new_session=True),
    "ours_group": functools.partial(smartsim_start, new_session=False),
}


def throughput(members: int, rounds: int) -> dict[str, list[float]]:
    """Seconds per variant and round; the variants alternate within each round."""
    times: dict[str, list[float]] = {k: [] for k in VARIANTS}
    with tempfile.TemporaryDirectory(prefix="bench-local-") as tmp:
        for r in range(rounds):
            for name, run in VARIANTS.items():
                times[name].append(run(Path(tmp) / f"{name}{r}", members))
    return times


def ratio(times: dict[str, list[float]], base: str, other: str) -> str:
    """Median over rounds of base time / other time (same round), with its range."""
    values = [a / b for a, b in zip(times[base], times[other], strict=True)]
    return f"{statistics.median(values):.2f} (range {min(values):.2f}-{max(values):.2f})"


EXITER = (
    "import os, sys, time; time.sleep(float(sys.argv[1])); "
    "sys.stdout.write(repr(time.time())); sys.stdout.flush(); os._exit(0)"
)


def latency(members: int) -> dict[str, float]:
    """Journal time of each final status minus the member's own time just before its exit."""
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        exp = Experiment("latency", exp_path=tmp)
        rs = RunSettings(exe=sys.executable, args=("-c", EXITER, "{delay}"))
        delays = [round(1.0 + 0.03 * i, 3) for i in range(members)]
        ens = exp.create_ensemble("x", run_settings=rs, params={"delay": delays})
        exp.start(ens, block=True)
        records = [
            json.loads(line)
            for line in Path(journal.journal_path(tmp)).read_text().splitlines()
            if '"event":"status"' in line and '"COMPLETED"' in line
        ]
        seen = {r["name"]: r["t"] for r in records}
        lat = []
        for m in ens.members:
            exited = float(Path(m.path, f"{m.name}.out").read_text())
            lat.append((seen[m.name] - exited) * 1000)
    lat.sort()
    return {
        "median_ms": statistics.median(lat),
        "p95_ms": lat[int(0.95 * (len(lat) - 1))],
        "max_ms": lat[-1],
        "n": len(lat),
    }


# Peak RSS is read from VmHWM: ru_maxrss of a child keeps the high-water mark of the process it
# was forked from (Linux carries it across exec), which would report this benchmark's own size.
PEAK = "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])"
CHILD_SMARTSIM = f"""
import sys, tempfile
from smartsim import Experiment, RunSettings
with tempfile.TemporaryDirectory() as tmp:
    exp = Experiment("rss", exp_path=tmp)
    rs = RunSettings(exe="/bin/true")
    exp.start(exp.create_ensemble("m", run_settings=rs, replicas=int(sys.argv[1])), block=True)
{PEAK}
"""
CHILD_RAW = f"""
import os, subprocess, sys, tempfile
with tempfile.TemporaryDirectory() as tmp:
    procs = []
    for i in range(int(sys.argv[1])):
        out, err = (os.path.join(tmp, f"{{i}}.{{s}}") for s in ("out", "err"))
        with open(out, "xb") as o, open(err, "xb") as e:
            procs.append(subprocess.Popen(["/bin/true"], stdout=o, stderr=e))
    for p in procs:
        p.wait()
{PEAK}
"""


def peak_rss(members: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = {}
    for label, code in (("smartsim_mb", CHILD_SMARTSIM), ("raw_mb", CHILD_RAW)):
        done = subprocess.run(
            [sys.executable, "-c", code, str(members)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        out[label] = int(done.stdout.split()[-1]) / 1024  # VmHWM is in kB
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--latency-members", type=int, default=20)
    options = parser.parse_args()

    times = throughput(options.members, options.rounds)
    lat = latency(options.latency_members)
    rss = peak_rss(options.members)

    n = options.members

    def rate(name: str) -> str:
        median = statistics.median(times[name])
        return f"{n / median:.0f} launches/s ({median * 1000:.0f} ms)"

    rows = [
        ("figure", "value", "goal"),
        (f"raw Popen + 2 files, {n} x /bin/true", rate("raw"), "baseline"),
        ("raw Popen + 2 files + start_new_session", rate("raw_session"), ""),
        (f"Experiment.start(block=True), {n} members", rate("ours"), ""),
        ("  same, LocalLauncher(new_session=False)", rate("ours_group"), ""),
        ("ratio to raw Popen (raw time / smartsim)", ratio(times, "raw", "ours"), ">= 0.8"),
        ("ratio to raw Popen with new sessions", ratio(times, "raw_session", "ours"), ""),
        ("ratio to raw Popen, new_session=False", ratio(times, "raw", "ours_group"), ">= 0.8"),
        (
            f"exit -> status latency, {lat['n']} members",
            f"median {lat['median_ms']:.2f} ms, p95 {lat['p95_ms']:.2f} ms, "
            f"max {lat['max_ms']:.2f} ms",
            "<= 50 ms",
        ),
        (
            f"peak RSS launching {n} members (VmHWM)",
            f"{rss['smartsim_mb']:.1f} MB (the raw Popen script: {rss['raw_mb']:.1f} MB)",
            "<= 25 MB",
        ),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    with open("/proc/loadavg") as handle:
        load = handle.read().split()[0]
    print(
        f"bench_local: {platform.node()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M')}, load {load}, "
        f"{options.rounds} rounds, medians"
    )
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


if __name__ == "__main__":
    main()
