"""Slurm effects: obtain and release allocations, run ``srun`` steps and ``sbatch`` jobs, and
follow them with a constant number of Slurm client calls per poll.

Rules of this module (Slurm 22.05; facts marked *verified* were reproduced on the project's
cluster, ``scripts/slurm-cluster``):

* Every Slurm command line comes from :mod:`smartsim.commands.slurm` and every plan from
  :mod:`smartsim.commands.slurm_plan` (both pure); this module only
  runs them and reads what they print. Nothing here uses a shell.
* ``allocate`` runs ``salloc --no-shell`` and reads its stderr *as it streams*: the id of a
  pending request (``Pending job allocation N``) is known before it is granted, so a timeout or
  Ctrl-C cancels that pending job (``scancel``) rather than leaving it queued. An allocation that
  is granted while we give up is released too: a failed ``allocate`` leaves nothing behind.
* A model is an ``srun`` step: in ``RunSettings.alloc``, else in the enclosing allocation
  (``SLURM_JOB_ID``, read once when the launcher is made, or ``World.alloc``), else in a job of
  its own. The ``srun`` client is a local process in its own session (a terminal's Ctrl-C does
  not reach it; ``Experiment`` stops it with ``scancel``); its own messages go to
  ``<name>.srun.log`` beside the model's ``.out``/``.err`` (which slurmstepd writes itself,
  ``--output``/``--error``).
* A step's id is learned from ``squeue -s`` by its name (``--job-name``, the entity's name: a
  rerun writes ``<name>.<run>.out`` but keeps its name; only one run of an entity is live at a
  time, and steps of earlier runs are claimed), one call per poll for every step.
* ``poll`` makes at most three calls per cluster, however many handles: ``squeue -s`` (steps),
  ``squeue -t all`` (jobs), and ``sacct`` only for jobs that left squeue or steps whose ``srun``
  ended, when accounting exists. Without accounting an ended step is resolved from its ``srun``
  client's exit status and messages -- never guessed ``COMPLETED``: ``srun`` exits 0 only when
  every task did, and a step killed at its time limit exits like a cancelled one, told apart by
  slurmstepd's ``*** STEP ... CANCELLED AT ... DUE TO TIME LIMIT ***``.
* Final states are remembered: a finished handle costs no more calls.
"""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import IO, Final, final

import attrs
from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure, Result, Success

from smartsim.commands._types import Command, Submission
from smartsim.commands.plan import Launch, World
from smartsim.commands.slurm import (
    SACCT_ENV,
    never_starts,
    parse_sacct_rows,
    parse_salloc_pending,
    parse_salloc_stderr,
    parse_sbatch_parsable,
    parse_squeue,
    sacct_argv,
    sacct_known_argv,
    salloc_argv,
    scancel_argv,
    squeue_argv,
    validate_salloc,
)
from smartsim.commands.slurm_array import (
    ARRAY_FACT,
    array_job_state,
    array_member_states,
    array_needs_accounting,
    array_squeue_argv,
    parse_array_squeue,
)
from smartsim.commands.slurm_plan import (
    LAUNCHING,
    JobLayout,
    _is_mpi_launch,
    _parse_id,
    allocation_env,
    allocations_used,
    job_id_text,
    parse_job_layout,
    parse_squeue_steps,
    plan_slurm,
    squeue_steps_argv,
    srun_outcome,
)
from smartsim.effects.files import lay_out
from smartsim.effects.launcher import Handle
from smartsim.effects.process import (
    DEVNULL,
    PIPE,
    Child,
    Completed,
    completed,
    environment,
    run,
    spawn,
)
from smartsim.errors import (
    EffectError,
    ExecutableNotFound,
    Interrupted,
    Invalid,
    NeverStarts,
    NonZeroExit,
    OSFailure,
    SchedulerUnavailable,
    Timeout,
    UnknownJob,
    UnparsableOutput,
)
from smartsim.status import JobState, Status
from smartsim.values import (
    AllocationRequest,
    Ensemble,
    JobId,
    Model,
)

__all__ = [
    "JobLayout",
    "SlurmLauncher",
    "allocate",
    "allocation_env",
    "enclosing_allocation",
    "job_id_text",
    "parse_job_layout",
    "plan_slurm",
    "release",
    "release_allocation",
    "srun_outcome",
]

#: Seconds a Slurm client call may take. Clients retry an unreachable controller for about
#: 9 s before they give up (*verified*), so this is well above that.
CLIENT_TIMEOUT: Final = 60.0

#: The longest a wait goes between two polls: every change is seen at most this late.
MAX_POLL_INTERVAL: Final = 1.0

#: What Slurm clients print when slurmctld cannot be reached (*verified*: squeue, sbatch,
#: salloc, scancel after ~9 s of retries).
_UNREACHABLE: Final = (
    "Unable to contact slurm controller",
    "Socket timed out on send/recv",
    "Connection refused",
    "Zero Bytes were transmitted or received",
)


def _unreachable(text: str) -> bool:
    return any(marker in text for marker in _UNREACHABLE)


def enclosing_allocation(environ: Mapping[str, str]) -> str | None:
    """The allocation the calling process runs in (``SLURM_JOB_ID``, or the older
    ``SLURM_JOBID``), if any; read once by the shell or the launcher, never by builders.

    >>> enclosing_allocation({"SLURM_JOB_ID": "77"}), enclosing_allocation({})
    ('77', None)
    """
    for name in ("SLURM_JOB_ID", "SLURM_JOBID"):
        value = environ.get(name, "").strip()
        if value and _parse_id(value) is not None:
            return value
    return None


def _client(argv: Sequence[str]) -> IOResult[Completed, EffectError]:
    """:func:`_client_done` with the default timeout, as the effect it is."""
    return IOResult.from_result(_client_done(argv))


