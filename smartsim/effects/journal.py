"""The experiment journal: what was launched, how it went, what was stopped — one JSON object
per line in ``<exp_path>/journal.jsonl``, so a person or a later process can see what ran and
clean up after a crash.

Writing: each record is one ``os.write`` of a whole line on a descriptor opened with
``O_APPEND``; the kernel appends it at the end in one piece, so records of concurrent writers
(threads, or several processes on one experiment) never interleave, and a record is out of
this process as soon as ``append`` returns (nothing is buffered in Python).

Records (``"v": 1``; ``t`` is Unix time in seconds; ``session`` names the writing process):

* ``{"event": "open", "experiment", "launcher", "pid", "host"}`` — a process starts writing;
* ``{"event": "launch", "name", "kind", "members", "launcher", "job_id", "extra", "argv",
  "env", "cwd", "stdout", "stderr", "script", "run_index"}`` — ``extra`` is the handle's identity
  (for a local process its start time from ``/proc/PID/stat``, the boot id and the host); a
  launch that could not start has ``"job_id": null`` and ``"error"``;
* ``{"event": "status", "name", "job_id", "status", "raw", "returncode", "signal", "reason"}``
  plus, when known, ``"step_id"`` (the id the scheduler knows the run by, e.g. Slurm's
  ``296.0``; ``job_id`` stays the launch's identity) and the scheduler's own ``"start"`` /
  ``"end"`` (Unix seconds); ``t`` is when this process saw the change (at most one poll
  interval late);
* ``{"event": "stop", "name", "job_id"}`` — smartsim asked it to stop;
* ``{"event": "allocation", "name", "job_id", "launcher", "pid", "owner"}`` — an allocation was
  obtained (``get_slurm_allocation(exp_path=...)``, a spec's ``[allocation]`` in
  ``smartsim run``, ``Experiment.get_allocation``) by process ``pid``, whose identity
  (``/proc`` start time, boot id, host) is ``owner``;
* ``{"event": "release", "job_id"}`` — that allocation was released.

Reading (:func:`parse_journal`, :func:`replay`): for each name the latest launch counts; its
status is the last one recorded, except that a final status is never replaced by a later
non-final one, the first final status wins, and a launch that was asked to stop ends CANCELLED
(unless its time limit had already ended it). Its start is the scheduler's ``start``, else the
``t`` of its first RUNNING record, else its launch; its end the scheduler's ``end``, else the
``t`` of its final record -- never the time the journal is read. Allocations are listed in
the order obtained, each with when (if ever) it was released.
Lines that do not parse (a torn last line after a crash) are counted and skipped.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Mapping
from typing import Any, Final, final

import attrs
from returns.io import IOFailure, IOResult, IOSuccess

from smartsim.commands.plan import Launch
from smartsim.effects.launcher import Handle
from smartsim.errors import EffectError, OSFailure
from smartsim.status import JobState, Status

#: The journal's file name inside the experiment directory.
JOURNAL_FILE: Final = "journal.jsonl"
VERSION: Final = 1


def journal_path(exp_path: str) -> str:
    """Where the journal of the experiment in ``exp_path`` lives."""
    return os.path.join(exp_path, JOURNAL_FILE)


# --------------------------------------------------------------------------- records (pure)


def _record(event: str, t: float, session: str, **fields: Any) -> dict[str, Any]:
    """A record: the version, the event, when, which session wrote it, then its own fields."""
    return {"v": VERSION, "event": event, "t": t, "session": session, **fields}


def open_record(
    *, t: float, session: str, experiment: str, launcher: str, pid: int, host: str
) -> dict[str, Any]:
    return _record("open", t, session, experiment=experiment, launcher=launcher, pid=pid, host=host)


def launch_record(
    *,
    t: float,
    session: str,
    launcher: str,
    launch: Launch,
    handle: Handle | None,
    run_index: int,
    error: EffectError | None = None,
) -> dict[str, Any]:
    command = launch.command
    record = _record(
        "launch", t, session,
        name=launch.name,
        kind=launch.kind,
        members=list(launch.members),
        launcher=launcher,
        job_id=None if handle is None else handle.job_id,
        extra=[] if handle is None else [list(pair) for pair in handle.extra],
        argv=None if command is None else list(command.argv),
        env={} if command is None else dict(command.env.items()),
        cwd=launch.cwd,
        stdout=launch.stdout,
        stderr=launch.stderr,
        script=None if launch.submission is None else launch.submission.script,
        run_index=run_index,
    )  # fmt: skip
    if launch.submission is not None:
        record["submit"] = list(launch.submission.submit.argv)
    if error is not None:
        record["error"] = error.message
        record["error_type"] = type(error).__name__
    return record


def status_record(
    t: float,
    session: str,
    name: str,
    job_id: str | None,
    state: JobState,
    *,
    member: str | None = None,
) -> dict[str, Any]:
    record = _record(
        "status", t, session, name=name, job_id=job_id, status=state.status.value,
        raw=state.raw, returncode=state.returncode, signal=state.signal, reason=state.reason,
    )  # fmt: skip
    if member is not None:
        record["member"] = member  # a member of batch launch ``name``, followed by its step
    if state.job_id and state.job_id != job_id:
        record["step_id"] = state.job_id
    if state.start is not None:
        record["start"] = state.start
    if state.end is not None:
        record["end"] = state.end
    return record


def stop_record(t: float, session: str, name: str, job_id: str) -> dict[str, Any]:
    return _record("stop", t, session, name=name, job_id=job_id)


def allocation_record(
    *,
    t: float,
    session: str,
    name: str,
    job_id: str,
    launcher: str,
    pid: int,
    owner: Iterable[tuple[str, str]],
) -> dict[str, Any]:
    return _record(
        "allocation", t, session, name=name, job_id=job_id, launcher=launcher, pid=pid,
        owner=[list(pair) for pair in owner],
    )  # fmt: skip


def release_record(t: float, session: str, job_id: str) -> dict[str, Any]:
    return _record("release", t, session, job_id=job_id)


def encode(record: Mapping[str, Any]) -> bytes:
    """One journal line (compact JSON, UTF-8, newline-terminated)."""
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str)
    return (text + "\n").encode("utf-8", "surrogateescape")


# --------------------------------------------------------------------------- writing


@final
class Journal:
    """An append-only journal file, opened on first use."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        self._lock = threading.Lock()

    def append(self, record: Mapping[str, Any]) -> IOResult[None, EffectError]:
        """Append ``record`` as one line with one ``write`` (see the module docstring)."""
        line = encode(record)
        try:
            with self._lock:
                if self._fd is None:
                    os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
                    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
                    self._fd = os.open(self.path, flags, 0o644)
                written = os.write(self._fd, line)
                while written < len(line):  # regular files write whole lines; be safe anyway
                    written += os.write(self._fd, line[written:])
        except OSError as exc:
            return IOFailure(OSFailure(f"append to {self.path}", str(exc)))
        return IOSuccess(None)

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


