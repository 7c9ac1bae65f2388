"""The Dragon launcher against the real Dragon runtime (``dragonhpc``, single node).

Every test checks, once it is over, that no process of the runtimes it started is left
(the ``dragon`` process group, its driver, the members and their children, from ``/proc``)
and that Dragon's shared-memory segments (``/dev/shm/DD*``) are gone. Synchronisation with a
running member is a FIFO the member writes its pids to: the test's read returns when the
member has really started — no sleeps.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from smartsim.errors import MissingDependency, SmartSimError
from smartsim.experiment import Experiment
from smartsim.status import Status
from smartsim.values import RunSettings

pytestmark = pytest.mark.dragon

ROOT = Path(__file__).resolve().parent.parent
#: Arguments no shell quoting or JSON escaping may change.
TORTURE = (
    "plain",
    "two words",
    'it\'s "quoted"',
    "line one\nline two",
    "tab\there",
    "ünïcødé ✓ 漢字",
    "--leading-dashes",
    "-x",
    "$HOME `id` $(id) ;|&<>*?",
    "",
    "back\\slash",
)
#: A member program: prints its argv, its env and cwd as JSON on stdout, a line on stderr,
#: then exits with the code in $EXIT_CODE.
ECHO = (
    "import json, os, sys\n"
    "print(json.dumps({'args': sys.argv[1:], 'tag': os.environ.get('TAG'),"
    " 'fixed': os.environ.get('FIXED'), 'cwd': os.getcwd(),"
    " 'dragon': sorted(k for k in os.environ if k.startswith('DRAGON_'))}))\n"
    "print('stderr of', os.environ.get('TAG'), file=sys.stderr)\n"
    "sys.exit(int(os.environ.get('EXIT_CODE', '0')))\n"
)


def _shm() -> set[str]:
    return {n for n in os.listdir("/dev/shm") if n.startswith("DD")}


def _state(pid: int) -> str | None:
    """The state letter of ``pid`` in /proc (None: no such process)."""
    try:
        data = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    return data[data.rindex(b")") + 2 :].split()[0].decode()


def _alive(pid: int) -> bool:
    state = _state(pid)
    return state is not None and state != "Z"


def _group(pgid: int) -> list[int]:
    """Live processes of process group ``pgid``."""
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                data = Path(f"/proc/{name}/stat").read_bytes()
            except OSError:
                continue
            fields = data[data.rindex(b")") + 2 :].split()
            if int(fields[2]) == pgid and fields[0] != b"Z":
                out.append(int(name))
    return out


def _runtime_pids(exp_path: Path) -> list[int]:
    """Processes whose command line names this experiment's Dragon state directory."""
    marker = str(exp_path / ".dragon").encode()
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                cmdline = Path(f"/proc/{name}/cmdline").read_bytes()
            except OSError:
                continue
            if marker in cmdline and _alive(int(name)):
                out.append(int(name))
    return out


@pytest.fixture
def exp_path(tmp_path: Path) -> Iterator[Path]:
    """The experiment directory; afterwards nothing of its runtimes may be left."""
    before = _shm()
    path = tmp_path / "exp"
    yield path
    leftover = _runtime_pids(path)
    assert not leftover, f"Dragon processes left: {leftover}"
    # every process group of a runtime started here (its pid, as the journal recorded it)
    journal = path / "journal.jsonl"
    text = journal.read_text() if journal.exists() else ""
    pgids = {int(p) for p in re.findall(r'"runtime_pid",\s*"([0-9]+)"', text)}
    if '"launcher":"dragon"' in text.replace(" ", "") and '"job_id":"smartsim-dragon' in text:
        assert pgids, "a Dragon launch without its runtime's pid in the journal"
    left = {g: _group(g) for g in pgids if _group(g)}
    assert not left, f"processes left in the runtimes' process groups: {left}"
    new_shm = _shm() - before
    assert not new_shm, f"Dragon shared memory left: {sorted(new_shm)}"


def _pids_fifo(path: Path) -> Path:
    fifo = path.parent / f"{path.name}.fifo"
    os.mkfifo(fifo)
    return fifo