def _client_done(
    argv: Sequence[str],
    *,
    timeout: float = CLIENT_TIMEOUT,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Result[Completed, EffectError]:
    """Run one Slurm client command; an unreachable controller is a transient
    :class:`SchedulerUnavailable`, whatever the exit status (a plain ``Result``: the launcher
    reads it to choose its next call)."""

    def check(done: Completed) -> Result[Completed, EffectError]:
        if done.returncode != 0 and _unreachable(done.stderr + done.stdout):
            return Failure(SchedulerUnavailable(done.argv, (done.stderr or done.stdout).strip()))
        return Success(done)

    return completed(Command(argv=tuple(argv), cwd=cwd, env=env or {}), timeout=timeout).bind(check)


def _exec_failed(program: str, exc: OSError, cwd: str | None = None) -> EffectError:
    """Why ``program`` could not be started (:func:`spawn`'s error)."""
    if isinstance(exc, FileNotFoundError):
        if cwd is not None and not os.path.isdir(cwd):
            return OSFailure("chdir", f"{cwd}: {exc.strerror}")
        return ExecutableNotFound(program, "not found on PATH")
    if isinstance(exc, PermissionError):
        return ExecutableNotFound(program, "not executable")
    return OSFailure(f"exec {program}", str(exc))


def _failed(done: Completed) -> EffectError:
    if _unreachable(done.stderr + done.stdout):
        return SchedulerUnavailable(done.argv, (done.stderr or done.stdout).strip())
    return NonZeroExit(done.argv, done.returncode, done.stderr, done.stdout)


# =========================================================================== allocations


def _scancel(
    job_id: JobId | str, *, verbose: bool = False
) -> IOResult[tuple[JobId, Completed], EffectError]:
    """``scancel`` of one job or step, with ``-M`` from the id's cluster: a failure unless it
    acted or the job had already ended (scancel(1) is silent for an id it no longer knows)."""
    jid = _parse_id(job_id) if isinstance(job_id, str) else job_id
    if jid is None:
        return IOFailure(UnparsableOutput("job id", str(job_id), "a Slurm job id such as '1234'"))

    def check(done: Completed) -> IOResult[tuple[JobId, Completed], EffectError]:
        if done.returncode != 0 and not _already_gone(done):
            return IOFailure(_failed(done))
        return IOSuccess((jid, done))

    return _client(scancel_argv([jid], verbose=verbose)).bind(check)


def release(job_id: JobId | str) -> IOResult[None, EffectError]:
    """Release an allocation (or cancel any job or step): ``scancel``. An id Slurm no longer
    knows is not an error."""
    return _scancel(job_id).map(lambda _: None)


def release_allocation(job_id: JobId | str) -> IOResult[None, EffectError]:
    """Release an allocation by its id (``scancel -v``): one that has already ended is not an
    error, an id Slurm does not know is :class:`~smartsim.errors.UnknownJob` with Slurm's own
    words -- unless accounting remembers it (it ended longer ago than ``MinJobAge``)."""

    def check(cancelled: tuple[JobId, Completed]) -> IOResult[None, EffectError]:
        jid, done = cancelled
        unknown = [line.strip() for line in done.stderr.splitlines() if _UNKNOWN in line]
        if not unknown:
            return IOSuccess(None)
        return _in_accounting(jid).bind(
            lambda known: IOSuccess(None) if known else IOFailure(UnknownJob(str(jid), unknown[-1]))
        )

    return _scancel(job_id, verbose=True).bind(check)


#: What Slurm says of a job id it does not know (scancel -v, squeue, scontrol).
_UNKNOWN: Final = "Invalid job id specified"


def _in_accounting(jid: JobId) -> IOResult[bool, EffectError]:
    """Whether accounting has a record of job ``jid`` (False when there is no accounting:
    then nothing says it ever existed)."""
    argv = sacct_known_argv(jid)

    def read(done: Completed) -> IOResult[bool, EffectError]:
        rows = [line for line in done.stdout.splitlines() if line.strip()]
        return IOSuccess(done.returncode == 0 and bool(rows))

    return _client(argv).bind(read)


#: Seconds salloc is given to exit after its pending job is cancelled, then after SIGTERM,
#: before it is killed.
SALLOC_GRACE = 5.0


@final
class _SallocWatch:
    """A running ``salloc --no-shell``: its stderr read as it streams, with a deadline."""

    def __init__(self, proc: Child) -> None:
        self.proc = proc
        assert proc.stderr_pipe is not None
        self._fd = proc.stderr_pipe.fileno()
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._fd, selectors.EVENT_READ)
        self._buf = bytearray()
        self.eof = False

    @property
    def text(self) -> str:
        return self._buf.decode("utf-8", "replace")

    def pending(self) -> JobId | None:
        parsed = parse_salloc_pending(self.text)
        return parsed.unwrap() if isinstance(parsed, Success) else None

    def granted(self) -> JobId | None:
        parsed = parse_salloc_stderr(self.text)
        return parsed.unwrap() if isinstance(parsed, Success) else None

    def read_until(self, deadline: float | None) -> bool:
        """Read stderr until EOF (``True``) or the deadline (``False``)."""
        while not self.eof:
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                return False
            if not self._selector.select(wait):
                continue
            chunk = os.read(self._fd, 65536)
            if chunk:
                self._buf += chunk
            else:
                self.eof = True
        return True

    def close(self) -> None:
        self._selector.close()
        if self.proc.stderr_pipe is not None:
            self.proc.stderr_pipe.close()

    def give_up(self) -> list[JobId]:
        """Stop waiting: cancel the pending job, end salloc, and cancel anything it was granted
        meanwhile. Returns the ids cancelled."""
        cancelled: list[JobId] = []
        pending = self.pending()
        if pending is not None:
            release(pending)
            cancelled.append(pending)
            # salloc sees the cancel ("Job has been cancelled") and exits by itself; a signal
            # arriving while it does so can wedge it (verified on 22.05), so give it a moment
            self.read_until(time.monotonic() + SALLOC_GRACE)
        if not self.eof:
            # salloc(1): a signal while allocating withdraws the request
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            if not self.read_until(time.monotonic() + SALLOC_GRACE):
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
        self.proc.wait_for(5)
        for jid in (self.pending(), self.granted()):
            if jid is not None and jid not in cancelled:
                release(jid)
                cancelled.append(jid)
        return cancelled


#: What salloc says when ``--immediate`` ran out (see :func:`allocate`).
_NOT_NOW: Final = (
    "Unable to allocate resources: Connection timed out",
    "configuration not available now",
    "Resources temporarily unavailable",
)


def _immediate_seconds(req: AllocationRequest) -> float | None:
    for key in ("immediate", "I"):
        if key in req.add_opts and req.add_opts[key] is not False:
            value = req.add_opts[key]
            if value is None or isinstance(value, bool):
                return 0.0  # a bare --immediate: only what is free right now
            try:
                return float(value)
            except ValueError:
                return 0.0
    return None


def _cluster_of(req: AllocationRequest) -> str | None:
    for key in ("clusters", "M"):
        value = req.add_opts.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def allocate(
    req: AllocationRequest,
    *,
    timeout: float | None = 300.0,
    job_name: str = "smartsim",
) -> IOResult[JobId, EffectError | Invalid]:
    """Obtain an allocation with ``salloc --no-shell``; its id, or why not.

    * an invalid request is :class:`~smartsim.errors.Invalid` (nothing is run);
    * Slurm refusing it (bad partition, unknown feature, ...) is :class:`NonZeroExit` carrying
      Slurm's message;
    * a request still pending after ``timeout`` seconds, or refused by ``--immediate``
      (``add_opts={"immediate": S}``), is :class:`Timeout`; the pending job is cancelled;
    * Ctrl-C while waiting cancels the pending job and gives :class:`Interrupted`;
    * an unreachable controller is :class:`SchedulerUnavailable`.

    ``timeout=None`` waits as long as Slurm does.
    """
    checked = validate_salloc(req)
    if isinstance(checked, Failure):
        return IOFailure(checked.failure())
    argv = salloc_argv(req, job_name=job_name)
    cluster = _cluster_of(req)
    # a session of its own: a terminal's Ctrl-C is ours to handle, not salloc's
    spawned = spawn(argv, stdout=DEVNULL, stderr=PIPE, new_session=True)
    if isinstance(spawned, Failure):
        return IOFailure(_exec_failed(argv[0], spawned.failure()))
    proc = spawned.unwrap()
    watch = _SallocWatch(proc)
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        finished = watch.read_until(deadline)
        if not finished:
            cancelled = watch.give_up()
            what = "salloc " + (
                f"(job {cancelled[0]} still pending, cancelled)" if cancelled else "(no job id yet)"
            )
            return IOFailure(Timeout(what, float(timeout or 0)))
        returncode = proc.wait()
    except KeyboardInterrupt:
        cancelled = watch.give_up()
        ids = ", ".join(str(j) for j in cancelled) or "none"
        return IOFailure(Interrupted(f"salloc; cancelled pending allocation: {ids}"))
    finally:
        watch.close()
    text = watch.text
    granted = watch.granted()
    if returncode == 0 and granted is not None:
        return IOSuccess(attrs.evolve(granted, cluster=cluster))
    if granted is not None:  # granted, then salloc failed: do not leak it
        release(attrs.evolve(granted, cluster=cluster))
    done = Completed(tuple(argv), returncode, "", text)
    immediate = _immediate_seconds(req)
    if immediate is not None and any(m in text for m in _NOT_NOW):
        # salloc(1) --immediate: "If the resources are not available within the time period
        # specified, salloc will exit". Verified on 22.05: after waiting, "Unable to allocate
        # resources: Connection timed out"; with --immediate=1 or less, at once, "Job
        # submit/allocate failed: Requested partition configuration not available now".
        pending = watch.pending()
        if pending is not None:
            release(pending)
        return IOFailure(Timeout(f"salloc --immediate: {text.strip()}", immediate))
    if returncode == 0:
        return IOFailure(UnparsableOutput("salloc", text, "Granted job allocation N"))
    return IOFailure(_failed(done))