# --------------------------------------------------------------------------- reading


@final
@attrs.frozen(slots=False)
class Entry:
    """The latest launch of one name, as the journal tells it."""

    name: str
    kind: str
    launcher: str
    members: tuple[str, ...]
    #: ``None`` when the launch could not start.
    handle: Handle | None
    argv: tuple[str, ...]
    cwd: str | None
    stdout: str | None
    stderr: str | None
    state: JobState
    started: float | None
    ended: float | None
    run_index: int
    session: str
    stop_requested: bool = False
    #: Whether ``started`` is when it was seen running (or the scheduler's start), not its launch.
    start_seen: bool = False
    #: The members of a batch launch followed one by one: ``(member, its entry-like record)``.
    parts: tuple[tuple[str, Part], ...] = ()


@final
@attrs.frozen
class Part:
    """One member of a batch launch as the journal tells it (its own step's states)."""

    state: JobState
    started: float | None = None
    ended: float | None = None
    start_seen: bool = False


@final
@attrs.frozen
class Allocation:
    """An allocation the journal says was obtained: by which process, and whether released."""

    name: str
    job_id: str
    launcher: str
    #: The process that obtained it and what identifies it (``start``, ``boot``, ``host``).
    pid: int | None
    owner: tuple[tuple[str, str], ...]
    obtained: float | None
    released: float | None = None

    def owner_get(self, key: str) -> str | None:
        return next((v for k, v in self.owner if k == key), None)