def _read_fifo(fifo: Path, timeout: float = 120.0) -> str:
    """What the member writes to ``fifo`` (returns once it has written and closed it)."""
    out: list[str] = []

    def read() -> None:
        with open(fifo, encoding="utf-8") as handle:
            out.append(handle.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    if reader.is_alive():
        with open(fifo, "w"):  # unblock the reader
            pass
        pytest.fail(f"the member did not write {fifo} within {timeout} s")
    return out[0]


# A member that starts a child, reports both pids through the FIFO, and waits forever.
SLEEPER = 'sleep 1000 & echo "$$ $!" > "$1"; wait'


def test_an_ensemble_of_four_with_torture_arguments_and_env(exp_path: Path) -> None:
    exp = Experiment("drag", exp_path=exp_path, launcher="dragon")
    tags = ["a b", "é\nz", "-x", 'it\'s "q"']
    rs = RunSettings(
        exe=sys.executable,
        args=("-c", ECHO, *TORTURE),
        env={"TAG": "{tag}", "FIXED": "v w"},
    )
    ens = exp.create_ensemble("ens", run_settings=rs, params={"tag": tags})
    assert len(ens.members) == 4
    exp.start(ens, block=True)
    assert exp.get_status(ens) == [Status.COMPLETED] * 4
    states = exp.states()
    seen = set()
    for member in ens.members:
        assert states[member.name].returncode == 0
        out = json.loads(Path(member.path, f"{member.name}.out").read_text())
        assert out["args"] == list(TORTURE)
        assert out["fixed"] == "v w"
        assert out["cwd"] == member.path
        assert out["dragon"], "not started by Dragon (no DRAGON_* variable)"
        seen.add(out["tag"])
        err = Path(member.path, f"{member.name}.err").read_text()
        assert err == f"stderr of {out['tag']}\n"
    assert seen == set(tags)
    # one runtime for the whole start, every member launched in it
    sockets = {line.split()[0] for line in exp.summary().splitlines()[2:]}
    assert len({s.split("/")[0] for s in _job_ids(exp)}) == 1, sockets
    events = [json.loads(x) for f in exp_path.glob(".dragon/*/events.jsonl")
              for x in f.read_text().splitlines()]  # fmt: skip
    assert sorted(e["name"] for e in events if e["ev"] == "running") == sorted(
        m.name for m in ens.members
    )
    assert not _runtime_pids(exp_path)  # a blocking start returns once its runtime is down


def _job_ids(exp: Experiment) -> list[str]:
    with exp._lock:
        return [r.handle.job_id for r in exp._runs.values() if r.handle is not None]


def test_a_failing_member_reports_its_return_code(exp_path: Path) -> None:
    exp = Experiment("drag", exp_path=exp_path, launcher="dragon")
    ok = exp.create_model("ok", RunSettings(exe=sys.executable, args=("-c", ECHO)))
    bad = exp.create_model(
        "bad", RunSettings(exe=sys.executable, args=("-c", ECHO), env={"EXIT_CODE": "7"})
    )
    exp.start(ok, bad, block=True)
    states = exp.states()
    assert states["ok"].status is Status.COMPLETED
    assert states["bad"].status is Status.FAILED
    assert states["bad"].returncode == 7
    assert "7" in exp.summary().splitlines()[-1]
    # the journal says so to another process
    again = Experiment.reconnect(exp_path)
    assert again.states()["bad"].returncode == 7


def test_a_missing_program_fails_its_own_member_only(exp_path: Path) -> None:
    exp = Experiment("drag", exp_path=exp_path, launcher="dragon")
    ok = exp.create_model("ok", RunSettings(exe=sys.executable, args=("-c", ECHO)))
    gone = exp.create_model("gone", RunSettings(exe="no-such-program-here"))
    exp.start(gone, ok, block=True)
    assert exp.states()["gone"].status is Status.FAILED
    assert "no-such-program-here" in str(exp.errors()["gone"])
    assert exp.states()["ok"].status is Status.COMPLETED


def test_stop_of_a_running_member_leaves_no_process(exp_path: Path) -> None:
    exp = Experiment("drag", exp_path=exp_path, launcher="dragon")
    fifo = _pids_fifo(exp_path.parent / "stopme")
    model = exp.create_model(
        "stopme", RunSettings(exe="/bin/sh", args=("-c", SLEEPER, "sh", str(fifo)))
    )
    exp.start(model, block=False)
    member, child = (int(p) for p in _read_fifo(fifo).split())
    assert _alive(member) and _alive(child)
    assert exp.get_status(model) == [Status.RUNNING]
    runtime = _runtime_pids(exp_path)
    assert runtime
    exp.stop(model)
    assert exp.get_status(model) == [Status.CANCELLED]
    assert not _alive(member) and not _alive(child)
    ps = subprocess.run(["ps", "-o", "pid=,stat=", "-p", f"{member},{child}"],
                        capture_output=True, text=True, check=False)  # fmt: skip
    assert all("Z" in line for line in ps.stdout.splitlines()), ps.stdout
    assert not [p for p in runtime if _alive(p)]  # the runtime was ours and had nothing left


CTRL_C = """
import sys
from smartsim.experiment import Experiment
from smartsim.values import RunSettings
exp = Experiment("drag", exp_path=sys.argv[1], launcher="dragon")
rs = RunSettings(exe="/bin/sh", args=("-c", sys.argv[3], "sh", sys.argv[2]))
m = exp.create_model("blocked", rs)
try:
    exp.start(m, block=True)
except KeyboardInterrupt:
    print("interrupted", exp.states()["blocked"].status, flush=True)
    raise
"""


def test_ctrl_c_of_a_blocked_start_stops_everything(exp_path: Path) -> None:
    fifo = _pids_fifo(exp_path.parent / "blocked")
    proc = subprocess.Popen(
        [sys.executable, "-c", CTRL_C, str(exp_path), str(fifo), SLEEPER],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        member, child = (int(p) for p in _read_fifo(fifo).split())
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode != 0
    assert "KeyboardInterrupt" in err
    assert out.strip() == "interrupted CANCELLED", (out, err)
    assert not _alive(member) and not _alive(child)
    again = Experiment.reconnect(exp_path)
    assert again.states()["blocked"].status is Status.CANCELLED


CRASH = """
import os, sys
from smartsim.experiment import Experiment
from smartsim.values import RunSettings
exp = Experiment("drag", exp_path=sys.argv[1], launcher="dragon")
rs = RunSettings(exe="/bin/sh", args=("-c", sys.argv[3], "sh", sys.argv[2]))
m = exp.create_model("orphan", rs)
exp.start(m, block=False)
os.kill(os.getpid(), 9)
"""


def test_status_and_stop_from_the_journal_after_a_crash(exp_path: Path) -> None:
    fifo = _pids_fifo(exp_path.parent / "orphan")
    proc = subprocess.Popen(
        [sys.executable, "-c", CRASH, str(exp_path), str(fifo), SLEEPER], cwd=ROOT
    )
    try:
        member, child = (int(p) for p in _read_fifo(fifo).split())
        assert proc.wait(timeout=120) == -9
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert _alive(member)
    status = subprocess.run(
        [sys.executable, "-m", "smartsim", "status", str(exp_path)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert "orphan" in status.stdout and "RUNNING" in status.stdout, status
    stop = subprocess.run(
        [sys.executable, "-m", "smartsim", "stop", str(exp_path)],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=180,
    )  # fmt: skip
    assert stop.returncode == 0, stop
    assert not _alive(member) and not _alive(child)
    again = Experiment.reconnect(exp_path)
    assert again.states()["orphan"].status is Status.CANCELLED


def test_without_dragon_the_launcher_says_what_to_install(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['dragon'] = None\n"
        "import smartsim\n"
        "assert 'smartsim.effects.dragon' not in sys.modules\n"
        "from smartsim.experiment import Experiment\n"
        "from smartsim.errors import SmartSimError\n"
        "try:\n"
        f"    Experiment('x', exp_path={str(tmp_path)!r}, launcher='dragon')\n"
        "except SmartSimError as exc:\n"
        "    print(type(exc.error).__name__, exc.error.install)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, cwd=ROOT)  # fmt: skip
    assert done.stdout.strip() == "MissingDependency pip install 'smartsim-wlm[dragon]'", done
    assert MissingDependency("dragon", "x").message.endswith(": x")
    assert issubclass(SmartSimError, Exception)


def test_importing_smartsim_loads_no_dragon() -> None:
    code = (
        "import sys, smartsim, smartsim.experiment\n"
        "print(sorted(m for m in sys.modules if 'dragon' in m))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


AFFINITY = (
    "import json, os, sys\n"
    "print(json.dumps(sorted(os.sched_getaffinity(0))), flush=True)\n"
)


@pytest.mark.parametrize("where", ["anywhere", "nodes=1", "localhost", "this host"])
def test_tasks_and_cpu_affinity_are_placed_as_asked(exp_path: Path, where: str) -> None:
    from smartsim.commands.dragon import dragon_run_settings

    exp = Experiment("drag", exp_path=exp_path, launcher="dragon")
    host = {"localhost": "localhost", "this host": socket.gethostname()}.get(where)
    rs = dragon_run_settings(
        sys.executable,
        ["-c", AFFINITY],
        tasks_per_node=3,
        cpu_affinity=[0],
        hostlist=[host] if host else [],
        nodes=1 if where == "nodes=1" else None,
    )
    model = exp.create_model("placed", rs)
    exp.start(model, block=True)
    assert exp.states()["placed"].status is Status.COMPLETED, exp.summary()
    lines = Path(model.path, "placed.out").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [[0]] * 3


def test_a_host_that_is_not_a_node_fails_its_member(exp_path: Path) -> None:
    from smartsim.commands.dragon import dragon_run_settings

    exp = Experiment("drag", exp_path=exp_path, launcher="dragon")
    model = exp.create_model("nowhere", dragon_run_settings("/bin/true", hostlist=["elsewhere"]))
    exp.start(model, block=True)
    assert exp.states()["nowhere"].status is Status.FAILED
    assert "'elsewhere' is not a node of this runtime" in str(exp.errors()["nowhere"])


def test_a_time_limit_ends_the_member_failed(exp_path: Path) -> None:
    exp = Experiment("drag", exp_path=exp_path, launcher="dragon")
    model = exp.create_model("slow", RunSettings(exe="/bin/sleep", args=("1000",), time=1))
    exp.start(model, block=True)
    state = exp.states()["slow"]
    assert state.status is Status.FAILED
    assert state.reason == "time limit"
    assert state.signal == signal.SIGTERM
