"""Dragon effects: start (or attach to) a Dragon runtime, hand it the planned members, follow
them, stop them. The plan is :mod:`smartsim.commands.dragon`; the runtime's head process is the
fixed driver :mod:`smartsim._dragon_driver`.

* **One runtime per start.** Every member of one ``Experiment.start`` names the same runtime
  (its socket follows from the experiment directory and the run index). The first member
  starts it — the planned ``dragon`` command in its own process group, with ``dragon``'s directory
  first on ``PATH`` (the runtime runs ``dragon-config`` from there) — and waits for the
  driver's ready line; the others are sent to the same runtime. A runtime that is already
  running under that socket (started by another process) is attached to.
* **Members run concurrently.** Each member is one ``launch`` request to the driver, which
  starts its processes and answers at once; the driver reports every exit as it happens
  (``Notifies``) and the launcher blocks in :meth:`DragonLauncher.wait` on those reports, with
  no polling of its own.
* **The runtime ends with its members.** When every member this process sent to a runtime has
  finished, the launcher closes its connection; the driver, with no client and nothing
  running, ends, and Dragon shuts down (its daemons and shared memory go with it). ``stop``
  returns once the stopped members have exited and, when the runtime was ours and has nothing
  left, once the ``dragon`` process itself has exited.
* **After a crash.** The driver appends every event to ``<state_dir>/events.jsonl``; a
  handle from the journal is answered by asking the running driver over its socket, else from
  that file, else UNKNOWN (never a guess). ``stop`` of such a handle asks the driver; if the
  driver is gone but its ``dragon`` process is not (same pid *and* start time as recorded),
  that process group is killed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import select
import shutil
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, final

import attrs
from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure, Result

from smartsim.commands.dragon import plan_dragon
from smartsim.commands.plan import Launch, World
from smartsim.effects.files import write_atomic
from smartsim.effects.launcher import Handle, wait_by_polling
from smartsim.effects.local import proc_info
from smartsim.effects.process import Child, spawn
from smartsim.errors import (
    EffectError,
    ExecutableNotFound,
    Invalid,
    MissingDependency,
    OSFailure,
    SmartSimError,
    Timeout,
)
from smartsim.status import JobState, Status
from smartsim.values import Ensemble, Model

#: How long a runtime may take to come up (its driver prints its ready line).
STARTUP_TIMEOUT: Final = 180.0
#: How long the driver may take to answer a launch request.
LAUNCH_TIMEOUT: Final = 60.0
#: How long a stop waits for the members to exit (the driver SIGKILLs after 5 s).
STOP_TIMEOUT: Final = 30.0
#: How long a stop waits for our ``dragon`` process to exit once it has nothing left.
SHUTDOWN_TIMEOUT: Final = 60.0
#: Poll interval for handles from another process's journal (no events reach us for them).
FOREIGN_POLL: Final = 1.0
READY: Final = "SMARTSIM-DRAGON-READY"
INSTALL: Final = "pip install 'smartsim-wlm[dragon]'"


def dragon_installed() -> bool:
    """Whether the ``dragon`` package (``dragonhpc``) can be imported here."""
    try:
        return importlib.util.find_spec("dragon") is not None
    except (ImportError, ValueError):
        return False


def _state(event: Mapping[str, Any]) -> JobState:
    kind = event.get("ev")
    if kind == "running":
        return JobState(Status.RUNNING, "running")
    if kind == "failed":
        return JobState(Status.FAILED, "not started", reason=str(event.get("message", "")))
    code = int(event.get("returncode", 0))
    signal_number = -code if code < 0 else None
    returncode = code if code >= 0 else None
    codes = event.get("codes", [])
    if event.get("cancelled"):
        return JobState(Status.CANCELLED, "stopped", returncode, signal_number)
    if event.get("timed_out"):
        return JobState(Status.FAILED, "time limit", returncode, signal_number, "time limit")
    if code == 0:
        return JobState(Status.COMPLETED, "exited", 0)
    return JobState(Status.FAILED, "exited", returncode, signal_number, f"exit codes {codes}")


def _hang_up(conn: socket.socket) -> None:
    """End a connection now: ``close`` alone waits for every ``makefile`` reader to be closed,
    and the driver ends only once no client is connected."""
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)
    conn.close()


def _start_time(pid: int) -> str | None:
    """The start time of ``pid`` (clock ticks after boot, as text), ``None`` if it is gone."""
    info = proc_info(pid)
    return None if info is None else str(info.start)


@attrs.define(eq=False)
class _Runtime:
    """One runtime this launcher talks to (guarded by the launcher's condition)."""

    sock: str
    state_dir: str
    process: Child | None = None
    conn: socket.socket | None = None
    ready: bool = False
    ended: bool = False
    closing: bool = False
    #: member name -> the handle of its current launch here
    members: dict[str, Handle] = attrs.field(factory=dict)
    out_thread: threading.Thread | None = None


@final
class DragonLauncher:
    """``Experiment(..., launcher="dragon")``: members run in a Dragon runtime."""

    name = "dragon"

    def __init__(self) -> None:
        if not dragon_installed():
            raise SmartSimError(MissingDependency("dragon", INSTALL))
        here = os.path.dirname(sys.executable)
        path = os.pathsep.join([here, os.environ.get("PATH", os.defpath)])
        self._dragon = shutil.which("dragon", path=path) or os.path.join(here, "dragon")
        self._cond = threading.Condition()
        self._runtimes: dict[str, _Runtime] = {}
        self._states: dict[Handle, JobState] = {}
        self._callbacks: list[Callable[[Handle, JobState], None]] = []

    # ------------------------------------------------------------------ planning

    def world(self, world: World) -> World:
        """``world`` with this installation's ``dragon`` and Python (the user's tools win)."""
        tools = {"dragon": self._dragon, "python": sys.executable, **dict(world.tools.items())}
        return attrs.evolve(world, tools=tools)

    def plan(self, entity: Model | Ensemble, world: World) -> Result[tuple[Launch, ...], Invalid]:
        return plan_dragon(entity, self.world(world))

    def watch(self, callback: Callable[[Handle, JobState], None]) -> None:
        with self._cond:
            self._callbacks.append(callback)

    # ------------------------------------------------------------------ starting

    def start(self, launch: Launch) -> IOResult[Handle, EffectError]:
        if launch.command is None or len(launch.command.argv) < 2:
            return IOFailure(OSFailure("dragon launch", f"{launch.name} has no runtime command"))
        sock, state_dir = launch.command.argv[-2], launch.command.argv[-1]
        try:
            for directory in launch.mkdirs:
                os.makedirs(directory, exist_ok=True)
            for path, text in launch.files.items():
                write_atomic(path, text.encode())
        except OSError as exc:
            return IOFailure(OSFailure("write the Dragon request", str(exc)))
        request = next(iter(launch.files))
        runtime = self._runtime(launch, sock, state_dir)
        if isinstance(runtime, EffectError):
            return IOFailure(runtime)
        handle = Handle(
            launcher=self.name,
            name=launch.name,
            job_id=f"{sock}/{launch.name}",
            extra=self._identity(runtime),
        )
        with self._cond:
            self._states.pop(handle, None)
            runtime.members[launch.name] = handle
            sent = self._send(runtime, {"op": "launch", "request": request})
            if sent is not None:
                del runtime.members[launch.name]
                return IOFailure(sent)
            try:
                answered = self._cond.wait_for(
                    lambda: handle in self._states or runtime.ended or runtime.conn is None,
                    LAUNCH_TIMEOUT,
                )
            except KeyboardInterrupt:
                self.stop([handle])
                raise
            state = self._states.get(handle)
        if state is None:
            with self._cond:
                runtime.members.pop(launch.name, None)
            if not answered:
                return IOFailure(Timeout(f"Dragon launch of {launch.name}", LAUNCH_TIMEOUT))
            return IOFailure(OSFailure("Dragon runtime", self._runtime_error(runtime)))
        if state.raw == "not started":
            with self._cond:
                runtime.members.pop(launch.name, None)
                self._release_if_idle(runtime)
                idle = runtime.closing
            if idle:  # nothing else runs there: it is ending, let it finish first
                self._join(runtime, SHUTDOWN_TIMEOUT)
            if "FileNotFoundError" in state.reason:
                return IOFailure(ExecutableNotFound(launch.command.argv[0], state.reason))
            return IOFailure(OSFailure(f"Dragon launch of {launch.name}", state.reason))
        return IOSuccess(handle)

    @staticmethod
    def _identity(runtime: _Runtime) -> tuple[tuple[str, str], ...]:
        extra = [("socket", runtime.sock), ("state_dir", runtime.state_dir)]
        if runtime.process is not None:
            started = _start_time(runtime.process.pid)
            extra.append(("runtime_pid", str(runtime.process.pid)))
            if started is not None:
                extra.append(("runtime_start", started))
        return tuple(extra)

    def _runtime(self, launch: Launch, sock: str, state_dir: str) -> _Runtime | EffectError:
        """The live runtime named ``sock``: ours, one running already, or a new one."""
        with self._cond:
            current = self._runtimes.get(sock)
            if current is not None and not current.closing and not current.ended:
                return current
        if current is not None:
            self._join(current, SHUTDOWN_TIMEOUT)  # the last one is going away: let it finish
        runtime = _Runtime(sock=sock, state_dir=state_dir)
        conn = self._connect(sock)
        if conn is None:
            error = self._spawn(runtime, launch)
            if error is not None:
                return error
            conn = self._connect(sock)
            if conn is None:
                self._kill(runtime)
                return OSFailure("connect to the Dragon driver", f"no answer on socket {sock}")
        runtime.conn = conn
        with self._cond:
            self._runtimes[sock] = runtime
        threading.Thread(
            target=self._read_events, args=(runtime, conn), daemon=True, name=f"dragon-{sock}"
        ).start()
        return runtime

    @staticmethod
    def _connect(sock: str) -> socket.socket | None:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect("\0" + sock)
        except OSError:
            conn.close()
            return None
        return conn

    def _spawn(self, runtime: _Runtime, launch: Launch) -> EffectError | None:
        """Start the planned ``dragon`` command and wait for its driver's ready call (on a
        socket of ours) or for its end — whichever comes first, no polling. Its output goes
        to files, never to a pipe of ours: the runtime must outlive this process."""
        command = launch.command
        assert command is not None
        ready_name = f"{runtime.sock}-ready-{os.getpid()}-{os.urandom(4).hex()}"
        env = dict(os.environ)
        bindir = os.path.dirname(command.argv[0])
        if bindir:
            env["PATH"] = os.pathsep.join([bindir, env.get("PATH", os.defpath)])
        env.update(command.env)
        env["SMARTSIM_DRAGON_READY"] = ready_name
        try:
            os.makedirs(runtime.state_dir, exist_ok=True)
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind("\0" + ready_name)
            listener.listen(1)
        except OSError as exc:
            return OSFailure("prepare the Dragon runtime", str(exc))
        with listener:
            try:
                with (
                    open(command.stdout or os.devnull, "ab") as out,
                    open(command.stderr or os.devnull, "ab") as err,
                ):
                    # its own process group, so a Ctrl-C at the terminal does not reach it
                    # (not its own session: Dragon 0.15 hangs at start-up as a session
                    # leader, as under `setsid`)
                    spawned = spawn(
                        command.argv, cwd=command.cwd, env=env,
                        stdout=out.fileno(), stderr=err.fileno(),
                    )  # fmt: skip
            except OSError as exc:  # opening the output files
                spawned = Failure(exc)
            if isinstance(spawned, Failure):
                error = spawned.failure()
                if isinstance(error, FileNotFoundError):
                    return ExecutableNotFound(command.argv[0], str(error))
                return OSFailure("start the Dragon runtime", str(error))
            process = spawned.unwrap()
            runtime.process = process
            thread = threading.Thread(target=self._reap, args=(runtime, process), daemon=True)
            runtime.out_thread = thread
            thread.start()
            try:
                pidfd = os.pidfd_open(process.pid)
            except OSError:
                pidfd = -1
            try:
                waits: list[Any] = [listener] + ([pidfd] if pidfd >= 0 else [])
                try:
                    readable, _, _ = select.select(waits, [], [], STARTUP_TIMEOUT)
                except KeyboardInterrupt:
                    self._abandon(runtime, listener, waits)
                    raise
                if listener in readable:
                    conn, _ = listener.accept()
                    with conn:
                        conn.settimeout(10.0)
                        line = conn.makefile("rb").readline()
                    if line.strip() == READY.encode():
                        runtime.ready = True
                        return None
            except OSError as exc:
                self._kill(runtime)
                return OSFailure("start the Dragon runtime", str(exc))
            finally:
                if pidfd >= 0:
                    os.close(pidfd)
        if process.poll() is None and not readable:
            self._kill(runtime)
            return Timeout("the Dragon runtime's start", STARTUP_TIMEOUT)
        self._join(runtime, SHUTDOWN_TIMEOUT)
        return OSFailure("start the Dragon runtime", self._runtime_error(runtime))

    def _abandon(self, runtime: _Runtime, listener: socket.socket, waits: list[Any]) -> None:
        """Ctrl-C while the runtime comes up: wait for it to be up, hang up at once (the
        driver, with no client and nothing to run, ends and Dragon shuts down cleanly), and
        wait for it to end; a second Ctrl-C kills its process group instead."""
        try:
            readable, _, _ = select.select(waits, [], [], STARTUP_TIMEOUT)
            if listener in readable:
                listener.accept()[0].close()
                conn = self._connect(runtime.sock)
                if conn is not None:
                    _hang_up(conn)
                if self._join(runtime, SHUTDOWN_TIMEOUT):
                    return
        except KeyboardInterrupt:
            pass
        self._kill(runtime)

    def _reap(self, runtime: _Runtime, process: Child) -> None:
        """Wait for our ``dragon`` process so it leaves no zombie; note its end."""
        process.wait()
        with self._cond:
            runtime.ended = True
            self._cond.notify_all()

    @staticmethod
    def _runtime_error(runtime: _Runtime) -> str:
        code = None if runtime.process is None else runtime.process.returncode
        tail = ""
        for name in ("runtime.err", "runtime.out"):
            try:
                with open(os.path.join(runtime.state_dir, name), errors="replace") as handle:
                    tail += handle.read()[-2000:]
            except OSError:
                pass
        return f"the runtime ended (exit status {code}): {tail.strip()}"

    def _send(self, runtime: _Runtime, message: Mapping[str, Any]) -> EffectError | None:
        if runtime.conn is None:
            return OSFailure("talk to the Dragon driver", "not connected")
        try:
            runtime.conn.sendall((json.dumps(message) + "\n").encode())
        except OSError as exc:
            return OSFailure("talk to the Dragon driver", str(exc))
        return None

    # ------------------------------------------------------------------ following

    def _read_events(self, runtime: _Runtime, conn: socket.socket) -> None:
        reader = conn.makefile("r", encoding="utf-8")
        with contextlib.suppress(OSError, ValueError):
            for line in reader:
                event = json.loads(line)
                if isinstance(event, dict) and event.get("ev") in ("running", "failed", "exited"):
                    self._on_event(runtime, event)
        lost: list[tuple[Handle, JobState]] = []
        with self._cond:
            if runtime.conn is conn:  # the driver hung up on us: it (or the runtime) ended
                runtime.conn = None
                runtime.closing = True
                for handle in runtime.members.values():
                    state = self._states.get(handle)
                    if state is not None and state.status.is_final:
                        continue
                    last = self._last_event(handle)
                    if last is not None and last.get("ev") in ("exited", "failed"):
                        final = _state(last)
                    else:
                        final = JobState(
                            Status.FAILED,
                            "runtime lost",
                            reason="the Dragon runtime ended before it reported this member's end",
                        )
                    self._states[handle] = final
                    lost.append((handle, final))
                callbacks = list(self._callbacks)
            else:
                callbacks = []
            self._cond.notify_all()
        for handle, final in lost:
            for callback in callbacks:
                callback(handle, final)

    def _on_event(self, runtime: _Runtime, event: Mapping[str, Any]) -> None:
        with self._cond:
            handle = runtime.members.get(str(event.get("name")))
            if handle is None:
                return
            state = _state(event)
            if self._states.get(handle) == state:
                return
            self._states[handle] = state
            callbacks = list(self._callbacks)
            self._release_if_idle(runtime)
            self._cond.notify_all()
        for callback in callbacks:
            callback(handle, state)

    def _release_if_idle(self, runtime: _Runtime) -> None:
        """(lock held) Close our connection once every member we sent has finished."""
        done = all(
            (s := self._states.get(h)) is not None and s.status.is_final
            for h in runtime.members.values()
        )
        if done and runtime.conn is not None:
            conn, runtime.conn = runtime.conn, None
            runtime.closing = True
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def _join(self, runtime: _Runtime, timeout: float) -> bool:
        """Wait until our ``dragon`` process has exited (True), or ``timeout``."""
        if runtime.process is None:
            return True
        with self._cond:
            return self._cond.wait_for(lambda: runtime.ended, timeout)

    def _kill(self, runtime: _Runtime) -> None:
        if runtime.process is not None and runtime.process.returncode is None:
            with contextlib.suppress(OSError):
                os.killpg(runtime.process.pid, signal.SIGKILL)
            self._join(runtime, SHUTDOWN_TIMEOUT)

    # ------------------------------------------------------------------ the seam

    def wait(
        self, handles: Sequence[Handle], timeout: float
    ) -> IOResult[Mapping[Handle, JobState], EffectError]:
        ours = [h for h in handles if self._known(h)]
        if len(ours) < len(handles):  # from a journal: their driver is asked once a second
            return wait_by_polling(self, handles, timeout, FOREIGN_POLL)
        deadline = time.monotonic() + timeout
        with self._cond:
            final = self._cond.wait_for(
                lambda: all(
                    (s := self._states.get(h)) is not None and s.status.is_final for h in ours
                ),
                timeout,
            )
            runtimes = {id(r): r for h in ours if (r := self._runtime_of(h)) is not None}
        if final:  # a runtime of ours with nothing left is shutting down: let it finish
            for runtime in runtimes.values():
                with self._cond:
                    idle = runtime.closing or runtime.ended
                if idle:
                    self._join(runtime, max(0.0, deadline - time.monotonic()))
        return self.poll(handles)

    def _runtime_of(self, handle: Handle) -> _Runtime | None:
        with self._cond:
            return self._runtimes.get(handle.get("socket") or "")

    def _known(self, handle: Handle) -> bool:
        with self._cond:
            runtime = self._runtimes.get(handle.get("socket") or "")
            return runtime is not None and runtime.members.get(handle.name) == handle

    def poll(self, handles: Sequence[Handle]) -> IOResult[Mapping[Handle, JobState], EffectError]:
        out: dict[Handle, JobState] = {}
        foreign: list[Handle] = []
        with self._cond:
            for handle in handles:
                state = self._states.get(handle)
                if state is not None and (state.status.is_final or self._known(handle)):
                    out[handle] = state
                elif self._known(handle):
                    out[handle] = JobState(Status.PENDING, "launching")
                else:
                    foreign.append(handle)
        for handle in foreign:
            out[handle] = self._ask(handle)
        return IOSuccess(out)

    def _ask(self, handle: Handle) -> JobState:
        """The state of a handle this process did not launch: from its driver, else from the
        driver's event file, else UNKNOWN."""
        sock = handle.get("socket") or ""
        conn = self._connect(sock) if sock else None
        if conn is not None:
            with conn:
                try:
                    conn.sendall(b'{"op": "state"}\n')
                    reader = conn.makefile("r", encoding="utf-8")
                    for line in reader:
                        event = json.loads(line)
                        if event.get("ev") == "state":
                            for member in event.get("members", []):
                                if member.get("name") == handle.name:
                                    return _state(member)
                            break
                except (OSError, ValueError):
                    pass
                finally:
                    _hang_up(conn)
        last = self._last_event(handle)
        if last is not None:
            return _state(last)
        return JobState(
            Status.UNKNOWN, "gone", reason="the Dragon runtime is gone and recorded no end"
        )

    @staticmethod
    def _last_event(handle: Handle) -> dict[str, Any] | None:
        state_dir = handle.get("state_dir")
        if not state_dir:
            return None
        last = None
        try:
            with open(os.path.join(state_dir, "events.jsonl"), encoding="utf-8") as events:
                for line in events:
                    try:
                        event = json.loads(line)
                    except ValueError:
                        continue
                    if event.get("name") == handle.name and event.get("ev") in (
                        "running",
                        "failed",
                        "exited",
                    ):
                        last = event
        except OSError:
            return None
        return last

    def stop(self, handles: Sequence[Handle]) -> IOResult[None, EffectError]:
        errors: list[EffectError] = []
        ours: list[Handle] = []
        for handle in handles:
            if self._known(handle):
                ours.append(handle)
            else:
                error = self._stop_foreign(handle)
                if error is not None:
                    errors.append(error)
        with self._cond:
            runtimes = {h.get("socket") or "": self._runtimes[h.get("socket") or ""] for h in ours}
            for handle in ours:
                state = self._states.get(handle)
                if state is None or not state.status.is_final:
                    runtime = runtimes[handle.get("socket") or ""]
                    sent = self._send(runtime, {"op": "stop", "name": handle.name})
                    if sent is not None and not runtime.ended:
                        errors.append(sent)
            gone = self._cond.wait_for(
                lambda: all(
                    ((s := self._states.get(h)) is not None and s.status.is_final)
                    or runtimes[h.get("socket") or ""].ended
                    for h in ours
                ),
                STOP_TIMEOUT,
            )
        if not gone:
            errors.append(Timeout("stopping the Dragon members", STOP_TIMEOUT))
        for runtime in runtimes.values():
            with self._cond:
                self._release_if_idle(runtime)
                idle = runtime.closing or runtime.ended
            if idle and not self._join(runtime, SHUTDOWN_TIMEOUT):
                errors.append(Timeout("the Dragon runtime's shutdown", SHUTDOWN_TIMEOUT))
        if errors:
            return IOFailure(errors[0])
        return IOSuccess(None)

    def _stop_foreign(self, handle: Handle) -> EffectError | None:
        """Stop a handle from another process's journal, through its driver if it runs."""
        sock = handle.get("socket") or ""
        conn = self._connect(sock) if sock else None
        if conn is None:
            return self._kill_recorded(handle)
        with conn:
            try:
                conn.sendall(json.dumps({"op": "stop", "name": handle.name}).encode() + b"\n")
                conn.sendall(b'{"op": "state"}\n')
                reader = conn.makefile("r", encoding="utf-8")
                deadline = time.monotonic() + STOP_TIMEOUT
                conn.settimeout(STOP_TIMEOUT)
                stopped = False
                for line in reader:
                    event = json.loads(line)
                    if (
                        event.get("name") == handle.name and event.get("ev") == "exited"
                    ) or event.get("ev") == "unknown":
                        stopped = True
                    elif event.get("ev") == "state":
                        mine = [m for m in event.get("members", []) if m.get("name") == handle.name]
                        stopped = not mine or mine[0].get("ev") == "exited"
                    if stopped or time.monotonic() > deadline:
                        break
            except (OSError, ValueError) as exc:
                return OSFailure("stop through the Dragon driver", str(exc))
            finally:
                _hang_up(conn)
        if not stopped:
            return Timeout(f"stopping {handle.name}", STOP_TIMEOUT)
        self._await_recorded(handle, SHUTDOWN_TIMEOUT)
        return None

    @staticmethod
    def _await_recorded(handle: Handle, timeout: float) -> bool:
        """Wait (on a pidfd) for the recorded ``dragon`` process to end, if it is still the
        same process; a runtime that still serves another client may outlast ``timeout``."""
        pid_text, started = handle.get("runtime_pid"), handle.get("runtime_start")
        if not pid_text or not started:
            return False
        try:
            pidfd = os.pidfd_open(int(pid_text))
        except OSError:
            return True  # already gone
        try:
            if _start_time(int(pid_text)) != started:
                return True  # that pid is another process now: ours is gone
            readable, _, _ = select.select([pidfd], [], [], timeout)
            return bool(readable)
        finally:
            os.close(pidfd)

    @staticmethod
    def _kill_recorded(handle: Handle) -> EffectError | None:
        """The driver is gone: kill the recorded ``dragon`` process group if it is the same
        process (pid and start time as the journal recorded), else there is nothing of ours."""
        pid_text, started = handle.get("runtime_pid"), handle.get("runtime_start")
        if not pid_text or not started or _start_time(int(pid_text)) != started:
            return None
        try:
            os.killpg(int(pid_text), signal.SIGKILL)
        except ProcessLookupError:
            return None
        except OSError as exc:
            return OSFailure("kill the Dragon runtime", str(exc))
        return None

    def close(self) -> None:
        """Stop every member still running and wait for our runtimes to end."""
        with self._cond:
            live = [h for r in self._runtimes.values() for h in r.members.values()]
        if live:
            self.stop(live)
        with self._cond:
            runtimes = list(self._runtimes.values())
        for runtime in runtimes:
            with self._cond:
                self._release_if_idle(runtime)
            if not self._join(runtime, SHUTDOWN_TIMEOUT):
                self._kill(runtime)


__all__ = ["INSTALL", "DragonLauncher", "dragon_installed"]
