"""Status parsing and bookkeeping for K tracked Slurm batch jobs, from recorded outputs.

    python benchmarks/bench_status_parse.py [--jobs 10000] [--rounds 7] [--json PATH]

No cluster is needed: ``SlurmLauncher.poll`` runs as it does for real, except that each Slurm
client call returns text in the exact form the project's cluster printed (Slurm 22.05, recorded
2026-12-04 with the argv smartsim builds: ``squeue -h -t all -o '%i|%T|%r' --jobs=...`` and
``sacct -n -P --format=JobID,State,ExitCode,Reason,Start,End,JobName --jobs=...``), repeated
for K job ids. Of the K jobs, 40 % are RUNNING and 20 % PENDING in squeue, 20 % are COMPLETED
in squeue (recently ended) and 20 % are gone from squeue, so sacct is needed for 40 %.

Per poll it reports the Slurm calls made (goal: one squeue and at most one sacct) and the CPU
time of ``poll`` itself (parsing and updating the launcher's bookkeeping; the canned call costs
nothing), goal <= 20 ms at K = 10^4, first poll (everything to learn) and next poll (the final
ones are remembered). Baseline, same round: a hand-written loop that splits the same two texts
into ``{job id: state}`` dicts, the least any reader does.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from returns.io import IOResult, IOSuccess  # noqa: E402

from smartsim.effects import slurm  # noqa: E402
from smartsim.effects.launcher import Handle  # noqa: E402
from smartsim.effects.process import Completed  # noqa: E402
from smartsim.errors import EffectError  # noqa: E402

# Recorded on the project cluster (ids replaced by {id}); squeue: one line per job.
SQUEUE_LINE = {
    "RUNNING": "{id}|RUNNING|None",
    "PENDING": "{id}|PENDING|Resources",
    "COMPLETED": "{id}|COMPLETED|None",
}
# sacct: the job's row, its batch step and its extern step.
SACCT_ROWS = (
    "{id}|COMPLETED|0:0|None|2026-12-04T18:31:50|2026-12-04T18:32:07|{name}",
    "{id}.batch|COMPLETED|0:0||2026-12-04T18:31:50|2026-12-04T18:32:07|batch",
    "{id}.extern|COMPLETED|0:0||2026-12-04T18:31:50|2026-12-04T18:32:07|extern",
)
FIRST_ID = 500_000


def outputs(k: int) -> tuple[str, str, list[Handle]]:
    squeue: list[str] = []
    sacct: list[str] = []
    handles: list[Handle] = []
    for i in range(k):
        job = FIRST_ID + i
        name = f"m_{i}"
        handles.append(
            Handle(launcher="slurm", name=name, job_id=str(job),
                   extra=(("kind", "batch"), ("seq", str(i))))
        )  # fmt: skip
        bucket = i % 5
        if bucket in (0, 1):
            squeue.append(SQUEUE_LINE["RUNNING"].format(id=job))
        elif bucket == 2:
            squeue.append(SQUEUE_LINE["PENDING"].format(id=job))
        elif bucket == 3:
            squeue.append(SQUEUE_LINE["COMPLETED"].format(id=job))
        if bucket in (3, 4):
            sacct.extend(row.format(id=job, name=name) for row in SACCT_ROWS)
    return "\n".join(squeue) + "\n", "\n".join(sacct) + "\n", handles


def canned(squeue: str, sacct: str) -> tuple[slurm.SlurmLauncher, list[tuple[str, ...]]]:
    """The real launcher, with each Slurm client call answered from the recorded texts."""
    launcher = slurm.SlurmLauncher(environ={})
    texts = {"squeue": squeue, "sacct": sacct}
    argvs: list[tuple[str, ...]] = []

    def call(
        argv: Sequence[str], env: Mapping[str, str] | None = None
    ) -> IOResult[Completed, EffectError]:
        launcher.calls += 1
        argvs.append(tuple(argv))
        return IOSuccess(Completed(tuple(argv), 0, texts[argv[0]], ""))

    setattr(launcher, "_call", call)  # noqa: B010 - the one seam the launcher calls Slurm by
    return launcher, argvs


def baseline(squeue: str, sacct: str) -> int:
    states = {}
    for line in squeue.splitlines():
        job, state, _reason = line.split("|")
        states[job] = state
    for line in sacct.splitlines():
        job, state, _code, _reason, _start, _end, _name = line.split("|")
        if "." not in job:
            states[job] = state
    return len(states)


def one_round(squeue: str, sacct: str, handles: list[Handle]) -> dict[str, float]:
    launcher, argvs = canned(squeue, sacct)
    t0 = time.process_time()
    first = launcher.poll(handles)
    t1 = time.process_time()
    first_calls = launcher.calls
    second = launcher.poll(handles)
    t2 = time.process_time()
    second_calls = launcher.calls - first_calls
    assert isinstance(first, IOSuccess) and isinstance(second, IOSuccess)
    t3 = time.process_time()
    n = baseline(squeue, sacct)
    t4 = time.process_time()
    assert n == len(handles)
    tools = [a[0] for a in argvs[:first_calls]]
    return {
        "first_ms": (t1 - t0) * 1e3,
        "next_ms": (t2 - t1) * 1e3,
        "baseline_ms": (t4 - t3) * 1e3,
        "first_calls": first_calls,
        "next_calls": second_calls,
        "squeue_calls": tools.count("squeue"),
        "sacct_calls": tools.count("sacct"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    quick = os.environ.get("SMARTSIM_BENCH_QUICK") == "1"
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3 if quick else 7)
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    squeue, sacct, handles = outputs(options.jobs)
    results = [one_round(squeue, sacct, handles) for _ in range(options.rounds)]

    def med(key: str) -> float:
        return statistics.median(r[key] for r in results)

    def ratio(key: str) -> float:
        return statistics.median(r[key] / r["baseline_ms"] for r in results)

    k = options.jobs
    rows = [
        ("figure", "value", "goal"),
        (f"calls in the first poll, K={k}",
         f"{med('squeue_calls'):.0f} squeue + {med('sacct_calls'):.0f} sacct", "1 + <= 1"),
        ("calls in the next poll", f"{med('next_calls'):.0f}", ""),
        (f"first poll: parse + update CPU, K={k}",
         f"{med('first_ms'):.1f} ms ({ratio('first_ms'):.1f}x the split loop)", "<= 20 ms"),
        ("next poll: parse + update CPU",
         f"{med('next_ms'):.1f} ms ({ratio('next_ms'):.1f}x the split loop)", "<= 20 ms"),
        ("baseline: split both texts into dicts", f"{med('baseline_ms'):.1f} ms", "baseline"),
    ]  # fmt: skip
    print(f"bench_status_parse: {options.rounds} rounds, medians of CPU time (process_time)")
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for i, row in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    if options.json is not None:
        options.json.write_text(json.dumps({"jobs": k, "rounds": results}, indent=1))


if __name__ == "__main__":
    main()
