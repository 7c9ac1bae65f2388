"""The one seam between a batch scheduler and smartsim: a frozen :class:`Scheduler` record of
pure functions, driven by one effects driver (:mod:`smartsim.effects.scheduler`).

A scheduler is described by what it *is*, never by what it does to the machine:

* ``plan(entity, world)``: the :class:`~smartsim.commands.plan.Launch` values (the script and
  the submit :class:`~smartsim.commands.Command`) that would run ``entity``;
* ``parse_submit(done)``: the job id the submit tool printed;
* ``queries``: status queries, in order. The driver runs the first for every job, the next only
  for the jobs the earlier ones did not report (Grid Engine: ``qstat`` then ``qacct``), each
  once for all of those jobs (an argv of ``None``: nothing to ask for them);
* ``cancel_argv(handles, tools)`` and ``read_cancel(done, job_ids)``: one cancel for many jobs
  (``None``: none of them can be cancelled), and which of them it acted on, not counting those
  that had already ended (``None``: the cancel failed);
* ``group_by``: ``Handle.extra`` keys whose values split the calls (Kubernetes: the namespace),
  besides the tool paths;
* ``unavailable(text)``: whether a tool failed because the scheduler could not be reached.

The rules that are the same for every scheduler live here once: :func:`reconcile` turns what
the scheduler reported (or did not) into the state smartsim reports, and
:func:`combine_states` makes one state of the rows of one job (array elements, tasks).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping, Sequence
from typing import Final, Protocol, final

import attrs
from returns.result import Result

from smartsim.commands._types import Completed, Handle
from smartsim.commands.array import ARRAY_OF, ArraySyntax
from smartsim.commands.plan import Launch, World
from smartsim.errors import Invalid, ValidationError
from smartsim.status import JobState, Status
from smartsim.values import Ensemble, Model, RunSettings

#: Prefix of the keys that record tool paths in ``Handle.extra`` (``tool:qstat``).
TOOL_KEY: Final = "tool:"
#: Key of the file the job writes its exit status to (``Handle.extra``), when it does.
EXIT_FILE: Final = "exit_file"
#: Key of the submission time (UTC, ISO 8601) in ``Handle.extra``.
SUBMITTED: Final = "submitted"


class Planner(Protocol):
    """``plan(entity, world)``; ``max_parallel`` caps the running tasks of an array plan
    (:mod:`smartsim.commands.array`); it is passed only when set."""

    def __call__(
        self, entity: Model | Ensemble, world: World, /, *, max_parallel: int | None = ...
    ) -> Result[tuple[Launch, ...], Invalid]: ...


#: What a status query's argv is built from: the handles still unknown, the tool paths, and
#: the caller's local time zone (some tools read times as local time).
QueryArgv = Callable[[Sequence[Handle], Mapping[str, str], _dt.tzinfo], tuple[str, ...] | None]
#: A status reader: states by job id of the handles the output reports (others are absent);
#: ``Failure`` says what output was expected.
QueryReader = Callable[[Completed, Sequence[Handle]], Result[Mapping[str, JobState], str]]


@final
@attrs.frozen(kw_only=True, slots=False)
class StatusQuery:
    """One status tool call for many jobs: its argv and the pure reader of its output."""

    argv: QueryArgv
    read: QueryReader


def job_ids(handles: Sequence[Handle]) -> list[str]:
    """The handles' job ids, each once, in order; an array task's is its array's (one id asks
    for every task).

    >>> job_ids([Handle(launcher="x", name=n, job_id="7") for n in "ab"])
    ['7']
    >>> job_ids([Handle(launcher="x", name="a", job_id="7[1]", extra=(("array:of", "7"),))])
    ['7']
    """
    return list(dict.fromkeys(h.get(ARRAY_OF) or h.job_id for h in handles))


def own_ids(handles: Sequence[Handle]) -> list[str]:
    """The handles' own ids (an array task's own id), each once, in order: what a reader
    reports states under.

    >>> own_ids([Handle(launcher="x", name="a", job_id="7[1]", extra=(("array:of", "7"),))])
    ['7[1]']
    """
    return list(dict.fromkeys(h.job_id for h in handles))


def has_tasks(handles: Sequence[Handle]) -> bool:
    """Whether some of the handles are array tasks.

    >>> has_tasks([Handle(launcher="x", name="a", job_id="7")])
    False
    """
    return any(h.get(ARRAY_OF) is not None for h in handles)


def never_unavailable(text: str) -> bool:
    """The default ``Scheduler.unavailable``: no failure is read as transient.

    >>> never_unavailable("connection refused")
    False
    """
    return False


@final
@attrs.frozen(kw_only=True, slots=False)
class Scheduler:
    """A batch scheduler as pure functions (see the module text); ``name`` is its name in
    ``Experiment(launcher=...)`` and in handles."""

    name: str
    #: The tool that submits: its path is the first word of the submit command.
    submit_tool: str
    #: Every tool the scheduler's jobs need, by default name (submit, status, cancel, ...).
    tools: tuple[str, ...]
    plan: Planner
    parse_submit: Callable[[Completed], Result[str, str]]
    queries: tuple[StatusQuery, ...]
    cancel_argv: Callable[[Sequence[Handle], Mapping[str, str]], tuple[str, ...] | None]
    read_cancel: Callable[[Completed, Sequence[str]], frozenset[str] | None]
    unavailable: Callable[[str], bool] = never_unavailable
    #: The job script's suffix when the planner's scripts record their exit status
    #: (:func:`smartsim.commands.batch.script_exit_file`).
    script_suffix: str | None = None
    #: ``Handle.extra`` keys whose values split the status and cancel calls.
    group_by: tuple[str, ...] = ()
    #: The ``run_command`` a model gets when its settings need a parallel launcher and name
    #: none (``flux`` under Flux, ``jsrun`` under LSF with CSM); ``None``: a direct launch.
    parallel_launcher: str | None = None
    #: How the scheduler runs an ensemble as one job array (:mod:`smartsim.commands.array`);
    #: ``None``: it has none, each member is a job.
    array: ArraySyntax | None = None
    #: What the scheduler itself cannot take in a model's run settings, when it reads them
    #: itself rather than through a run command (Kubernetes: the image in ``run_args``);
    #: ``Experiment.create_run_settings`` checks with it. ``None``: the run command's rules.
    settings_problems: Callable[[RunSettings], list[ValidationError]] | None = None


def reconcile(
    reported: JobState | None,
    stopped: bool,
    recorded_exit: JobState | None,
    *,
    scheduler: str = "the scheduler",
) -> JobState:
    """The state smartsim reports for one job: what the scheduler ``reported`` (``None``: it
    does not report the job), whether smartsim ``stopped`` it, and the state the job's
    exit-status file records (``recorded_exit``, ``None`` when there is none).

    * a reported failure of a job smartsim cancelled is ``CANCELLED`` (schedulers report the
      kill as a failure); any other report stands;
    * an unreported job is what its exit-status file says, else ``CANCELLED`` if smartsim
      stopped it, else ``UNKNOWN`` (never a guess).

    >>> reconcile(JobState(Status.FAILED, raw="F"), True, None).status
    <Status.CANCELLED: 'CANCELLED'>
    >>> reconcile(None, False, None, scheduler="pbs").reason
    'pbs does not report it'
    """
    if reported is None:
        if recorded_exit is not None:
            return recorded_exit
        if stopped:
            return JobState(Status.CANCELLED, reason="cancelled by smartsim")
        return JobState(Status.UNKNOWN, reason=f"{scheduler} does not report it")
    if stopped and reported.status is Status.FAILED:
        return attrs.evolve(reported, status=Status.CANCELLED)
    return reported


#: Which row's state stands for the whole job: a live row first, then one not started, then one
#: not known, then the worst end. Every status but COMPLETED is listed, so the status of the
#: result does not depend on the order of the rows.
_ORDER: Final = (
    Status.RUNNING,
    Status.PENDING,
    Status.NEW,
    Status.UNKNOWN,
    Status.FAILED,
    Status.CANCELLED,
)


def combine_states(states: Sequence[JobState]) -> JobState:
    """One state for the rows of one job (array elements, tasks): running while one runs,
    pending while one waits (or has not been submitted), unknown while one is not known, then
    failed, then cancelled, else the first (all completed). ``states`` must not be empty.

    >>> done, bad = JobState(Status.COMPLETED, returncode=0), JobState(Status.FAILED, raw="x")
    >>> combine_states([done, bad]).raw, combine_states([done, done]).status.value
    ('x', 'COMPLETED')
    """
    for status in _ORDER:
        for state in states:
            if state.status is status:
                return state
    return states[0]


def exit_file_state(text: str) -> JobState | None:
    """The state an exit-status file's ``text`` records (its job's exit code), or ``None``
    when it holds none (not yet written, or not a number).

    >>> exit_file_state("3\\n").returncode, exit_file_state("") is None
    (3, True)
    """
    text = text.strip()
    if not text.isascii() or not text.isdigit():
        return None
    code = int(text)
    reason = "read from the job's exit-status file (the scheduler no longer reports it)"
    status = Status.COMPLETED if code == 0 else Status.FAILED
    return JobState(status, raw="exit file", returncode=code, reason=reason)


def submitted_at(handle: Handle) -> _dt.datetime | None:
    """When ``handle``'s job was submitted (recorded by the driver at submission).

    >>> submitted_at(Handle(launcher="x", name="m", job_id="1", extra=(("submitted", "?"),)))
    """
    value = handle.get(SUBMITTED)
    if value is None:
        return None
    try:
        return _dt.datetime.fromisoformat(value)
    except ValueError:
        return None


__all__ = [
    "EXIT_FILE",
    "SUBMITTED",
    "TOOL_KEY",
    "Completed",
    "Handle",
    "Scheduler",
    "StatusQuery",
    "combine_states",
    "exit_file_state",
    "has_tasks",
    "job_ids",
    "never_unavailable",
    "own_ids",
    "reconcile",
    "submitted_at",
]
