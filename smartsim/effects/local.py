"""Local effects: start planned processes, track them as they exit, stop them. Linux first.

Rules this module keeps:

* **One process, one group.** Every launch runs in its own process group, and in its own
  session when this process has a controlling terminal (``new_session`` of
  :func:`smartsim.effects.process.spawn`; see
  ``LocalLauncher``'s ``new_session``), so a Ctrl-C at the terminal never reaches it and a
  stop reaches all of it: ``SIGTERM`` to the group, a grace period, then ``SIGKILL`` to the
  group. When the leader exits by itself, whatever it left running in its group is killed too
  (as Slurm does at the end of a step), so an entity's children never outlive it.
* **Output straight to files.** stdout and stderr are opened by this process with ``O_EXCL`` (a
  file of an earlier run is never opened, let alone truncated: see the history scheme in
  :mod:`smartsim.commands.plan`) and handed to the child; nothing passes through a pipe, so the
  files are complete when the process ends whatever its size.
* **Event-driven tracking.** One daemon thread per Python process waits on a ``pidfd`` per child
  with ``epoll`` (plus a timer heap for time limits); an exit is seen within microseconds and
  reaped at once, so no zombie is left. Where ``pidfd_open`` is unavailable (not Linux, or out of
  file descriptors) a small thread per process blocks in ``waitid(WNOWAIT)`` instead. There is
  no fixed polling interval anywhere.
* **Never signal a stranger.** A group is signalled only while its leader is unreaped (our own
  child) or, for a handle from the journal of an earlier process, after the pid's start time in
  ``/proc/PID/stat`` (and the boot id and host) matched what the journal recorded, checked again
  once a pidfd on it is held; from then on the pidfd tells its exit, and it is signalled only
  while it lives, when its pid cannot have been reused.
* Failures are values (:class:`~smartsim.errors.EffectError` in ``IOResult``); a program that
  cannot be started fails its own launch only.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import heapq
import itertools
import os
import select
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Final, final

import attrs
from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure, Result, Success

from smartsim.commands.local import plan_local
from smartsim.commands.plan import Launch, World
from smartsim.effects.files import write_atomic
from smartsim.effects.launcher import Handle
from smartsim.effects.process import Child, spawn
from smartsim.errors import EffectError, ExecutableNotFound, Invalid, OSFailure, Timeout
from smartsim.status import JobState, Status
from smartsim.values import Ensemble, Model

#: Seconds between SIGTERM and SIGKILL when stopping.
DEFAULT_GRACE: Final = 5.0
#: How long a stop waits for SIGKILLed processes to disappear before reporting a Timeout.
_KILL_WAIT: Final = 10.0
#: After handling exits, the reaper waits this long before looking for more (see _Reaper._run).
_COALESCE: Final = 0.002
#: ... when at least this many processes are being tracked.
_BURST: Final = 16

# --------------------------------------------------------------------------- /proc


@final
@attrs.frozen
class ProcInfo:
    """One line of the process table, from ``/proc/PID/stat`` (see proc(5)): the state letter
    (``Z`` zombie), parent, process group, session, and start time in clock ticks after boot."""

    pid: int
    state: str
    ppid: int
    pgrp: int
    session: int
    start: int


def proc_info(pid: int) -> ProcInfo | None:
    """``/proc/PID/stat`` of ``pid``, or ``None`` when there is no such process (or no /proc)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    # proc(5): "pid (comm) state ppid pgrp session ... starttime(22)"; comm may hold spaces and
    # parentheses, so split after the last ')'.
    fields = data[data.rindex(b")") + 2 :].split()
    try:
        return ProcInfo(
            pid=pid,
            state=fields[0].decode(),
            ppid=int(fields[1]),
            pgrp=int(fields[2]),
            session=int(fields[3]),
            start=int(fields[19]),
        )
    except (IndexError, ValueError):
        return None