@final
@attrs.frozen(slots=False)
class Replay:
    """Everything a journal says: the experiment, its launcher, and each name's latest launch
    (in the order names were first launched)."""

    experiment: str | None
    launcher: str | None
    entries: tuple[Entry, ...]
    #: Lines that could not be read (e.g. a torn line after a crash).
    skipped: int = 0
    #: Allocations obtained for this experiment, in the order obtained.
    allocations: tuple[Allocation, ...] = ()

    def statuses(self) -> dict[str, Status]:
        return {e.name: e.state.status for e in self.entries}

    def running(self) -> tuple[Entry, ...]:
        """Entries launched and not known to have finished."""
        return tuple(
            e for e in self.entries if e.handle is not None and not e.state.status.is_final
        )


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float(value: object) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    return float(value) if ok else None  # type: ignore[arg-type]


def _state(record: Mapping[str, Any]) -> JobState | None:
    try:
        status = Status(record.get("status"))
    except ValueError:
        return None
    return JobState(
        status,
        _str(record.get("raw")) or "",
        _int(record.get("returncode")),
        _int(record.get("signal")),
        _str(record.get("reason")) or "",
        job_id=_str(record.get("step_id")) or "",
        start=_float(record.get("start")),
        end=_float(record.get("end")),
    )


def _entry(record: Mapping[str, Any]) -> Entry | None:
    name = _str(record.get("name"))
    if name is None:
        return None
    job_id = _str(record.get("job_id"))
    launcher = _str(record.get("launcher")) or ""
    extra_raw = record.get("extra") or []
    extra = tuple((str(p[0]), str(p[1])) for p in extra_raw if isinstance(p, list) and len(p) == 2)
    handle = (
        None if job_id is None else Handle(launcher=launcher, name=name, job_id=job_id, extra=extra)
    )
    error = _str(record.get("error"))
    if handle is None:
        state = JobState(Status.FAILED, "not started", reason=error or "the launch failed")
    else:
        state = JobState(Status.PENDING, "launched")
    argv = record.get("argv")
    members = record.get("members")
    t = record.get("t")
    return Entry(
        name=name,
        kind=_str(record.get("kind")) or "",
        launcher=launcher,
        members=tuple(str(m) for m in members) if isinstance(members, list) else (name,),
        handle=handle,
        argv=tuple(str(a) for a in argv) if isinstance(argv, list) else (),
        cwd=_str(record.get("cwd")),
        stdout=_str(record.get("stdout")),
        stderr=_str(record.get("stderr")),
        state=state,
        started=float(t) if isinstance(t, (int, float)) else None,
        ended=float(t) if handle is None and isinstance(t, (int, float)) else None,
        run_index=_int(record.get("run_index")) or 0,
        session=_str(record.get("session")) or "",
    )


def _times(
    started: float | None, ended: float | None, start_seen: bool, state: JobState, t: object
) -> tuple[float | None, float | None, bool]:
    """Start and end after ``state`` recorded at ``t``: the scheduler's own times, else the
    record's time (the first RUNNING, the final one)."""
    seen = _float(t)
    if state.start is not None:
        started, start_seen = state.start, True
    elif state.status is Status.RUNNING and not start_seen and seen is not None:
        started, start_seen = seen, True
    if state.status.is_final:
        ended = state.end if state.end is not None else seen
    return started, ended, start_seen