# =========================================================================== planning (pure)

#: How planning errors name this launcher.
_OWN_JOB: Final = re.compile(r"srun: job (\d+) (?:queued|has been allocated)")


def _head(path: str | None, limit: int = 4096) -> str:
    if not path:
        return ""
    try:
        with open(path, "rb") as handle:
            return handle.read(limit).decode("utf-8", "replace")
    except OSError:
        return ""


def _tail(path: str | None, limit: int = 16384) -> str:
    if not path:
        return ""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - limit))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


# =========================================================================== the launcher

# Handle.extra keys
_KIND: Final = "kind"  # "batch", "step" (in a known allocation) or "job" (srun's own job)
_STEP_NAME: Final = "step_name"
_PID: Final = "pid"
_LOG: Final = "srun_log"
_ERR: Final = "stderr"
_SEQ: Final = "seq"
#: Handle.extra key under which a journal hands back the step id an earlier process learned.
STEP_KEY: Final = "step"
#: A batch ensemble's member names and their steps' names (comma-separated, same order).
_MEMBERS: Final = "members"
_STEPS: Final = "steps"
#: An array ensemble (one ``sbatch --array`` job, task ``k`` running member ``k``): its size.
_ARRAY: Final = "array"


@attrs.define
class _Tracked:
    """What this process knows of one handle beyond the handle itself."""

    proc: Child | None = None
    returncode: int | None = None
    #: The step (``job.step``) or, for ``kind="job"``, the job id once learned.
    resolved: JobId | None = None
    #: srun's own job (``kind="job"``), from its messages or its first step.
    own_job: JobId | None = None
    seen_running: bool = False
    final: JobState | None = None
    stopped: bool = False
    #: When this process saw the srun client exit (``time.monotonic()``).
    ended_at: float | None = None
    #: A batch ensemble's members' own states (by member name), from their steps.
    members: dict[str, JobState] = attrs.Factory(dict)
    #: Members whose step a poll has seen running.
    members_seen: set[str] = attrs.Factory(set)


def _kind(handle: Handle) -> str:
    return handle.get(_KIND) or "batch"


def _cluster(handle: Handle) -> str | None:
    jid = _parse_id(handle.job_id) if handle.job_id else None
    return jid.cluster if jid is not None else handle.get("cluster")