def process_table() -> list[ProcInfo]:
    """Every process visible in ``/proc`` (an empty list where there is no /proc)."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    table = []
    for name in names:
        if name.isdigit():
            info = proc_info(int(name))
            if info is not None:
                table.append(info)
    return table


def _read_boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as handle:
            return handle.read().strip()
    except OSError:
        return ""


_BOOT_ID: Final = _read_boot_id()
_HOST: Final = os.uname().nodename


def identity(pid: int) -> tuple[tuple[str, str], ...]:
    """What identifies process ``pid`` beyond its number: start time, boot id and host."""
    info = proc_info(pid)
    start = "" if info is None else str(info.start)
    return (("start", start), ("boot", _BOOT_ID), ("host", _HOST))


def same_process(handle: Handle) -> Result[ProcInfo, str]:
    """The process behind a local ``handle`` if it is still the one that was started, else why
    not. A pid whose start time, boot id or host differs from the record is someone else's."""
    if handle.get("host") not in (None, _HOST):
        return Failure(f"started on host {handle.get('host')}, this is {_HOST}")
    if handle.get("boot") not in (None, "", _BOOT_ID):
        return Failure("the machine has rebooted since it was started")
    recorded = handle.get("start")
    if not recorded:
        return Failure("no start time was recorded, so its identity cannot be checked")
    try:
        pid = int(handle.job_id)
    except ValueError:
        return Failure(f"{handle.job_id!r} is not a process id")
    info = proc_info(pid)
    if info is None or info.state in ("Z", "X"):
        return Failure("the process has exited; its exit status was not recorded")
    if str(info.start) != recorded:
        return Failure(f"pid {pid} now belongs to another process (start time differs)")
    return Success(info)


# --------------------------------------------------------------------------- states


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _classify(returncode: int, ended_by: str | None, limit: float | None) -> JobState:
    """A status from an exit: the child's ``returncode`` (negative: killed by that signal), kept as
    the state's returncode (the convention of every launcher)."""
    code = returncode
    sig = -returncode if returncode < 0 else None
    how = f"exit code {returncode}" if sig is None else f"killed by {_signal_name(sig)}"
    if ended_by == "stop":
        return JobState(Status.CANCELLED, "stopped", code, sig, f"stopped by smartsim ({how})")
    if ended_by == "timeout":
        return JobState(
            Status.FAILED, "timeout", code, sig, f"time limit of {limit:g} s reached ({how})"
        )
    if returncode == 0:
        return JobState(Status.COMPLETED, "exited", 0)
    return JobState(Status.FAILED, "exited" if sig is None else "killed", code, sig, how)


_RUNNING: Final = JobState(Status.RUNNING, "running")


class _Proc:
    """Mutable bookkeeping for one tracked process (guarded by its launcher's lock)."""

    __slots__ = (
        "done",
        "ended_by",
        "handle",
        "launcher",
        "limit",
        "pid",
        "popen",
        "state",
    )

    def __init__(
        self,
        handle: Handle,
        pid: int,
        popen: Child | None,
        launcher: LocalLauncher,
        limit: float | None = None,
    ) -> None:
        self.handle = handle
        self.pid = pid
        self.popen = popen  # None: a process adopted from a journal, not our child
        self.launcher = launcher
        self.limit = limit
        self.state = _RUNNING
        self.ended_by: str | None = None
        self.done = False


# --------------------------------------------------------------------------- the reaper


