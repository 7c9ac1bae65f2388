"""The journal: whole lines under concurrency, tolerant reading, replay, and crash recovery."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from returns.io import IOSuccess
from returns.unsafe import unsafe_perform_io

from smartsim import Experiment, RunSettings
from smartsim.effects import journal
from smartsim.effects.launcher import Handle
from smartsim.effects.local import LocalLauncher, identity, proc_info
from smartsim.status import JobState, Status

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")


def read_replay(path: str) -> journal.Replay:
    result = journal.replay(path)
    assert isinstance(result, IOSuccess), result
    replayed = unsafe_perform_io(result.unwrap())
    assert isinstance(replayed, journal.Replay)
    return replayed


def wait_until(predicate: object, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def alive(pid: int) -> bool:
    info = proc_info(pid)
    return info is not None and info.state not in ("Z", "X")


# --------------------------------------------------------------------------- writing

WRITER = textwrap.dedent(
    """
    import sys
    from smartsim.effects.journal import Journal
    j = Journal(sys.argv[1])
    for i in range(int(sys.argv[3])):
        j.append({"writer": sys.argv[2], "i": i, "pad": "x" * (i * 997 % 90000)})
    """
)


def test_concurrent_writers_never_interleave_lines(tmp_path: Path) -> None:
    """Threads and processes appending large records at once leave only whole JSON lines."""
    path = str(tmp_path / "journal.jsonl")
    count = 150
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, path, f"p{k}", str(count)])
        for k in range(2)
    ]
    shared = journal.Journal(path)

    def write(name: str) -> None:
        for i in range(count):
            shared.append({"writer": name, "i": i, "pad": "y" * (i * 1499 % 120000)})

    threads = [threading.Thread(target=write, args=(f"t{k}",)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for p in procs:
        assert p.wait(60) == 0
    lines = Path(path).read_bytes().split(b"\n")
    assert lines[-1] == b""
    records = [json.loads(line) for line in lines[:-1]]
    seen: dict[str, list[int]] = {}
    for record in records:
        seen.setdefault(record["writer"], []).append(record["i"])
    assert seen == {w: list(range(count)) for w in ("p0", "p1", "t0", "t1", "t2")}


# --------------------------------------------------------------------------- reading


@given(
    st.lists(
        st.one_of(
            st.text(max_size=40),
            st.sampled_from(
                [
                    '{"event":"status"}',
                    "{",
                    "[]",
                    '{"event":"launch"}',
                    '{"event":"launch","name":"a","job_id":"1"}',
                    '{"event":"status","name":"a","job_id":"1","status":"BOGUS"}',
                ]
            ),
        ),
        max_size=12,
    )
)
def test_any_text_replays_without_raising(lines: list[str]) -> None:
    """parse_journal reads any lines; what it cannot use it counts as skipped."""
    replayed = journal.parse_journal(lines)
    assert replayed.skipped >= 0
    assert all(isinstance(e.state, JobState) for e in replayed.entries)


def _launch(name: str, job_id: str | None, t: float = 1.0, **extra: object) -> str:
    record = {
        "event": "launch",
        "t": t,
        "name": name,
        "kind": "Model",
        "launcher": "local",
        "job_id": job_id,
        **extra,
    }
    return json.dumps(record)


def _status(name: str, job_id: str, status: str, t: float = 2.0, **extra: object) -> str:
    return json.dumps(
        {"event": "status", "t": t, "name": name, "job_id": job_id, "status": status, **extra}
    )


def test_replay_rules() -> None:
    """Latest launch per name; the first final status wins; a stop ends CANCELLED; a torn line
    is skipped; a launch that failed to start is FAILED with its error."""
    lines = [
        json.dumps({"event": "open", "experiment": "exp", "launcher": "local"}),
        _launch("a", "10"),
        _status("a", "10", "RUNNING"),
        _status("a", "10", "COMPLETED", returncode=0, t=3.0),
        _status("a", "10", "RUNNING"),  # late, non-final: ignored
        _status("a", "10", "FAILED", returncode=1),  # second final: ignored
        _launch("b", "11"),
        _status("b", "11", "RUNNING"),
        json.dumps({"event": "stop", "name": "b", "job_id": "11"}),
        _status("b", "11", "FAILED", signal=15, raw="killed"),
        _launch("c", None, error="cannot run 'x': not found on PATH"),
        _launch("d", "12"),
        _status("d", "12", "COMPLETED", returncode=0),
        _launch("d", "13"),  # relaunch: only the new one counts
        _status("d", "12", "FAILED"),  # about the old launch: ignored
        _status("d", "13", "RUNNING"),
        '{"event": "status", "name": "d", "job_id": "13", "sta',
    ]
    replayed = journal.parse_journal(lines)
    assert (replayed.experiment, replayed.launcher, replayed.skipped) == ("exp", "local", 1)
    assert replayed.statuses() == {
        "a": Status.COMPLETED,
        "b": Status.CANCELLED,
        "c": Status.FAILED,
        "d": Status.RUNNING,
    }
    by_name = {e.name: e for e in replayed.entries}
    assert by_name["a"].ended == 3.0 and by_name["a"].state.returncode == 0
    assert by_name["b"].state.signal == 15
    assert "not found" in by_name["c"].state.reason and by_name["c"].handle is None
    assert [e.name for e in replayed.running()] == ["d"]


# --------------------------------------------------------------------------- experiments


@linux_only
def test_journal_replays_to_the_same_final_statuses(tmp_path: Path) -> None:
    """Completed, failed, signalled, timed-out, stopped and unstartable entities replay alike."""
    exp = Experiment("replay", exp_path=tmp_path / "exp", launcher=LocalLauncher(grace=0.5))
    models = [
        exp.create_model("ok", RunSettings(exe="true")),
        exp.create_model("exit3", RunSettings(exe="sh", args=("-c", "exit 3"))),
        exp.create_model("killed", RunSettings(exe="sh", args=("-c", "kill -9 $$"))),
        exp.create_model("slow", RunSettings(exe="sleep", args=("30",), time=1)),
        exp.create_model("missing", RunSettings(exe="no-such-program-smartsim")),
    ]
    stopped = exp.create_model("stopped", RunSettings(exe="sleep", args=("30",)))
    exp.start(stopped, block=False)
    exp.start(*models, block=True)
    exp.stop(stopped)
    replayed = read_replay(str(tmp_path / "exp"))
    assert replayed.statuses() == {name: s.status for name, s in exp.states().items()}
    assert {e.name: (e.state.returncode, e.state.signal) for e in replayed.entries} == {
        name: (s.returncode, s.signal) for name, s in exp.states().items()
    }
    assert replayed.statuses() == {
        "stopped": Status.CANCELLED,
        "ok": Status.COMPLETED,
        "exit3": Status.FAILED,
        "killed": Status.FAILED,
        "slow": Status.FAILED,
        "missing": Status.FAILED,
    }


CRASHER = textwrap.dedent(
    """
    import os, sys
    from smartsim import Experiment, RunSettings
    exp = Experiment("crash", exp_path=sys.argv[1])
    ens = exp.create_ensemble(
        "s", run_settings=RunSettings(exe="sh", args=("-c", "sleep 60 & wait")), replicas=2
    )
    done = exp.create_model("done", RunSettings(exe="true"))
    exp.start(done, block=True)
    exp.start(ens, block=False)
    os._exit(17)  # a crash: nothing is cleaned up
    """
)


@linux_only
def test_after_a_crash_the_journal_stops_what_still_runs(tmp_path: Path) -> None:
    """After the launching process died, reconnect() shows what runs and stop() ends it."""
    exp_dir = tmp_path / "exp"
    crashed = subprocess.run([sys.executable, "-c", CRASHER, str(exp_dir)], check=False, timeout=60)
    assert crashed.returncode == 17
    replayed = read_replay(str(exp_dir))
    assert replayed.statuses() == {
        "done": Status.COMPLETED,
        "s_0": Status.RUNNING,
        "s_1": Status.RUNNING,
    }
    pids = [int(e.handle.job_id) for e in replayed.running() if e.handle is not None]
    assert all(alive(pid) for pid in pids)

    again = Experiment.reconnect(exp_dir)
    assert again.get_status() == [Status.COMPLETED, Status.RUNNING, Status.RUNNING]
    before = Path(journal.journal_path(str(exp_dir))).read_bytes()
    assert "s_0" in again.summary()
    assert Path(journal.journal_path(str(exp_dir))).read_bytes() == before  # reading writes nothing
    again.stop()
    assert not any(alive(pid) for pid in pids)
    assert again.get_status() == [Status.COMPLETED, Status.CANCELLED, Status.CANCELLED]
    assert read_replay(str(exp_dir)).statuses() == {
        "done": Status.COMPLETED,
        "s_0": Status.CANCELLED,
        "s_1": Status.CANCELLED,
    }
    # their shells' children went with them (the whole group was signalled); each leader's pid
    # is its group's id, and its session's when it has one
    sessions = {int(e.handle.job_id) for e in replayed.running() if e.handle is not None}
    from smartsim.effects.local import process_table

    left = [p for p in process_table() if sessions & {p.session, p.pgrp}]
    assert not [p for p in left if p.state not in ("Z", "X")]


@linux_only
def test_a_journal_driven_stop_never_signals_a_reused_pid(tmp_path: Path) -> None:
    """A recorded pid now held by another process (other start time or boot) is left alone."""
    exp_dir = tmp_path / "exp"
    strangers = [subprocess.Popen(["sleep", "60"], start_new_session=True) for _ in range(2)]
    try:
        lines = [json.dumps({"event": "open", "experiment": "old", "launcher": "local"})]
        for n, proc in enumerate(strangers):
            real = dict(identity(proc.pid))
            extra = [["start", real["start"]], ["boot", real["boot"]], ["host", real["host"]]]
            if n == 0:
                extra[0][1] = str(int(real["start"]) - 100)  # an older process had this pid
            else:
                extra[1][1] = "another-boot"
            lines.append(_launch(f"m{n}", str(proc.pid), argv=["sleep", "60"], extra=extra))
            lines.append(_status(f"m{n}", str(proc.pid), "RUNNING"))
        exp_dir.mkdir()
        Path(journal.journal_path(str(exp_dir))).write_text("\n".join(lines) + "\n")

        again = Experiment.reconnect(exp_dir)
        assert again.get_status() == [Status.UNKNOWN, Status.UNKNOWN]
        again.stop()
        time.sleep(0.2)
        assert all(p.poll() is None for p in strangers)  # never signalled
        reasons = [s.reason for s in again.states().values()]
        assert "another process" in reasons[0] and "rebooted" in reasons[1]
    finally:
        for proc in strangers:
            proc.kill()
            proc.wait()


@linux_only
def test_ctrl_c_during_a_blocking_start_stops_what_was_started(tmp_path: Path) -> None:
    """SIGINT to a script blocked in start() stops its entities, then KeyboardInterrupt ends it."""
    script = textwrap.dedent(
        """
        import sys
        from smartsim import Experiment, RunSettings
        exp = Experiment("ctrlc", exp_path=sys.argv[1])
        ens = exp.create_ensemble(
            "s", run_settings=RunSettings(exe="sh", args=("-c", "sleep 60 & wait")), replicas=3
        )
        exp.start(ens, block=True, max_parallel=3)
        """
    )
    exp_dir = tmp_path / "exp"
    proc = subprocess.Popen([sys.executable, "-c", script, str(exp_dir)], stderr=subprocess.PIPE)
    try:

        def three_running() -> bool:
            if not Path(journal.journal_path(str(exp_dir))).exists():
                return False
            return list(read_replay(str(exp_dir)).statuses().values()) == [Status.RUNNING] * 3

        assert wait_until(three_running)
        pids = [int(e.handle.job_id) for e in read_replay(str(exp_dir)).running() if e.handle]
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode != 0 and b"KeyboardInterrupt" in err
        assert not any(alive(pid) for pid in pids)
        assert set(read_replay(str(exp_dir)).statuses().values()) == {Status.CANCELLED}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_handles_round_trip_through_the_journal() -> None:
    """A launch record gives back the same handle (job id and identity) on replay."""
    from smartsim.commands._types import Command
    from smartsim.commands.plan import Launch

    handle = Handle(
        launcher="local",
        name="m",
        job_id="42",
        extra=(("start", "7"), ("boot", "b"), ("host", "h")),
    )
    launch = Launch(
        name="m",
        kind="Model",
        members=("m",),
        cwd="/e",
        stdout="/e/m.out",
        stderr="/e/m.err",
        command=Command(argv=("echo", "é x")),
    )
    record = journal.launch_record(
        t=1.0, session="s", launcher="local", launch=launch, handle=handle, run_index=2
    )
    (entry,) = journal.parse_journal([journal.encode(record).decode()]).entries
    assert entry.handle == handle
    assert (entry.argv, entry.run_index, entry.stdout) == (("echo", "é x"), 2, "/e/m.out")
    assert os.sep == "/"  # the journal stores POSIX paths as given