@final
class SlurmLauncher:
    """Runs models as ``srun`` steps and batch entities as one ``sbatch`` job each.

    ``Experiment(launcher="slurm")`` makes one with no arguments. ``SLURM_JOB_ID`` of this
    process (an enclosing allocation) is read once, here. :attr:`calls` counts Slurm client
    calls (the benchmark's figure).
    """

    name = "slurm"

    def __init__(
        self,
        *,
        environ: Mapping[str, str] | None = None,
        timeout: float = CLIENT_TIMEOUT,
    ) -> None:
        env = os.environ if environ is None else environ
        #: The enclosing allocation, read once (``SLURM_JOB_ID``).
        self.alloc: str | None = enclosing_allocation(env)
        self.timeout = timeout
        self.calls = 0
        #: ``None`` until the first ``sacct`` says whether accounting exists.
        self.accounting: bool | None = None
        self._tracked: dict[Handle, _Tracked] = {}
        self._seq = 0
        self._owned: list[JobId] = []
        self._lock = threading.RLock()
        #: Dependencies for the next ``plan`` (set by ``after``).
        self._after: tuple[str, ...] = ()
        #: The ``max_parallel`` cap of the next ``plan`` (set by ``capped``): an array's ``%CAP``.
        self._cap: int | None = None
        #: Allocation layouts read for MPI launchers (one ``scontrol`` per allocation).
        self._layouts: dict[str, JobLayout] = {}
        self._listeners: list[Callable[[Handle, JobState], None]] = []
        self._member_listeners: list[Callable[[Handle, str, JobState], None]] = []
        self._reported_members: dict[tuple[Handle, str], JobState] = {}
        #: The last state told to the listeners, per handle.
        self._reported: dict[Handle, JobState] = {}

    # ------------------------------------------------------------------ planning

    def plan(self, entity: Model | Ensemble, world: World) -> Result[tuple[Launch, ...], Invalid]:
        """The launches that run ``entity`` (see :func:`plan_slurm`), given the layout of each
        running allocation its steps use (read once per allocation, ``scontrol show job -d``;
        one that cannot be read now is left out: its steps are not checked against it)."""
        after = world.after or self._after
        layouts = {}
        for job in allocations_used(entity, world, alloc=self.alloc):
            got = self._layout(job)
            if isinstance(got, Success):
                layouts[job] = got.unwrap()
        return plan_slurm(
            entity, world, alloc=self.alloc, after=after, layouts=layouts, max_parallel=self._cap
        )

    @contextlib.contextmanager
    def capped(self, max_parallel: int | None) -> Iterator[None]:
        """Plans made inside this block cap their members at ``max_parallel`` running at once:
        a job array's ``--array=0-(N-1)%max_parallel`` (``None``: no cap)."""
        saved, self._cap = self._cap, max_parallel
        try:
            yield
        finally:
            self._cap = saved

    @contextlib.contextmanager
    def after(self, handles: Iterable[Handle]) -> Iterator[None]:
        """Batch jobs planned inside this block wait for ``handles``' jobs to succeed
        (``sbatch --dependency=afterok:...``)."""
        ids = tuple(h.job_id for h in handles if _kind(h) == "batch" and h.job_id)
        saved, self._after = self._after, ids
        try:
            yield
        finally:
            self._after = saved

    # ------------------------------------------------------------------ allocations

    def allocate(
        self, req: AllocationRequest, *, timeout: float | None = 300.0
    ) -> IOResult[JobId, EffectError | Invalid]:
        """Obtain an allocation this launcher owns: :meth:`release_owned` (and Ctrl-C in
        ``Experiment``) releases it."""
        return allocate(req, timeout=timeout).map(self._own)

    def _own(self, jid: JobId) -> JobId:
        with self._lock:
            self._owned.append(jid)
        return jid

    def release_owned(self) -> IOResult[None, EffectError]:
        """Release every allocation obtained through :meth:`allocate`."""
        with self._lock:
            owned, self._owned = self._owned, []
        outcome: IOResult[None, EffectError] = IOSuccess(None)
        for jid in owned:
            released = release(jid)
            self.calls += 1
            if isinstance(released, IOFailure):
                outcome = released
        return outcome

    # ------------------------------------------------------------------ start

    def start(self, launch: Launch) -> IOResult[Handle, EffectError]:
        """Submit a batch launch (``sbatch --parsable``) or start an ``srun`` client."""
        sub = launch.submission
        return lay_out(launch, [] if sub is None else [(sub.script_path, sub.script)]).bind(
            lambda _: self._start(launch)
        )

    def _start(self, launch: Launch) -> IOResult[Handle, EffectError]:
        if launch.submission is not None:
            return self._submit(launch, launch.submission)
        if launch.command is not None and _is_mpi_launch(launch.command):
            return self._spawn_mpi(launch, launch.command)
        if launch.command is not None:
            return self._spawn(launch, launch.command)
        return IOFailure(OSFailure("start", f"{launch.name!r} has nothing to run"))

    def _next_seq(self) -> str:
        with self._lock:
            self._seq += 1
            return str(self._seq)

    def _submit(self, launch: Launch, sub: Submission) -> IOResult[Handle, EffectError]:
        self.calls += 1
        result = run(sub.submit, timeout=self.timeout)

        def submitted(done: Completed) -> IOResult[Handle, EffectError]:
            if done.returncode != 0:
                return IOFailure(_failed(done))
            parsed = parse_sbatch_parsable(done.stdout)
            if isinstance(parsed, Failure):
                return IOFailure(UnparsableOutput("sbatch", done.stdout, "jobid[;cluster]"))
            extra = [(_KIND, "batch"), (_SEQ, self._next_seq())]
            if launch.steps:
                extra += [(_MEMBERS, ",".join(launch.members)), (_STEPS, ",".join(launch.steps))]
            elif ARRAY_FACT in launch.facts:
                extra += [(_ARRAY, launch.facts[ARRAY_FACT]), (_MEMBERS, ",".join(launch.members))]
            handle = Handle(
                launcher=self.name,
                name=launch.name,
                job_id=job_id_text(parsed.unwrap()),
                extra=tuple(extra),
            )
            with self._lock:
                self._tracked[handle] = _Tracked()
            return IOSuccess(handle)

        return result.bind(submitted)

    def _spawn(self, launch: Launch, command: Command) -> IOResult[Handle, EffectError]:
        argv = list(command.argv)
        jobid = None
        if "--jobid" in argv:
            jobid = argv[argv.index("--jobid") + 1]
            cluster = argv[argv.index("-M") + 1] if "-M" in argv else None
            if cluster:
                jobid = f"{jobid};{cluster}"
        name = argv[argv.index("--job-name") + 1] if "--job-name" in argv else launch.name
        log = command.stderr or command.stdout
        try:
            sink: IO[bytes] | None = open(log, "ab") if log else None  # noqa: SIM115 (closed below)
        except OSError as exc:
            return IOFailure(OSFailure(f"open {log}", exc.strerror or str(exc)))
        try:
            out = DEVNULL if sink is None else sink.fileno()
            spawned = spawn(
                argv,
                stdout=out,
                stderr=out,
                cwd=command.cwd,
                env=environment(command.env),
                new_session=True,
            )
        finally:
            if sink is not None:
                sink.close()
        if isinstance(spawned, Failure):
            return IOFailure(_exec_failed(argv[0], spawned.failure(), command.cwd))
        proc = spawned.unwrap()
        extra = [
            (_KIND, "step" if jobid else "job"),
            (_STEP_NAME, name),
            (_PID, str(proc.pid)),
            (_SEQ, self._next_seq()),
        ]
        if log:
            extra.append((_LOG, log))
        extra.append((_ERR, launch.stderr))
        handle = Handle(
            launcher=self.name, name=launch.name, job_id=jobid or "", extra=tuple(extra)
        )
        with self._lock:
            self._tracked[handle] = _Tracked(proc=proc)
        return IOSuccess(handle)

    # ------------------------------------------------------------------ MPI launchers

    def layout(self, job: str) -> IOResult[JobLayout, EffectError]:
        """The layout of allocation ``job``, read once (``scontrol show job -d``)."""
        return IOResult.from_result(self._layout(job))

    def _layout(self, job: str) -> Result[JobLayout, EffectError]:
        known = self._layouts.get(job)
        if known is not None:
            return Success(known)

        def read(done: Completed) -> Result[JobLayout, EffectError]:
            if done.returncode != 0:
                return Failure(_failed(done))
            parsed = parse_job_layout(done.stdout)
            if isinstance(parsed, Failure):
                return Failure(UnparsableOutput("scontrol show job", done.stdout, parsed.failure()))
            self._layouts[job] = layout = parsed.unwrap()
            return Success(layout)

        return self._call(("scontrol", "show", "job", "-d", job)).bind(read)

    def _spawn_mpi(self, launch: Launch, command: Command) -> IOResult[Handle, EffectError]:
        """Start an MPI launcher as a local process that sees allocation ``SLURM_JOB_ID`` as
        ``salloc``'s shell would; its output goes to the model's files."""
        job = command.env["SLURM_JOB_ID"]
        planned = dict(command.env.items())
        if "SLURM_JOB_NODELIST" not in planned:  # the layout could not be read when planned
            got = self._layout(job)
            if isinstance(got, Failure):
                return IOFailure(got.failure())
            planned.update(allocation_env(job, got.unwrap()))
        env = environment(planned)
        try:
            with open(launch.stdout, "ab") as out, open(launch.stderr, "ab") as err:
                spawned = spawn(
                    command.argv,
                    stdout=out.fileno(),
                    stderr=err.fileno(),
                    cwd=command.cwd,
                    env=env,
                    new_session=True,  # its own process group: stop signals all of it
                )
        except OSError as exc:
            return IOFailure(OSFailure(f"open {launch.stdout}", exc.strerror or str(exc)))
        if isinstance(spawned, Failure):
            return IOFailure(_exec_failed(command.argv[0], spawned.failure(), command.cwd))
        proc = spawned.unwrap()
        handle = Handle(
            launcher=self.name,
            name=launch.name,
            job_id=job,
            extra=(
                (_KIND, "mpi"),
                (_PID, str(proc.pid)),
                (_SEQ, self._next_seq()),
                (_ERR, launch.stderr),
            ),
        )
        with self._lock:
            self._tracked[handle] = _Tracked(proc=proc)
        return IOSuccess(handle)

    def _mpi_state(self, handle: Handle, tracked: _Tracked) -> JobState:
        """An MPI launcher's state from its process: it exits 0 only when every rank did."""
        code = tracked.returncode
        if tracked.proc is None:
            return JobState(
                Status.UNKNOWN, reason="the MPI launcher is not a process of this launcher"
            )
        if code is None:
            return JobState(Status.RUNNING, "RUNNING")
        sig = -code if code < 0 else (code - 128 if code > 128 else None)
        if code == 0:
            return JobState(Status.COMPLETED, "COMPLETED", 0)
        if tracked.stopped:
            return JobState(Status.CANCELLED, "CANCELLED", code, sig, "cancelled by smartsim")
        return JobState(
            Status.FAILED, "FAILED", code, sig, f"{handle.name}: the MPI launcher exited {code}"
        )

    def _stop_mpi(self, tracked: _Tracked) -> None:
        """SIGTERM to the launcher's process group (mpirun/mpiexec and their srun clients,
        which cancel their steps), SIGKILL after :data:`SALLOC_GRACE` seconds."""
        proc = tracked.proc
        tracked.stopped = True
        if proc is None or proc.poll() is not None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, sig)
            if proc.wait_for(SALLOC_GRACE) is not None:
                return

    # ------------------------------------------------------------------ poll

    def _track(self, handle: Handle) -> _Tracked:
        with self._lock:
            tracked = self._tracked.get(handle)
            if tracked is None:  # a handle from an earlier process (the journal)
                tracked = self._tracked[handle] = _Tracked()
                step = _parse_id(handle.get(STEP_KEY) or "")
                if step is not None and step.step is not None:
                    tracked.resolved = step
                    if _kind(handle) == "job":
                        tracked.own_job = attrs.evolve(step, step=None)
            return tracked

    def _reap(self, handle: Handle, tracked: _Tracked) -> None:
        if tracked.proc is not None and tracked.returncode is None:
            code = tracked.proc.poll()
            if code is not None:
                tracked.returncode = code
                tracked.ended_at = time.monotonic()
        if _kind(handle) in ("step", "job") and tracked.resolved is None:
            # srun -v names the step it launches (the plan asks for -v)
            launched = LAUNCHING.search(_head(handle.get(_LOG), 65536))
            step = _parse_id(launched[1]) if launched is not None else None
            if step is not None and step.step is not None:
                step = attrs.evolve(step, cluster=_cluster(handle))
                with self._lock:
                    taken = any(t.resolved == step for t in self._tracked.values())
                if not taken:
                    tracked.resolved = step
                    if _kind(handle) == "job":
                        tracked.own_job = attrs.evolve(step, step=None)
        if _kind(handle) == "job" and tracked.own_job is None:
            # srun(1) prints "srun: job N queued and waiting for resources" when its own job
            # has to wait: its id, before any step exists
            match = _OWN_JOB.search(_head(handle.get(_LOG)))
            if match is not None:
                tracked.own_job = JobId(int(match[1]), cluster=_cluster(handle))

    def _call(
        self, argv: Sequence[str], env: Mapping[str, str] | None = None
    ) -> Result[Completed, EffectError]:
        self.calls += 1
        return _client_done(argv, timeout=self.timeout, env=env)

    def poll(self, handles: Sequence[Handle]) -> IOResult[Mapping[Handle, JobState], EffectError]:
        """States of every handle, with at most three Slurm calls per cluster (``squeue -s``,
        ``squeue``, ``sacct``), none for handles already final -- and one ``squeue`` more, for
        all of them, while srun clients wait for jobs of their own (Slurm's pending reason)."""
        return IOResult.from_result(self._poll(handles))

    def _poll(self, handles: Sequence[Handle]) -> Result[Mapping[Handle, JobState], EffectError]:
        states: dict[Handle, JobState] = {}
        by_cluster: dict[str | None, list[Handle]] = {}
        for handle in handles:
            tracked = self._track(handle)
            if tracked.final is not None:
                states[handle] = tracked.final
                continue
            self._reap(handle, tracked)
            if _kind(handle) == "mpi":
                states[handle] = state = self._mpi_state(handle, tracked)
                if state.status.is_final:
                    tracked.final = state
                continue
            by_cluster.setdefault(_cluster(handle), []).append(handle)
        for cluster, group in by_cluster.items():
            result = self._poll_cluster(cluster, group)
            if isinstance(result, Failure):
                return result
            states.update(result.unwrap())
        states = self._own_job_reasons(states)
        out = {h: self._named(h, states[h]) for h in handles}
        self._notify(out)
        return Success(out)

    def _named(self, handle: Handle, state: JobState) -> JobState:
        """``state`` with the id Slurm knows the run by: the step (``296.0``) once it is known,
        srun's own job's step ``N.0``, or the batch job."""
        if state.job_id:
            return state
        tracked = self._track(handle)
        if tracked.resolved is not None:
            jid = job_id_text(tracked.resolved)
        elif _kind(handle) == "job" and tracked.own_job is not None:
            jid = job_id_text(tracked.own_job)
        elif _kind(handle) in ("batch", "mpi"):
            jid = handle.job_id
        else:
            return state
        named = attrs.evolve(state, job_id=jid)
        if tracked.final is state:
            tracked.final = named
        return named

    def watch(self, callback: Callable[[Handle, JobState], None]) -> None:
        """Call ``callback(handle, state)`` for every change a poll sees (``wait`` polls at least
        once a second, so a change is told at most that late)."""
        self._listeners.append(callback)

    def watch_members(self, callback: Callable[[Handle, str, JobState], None]) -> None:
        """Call ``callback(handle, member, state)`` for every change of a batch ensemble's
        member (its own step) that a poll sees."""
        self._member_listeners.append(callback)

    def _notify(self, states: Mapping[Handle, JobState]) -> None:
        with self._lock:
            changed = [(h, s) for h, s in states.items() if self._reported.get(h) != s]
            for h, s in changed:
                self._reported[h] = s
            moved: list[tuple[Handle, str, JobState]] = []
            for h in states:
                for member, state in self._track(h).members.items():
                    key = (h, member)
                    if self._reported_members.get(key) != state:
                        self._reported_members[key] = state
                        moved.append((h, member, state))
        # members first: a batch job's end is told after what its members did
        for h, member, state in moved:
            for member_listener in self._member_listeners:
                member_listener(h, member, state)
        for h, s in changed:
            for listener in self._listeners:
                listener(h, s)

    def _poll_cluster(
        self, cluster: str | None, handles: Sequence[Handle]
    ) -> Result[dict[Handle, JobState], EffectError]:
        steps = [h for h in handles if _kind(h) != "batch"]
        batches = [h for h in handles if _kind(h) == "batch"]
        with_members = [h for h in batches if h.get(_STEPS)]
        # 1. squeue -s: which steps run now (and the ids of steps not yet resolved)
        listed: tuple[tuple[JobId, str], ...] = ()
        if steps or with_members:
            got = self._call(squeue_steps_argv(cluster))
            if isinstance(got, Failure):
                return Failure(got.failure())
            done = got.unwrap()
            if done.returncode != 0:
                return Failure(_failed(done))
            parsed = parse_squeue_steps(done.stdout)
            if isinstance(parsed, Failure):
                return Failure(UnparsableOutput("squeue", done.stdout, parsed.failure()))
            listed = parsed.unwrap()
            self._resolve_from_squeue(steps, listed)
            self._see_members(with_members, listed)
        # 2. squeue: live (and recently finished) batch jobs -- with an array among them, one
        # line per array task (-r) and each ended task's exit status
        arrays = [h for h in batches if h.get(_ARRAY)]
        queued: dict[str, JobState] = {}
        if batches:
            ids = [jid for h in batches if (jid := _parse_id(h.job_id)) is not None]
            argv = (
                array_squeue_argv(ids, clusters=cluster)
                if arrays
                else squeue_argv(ids, clusters=cluster)
            )
            got = self._call(argv)
            if isinstance(got, Failure):
                return Failure(got.failure())
            done = got.unwrap()
            if done.returncode != 0 and "Invalid job id" not in done.stderr:
                # squeue(1) -j with only ids it forgot fails with "Invalid job id specified"
                return Failure(_failed(done))
            read = parse_array_squeue if arrays else parse_squeue
            parsed_q = read(done.stdout if done.returncode == 0 else "")
            if isinstance(parsed_q, Failure):
                return Failure(UnparsableOutput("squeue", done.stdout, parsed_q.failure()))
            queued = parsed_q.unwrap()
        # 3. sacct: what squeue can no longer tell
        running_ids = {jid for jid, _ in listed}
        need_sacct: list[Handle] = []
        for h in batches:
            if h.get(_ARRAY):
                jid = _parse_id(h.job_id)
                tracked = self._track(h)
                names = self._array_members(h)
                if jid is not None and array_needs_accounting(jid, names, queued, tracked.members):
                    need_sacct.append(h)
                continue
            state = queued.get(JobId.parse(h.job_id).map(str).value_or(h.job_id))
            if state is None or state.status.is_final or self._members_unknown(h, state, listed):
                need_sacct.append(h)
        for h in steps:
            tracked = self._track(h)
            if tracked.returncode is not None or (
                tracked.proc is None and not _listed(tracked.resolved, running_ids)
            ):
                need_sacct.append(h)
        accounted: dict[str, list[tuple[str, JobState, str]]] | None = None
        if need_sacct and self.accounting is not False:
            job_ids = self._sacct_ids(need_sacct)
            if job_ids:
                got = self._call(sacct_argv(job_ids, clusters=cluster), SACCT_ENV)
                if isinstance(got, Failure):
                    return Failure(got.failure())
                done = got.unwrap()
                accounted = self._read_sacct(done)
                if accounted is None:
                    return Failure(_failed(done))
        # squeue's job-level rows by job number, once per poll (each handle looking through all
        # of them would make a poll O(K^2): minutes at K = 10^4)
        live_by_job: dict[int, list[JobState]] = {}
        for key, state in queued.items():
            row = _parse_id(key)
            if row is not None and row.step is None:
                live_by_job.setdefault(row.job, []).append(state)
        out: dict[Handle, JobState] = {}
        for h in batches:
            if h.get(_ARRAY):
                out[h] = self._array_state(h, queued, accounted)
                continue
            out[h] = self._batch_state(h, live_by_job, accounted)
            if h.get(_STEPS):
                if out[h].status.is_final and self.accounting and not _accounted(h, accounted):
                    # slurmdbd records a job's steps before the job itself: until the job's
                    # own row is there, its members' rows may not be
                    out[h] = JobState(
                        Status.RUNNING,
                        "COMPLETING",
                        reason="the job has ended; waiting for accounting to record its steps",
                    )
                self._member_states(h, out[h], listed, accounted)
        for h in steps:
            out[h] = self._step_state(h, running_ids, accounted)
        for h, state in out.items():
            if state.status.is_final:
                self._track(h).final = state
        return Success(out)

    def _sacct_ids(self, handles: Sequence[Handle]) -> list[JobId]:
        ids: list[JobId] = []
        for h in handles:
            tracked = self._track(h)
            jid = tracked.resolved or tracked.own_job or _parse_id(h.job_id)
            if jid is not None:
                ids.append(attrs.evolve(jid, step=None))
        return list(dict.fromkeys(ids))

    def _read_sacct(self, done: Completed) -> dict[str, list[tuple[str, JobState, str]]] | None:
        """Rows by job number; ``{}`` when accounting is off (and remember that); ``None`` when
        sacct failed otherwise."""
        if done.returncode != 0:
            if "accounting storage is disabled" in (done.stderr + done.stdout):
                self.accounting = False
                return {}
            return None
        parsed = parse_sacct_rows(done.stdout)
        if isinstance(parsed, Failure):
            return None
        self.accounting = True
        rows: dict[str, list[tuple[str, JobState, str]]] = {}
        for row in parsed.unwrap():
            jid = _parse_id(row.id)
            if jid is not None:
                rows.setdefault(str(jid.job), []).append((row.id, row.state, row.name))
        return rows

    def _resolve_from_squeue(
        self, steps: Sequence[Handle], listed: Sequence[tuple[JobId, str]]
    ) -> None:
        """Give each step handle its step id: the first unclaimed running step of its job with
        its name (srun's own job: step 0 of a job with its name). Handles are served in the
        order they were started, so equal names in one job resolve in launch order."""
        with self._lock:
            claimed = {
                (t.resolved.job, t.resolved.step)
                for t in self._tracked.values()
                if t.resolved is not None
            }
        running = {(jid.job, jid.step) for jid, _ in listed}
        ordered = sorted(listed, key=lambda p: (p[0].job, _step_no(p[0])))
        unresolved = sorted(
            (h for h in steps if self._track(h).resolved is None),
            key=lambda h: int(h.get(_SEQ) or 0),
        )
        for h in unresolved:
            tracked = self._track(h)
            name = h.get(_STEP_NAME)
            own = _kind(h) == "job"
            want = _parse_id(h.job_id) if h.job_id else tracked.own_job
            for jid, step_name in ordered:
                if step_name != name or _step_no(jid) < 0:
                    continue
                if want is not None and jid.job != want.job:
                    continue
                if own and jid.step != "0":
                    continue
                if (jid.job, jid.step) in claimed:
                    continue
                tracked.resolved = attrs.evolve(jid, cluster=_cluster(h))
                if own:
                    tracked.own_job = attrs.evolve(tracked.resolved, step=None)
                claimed.add((jid.job, jid.step))
                break
        for h in steps:
            tracked = self._track(h)
            if tracked.resolved is not None and (
                (tracked.resolved.job, tracked.resolved.step) in running
            ):
                tracked.seen_running = True

    # ------------------------------------------------------------------ array ensembles

    def _array_members(self, handle: Handle) -> list[str]:
        names = (handle.get(_MEMBERS) or "").split(",")
        return names if names != [""] else []

    def _array_state(
        self,
        h: Handle,
        queued: Mapping[str, JobState],
        accounted: Mapping[str, list[tuple[str, JobState, str]]] | None,
    ) -> JobState:
        """An array ensemble's state: each member's from its task (``job_k``) in squeue and
        sacct (see :func:`~smartsim.commands.slurm_array.array_member_states`), the job's from
        its members'."""
        tracked = self._track(h)
        jid = _parse_id(h.job_id)
        if jid is None:
            return JobState(Status.UNKNOWN, reason=f"not a Slurm job id: {h.job_id!r}")
        rows = None
        if accounted is not None:
            rows = [(rid, s) for rid, s, _ in accounted.get(str(jid.job), [])]
        members = self._array_members(h)
        tracked.members = array_member_states(
            jid, members, queued, rows,
            accounting=self.accounting, known=tracked.members, stopped=tracked.stopped,
        )  # fmt: skip
        return array_job_state([tracked.members[m] for m in members])

    # ------------------------------------------------------------------ batch members

    def member_states(self, handle: Handle) -> Mapping[str, JobState]:
        """A batch ensemble's members' own states (their ``srun`` steps inside the job), by
        member name, as of the last poll; empty for any other handle."""
        with self._lock:
            return dict(self._track(handle).members)

    def _member_steps(self, handle: Handle) -> list[tuple[str, str]]:
        members = (handle.get(_MEMBERS) or "").split(",")
        steps = (handle.get(_STEPS) or "").split(",")
        return list(zip(members, steps, strict=False))

    def _see_members(self, batches: Sequence[Handle], listed: Sequence[tuple[JobId, str]]) -> None:
        for h in batches:
            jid = _parse_id(h.job_id)
            tracked = self._track(h)
            names = {name for j, name in listed if jid is not None and j.job == jid.job}
            for member, step in self._member_steps(h):
                if step in names:
                    tracked.members_seen.add(member)

    def _members_unknown(
        self, h: Handle, job: JobState, listed: Sequence[tuple[JobId, str]]
    ) -> bool:
        """Whether a running batch job has a member that is neither final nor running (its
        step ended, perhaps before any poll saw it): then only sacct can tell."""
        if job.status is not Status.RUNNING or not h.get(_STEPS):
            return False
        tracked = self._track(h)
        jid = _parse_id(h.job_id)
        names = {name for j, name in listed if jid is not None and j.job == jid.job}
        return any(
            step not in names
            and not (member in tracked.members and tracked.members[member].status.is_final)
            for member, step in self._member_steps(h)
        )

    def _member_states(
        self,
        h: Handle,
        job: JobState,
        listed: Sequence[tuple[JobId, str]],
        accounted: Mapping[str, list[tuple[str, JobState, str]]] | None,
    ) -> None:
        """Each member's state: its step's sacct row when final, RUNNING while squeue lists
        it, else what the job's own state lets us know (a COMPLETED job means every member
        exited 0: the script exits with the first failing member's status)."""
        tracked = self._track(h)
        jid = _parse_id(h.job_id)
        if jid is None:
            return
        # a job that has ended runs nothing, whatever squeue still lists of its steps
        running = {} if job.status.is_final else {n: j for j, n in listed if j.job == jid.job}
        rows = (accounted or {}).get(str(jid.job), [])
        for member, step in self._member_steps(h):
            known = tracked.members.get(member)
            if known is not None and known.status.is_final:
                continue
            step_id = known.job_id if known is not None else ""
            named = [(rid, st) for rid, st, rname in rows if rname == step and "." in rid]
            if named:
                rid, state = max(named, key=lambda c: _step_no(_parse_id(c[0]) or JobId(0)))
                step_id = rid
                if state.status.is_final:
                    tracked.members[member] = attrs.evolve(state, job_id=rid)
                    continue
            if step in running:
                step_id = job_id_text(attrs.evolve(running[step], cluster=_cluster(h)))
                tracked.members[member] = JobState(Status.RUNNING, "RUNNING", job_id=step_id)
            elif job.status is Status.COMPLETED:
                # the script exits non-zero when any member did: each member exited 0
                tracked.members[member] = JobState(
                    Status.COMPLETED, "COMPLETED", 0, job_id=step_id,
                    reason="" if step_id else "the batch job completed (no row for its step)",
                )  # fmt: skip
            elif job.status.is_final:
                tracked.members[member] = JobState(
                    job.status,
                    job.raw,
                    reason=f"the batch job ended {job.raw or job.status}; this member's own exit "
                    "is not known (no accounting row for its step)",
                    job_id=step_id,
                )
            elif member in tracked.members_seen:
                tracked.members[member] = JobState(
                    Status.RUNNING,
                    "COMPLETING",
                    reason="its step has ended; its exit is not known yet",
                    job_id=step_id,
                )
            else:
                tracked.members[member] = JobState(
                    Status.PENDING, job.raw or "PENDING", reason="its step has not started"
                )

    def _batch_state(
        self,
        h: Handle,
        live_by_job: Mapping[int, list[JobState]],
        accounted: Mapping[str, list[tuple[str, JobState, str]]] | None,
    ) -> JobState:
        """The job's state from squeue (its job-level rows, by job number), else from sacct; an
        array or heterogeneous job (rows ``12_3``, ``12_[4-7]``, ``12+1``) is the combination
        of its rows."""
        tracked = self._track(h)
        jid = _parse_id(h.job_id)
        if jid is None:
            return JobState(Status.UNKNOWN, reason=f"not a Slurm job id: {h.job_id!r}")
        live = list(live_by_job.get(jid.job, ()))
        rows = [s for rid, s, _ in (accounted or {}).get(str(jid.job), []) if _same_job(rid, jid)]
        if live and not all(s.status.is_final for s in live):
            return _combine(live)
        if live:  # final in squeue: sacct adds the exit code when it has the same rows
            if len(rows) >= len(live) and all(s.status.is_final for s in rows):
                return _combine(rows)
            return _combine(live)
        if rows:
            return _combine(rows)
        if tracked.stopped:
            return JobState(Status.CANCELLED, "CANCELLED", reason="cancelled by smartsim")
        why = "no accounting" if self.accounting is False else "not yet in accounting"
        return JobState(Status.UNKNOWN, reason=f"job {jid} is not in squeue ({why})")

    def _step_state(
        self,
        h: Handle,
        running: set[JobId],
        accounted: Mapping[str, list[tuple[str, JobState, str]]] | None,
    ) -> JobState:
        tracked = self._track(h)
        listed = _listed(tracked.resolved, running)
        if tracked.returncode is None and tracked.proc is not None:
            if listed:
                return JobState(Status.RUNNING, "RUNNING")
            if tracked.seen_running:  # the step ended; srun is finishing
                return JobState(Status.RUNNING, "COMPLETING")
            return JobState(Status.PENDING, "PENDING", reason="waiting for the step to start")
        if listed:  # a step of an earlier process, still running
            return JobState(Status.RUNNING, "RUNNING")
        row = self._step_row(h, accounted)
        messages = ""
        if tracked.returncode is not None:
            messages = _tail(h.get(_LOG)) + "\n" + _tail(h.get(_ERR))
        if row is not None and row.status.is_final:
            # sacct reports a step ended by its time limit as CANCELLED: slurmstepd's banner
            # says why (verified on 22.05).
            if row.status is Status.CANCELLED and "DUE TO TIME LIMIT" in messages:
                return JobState(
                    Status.FAILED, "TIMEOUT", row.returncode, row.signal, "step time limit"
                )
            return row
        if tracked.returncode is not None:
            step = str(tracked.resolved) if tracked.resolved is not None else None
            return srun_outcome(tracked.returncode, messages, stopped=tracked.stopped, step=step)
        if row is not None:
            return row
        if tracked.stopped:
            return JobState(Status.CANCELLED, "CANCELLED", reason="cancelled by smartsim")
        return JobState(
            Status.UNKNOWN,
            reason="the step is not running and its srun client is not in this process",
        )

    def _step_row(
        self, h: Handle, accounted: Mapping[str, list[tuple[str, JobState, str]]] | None
    ) -> JobState | None:
        if not accounted:
            return None
        tracked = self._track(h)
        if tracked.resolved is not None:
            rows = accounted.get(str(tracked.resolved.job), [])
            want = str(attrs.evolve(tracked.resolved, cluster=None))
            return next((s for rid, s, _ in rows if rid == want), None)
        jid = _parse_id(h.job_id) if h.job_id else None
        if jid is None:
            return None
        claimed = {str(t.resolved) for t in self._tracked.values() if t.resolved is not None}
        name = h.get(_STEP_NAME)
        candidates = [
            (rid, s)
            for rid, s, rname in accounted.get(str(jid.job), [])
            if rname == name and "." in rid and rid not in claimed
        ]
        if not candidates:
            return None
        # step numbers grow within a job: the newest step of that name is this run's
        rid, state = max(candidates, key=lambda c: _step_no(_parse_id(c[0]) or JobId(0)))
        tracked.resolved = _parse_id(rid)
        return state

    # ------------------------------------------------------------------ wait

    def wait(
        self, handles: Sequence[Handle], timeout: float
    ) -> IOResult[Mapping[Handle, JobState], EffectError]:
        """States once every handle is final, or at ``timeout``. Between polls it watches the
        local ``srun`` clients (no Slurm calls), so an ended step is seen at once; the poll
        interval grows from 50 ms to :data:`MAX_POLL_INTERVAL` while nothing changes, so any
        other change is seen (and told to :meth:`watch`'s listeners) at most that late. A
        transient error (controller down) is retried until the timeout."""
        deadline = time.monotonic() + timeout
        interval = 0.05
        last: Mapping[Handle, JobState] | None = None
        while True:
            result = self._poll(handles)
            remaining = deadline - time.monotonic()
            if isinstance(result, Failure):
                if not result.failure().transient or remaining <= 0:
                    return IOResult.from_result(result)
            else:
                states = result.unwrap()
                if all(s.status.is_final for s in states.values()) or remaining <= 0:
                    return IOResult.from_result(result)
                stuck = _never_starting(states)
                if stuck:  # a wait that could never end
                    return IOFailure(NeverStarts(stuck))
                interval = 0.05 if last != states else min(interval * 2, MAX_POLL_INTERVAL)
                last = states
            self._nap(handles, min(interval, max(remaining, 0.0)))

    def _own_job_reasons(self, states: Mapping[Handle, JobState]) -> dict[Handle, JobState]:
        """``states`` with Slurm's pending reason for steps whose srun still waits for its own
        job (the step's state says only that it waits; one ``squeue`` for all such jobs)."""
        out = dict(states)
        waiting = {
            h: own
            for h, s in states.items()
            if s.status is Status.PENDING and _kind(h) == "job"
            and (own := self._track(h).own_job) is not None and own.cluster is None
        }  # fmt: skip
        if not waiting:
            return out
        got = self._call(squeue_argv(list(waiting.values())))
        if isinstance(got, Failure):
            return out
        rows = parse_squeue(got.unwrap().stdout).value_or({})
        for h, own in waiting.items():
            row = rows.get(str(own.job))
            if row is not None and row.status is Status.PENDING:
                out[h] = attrs.evolve(out[h], reason=row.reason)
        return out

    def _nap(self, handles: Sequence[Handle], seconds: float) -> None:
        """Sleep up to ``seconds``, waking early when a local srun client exits."""
        procs = [
            t.proc
            for h in handles
            if (t := self._track(h)).proc is not None and t.returncode is None
        ]
        end = time.monotonic() + seconds
        while True:
            if any(p is not None and p.poll() is not None for p in procs):
                return
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.01))

    # ------------------------------------------------------------------ stop

    def stop(self, handles: Sequence[Handle]) -> IOResult[None, EffectError]:
        """Cancel every handle with one ``scancel`` per cluster: batch jobs and srun's own jobs
        by job id, steps by ``job.step``. A step whose id is not known yet (its srun is still
        waiting for resources) is withdrawn by signalling its srun client."""
        by_cluster: dict[str | None, list[JobId]] = {}
        for h in handles:
            tracked = self._track(h)
            if tracked.final is not None:
                continue
            self._reap(h, tracked)
            if _kind(h) == "mpi":
                self._stop_mpi(tracked)
                continue
            tracked.stopped = True
            target: JobId | None
            if _kind(h) == "batch":
                target = _parse_id(h.job_id)
            elif _kind(h) == "job":
                target = tracked.own_job
            else:
                target = tracked.resolved
            if target is None:
                if tracked.proc is not None and tracked.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        tracked.proc.send_signal(signal.SIGTERM)
                continue
            by_cluster.setdefault(target.cluster, []).append(target)
        for cluster, ids in by_cluster.items():
            got = self._call(scancel_argv(ids, clusters=cluster))
            if isinstance(got, Failure):
                return IOFailure(got.failure())
            done = got.unwrap()
            if done.returncode != 0 and not _already_gone(done):
                return IOFailure(_failed(done))
        return IOSuccess(None)

    def step_id(self, handle: Handle) -> JobId | None:
        """The step (or, for srun's own job, the step ``job.0``) ``handle`` runs as, once a poll
        has seen it."""
        tracked = self._tracked.get(handle)
        return None if tracked is None else tracked.resolved

    def close(self) -> IOResult[None, EffectError]:
        """Release allocations this launcher obtained itself (for ``Experiment``'s Ctrl-C and
        exit paths)."""
        return self.release_owned()