class _Reaper:
    """The one thread that waits for exits (pidfds in an epoll set) and fires timers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._epoll = select.epoll() if hasattr(select, "epoll") else None
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        if self._epoll is not None:
            self._epoll.register(self._wake_r, select.EPOLLIN)
        self._by_fd: dict[int, _Proc] = {}
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._handled_exits = False
        self._thread = threading.Thread(target=self._run, name="smartsim-reaper", daemon=True)
        self._thread.start()

    def track(self, proc: _Proc) -> None:
        """Call ``proc.launcher._exited(proc)`` once ``proc`` has exited."""
        fd = -1
        if self._epoll is not None and hasattr(os, "pidfd_open"):
            try:
                fd = os.pidfd_open(proc.pid)
            except OSError:
                fd = -1
        if fd < 0:
            threading.Thread(target=_wait_thread, args=(proc,), daemon=True).start()
            return
        with self._lock:
            self._by_fd[fd] = proc
        assert self._epoll is not None
        self._epoll.register(fd, select.EPOLLIN)

    def at(self, when: float, action: Callable[[], None]) -> None:
        """Run ``action`` on the reaper thread at monotonic time ``when``."""
        with self._lock:
            heapq.heappush(self._timers, (when, next(self._seq), action))
        with contextlib.suppress(BlockingIOError):
            os.write(self._wake_w, b"x")

    def _next_timeout(self) -> float:
        with self._lock:
            if not self._timers:
                return -1
            return max(0.0, self._timers[0][0] - time.monotonic())

    def _due(self) -> list[Callable[[], None]]:
        now = time.monotonic()
        out = []
        with self._lock:
            while self._timers and self._timers[0][0] <= now:
                out.append(heapq.heappop(self._timers)[2])
        return out

    def _run(self) -> None:
        while True:
            timeout = self._next_timeout()
            if self._handled_exits and len(self._by_fd) >= _BURST:
                # Coalesce: when many processes are in flight (an uncapped ensemble), exits are
                # handled a few at a time, so this thread takes the GIL from the launching
                # thread once per burst rather than once per exit. It adds at most _COALESCE to
                # when an exit is told. With few in flight (max_parallel), exits are handled at
                # once: the next launch is waiting for that slot.
                time.sleep(_COALESCE)
                timeout = self._next_timeout()
            self._handled_exits = False
            if self._epoll is None:  # fallback mode: this thread only runs timers
                ready, _, _ = select.select(
                    [self._wake_r], [], [], None if timeout < 0 else timeout
                )
                events = [(fd, 0) for fd in ready]
            else:
                events = self._epoll.poll(timeout)
            for fd, _mask in events:
                if fd == self._wake_r:
                    with contextlib.suppress(BlockingIOError):
                        while os.read(self._wake_r, 512):
                            pass
                    continue
                with self._lock:
                    proc = self._by_fd.pop(fd, None)
                assert self._epoll is not None
                self._epoll.unregister(fd)
                os.close(fd)
                if proc is not None:
                    self._handled_exits = True
                    _safely(functools.partial(proc.launcher._exited, proc))
            for action in self._due():
                _safely(action)


def _safely(action: Callable[[], None]) -> None:
    """Run ``action``; a bug in a listener must not stop the tracking of every other process."""
    try:
        action()
    except Exception:
        import traceback

        traceback.print_exc()


def _wait_thread(proc: _Proc) -> None:
    """Fallback tracking: block until ``proc`` exits, without reaping it."""
    if proc.popen is not None:
        with contextlib.suppress(ChildProcessError):
            os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
    else:  # not our child: nothing to wait on but the process table
        while same_process(proc.handle).map(lambda _: True).value_or(False):
            time.sleep(0.05)
    _safely(lambda: proc.launcher._exited(proc))


_REAPER: _Reaper | None = None
_REAPER_LOCK = threading.Lock()


def _reaper() -> _Reaper:
    global _REAPER  # noqa: PLW0603 - one reaper thread per Python process, made on first use
    with _REAPER_LOCK:
        if _REAPER is None:
            _REAPER = _Reaper()
        return _REAPER


def _forget_reaper() -> None:
    global _REAPER  # noqa: PLW0603 - a forked child has no reaper thread; start afresh
    _REAPER = None


os.register_at_fork(after_in_child=_forget_reaper)


# --------------------------------------------------------------------------- errors


def _spawn_error(argv0: str, cwd: str, exc: OSError) -> EffectError:
    if exc.filename == cwd and cwd != argv0:
        return OSFailure("chdir", f"{cwd}: {exc.strerror}")
    if isinstance(exc, FileNotFoundError):
        return ExecutableNotFound(argv0, "not found" if "/" in argv0 else "not found on PATH")
    if isinstance(exc, PermissionError):
        return ExecutableNotFound(argv0, "not executable (permission denied)")
    if exc.errno == errno.ENOEXEC:
        return ExecutableNotFound(argv0, "not an executable format (a script needs a #! line)")
    return OSFailure(f"exec {argv0}", str(exc))


def _open_new(path: str) -> int:
    # O_EXCL: output of an earlier run is never opened again (history scheme).
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)


# --------------------------------------------------------------------------- the launcher


@final
class LocalLauncher:
    """Runs launches as local processes; see the module docstring for the rules.

    ``grace`` is the time between SIGTERM and SIGKILL when stopping (or at a time limit).
    ``new_session=True`` starts each process in its own session: no controlling terminal at
    all, so a program that opens ``/dev/tty`` (an ssh password prompt) fails instead of
    stopping on SIGTTIN. ``new_session=False`` uses only a new process group in the caller's
    session, which launches faster where the kernel's scheduler autogroups make ``setsid``
    expensive (+0.5-1 ms per launch on a loaded machine, ``benchmarks/bench_local.py``);
    stopping works the same either way. The default (``None``) takes a session only when this
    process has a controlling terminal: without one (batch jobs, CI, nohup), a child in our
    session has no terminal to open either, so the process group gives the same guarantees.
    ``max_parallel`` is the default cap ``Experiment.start`` puts on launches running at once
    (default: the number of CPUs this process may run on).
    """

    name = "local"
    #: Every status change of a process this launcher started is told through ``watch`` (as it
    #: happens, on the reaper thread), so ``Experiment`` need not poll for those.
    tells_every_change = True

    def __init__(
        self,
        *,
        grace: float = DEFAULT_GRACE,
        new_session: bool | None = None,
        max_parallel: int | None = None,
    ) -> None:
        self.grace = grace
        self.new_session = _has_terminal() if new_session is None else new_session
        #: ``Experiment.start``'s default cap on launches running at once (``None``: the CPUs
        #: this process may use), so a 10^4-member ensemble does not exhaust PIDs or fds.
        self.max_parallel = max_parallel if max_parallel is not None else _usable_cpus()
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._procs: dict[Handle, _Proc] = {}
        self._listeners: list[Callable[[Handle, JobState], None]] = []
        self._devnull = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            os.close(self._devnull)

    # -- Launcher protocol -------------------------------------------------------------

    def plan(self, entity: Model | Ensemble, world: World) -> Result[tuple[Launch, ...], Invalid]:
        return plan_local(entity, world)

    def watch(self, callback: Callable[[Handle, JobState], None]) -> None:
        self._listeners.append(callback)

    def start(self, launch: Launch) -> IOResult[Handle, EffectError]:
        """Spawn ``launch.command`` with its output files; RUNNING once this returns."""
        command = launch.command
        if command is None or launch.submission is not None:
            return IOFailure(
                OSFailure(f"start {launch.name}", "the local launcher cannot submit batch jobs")
            )
        created: list[str] = []
        fds: list[int] = []
        try:
            for directory in launch.mkdirs:
                if not os.path.isdir(directory):  # a stat is cheaper than mkdir's EEXIST
                    os.makedirs(directory, exist_ok=True)
            for path, text in launch.files.items():
                write_atomic(path, text.encode("utf-8"))
            fds.append(_open_new(launch.stdout))
            created.append(launch.stdout)
            if launch.stderr != launch.stdout:
                fds.append(_open_new(launch.stderr))
                created.append(launch.stderr)
        except OSError as exc:
            _close_all(fds)
            _unlink_all(created)
            return IOFailure(OSFailure(f"prepare {launch.name}", str(exc)))
        env: dict[str, str] | None = None
        if command.env:
            env = os.environ.copy()
            env.update(command.env)
        try:
            spawned = spawn(
                command.argv,
                stdin=self._devnull,
                stdout=fds[0],
                stderr=fds[-1],
                cwd=launch.cwd,
                env=env,
                new_session=self.new_session,
            )
        finally:
            _close_all(fds)
        if isinstance(spawned, Failure):
            _unlink_all(created)
            return IOFailure(_spawn_error(command.argv[0], launch.cwd, spawned.failure()))
        popen = spawned.unwrap()
        handle = Handle(
            launcher=self.name, name=launch.name, job_id=str(popen.pid), extra=identity(popen.pid)
        )
        limit = None if launch.time_limit is None else float(launch.time_limit.seconds)
        proc = _Proc(handle, popen.pid, popen, self, limit)
        with self._lock:
            self._procs[handle] = proc
        # RUNNING is told before tracking starts, so no exit can be told before it.
        self._tell(handle, _RUNNING)
        reaper = _reaper()
        reaper.track(proc)
        if limit is not None:
            reaper.at(time.monotonic() + limit, lambda: self._expire(proc))
        return IOSuccess(handle)

    def poll(self, handles: Sequence[Handle]) -> IOResult[Mapping[Handle, JobState], EffectError]:
        """Current statuses (no system call for our own processes)."""
        procs = [self._proc(h) for h in handles]
        with self._lock:
            return IOSuccess({p.handle: p.state for p in procs})

    def wait(
        self, handles: Sequence[Handle], timeout: float
    ) -> IOResult[Mapping[Handle, JobState], EffectError]:
        """Statuses once every handle is done (an exit wakes this at once) or at ``timeout``."""
        procs = [self._proc(h) for h in handles]
        with self._cond:
            self._cond.wait_for(_all_done(procs), timeout=max(0.0, timeout))
            return IOSuccess({p.handle: p.state for p in procs})

    def stop(self, handles: Sequence[Handle]) -> IOResult[None, EffectError]:
        """SIGTERM to each group, wait up to ``grace``, SIGKILL what is left; returns once all
        are gone (or a :class:`Timeout` if the kernel has not let them go after that)."""
        procs = [self._proc(h) for h in handles]
        with self._lock:
            targets = [p for p in procs if not p.done]
            for proc in targets:
                if proc.ended_by is None:
                    proc.ended_by = "stop"
                self._signal(proc, signal.SIGTERM)
        if not targets:
            return IOSuccess(None)
        with self._cond:
            if not self._cond.wait_for(lambda: all(p.done for p in targets), timeout=self.grace):
                for proc in targets:
                    if not proc.done:
                        self._signal(proc, signal.SIGKILL)
                self._cond.wait_for(lambda: all(p.done for p in targets), timeout=_KILL_WAIT)
            left = [p.handle.name for p in targets if not p.done]
        if left:
            return IOFailure(Timeout(f"stop {', '.join(left)}", self.grace + _KILL_WAIT))
        # The leaders are gone and their groups were SIGKILLed; wait for the last members to
        # die too, so that nothing of a stopped entity is alive when stop returns.
        if not _wait_groups_gone({p.pid for p in targets}, _KILL_WAIT):
            return IOFailure(
                Timeout(f"stop {', '.join(p.handle.name for p in targets)}", _KILL_WAIT)
            )
        return IOSuccess(None)

    # -- internals ------------------------------------------------------------------------

    def _tell(self, handle: Handle, state: JobState) -> None:
        for listener in self._listeners:
            _safely(functools.partial(listener, handle, state))

    def _proc(self, handle: Handle) -> _Proc:
        """Our record of ``handle``; a handle we did not start (from a journal) is adopted:
        checked against ``/proc`` and, while alive, watched through a pidfd."""
        with self._lock:
            proc = self._procs.get(handle)
        if proc is not None:
            return proc
        proc = _Proc(handle, _pid_of(handle), None, self)
        checked = same_process(handle)
        if isinstance(checked, Failure):
            proc.state = JobState(Status.UNKNOWN, "gone", reason=checked.failure())
            proc.done = True
        with self._lock:
            existing = self._procs.setdefault(handle, proc)
        if existing is proc and not proc.done:
            _reaper().track(proc)
            # The pid was checked before the pidfd was opened: check again now that it is held,
            # so the pidfd is known to refer to the recorded process.
            if isinstance(same_process(handle), Failure):
                self._exited(proc)
        return existing

    def _signal(self, proc: _Proc, sig: int) -> None:
        """Signal ``proc``'s group; called with the lock held, only while not ``done``."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)

    def _expire(self, proc: _Proc) -> None:
        with self._lock:
            if proc.done or proc.ended_by is not None:
                return
            proc.ended_by = "timeout"
            self._signal(proc, signal.SIGTERM)
        _reaper().at(time.monotonic() + self.grace, lambda: self._kill(proc))

    def _kill(self, proc: _Proc) -> None:
        with self._lock:
            if not proc.done:
                self._signal(proc, signal.SIGKILL)

    def _exited(self, proc: _Proc) -> None:
        """On the reaper thread: ``proc`` has exited (a zombie until reaped here)."""
        with self._cond:
            if proc.done:
                return
            if proc.popen is not None:
                # The leader is unreaped, so its pid (= its group id) cannot have been reused:
                # kill what it left in its group, then reap it.
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.state = _classify(proc.popen.wait(), proc.ended_by, proc.limit)
                proc.popen = None
            elif proc.ended_by == "stop":
                # An adopted leader we stopped has exited: what it left in its group goes too
                # (members keep the group id alive, so it cannot name anyone else's group).
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.state = JobState(Status.CANCELLED, "stopped", reason="stopped by smartsim")
            else:
                proc.state = JobState(
                    Status.UNKNOWN,
                    "gone",
                    reason="exited while not a child of this process; exit status not recorded",
                )
            proc.done = True
            state = proc.state
            self._cond.notify_all()
        self._tell(proc.handle, state)


