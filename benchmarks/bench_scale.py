"""Ensembles of 10^4 members, locally: preview, generate, and a whole run under the default cap.

    python benchmarks/bench_scale.py [--members 10000] [--json PATH]

Figures, never asserted (goals from issue 15):

* ``preview`` of an ensemble of N parameterised members (``params={"i": range(N)}``, args
  ``--i={i}``): seconds (goal <= 2 s), next to a plain loop that builds the same N argvs and
  output paths from dicts in the same process (ratio);
* ``generate`` of it: seconds (goal <= 10 s), next to ``os.makedirs`` + writing the same
  ``params.json`` per member by hand in the same run (ratio);
* a whole ``start(block=True)`` of N ``/bin/true`` members with the default ``max_parallel``, in
  a fresh interpreter: its peak RSS (VmHWM, goal <= 60 MB) next to a bare interpreter that runs
  the same N processes with raw Popen, the same number at a time; the journal's bytes per member
  (goal <= 1 KB); the most file descriptors and children the parent held at once (sampled).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from smartsim import Experiment, RunSettings  # noqa: E402


def _ensemble(exp: Experiment, n: int) -> object:
    rs = RunSettings(exe="/bin/echo", args=("--i={i}",))
    return exp.create_ensemble("m", run_settings=rs, params={"i": list(range(n))})


def preview_vs_loop(base: Path, n: int) -> tuple[float, float]:
    exp = Experiment("scale", exp_path=base / "preview")
    ens = _ensemble(exp, n)
    t0 = time.perf_counter()
    plan = exp.preview(ens)  # type: ignore[arg-type]
    ours = time.perf_counter() - t0
    assert len(plan.launches) == n
    t0 = time.perf_counter()
    rows = []
    for i in range(n):
        d = f"{base}/preview/m_{i}"
        rows.append((["/bin/echo", f"--i={i}"], d, f"{d}/m_{i}.out", f"{d}/m_{i}.err"))
    loop = time.perf_counter() - t0
    return ours, loop


def generate_vs_hand(base: Path, n: int) -> tuple[float, float]:
    exp = Experiment("scale", exp_path=base / "gen")
    ens = _ensemble(exp, n)
    t0 = time.perf_counter()
    exp.generate(ens)  # type: ignore[arg-type]
    ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(n):
        d = base / "hand" / f"m_{i}"
        os.makedirs(d)
        (d / "params.json").write_text(json.dumps({"i": i}, indent=2) + "\n")
    hand = time.perf_counter() - t0
    return ours, hand


_SAMPLER = """
import os, threading, time
peak = {"fds": 0, "children": 0}
def _sample():
    me = str(os.getpid())
    while True:
        peak["fds"] = max(peak["fds"], len(os.listdir("/proc/self/fd")))
        kids = 0
        for name in os.listdir("/proc"):
            if name.isdigit():
                try:
                    with open(f"/proc/{name}/stat", "rb") as h:
                        data = h.read()
                except OSError:
                    continue
                if data[data.rindex(b")") + 2:].split()[1].decode() == me:
                    kids += 1
        peak["children"] = max(peak["children"], kids)
        time.sleep(0.01)
threading.Thread(target=_sample, daemon=True).start()
"""
_PEAK = "[l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0]"
CHILD_SMARTSIM = f"""
import json, os, sys, tempfile, time
{_SAMPLER}
from smartsim import Experiment, RunSettings, Status
from smartsim.effects import journal
with tempfile.TemporaryDirectory() as tmp:
    exp = Experiment("rss", exp_path=tmp)
    ens = exp.create_ensemble("m", run_settings=RunSettings(exe="/bin/true"),
                              replicas=int(sys.argv[1]))
    t0 = time.perf_counter()
    exp.start(ens, block=True)
    wall = time.perf_counter() - t0
    ok = exp.get_status(ens).count(Status.COMPLETED)
    size = os.path.getsize(journal.journal_path(tmp))
    cap = exp._launcher.max_parallel
print(json.dumps({{"hwm_kb": int({_PEAK}), "journal": size, "ok": ok, "wall": wall,
                  "cap": cap, **peak}}))
"""
CHILD_RAW = f"""
import json, os, subprocess, sys, tempfile, time
{_SAMPLER}
n, cap = int(sys.argv[1]), int(sys.argv[2])
with tempfile.TemporaryDirectory() as tmp:
    t0 = time.perf_counter()
    live = []
    for i in range(n):
        while len(live) >= cap:
            pid, _ = os.wait()
            live = [p for p in live if p.pid != pid]
        d = os.path.join(tmp, f"m_{{i}}")
        os.mkdir(d)
        with open(f"{{d}}/m.out", "xb") as o, open(f"{{d}}/m.err", "xb") as e:
            live.append(subprocess.Popen(["/bin/true"], stdout=o, stderr=e, cwd=d))
    while live:
        pid, _ = os.wait()
        live = [p for p in live if p.pid != pid]
    wall = time.perf_counter() - t0
print(json.dumps({{"hwm_kb": int({_PEAK}), "wall": wall, **peak}}))
"""


def run_child(code: str, *args: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True, env=env
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    quick = os.environ.get("SMARTSIM_BENCH_QUICK") == "1"
    parser.add_argument("--members", type=int, default=2000 if quick else 10_000)
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    n = options.members
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        pv, loop = preview_vs_loop(Path(tmp), n)
        gen, hand = generate_vs_hand(Path(tmp), n)
    ours = run_child(CHILD_SMARTSIM, str(n))
    raw = run_child(CHILD_RAW, str(n), str(int(ours["cap"])))
    figures = {
        "members": n,
        "preview_s": pv,
        "preview_loop_s": loop,
        "generate_s": gen,
        "generate_by_hand_s": hand,
        "run": ours,
        "raw": raw,
    }
    with open("/proc/loadavg") as handle:
        load = handle.read().split()[0]
    rows = [
        ("figure", "value", "goal"),
        (f"preview, {n} members", f"{pv:.2f} s ({pv / loop:.0f}x a dict loop: {loop:.3f} s)",
         "<= 2 s"),
        (f"generate, {n} members", f"{gen:.2f} s ({gen / hand:.2f}x by hand: {hand:.2f} s)",
         "<= 10 s"),
        (f"start(block=True), {n} x /bin/true, max_parallel={int(ours['cap'])}",
         f"{int(ours['ok'])}/{n} completed in {ours['wall']:.1f} s "
         f"({raw['wall'] / ours['wall']:.2f}x capped raw Popen: {raw['wall']:.1f} s)", ""),
        ("  parent peak RSS (VmHWM)",
         f"{ours['hwm_kb'] / 1024:.1f} MB (raw Popen script: {raw['hwm_kb'] / 1024:.1f} MB)",
         "<= 60 MB"),
        ("  journal per member", f"{ours['journal'] / n:.0f} bytes", "<= 1 KB"),
        ("  most fds / children at once (sampled)",
         f"{int(ours['fds'])} / {int(ours['children'])} "
         f"(raw: {int(raw['fds'])} / {int(raw['children'])})", ""),
    ]  # fmt: skip
    print(f"bench_scale: {os.cpu_count()} CPUs, load {load}")
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for i, row in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    if options.json is not None:
        options.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