#: scancel's words for a job or step that has already ended (scancel(1) is silent for a whole
#: job, but *verified*: a finished step gives "Kill job error on job step id 12.0: Invalid job
#: id specified" and exit 1 or 225).
_GONE: Final = ("Invalid job id specified", "already completing or completed", "Job/step already")


def _never_starting(states: Mapping[Handle, JobState]) -> tuple[str, ...]:
    """``name (job id): REASON: why`` of every handle Slurm holds pending for a reason under
    which it cannot start (see :data:`~smartsim.commands.slurm.NEVER_STARTS`)."""
    out = []
    for handle, state in states.items():
        why = never_starts(state.reason) if state.status is Status.PENDING else None
        if why is not None:
            known = state.job_id or handle.job_id
            job = f" ({known})" if known else ""
            out.append(f"{handle.name}{job}: {state.reason}: {why}")
    return tuple(out)


def _already_gone(done: Completed) -> bool:
    """Whether a failed scancel only said that its targets had already ended."""
    errors = [line for line in done.stderr.splitlines() if "error" in line.lower()]
    return bool(errors) and all(any(g in line for g in _GONE) for line in errors)


def _accounted(
    handle: Handle, accounted: Mapping[str, list[tuple[str, JobState, str]]] | None
) -> bool:
    """Whether sacct has a final job-level row for ``handle``'s job."""
    jid = _parse_id(handle.job_id)
    rows = (accounted or {}).get(str(jid.job), []) if jid is not None else []
    return any(_same_job(rid, jid) and s.status.is_final for rid, s, _ in rows if jid)