def _apply_status(entry: Entry, state: JobState, t: object) -> Entry:
    if entry.state.status.is_final:
        return entry  # the first final status wins; nothing un-finishes
    # A stop from another process is not known to the process that reaps the child, which
    # records a plain exit; a time limit reached before the stop keeps its FAILED.
    stopped = entry.stop_requested and state.raw != "timeout"
    if stopped and state.status in (Status.COMPLETED, Status.FAILED):
        state = attrs.evolve(state, status=Status.CANCELLED, reason=state.reason or "stopped")
    started, ended, start_seen = _times(entry.started, entry.ended, entry.start_seen, state, t)
    handle = entry.handle
    if handle is not None and state.job_id and state.job_id != handle.job_id:
        # the id learned by the writer (a Slurm step): handed back to the launcher on reconnect
        extra = (*(p for p in handle.extra if p[0] != "step"), ("step", state.job_id))
        handle = attrs.evolve(handle, extra=extra)
    return attrs.evolve(
        entry, state=state, started=started, ended=ended, start_seen=start_seen, handle=handle
    )


def _apply_part(entry: Entry, member: str, state: JobState, t: object) -> Entry:
    parts = dict(entry.parts)
    part = parts.get(member, Part(JobState(Status.PENDING, "launched")))
    if part.state.status.is_final:
        return entry
    started, ended, start_seen = _times(part.started, part.ended, part.start_seen, state, t)
    parts[member] = Part(state, started, ended, start_seen)
    return attrs.evolve(entry, parts=tuple(parts.items()))


def parse_journal(lines: Iterable[str]) -> Replay:
    """What a journal's lines say (pure; any text gives a :class:`Replay`, never an error)."""
    experiment: str | None = None
    launcher: str | None = None
    entries: dict[str, Entry] = {}
    allocations: dict[str, Allocation] = {}
    skipped = 0
    for line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            skipped += 1
            continue
        if not isinstance(record, dict):
            skipped += 1
            continue
        event = record.get("event")
        name = _str(record.get("name"))
        current = entries.get(name) if name is not None else None
        if event == "open":
            experiment = _str(record.get("experiment")) or experiment
            launcher = _str(record.get("launcher")) or launcher
        elif event == "launch":
            entry = _entry(record)
            if entry is None:
                skipped += 1
                continue
            entries[entry.name] = entry  # a relaunch replaces the entry, keeping its place
        elif event == "status" and current is not None:
            state = _state(record)
            member = _str(record.get("member"))
            if state is None:
                skipped += 1
            elif current.handle is None or record.get("job_id") != current.handle.job_id:
                pass
            elif member is not None:
                entries[current.name] = _apply_part(current, member, state, record.get("t"))
            else:
                entries[current.name] = _apply_status(current, state, record.get("t"))
        elif event == "stop" and current is not None and current.handle is not None:
            if record.get("job_id") == current.handle.job_id and not current.state.status.is_final:
                entries[current.name] = attrs.evolve(current, stop_requested=True)
        elif event in ("allocation", "release"):
            if not _allocation_event(record, allocations):
                skipped += 1
        elif event not in ("status", "stop"):
            skipped += 1
    return Replay(
        experiment, launcher, tuple(entries.values()), skipped, tuple(allocations.values())
    )


def _allocation_event(record: Mapping[str, Any], allocations: dict[str, Allocation]) -> bool:
    """Apply an ``allocation`` or ``release`` record; False when it cannot be read."""
    job_id = _str(record.get("job_id"))
    t = record.get("t")
    when = float(t) if isinstance(t, (int, float)) else None
    if not job_id:
        return False
    if record.get("event") == "release":
        known = allocations.get(job_id)
        if known is not None and known.released is None:
            allocations[job_id] = attrs.evolve(known, released=when)
        return True
    owner_raw = record.get("owner") or []
    owner = tuple(
        (str(p[0]), str(p[1])) for p in owner_raw if isinstance(p, list) and len(p) == 2
    )
    allocations[job_id] = Allocation(
        name=_str(record.get("name")) or "",
        job_id=job_id,
        launcher=_str(record.get("launcher")) or "",
        pid=_int(record.get("pid")),
        owner=owner,
        obtained=when,
    )
    return True


def replay(path: str) -> IOResult[Replay, EffectError]:
    """Read the journal at ``path`` (a journal file, or an experiment directory holding one)."""
    if os.path.isdir(path):
        path = journal_path(path)
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            return IOSuccess(parse_journal(handle))
    except OSError as exc:
        return IOFailure(OSFailure(f"read {path}", str(exc)))