def _wait_groups_gone(groups: set[int], timeout: float) -> bool:
    """Wait until no live process is in any of ``groups`` (already SIGKILLed), watching the
    stragglers' pidfds; ``True`` once they are gone. Without /proc there is nothing to see."""
    deadline = time.monotonic() + timeout
    while True:
        left = [p.pid for p in process_table() if p.pgrp in groups and p.state not in ("Z", "X")]
        remaining = deadline - time.monotonic()
        if not left:
            return True
        if remaining <= 0:
            return False
        fds = []
        for pid in left:
            with contextlib.suppress(OSError, AttributeError):
                fds.append(os.pidfd_open(pid))
        try:
            if fds:
                select.select(fds, [], [], min(remaining, 0.5))
            else:
                time.sleep(min(remaining, 0.01))
        finally:
            _close_all(fds)


def _all_done(procs: Sequence[_Proc]) -> Callable[[], bool]:
    """A predicate "every one of ``procs`` is done" that is woken once per exit: it remembers how
    far it got (a proc never becomes un-done), so N exits cost O(N) checks, not O(N^2)."""
    at = 0

    def done() -> bool:
        nonlocal at
        while at < len(procs) and procs[at].done:
            at += 1
        return at == len(procs)

    return done


def _has_terminal() -> bool:
    """Whether this process has a controlling terminal (``/dev/tty`` opens)."""
    try:
        fd = os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        return False
    os.close(fd)
    return True


def _usable_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _pid_of(handle: Handle) -> int:
    try:
        return int(handle.job_id)
    except ValueError:
        return -1


def _close_all(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def _unlink_all(paths: list[str]) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            os.unlink(path)