def _listed(step: JobId | None, running: Iterable[JobId]) -> bool:
    """Whether ``step`` is among the steps squeue listed (clusters aside)."""
    return step is not None and any(j.job == step.job and j.step == step.step for j in running)


def _same_job(text: str, jid: JobId) -> bool:
    """Whether a job-level row id (no step) belongs to job ``jid``: ``12``, ``12_3``,
    ``12_[4-7]``, ``12+1`` for job 12 -- never ``123``."""
    row = _parse_id(text)
    return row is not None and row.job == jid.job and row.step is None


def _combine(states: Sequence[JobState]) -> JobState:
    """One state for the rows of one job (array tasks, het components): running while any runs,
    pending while any waits, else failed if any failed, cancelled if any was, else completed.

    >>> done, bad = JobState(Status.COMPLETED, "COMPLETED", 0), JobState(Status.FAILED, "TIMEOUT")
    >>> _combine([done, bad]).raw, _combine([done, done]).status.value
    ('TIMEOUT', 'COMPLETED')
    """
    if len(states) == 1:
        return states[0]
    for status in (Status.RUNNING, Status.PENDING, Status.UNKNOWN):
        if any(s.status is status for s in states):
            return next(s for s in states if s.status is status)
    for status in (Status.FAILED, Status.CANCELLED):
        bad = [s for s in states if s.status is status]
        if bad:
            return attrs.evolve(bad[0], reason=f"{len(bad)} of {len(states)} rows {status}")
    return states[0]


def _step_no(jid: JobId) -> int:
    return int(jid.step) if jid.step is not None and jid.step.isdigit() else -1
