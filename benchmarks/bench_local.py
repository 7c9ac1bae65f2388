"""Local launcher figures, printed as a table and optionally JSON (measured, never asserted).

    python benchmarks/bench_local.py [--members 200,2000] [--rounds 5] [--json PATH]

1. Throughput, for each N in ``--members``: an ensemble of N ``/bin/true`` members, timed from
   the ``Experiment.start`` call until every member's status is final, as a user waits for it:
   * ``block``: ``exp.start(ens, block=True)``;
   * ``poll``: ``exp.start(ens, block=False)`` then ``exp.get_status(ens)`` every 10 ms until all
     are final;
   * ``session``: ``block`` with ``LocalLauncher(new_session=True)``, what a script run from a
     terminal gets (each launch in its own session; ``block`` and ``poll`` take the default,
     which without a controlling terminal, as here, is a process group);
   all with the default ``max_parallel`` (the usable CPUs), against the baseline, in the same
   process and the same round (variants alternate; each round
   shuffles their order): ``subprocess.Popen`` of the same program with two fresh output files per
   member, then ``wait()`` on every one. Planning, output files, the journal and reaping are all
   inside smartsim's time; the directories exist for both (``generate`` is not timed). The figure
   is the median over rounds of baseline time / smartsim time in that round (goal >= 0.8).
2. Exit-to-status latency: members print ``time.time()`` and exit at staggered moments; the
   latency is the journal's time for their final status minus that (goal <= 50 ms).
3. Peak memory (VmHWM) of a fresh process that launches the first N members, next to a bare
   interpreter doing the same with raw Popen.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
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

POLL_EVERY = 0.010


def raw_popen(base: Path, members: int) -> float:
    """Seconds to start ``members`` /bin/true with two fresh output files each, and reap all."""
    dirs = [base / f"m_{i}" for i in range(members)]
    for d in dirs:
        d.mkdir(parents=True)
    t0 = time.perf_counter()
    procs = []
    for i, d in enumerate(dirs):
        with open(d / f"m_{i}.out", "xb") as out, open(d / f"m_{i}.err", "xb") as err:
            procs.append(subprocess.Popen(["/bin/true"], stdout=out, stderr=err, cwd=d))
    for p in procs:
        p.wait()
    return time.perf_counter() - t0


def _ensemble(
    base: Path, members: int, launcher: LocalLauncher | None = None
) -> tuple[Experiment, object]:
    exp = Experiment("bench", exp_path=base, launcher=launcher or "local")
    ens = exp.create_ensemble("m", run_settings=RunSettings(exe="/bin/true"), replicas=members)
    exp.generate(ens)  # directories exist in the baseline too; not timed
    return exp, ens


def smartsim_block(base: Path, members: int) -> float:
    """Seconds for ``Experiment.start(block=True)`` of an ensemble of ``members`` /bin/true."""
    exp, ens = _ensemble(base, members)
    t0 = time.perf_counter()
    exp.start(ens, block=True)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - t0
    assert set(exp.get_status(ens)) == {Status.COMPLETED}, exp.summary()  # type: ignore[arg-type]
    return elapsed


def smartsim_session(base: Path, members: int) -> float:
    """``block`` as with a controlling terminal: every launch in its own session (setsid)."""
    exp, ens = _ensemble(base, members, LocalLauncher(new_session=True))
    t0 = time.perf_counter()
    exp.start(ens, block=True)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - t0
    assert set(exp.get_status(ens)) == {Status.COMPLETED}, exp.summary()  # type: ignore[arg-type]
    return elapsed


def smartsim_poll(base: Path, members: int) -> float:
    """Seconds from ``start(block=False)`` until ``get_status`` shows every member final."""
    exp, ens = _ensemble(base, members)
    t0 = time.perf_counter()
    exp.start(ens, block=False)  # type: ignore[arg-type]
    while True:
        statuses = exp.get_status(ens)  # type: ignore[arg-type]
        if all(s.is_final for s in statuses):
            break
        time.sleep(POLL_EVERY)
    elapsed = time.perf_counter() - t0
    assert set(statuses) == {Status.COMPLETED}, exp.summary()
    return elapsed


VARIANTS: dict[str, Callable[[Path, int], float]] = {
    "popen": raw_popen,
    "block": smartsim_block,
    "poll": smartsim_poll,
    "session": smartsim_session,
}


def throughput(members: int, rounds: int, seed: int = 15) -> dict[str, list[float]]:
    """Seconds per variant and round; the variants alternate (shuffled) within each round."""
    times: dict[str, list[float]] = {k: [] for k in VARIANTS}
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="bench-local-") as tmp:
        for r in range(rounds):
            order = list(VARIANTS)
            rng.shuffle(order)
            for name in order:
                times[name].append(VARIANTS[name](Path(tmp) / f"{name}{r}", members))
    return times


def ratios(times: dict[str, list[float]], base: str, other: str) -> list[float]:
    return [a / b for a, b in zip(times[base], times[other], strict=True)]


def ratio_text(values: list[float]) -> str:
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
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--members", default="200,2000")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--latency-members", type=int, default=20)
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    quick = os.environ.get("SMARTSIM_BENCH_QUICK") == "1"
    sizes = [int(n) for n in options.members.split(",")]
    rounds = 3 if quick else options.rounds

    figures: dict[str, object] = {"rounds": rounds, "sizes": {}}
    rows = [("figure", "value", "goal")]
    for n in sizes:
        times = throughput(n, rounds if n <= 500 else max(3, rounds - 2))
        per: dict[str, object] = {}
        for name in VARIANTS:
            median = statistics.median(times[name])
            per[f"{name}_s"] = median
        for name in ("block", "poll", "session"):
            values = ratios(times, "popen", name)
            per[f"{name}_x_popen"] = statistics.median(values)
            label = {
                "block": "start(block=True)",
                "poll": "start(block=False) + get_status/10 ms",
                "session": "start(block=True), new_session=True (as with a tty)",
            }
            rows.append(
                (
                    f"N={n}: {label[name]}, x Popen+files",
                    f"{ratio_text(values)}; {n / statistics.median(times[name]):.0f}/s",
                    ">= 0.8",
                )
            )
        rows.append(
            (
                f"N={n}: baseline Popen+files+wait",
                f"{n / statistics.median(times['popen']):.0f} launches/s "
                f"({statistics.median(times['popen']) * 1e3:.0f} ms)",
                "baseline",
            )
        )
        figures["sizes"][str(n)] = per  # type: ignore[index]
    lat = latency(options.latency_members)
    figures["latency"] = lat
    rows.append(
        (
            f"exit -> status latency, {lat['n']} members",
            f"median {lat['median_ms']:.2f} ms, p95 {lat['p95_ms']:.2f} ms, "
            f"max {lat['max_ms']:.2f} ms",
            "<= 50 ms",
        )
    )
    rss = peak_rss(sizes[0])
    figures["rss"] = rss
    rows.append(
        (
            f"peak RSS launching {sizes[0]} members (VmHWM)",
            f"{rss['smartsim_mb']:.1f} MB (the raw Popen script: {rss['raw_mb']:.1f} MB)",
            "",
        )
    )
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    with open("/proc/loadavg") as handle:
        load = handle.read().split()[0]
    print(
        f"bench_local: {platform.node()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M')}, load {load}, "
        f"{rounds} rounds, medians"
    )
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    if options.json is not None:
        options.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
