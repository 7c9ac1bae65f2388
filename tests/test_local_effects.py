"""The local effects against real processes: output files, statuses, stop, time limits.

Processes are checked in the process table (``/proc``). Note for this test machine: its pid 1
does not reap orphans, so a grandchild killed after its parent died stays a zombie whose parent
is pid 1 — dead, and not ours to reap; the tests count live processes and our own zombies.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from returns.io import IOFailure, IOResult, IOSuccess
from returns.unsafe import unsafe_perform_io

from smartsim.commands.local import plan_model
from smartsim.commands.plan import Launch, World
from smartsim.effects.launcher import Handle
from smartsim.effects.local import LocalLauncher, ProcInfo, identity, proc_info, process_table
from smartsim.errors import EffectError, ExecutableNotFound
from smartsim.status import JobState, Status
from smartsim.values import Model, RunSettings

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")


def launch(tmp: Path, name: str, exe: str, *args: str, time_limit: int | None = None) -> Launch:
    rs = RunSettings(exe=exe, args=args, time=time_limit)
    model = Model(name=name, run_settings=rs, path=str(tmp / name))
    return plan_model(model, World(exp_path=str(tmp)))


def ok(result: IOResult[Handle, EffectError]) -> Handle:
    assert isinstance(result, IOSuccess), result
    handle = unsafe_perform_io(result.unwrap())
    assert isinstance(handle, Handle)
    return handle


def final(launcher: LocalLauncher, handle: Handle, timeout: float = 20) -> JobState:
    states = unsafe_perform_io(launcher.wait([handle], timeout).unwrap())
    assert states[handle].status.is_final, states[handle]
    return states[handle]


def alive_in_session(session: int) -> list[ProcInfo]:
    return [p for p in process_table() if p.session == session and p.state not in ("Z", "X")]


def alive_in_group(group: int) -> list[ProcInfo]:
    return [p for p in process_table() if p.pgrp == group and p.state not in ("Z", "X")]


def our_zombies() -> list[ProcInfo]:
    return [p for p in process_table() if p.ppid == os.getpid() and p.state == "Z"]


def wait_until(predicate: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


@pytest.fixture
def launcher() -> Iterator[LocalLauncher]:
    lau = LocalLauncher(grace=0.5, new_session=True)  # alive_in_session() needs own sessions
    yield lau
    running = [
        h
        for h, s in unsafe_perform_io(lau.poll(list(lau._procs)).unwrap()).items()
        if not s.status.is_final
    ]
    lau.stop(running)


def test_statuses_follow_exit_codes(tmp_path: Path, launcher: LocalLauncher) -> None:
    """Exit 0 is COMPLETED; exit 3 is FAILED with return code 3; each writes its own files."""
    good = ok(launcher.start(launch(tmp_path, "good", "sh", "-c", "echo out; echo err >&2")))
    bad = ok(launcher.start(launch(tmp_path, "bad", "sh", "-c", "exit 3")))
    assert final(launcher, good) == JobState(Status.COMPLETED, "exited", 0)
    state = final(launcher, bad)
    assert (state.status, state.returncode, state.signal) == (Status.FAILED, 3, None)
    assert (tmp_path / "good" / "good.out").read_text() == "out\n"
    assert (tmp_path / "good" / "good.err").read_text() == "err\n"
    assert our_zombies() == []


def test_sigkilled_member_is_failed_with_its_signal(
    tmp_path: Path, launcher: LocalLauncher
) -> None:
    """A process killed by SIGKILL from outside ends FAILED with signal 9; its sibling runs on."""
    victim = ok(launcher.start(launch(tmp_path, "victim", "sleep", "60")))
    sibling = ok(launcher.start(launch(tmp_path, "sibling", "sleep", "60")))
    os.kill(int(victim.job_id), signal.SIGKILL)
    state = final(launcher, victim)
    want = (Status.FAILED, signal.SIGKILL, -signal.SIGKILL)
    assert (state.status, state.signal, state.returncode) == want
    assert "SIGKILL" in state.reason
    assert unsafe_perform_io(launcher.poll([sibling]).unwrap())[sibling].status is Status.RUNNING


def test_missing_executable_fails_only_its_own_launch(
    tmp_path: Path, launcher: LocalLauncher
) -> None:
    """A missing or non-executable program is an ExecutableNotFound for that launch only."""
    script = tmp_path / "not-executable.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o644)
    before = ok(launcher.start(launch(tmp_path, "before", "true")))
    missing = launcher.start(launch(tmp_path, "missing", "no-such-program-smartsim"))
    noexec = launcher.start(launch(tmp_path, "noexec", str(script)))
    after = ok(launcher.start(launch(tmp_path, "after", "true")))
    for result, reason in ((missing, "not found on PATH"), (noexec, "not executable")):
        assert isinstance(result, IOFailure)
        error = unsafe_perform_io(result.failure())
        assert isinstance(error, ExecutableNotFound)
        assert reason in error.reason
    assert final(launcher, before).status is Status.COMPLETED
    assert final(launcher, after).status is Status.COMPLETED
    assert not (tmp_path / "missing" / "missing.out").exists()


@pytest.mark.parametrize("new_session", [True, False], ids=["session", "group"])
def test_stop_leaves_no_process_and_no_zombie(tmp_path: Path, new_session: bool) -> None:
    """stop ends the whole process group (children too) and reaps the leader: CANCELLED."""
    launcher = LocalLauncher(grace=0.5, new_session=new_session)
    handle = ok(
        launcher.start(
            launch(tmp_path, "tree", "sh", "-c", "sleep 60 & sleep 60 & echo started; wait")
        )
    )
    pid = int(handle.job_id)
    info = proc_info(pid)
    assert info is not None and info.pgrp == pid
    assert (info.session == pid) is new_session
    assert wait_until(lambda: len(alive_in_group(pid)) == 3)
    assert isinstance(launcher.stop([handle]), IOSuccess)
    state = unsafe_perform_io(launcher.poll([handle]).unwrap())[handle]
    assert state.status is Status.CANCELLED
    assert alive_in_group(pid) == []
    assert proc_info(pid) is None  # the leader is reaped, not a zombie
    assert our_zombies() == []


def test_a_failing_listener_does_not_stop_tracking(tmp_path: Path, launcher: LocalLauncher) -> None:
    """An exception in a status listener is reported, and every exit is still tracked."""

    def broken(handle: Handle, state: JobState) -> None:
        raise RuntimeError("listener bug")

    launcher.watch(broken)
    handles = [ok(launcher.start(launch(tmp_path, f"l{i}", "true"))) for i in range(3)]
    assert [final(launcher, h).status for h in handles] == [Status.COMPLETED] * 3


def test_stop_escalates_to_sigkill_after_the_grace(tmp_path: Path, launcher: LocalLauncher) -> None:
    """A process that ignores SIGTERM is SIGKILLed once the grace period has passed."""
    code = (
        "import signal,time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
        "print(1, flush=True); time.sleep(60)"
    )
    handle = ok(launcher.start(launch(tmp_path, "stubborn", sys.executable, "-c", code)))
    out = tmp_path / "stubborn" / "stubborn.out"
    assert wait_until(lambda: out.read_text() == "1\n")
    t0 = time.monotonic()
    assert isinstance(launcher.stop([handle]), IOSuccess)
    elapsed = time.monotonic() - t0
    state = unsafe_perform_io(launcher.poll([handle]).unwrap())[handle]
    assert (state.status, state.signal) == (Status.CANCELLED, signal.SIGKILL)
    assert launcher.grace <= elapsed < launcher.grace + 5
    assert alive_in_session(int(handle.job_id)) == []


def test_children_die_with_the_entity(tmp_path: Path, launcher: LocalLauncher) -> None:
    """What a leader leaves running in its group is killed when the leader exits."""
    handle = ok(launcher.start(launch(tmp_path, "leaver", "sh", "-c", "sleep 60 & exit 0")))
    assert final(launcher, handle).status is Status.COMPLETED
    assert wait_until(lambda: alive_in_session(int(handle.job_id)) == [])


def test_time_limit_is_enforced(tmp_path: Path, launcher: LocalLauncher) -> None:
    """A direct launch past its time limit is stopped and ends FAILED with the reason."""
    t0 = time.monotonic()
    handle = ok(launcher.start(launch(tmp_path, "slow", "sleep", "60", time_limit=1)))
    state = final(launcher, handle)
    assert time.monotonic() - t0 < 5
    assert (state.status, state.raw, state.signal) == (Status.FAILED, "timeout", signal.SIGTERM)
    assert "time limit" in state.reason


def test_ten_megabytes_per_member_arrive_complete(tmp_path: Path, launcher: LocalLauncher) -> None:
    """Output of 10 MB on stdout and on stderr per member is complete in its files."""
    size = 10 * 1024 * 1024
    script = f"head -c {size} /dev/zero; head -c {size} /dev/zero | tr '\\0' e >&2"
    handles = [
        ok(launcher.start(launch(tmp_path, f"big{i}", "sh", "-c", script))) for i in range(3)
    ]
    for i, handle in enumerate(handles):
        assert final(launcher, handle).status is Status.COMPLETED
        out = (tmp_path / f"big{i}" / f"big{i}.out").read_bytes()
        err = (tmp_path / f"big{i}" / f"big{i}.err").read_bytes()
        assert len(out) == size and out.count(0) == size
        assert len(err) == size and err.count(b"e") == size


def test_existing_output_is_never_opened(tmp_path: Path, launcher: LocalLauncher) -> None:
    """A launch whose output file already exists fails instead of truncating it."""
    first = launch(tmp_path, "once", "echo", "first")
    assert final(launcher, ok(launcher.start(first))).status is Status.COMPLETED
    again = launcher.start(first)
    assert isinstance(again, IOFailure)
    assert (tmp_path / "once" / "once.out").read_text() == "first\n"


def test_exit_is_seen_without_polling(tmp_path: Path, launcher: LocalLauncher) -> None:
    """The status changes within a few milliseconds of the exit (event-driven, no tick)."""
    seen: dict[str, float] = {}

    def note(handle: Handle, state: JobState) -> None:
        if state.status.is_final:
            seen.setdefault(handle.name, time.time())

    launcher.watch(note)
    code = (
        "import os,sys,time; time.sleep(0.3); sys.stdout.write(repr(time.time()));"
        "sys.stdout.flush(); os._exit(0)"
    )
    handle = ok(launcher.start(launch(tmp_path, "timed", sys.executable, "-c", code)))
    final(launcher, handle)
    exited = float((tmp_path / "timed" / "timed.out").read_text())
    assert seen["timed"] - exited < 0.5  # generous for a loaded machine; the benchmark reports it


def test_a_reused_pid_is_never_signalled(tmp_path: Path, launcher: LocalLauncher) -> None:
    """A handle whose pid now belongs to another process (start time differs) is not signalled."""
    import subprocess

    stranger = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        real = dict(identity(stranger.pid))
        forged = Handle(
            launcher="local",
            name="old",
            job_id=str(stranger.pid),
            extra=(
                ("start", str(int(real["start"]) - 5)),
                ("boot", real["boot"]),
                ("host", real["host"]),
            ),
        )
        state = unsafe_perform_io(launcher.poll([forged]).unwrap())[forged]
        assert state.status is Status.UNKNOWN and "another process" in state.reason
        assert isinstance(launcher.stop([forged]), IOSuccess)
        time.sleep(0.2)
        assert stranger.poll() is None  # still alive: never signalled
    finally:
        stranger.kill()
        stranger.wait()


def test_a_recorded_process_is_adopted_and_stopped(tmp_path: Path) -> None:
    """A handle recorded by another launcher (same pid and start time) can be polled and stopped."""
    first = LocalLauncher(grace=0.5)
    handle = ok(first.start(launch(tmp_path, "adopt", "sleep", "60")))
    other = LocalLauncher(grace=0.5)
    assert unsafe_perform_io(other.poll([handle]).unwrap())[handle].status is Status.RUNNING
    assert isinstance(other.stop([handle]), IOSuccess)
    assert unsafe_perform_io(other.poll([handle]).unwrap())[handle].status is Status.CANCELLED
    # the launcher that started it reaps it and sees the signal
    state = final(first, handle)
    assert state.signal == signal.SIGTERM
    assert our_zombies() == []
