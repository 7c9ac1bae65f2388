"""smartsim's fixed Dragon driver: the head process of a ``dragon`` runtime that smartsim starts.

Not imported by smartsim itself: ``dragon`` runs it as its program,
``python -m smartsim._dragon_driver SOCKET STATE_DIR``, inside the runtime, where the ``dragon``
package is importable. It never changes between runs; what it launches comes from the JSON
requests the plan (:mod:`smartsim.commands.dragon`) writes, one file per member, so a preview
shows exactly what runs.

Protocol: the driver listens on the abstract Unix socket ``SOCKET``; each line a client sends
is one JSON object:

* ``{"op": "launch", "request": PATH}`` — read the request file, start its processes with
  Dragon's native process API (``dragon.native.process.Process``: executable, args, cwd, env,
  stdout/stderr files, a ``Policy`` per process for host and CPU/GPU affinity);
* ``{"op": "stop", "name": NAME}`` — SIGTERM to the member's processes, SIGKILL after the grace
  period;
* ``{"op": "state"}`` — every member's current state.

Every event (``running``, ``failed``, ``exited``, ``state``) goes to every connected client as
one JSON line and is appended to ``STATE_DIR/events.jsonl``, so what happened is known after
the client (or this driver) is gone. The driver ends — and so the runtime — once no client is
connected and none of its members runs.

One thread (the main one) makes every Dragon call (Dragon's client is not safe to call from
two threads at once); it waits for exits with Global Services' ``multi_join`` in slices of
``TICK`` seconds, taking commands between slices, so an exit or a stop is seen within ``TICK``.

Each process Dragon starts is this file in ``exec`` mode (``python _dragon_driver.py exec
STDOUT STDERR EXE ARGS...``, a small supervisor): it runs the member's program in a new process
group with its output appended straight to the member's files, passes
SIGTERM/SIGINT on to that group, SIGKILLs the group after ``GRACE`` seconds, and when the
program exits kills whatever it left in its group — Dragon signals only the process it started,
so without this a program's children would outlive a stop. It exits with the program's status
(a program killed by a signal kills the supervisor with the same signal).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import socket
import sys
import threading
import time
from typing import Any

#: Longest wait in one ``multi_join`` call (seconds): the latency of a command while members run.
TICK = 0.05
#: Seconds between SIGTERM and SIGKILL when a member is stopped or reaches its time limit.
GRACE = 5.0
#: With no client ever connected after this many seconds the driver ends (its starter died).
FIRST_CLIENT = 120.0
READY = "SMARTSIM-DRAGON-READY"


class Member:
    def __init__(self, name: str) -> None:
        self.name = name
        self.procs: list[Any] = []
        self.codes: dict[int, int] = {}
        self.kill_at: float | None = None
        self.cancelled = False
        self.timed_out = False
        self.deadline: float | None = None
        self.done = False
        self.hosts: list[str | None] = []

    def running(self) -> list[int]:
        return [p.puid for p in self.procs if p.puid not in self.codes]

    def state(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "puids": [p.puid for p in self.procs]}
        if self.done:
            out["ev"] = "exited"
            out.update(self.outcome())
        else:
            out["ev"] = "running"
            out["hosts"] = self.hosts
        return out

    def outcome(self) -> dict[str, Any]:
        codes = [self.codes[p.puid] for p in self.procs]
        bad = [c for c in codes if c != 0]
        return {
            "codes": codes,
            "returncode": bad[0] if bad else 0,
            "cancelled": self.cancelled,
            "timed_out": self.timed_out,
        }


class Driver:
    def __init__(self, sock_name: str, state_dir: str) -> None:
        self.state_dir = state_dir
        self.commands: queue.Queue[tuple[Any, dict[str, Any]]] = queue.Queue()
        self.clients: set[socket.socket] = set()
        self.ever_connected = False
        self.lock = threading.Lock()
        self.members: dict[str, Member] = {}
        self.events = open(os.path.join(state_dir, "events.jsonl"), "a", encoding="utf-8")  # noqa: SIM115
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind("\0" + sock_name)
        self.server.listen(64)
        threading.Thread(target=self.accept, daemon=True).start()

    # ---------------------------------------------------------------- client side (threads)

    def accept(self) -> None:
        while True:
            conn, _ = self.server.accept()
            with self.lock:
                self.clients.add(conn)
                self.ever_connected = True
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn: socket.socket) -> None:
        reader = conn.makefile("r", encoding="utf-8")
        try:
            for line in reader:
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if isinstance(message, dict):
                    self.commands.put((conn, message))
        except OSError:
            pass
        with self.lock:
            self.clients.discard(conn)
        self.commands.put((None, {"op": "gone"}))
        with contextlib.suppress(OSError):
            conn.close()

    def emit(self, event: dict[str, Any], to: socket.socket | None = None) -> None:
        event = {"t": time.time(), **event}
        data = (json.dumps(event) + "\n").encode()
        if to is None:
            self.events.write(data.decode())
            self.events.flush()
        with self.lock:
            targets = [to] if to is not None else list(self.clients)
        for conn in targets:
            with contextlib.suppress(OSError):
                conn.sendall(data)

    # ---------------------------------------------------------------- Dragon side (main thread)

    def launch(self, path: str) -> None:
        from dragon.infrastructure.policy import Policy
        from dragon.native.machine import Node, System
        from dragon.native.process import Process

        name = "?"
        try:
            with open(path, encoding="utf-8") as handle:
                request = json.load(handle)
            name = request["name"]
            if request.get("smartsim_dragon") != 1:
                raise ValueError(f"unknown request version {request.get('smartsim_dragon')!r}")
            if name in self.members and not self.members[name].done:
                raise ValueError(f"{name} is already running in this runtime")
            hosts = self.hosts(request, lambda: [Node(h).hostname for h in System().nodes])
            exe = find_executable(request["exe"], request["cwd"], request["env"])
        except Exception as exc:
            self.emit({"ev": "failed", "name": name, "message": f"{type(exc).__name__}: {exc}"})
            return
        member = Member(name)
        member.hosts = hosts
        stderr = request["stderr"]
        if stderr == request["stdout"]:
            stderr = Process.STDOUT
        try:
            for host in hosts:
                policy = Policy(
                    placement=Policy.Placement.HOST_NAME if host else Policy.Placement.DEFAULT,
                    host_name=host or "",
                    cpu_affinity=list(request["cpu_affinity"]),
                    gpu_affinity=list(request["gpu_affinity"]),
                )
                proc = Process(
                    target=sys.executable,
                    args=(
                        os.path.abspath(__file__),
                        "exec",
                        request["stdout"],
                        "-" if stderr is Process.STDOUT else request["stderr"],
                        exe,
                        *request["args"],
                    ),
                    cwd=request["cwd"],
                    env=dict(request["env"]),
                    stdout=request["stdout"],
                    stderr=stderr,
                    policy=policy,
                )
                proc.start()
                member.procs.append(proc)
        except Exception as exc:
            for proc in member.procs:
                try:
                    proc.kill()
                    proc.join()
                except Exception:
                    pass
            self.emit({"ev": "failed", "name": name, "message": f"{type(exc).__name__}: {exc}"})
            return
        if request.get("walltime") is not None:
            member.deadline = time.monotonic() + float(request["walltime"])
        self.members[name] = member
        self.emit(member.state())

    @staticmethod
    def hosts(request: dict[str, Any], node_names: Any) -> list[str | None]:
        """The host of each process (``None``: wherever Dragon's default policy puts it);
        ``node_names()`` lists the runtime's nodes by host name."""
        ntasks = int(request["ntasks"])
        chosen: list[str] = list(request["hosts"])
        names: list[str] = []
        if chosen or request["nodes"] is not None:
            names = list(node_names())
        if chosen:
            # a single-node runtime calls its node "localhost": this machine's own names are it
            here = {socket.gethostname(), socket.getfqdn(), "localhost"}
            if len(names) == 1:
                chosen = [names[0] if h in here else h for h in chosen]
            unknown = [h for h in chosen if h not in names]
            if unknown:
                raise ValueError(
                    f"host {unknown[0]!r} is not a node of this runtime (its nodes: "
                    + ", ".join(names) + ")"
                )
        elif request["nodes"] is not None:
            if request["nodes"] > len(names):
                raise ValueError(
                    f"{request['nodes']} nodes asked for; this runtime has {len(names)}: "
                    + ", ".join(names)
                )
            chosen = names[: request["nodes"]]
        if not chosen:
            return [None] * ntasks
        per = request["tasks_per_node"] or -(-ntasks // len(chosen))
        return [chosen[min(i // per, len(chosen) - 1)] for i in range(ntasks)]

    def stop(self, member: Member) -> None:
        if member.done or member.kill_at is not None:
            return
        member.cancelled = not member.timed_out
        for proc in member.procs:
            if proc.puid not in member.codes:
                with contextlib.suppress(Exception):
                    proc.send_signal(signal.SIGTERM)
        member.kill_at = time.monotonic() + GRACE

    def tick(self) -> None:
        from dragon.globalservices.process import multi_join

        running = [(m, puid) for m in self.members.values() for puid in m.running()]
        if running:
            ended, _ = multi_join([puid for _, puid in running], timeout=TICK, join_all=False)
            owner = {puid: m for m, puid in running}
            for puid, code in ended or ():
                member = owner.get(puid)
                if member is not None:
                    member.codes[puid] = int(code)
        now = time.monotonic()
        for member in self.members.values():
            if member.done:
                continue
            if not member.running():
                member.done = True
                self.emit(member.state())
            elif member.kill_at is not None and now >= member.kill_at:
                for proc in member.procs:
                    if proc.puid not in member.codes:
                        with contextlib.suppress(Exception):
                            proc.kill()
                member.kill_at = float("inf")
            elif member.deadline is not None and now >= member.deadline:
                member.timed_out = True
                self.stop(member)

    def busy(self) -> bool:
        return any(not m.done for m in self.members.values())

    def run(self) -> int:
        print(READY, flush=True)
        ready = os.environ.get("SMARTSIM_DRAGON_READY")
        if ready:  # tell the starter at once (it waits on this socket and on our runtime)
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as tell:
                    tell.connect("\0" + ready)
                    tell.sendall((READY + "\n").encode())
            except OSError:
                pass
        started = time.monotonic()
        while True:
            timeout = 0.0 if self.busy() else 1.0
            try:
                conn, message = self.commands.get(timeout=timeout)
            except queue.Empty:
                conn, message = None, None
            while message is not None:
                self.handle(conn, message)
                try:
                    conn, message = self.commands.get_nowait()
                except queue.Empty:
                    message = None
            self.tick()
            with self.lock:
                nobody = not self.clients
                ever = self.ever_connected
            waited = time.monotonic() - started > FIRST_CLIENT
            if nobody and not self.busy() and (ever or waited):
                return 0

    def handle(self, conn: socket.socket | None, message: dict[str, Any]) -> None:
        op = message.get("op")
        if op == "launch":
            self.launch(str(message.get("request")))
        elif op == "stop":
            member = self.members.get(str(message.get("name")))
            if member is None:
                self.emit({"ev": "unknown", "name": message.get("name")}, to=conn)
            else:
                self.stop(member)
        elif op == "state":
            states = [m.state() for m in self.members.values()]
            self.emit({"ev": "state", "members": states}, to=conn)


def find_executable(exe: str, cwd: str, env: dict[str, str]) -> str:
    """``exe`` as an absolute path: as given when it holds a ``/`` (relative to ``cwd``), else
    searched in the member's ``PATH`` (its env, else the runtime's)."""
    import shutil

    if "/" in exe:
        path = os.path.join(cwd, exe)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return os.path.abspath(path)
        raise FileNotFoundError(f"no executable {exe!r} (in {cwd})")
    found = shutil.which(exe, path=env.get("PATH", os.environ.get("PATH", os.defpath)))
    if found is None:
        raise FileNotFoundError(f"no executable {exe!r} in PATH")
    return os.path.abspath(found)


def supervise(stdout: str, stderr: str, argv: list[str]) -> int:
    """``exec`` mode: run ``argv`` in its own process group and answer for all of it. The
    program writes to its files itself (``O_APPEND``): Dragon relays a process's output in
    chunks, which interleaves the lines of a member's processes in one file mid-line."""
    import subprocess

    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
    try:
        out = os.open(stdout, flags, 0o644)
        err = out if stderr == "-" else os.open(stderr, flags, 0o644)
        child = subprocess.Popen(argv, start_new_session=True, stdout=out, stderr=err)
    except OSError as exc:
        print(f"smartsim dragon: cannot run {argv[0]!r}: {exc}", file=sys.stderr, flush=True)
        return 127
    killer: list[threading.Timer] = []

    def group(sig: int) -> None:
        with contextlib.suppress(OSError):
            os.killpg(child.pid, sig)

    def forward(signum: int, _frame: object) -> None:
        group(signum)
        if not killer:
            timer = threading.Timer(GRACE, group, args=(signal.SIGKILL,))
            timer.daemon = True
            timer.start()
            killer.append(timer)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
    while True:  # wait without reaping, so the group id cannot be reused before the kill
        try:
            os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
            break
        except InterruptedError:
            continue
    group(signal.SIGKILL)  # whatever the program left behind goes with it
    code = child.wait()
    for timer in killer:
        timer.cancel()
    if code < 0:
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    return code


def main(argv: list[str]) -> int:
    if len(argv) >= 5 and argv[1] == "exec":
        return supervise(argv[2], argv[3], argv[4:])
    import faulthandler

    faulthandler.register(signal.SIGUSR1, all_threads=True)
    if len(argv) != 3:
        print("usage: python -m smartsim._dragon_driver SOCKET STATE_DIR", file=sys.stderr)
        return 2
    driver = Driver(argv[1], argv[2])
    try:
        return driver.run()
    finally:
        for member in driver.members.values():
            for proc in member.procs:
                if proc.puid not in member.codes:
                    with contextlib.suppress(Exception):
                        proc.kill()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
