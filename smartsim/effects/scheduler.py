"""The one effects driver of every batch scheduler: submit a script, poll many jobs, cancel
many, around the pure :class:`~smartsim.commands.scheduler.Scheduler` record that describes the
scheduler (PBS, LSF, Grid Engine, ...). Every tool runs through
:func:`smartsim.effects.process.run`.

* ``start`` finds every tool the job will need *before* submitting (a job that could not be
  polled or cancelled is not submitted; a missing tool is an
  :class:`~smartsim.errors.ExecutableNotFound` naming it), creates the launch's directories,
  writes the script and the launch's files, runs the submit command and parses the job id. The
  handle records the paths of the status and cancel tools, so a handle read back from the
  journal is polled and stopped with the same product's tools.
* ``poll`` makes a constant number of scheduler calls whatever the number of handles: each of
  the scheduler's status queries once per set of tool paths (normally one; and per value of the
  ``group_by`` keys), the later queries only for the jobs the earlier ones did not report.
* ``stop`` cancels every handle in one call; a job that had already finished is not an error.
* A final state, once seen, stands (a Kubernetes Job deleted after it finished keeps its
  status). Otherwise what the scheduler reported becomes the state smartsim reports by
  :func:`~smartsim.commands.scheduler.reconcile`: a job this launcher cancelled is
  ``CANCELLED``; a job the scheduler no longer reports at all (PBS without job history, LSF
  after ``CLEAN_PERIOD``, Grid Engine without accounting) is read from the exit-status file its
  script writes as it ends; the file is removed before each submission so an earlier run's
  status is never read.

Tool paths: sites install ``qsub`` from more than one product, so the user may name them
(``World.tools`` for the plan, :attr:`SchedulerLauncher.tools` for the launcher). When only the
submit tool is named, its siblings in the same directory are preferred for status and cancel.
Nothing here raises for an expected failure.
"""

from __future__ import annotations

import datetime as _dt
import os
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import final

import attrs
from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure, Result, Success

from smartsim._frozen import FrozenMap
from smartsim.commands._types import Command, Completed, Handle, Submission
from smartsim.commands.array import ARRAY_IDS, ARRAY_MEMBERS, ARRAY_OF, is_array, task_handles
from smartsim.commands.batch import script_exit_file
from smartsim.commands.plan import Launch, World
from smartsim.commands.scheduler import (
    EXIT_FILE,
    SUBMITTED,
    TOOL_KEY,
    Scheduler,
    StatusQuery,
    combine_states,
    exit_file_state,
    reconcile,
)
from smartsim.effects.files import lay_out
from smartsim.effects.process import run
from smartsim.errors import (
    EffectError,
    ExecutableNotFound,
    Invalid,
    NonZeroExit,
    OSFailure,
    SchedulerUnavailable,
    UnparsableOutput,
)
from smartsim.status import JobState
from smartsim.values import Ensemble, Model

States = Mapping[str, JobState]


def find_tools(paths: Iterable[str]) -> IOResult[None, EffectError]:
    """Success when every path names an executable (on ``PATH`` or as a file path); else an
    :class:`ExecutableNotFound` naming the first one that does not."""
    for path in paths:
        if shutil.which(path) is None:
            reason = "not executable" if os.path.exists(path) else "not found on PATH"
            return IOFailure(ExecutableNotFound(path, reason))
    return IOSuccess(None)


def utc_stamp() -> str:
    """Now, in UTC to the second, as ISO 8601 (a handle's ``SUBMITTED``)."""
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()


def _prepare(
    launch: Launch, submission: Submission | None, exit_file: str | None
) -> IOResult[None, EffectError]:
    """The launch's directories, then the script and the files the job reads; an exit-status
    file left by an earlier run is removed."""
    if exit_file is not None:
        try:
            os.unlink(exit_file)
        except FileNotFoundError:
            pass
        except OSError as exc:
            return IOFailure(OSFailure(f"remove {exit_file}", exc.strerror or str(exc)))
    more = [
        *(
            ((submission.script_path, submission.script), *submission.submit.files.items())
            if submission is not None
            else ()
        ),
        *(launch.command.files.items() if launch.command is not None else ()),
    ]
    return lay_out(launch, more)


def recorded_exit(handle: Handle) -> JobState | None:
    """The state the job's exit-status file records, when the file exists and holds one."""
    path = handle.get(EXIT_FILE)
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            text = stream.read(64)
    except OSError:
        return None
    return exit_file_state(text)


def _local_zone() -> _dt.tzinfo:
    zone = _dt.datetime.now().astimezone().tzinfo
    return zone if zone is not None else _dt.UTC


@final
class SchedulerLauncher:
    """Start, poll and stop the jobs of one :class:`Scheduler`.

    ``tools`` names tool paths (``{"qsub": "/opt/pbs/bin/qsub"}``) where ``PATH`` would find
    another product's; ``timeout`` is how long one scheduler command may take before it is a
    :class:`~smartsim.errors.Timeout`. ``max_parallel``: at most this many of the launches
    run at once (``Experiment`` holds the rest back), and an ensemble planned as one job array
    runs at most this many tasks at once (the scheduler's own cap; an error where it has none).

    An array job's members are followed one by one, each as its array task (one status query
    per poll for every task): ``member_states`` and ``watch_members``.
    """

    def __init__(
        self,
        scheduler: Scheduler,
        *,
        tools: Mapping[str, str] | None = None,
        timeout: float = 60.0,
        max_parallel: int | None = None,
    ) -> None:
        self.scheduler = scheduler
        #: The launcher's name in ``Experiment(launcher=...)`` and in handles.
        self.name = scheduler.name
        self.tools: FrozenMap[str, str] = FrozenMap(dict(tools or {}))
        self.timeout = timeout
        #: The jobs this launcher cancelled (by :meth:`_ident`).
        self._stopped: set[tuple[str, ...]] = set()
        #: Final states seen (by :meth:`_ident`): a final state does not change.
        self._final: dict[tuple[str, ...], JobState] = {}
        self.max_parallel = max_parallel
        #: The last state of each member of an array job (by the array's :meth:`_ident`).
        self._members: dict[tuple[str, ...], dict[str, JobState]] = {}
        self._member_watchers: list[Callable[[Handle, str, JobState], None]] = []

    # ------------------------------------------------------------------ pure helpers

    def tool(self, name: str, world: World | None = None) -> str:
        """The path to run for tool ``name``: the world's choice, then this launcher's, then
        the bare name (looked up on ``PATH``)."""
        if world is not None and name in world.tools:
            return str(world.tools[name])
        return str(self.tools.get(name, name))

    def with_world(self, world: World) -> World:
        """``world`` with this launcher's tool paths added where the world names none."""
        tools = dict(self.tools)
        tools.update(world.tools)
        return attrs.evolve(world, tools=tools)

    def plan(
        self, entity: Model | Ensemble, world: World, *, max_parallel: int | None = None
    ) -> Result[tuple[Launch, ...], Invalid]:
        """Pure: the launches that would run ``entity``; an array of it runs at most
        ``max_parallel`` tasks at once (default: this launcher's :attr:`max_parallel`)."""
        cap = self.max_parallel if max_parallel is None else max_parallel
        if cap is None:
            return self.scheduler.plan(entity, self.with_world(world))
        return self.scheduler.plan(entity, self.with_world(world), max_parallel=cap)

    def exit_file(self, launch: Launch) -> str | None:
        """The file ``launch``'s job records its exit status in, if its script does."""
        suffix = self.scheduler.script_suffix
        if launch.submission is None or suffix is None:
            return None
        submission = launch.submission
        return script_exit_file(submission.script_path, submission.script, suffix)

    def _tool_paths(self, submit_path: str) -> dict[str, str]:
        """Where each tool is for a job submitted with ``submit_path``."""
        directory = os.path.dirname(submit_path)
        paths: dict[str, str] = {}
        for name in self.scheduler.tools:
            if name == self.scheduler.submit_tool:
                paths[name] = submit_path
            elif name in self.tools:
                paths[name] = self.tools[name]
            elif directory and shutil.which(os.path.join(directory, name)) is not None:
                paths[name] = os.path.join(directory, name)
            else:
                paths[name] = name
        return paths

    def handle_tools(self, handle: Handle) -> dict[str, str]:
        """The tool paths recorded in ``handle`` (this launcher's where none was recorded)."""
        recorded = {k[len(TOOL_KEY) :]: v for k, v in handle.extra if k.startswith(TOOL_KEY)}
        legacy = handle.get(TOOL_KEY.rstrip(":"))  # ("tool", path): one-tool handles of 0.x
        if legacy is not None and len(self.scheduler.tools) == 1:
            recorded.setdefault(self.scheduler.tools[0], legacy)
        return {name: recorded.get(name, self.tool(name)) for name in self.scheduler.tools}

    def _ident(self, handle: Handle, job_id: str | None = None) -> tuple[str, ...]:
        """A job's identity: its id and its ``group_by`` values (a Job name is unique only in
        its namespace)."""
        split = (handle.get(key) or "" for key in self.scheduler.group_by)
        return (handle.job_id if job_id is None else job_id, *split)

    def _groups(self, handles: Sequence[Handle]) -> list[tuple[dict[str, str], list[Handle]]]:
        """The handles by tool paths and ``group_by`` values: one call per group."""
        groups: dict[tuple[tuple[str, str], ...], list[Handle]] = {}
        for handle in handles:
            split = tuple((key, handle.get(key) or "") for key in self.scheduler.group_by)
            key = (*sorted(self.handle_tools(handle).items()), *split)
            groups.setdefault(key, []).append(handle)
        tools = set(self.scheduler.tools)
        return [({k: v for k, v in key if k in tools}, group) for key, group in groups.items()]

    def failure(self, done: Completed) -> EffectError:
        """The error a failed tool run stands for."""
        if self.scheduler.unavailable(done.stderr + done.stdout):
            return SchedulerUnavailable(done.argv, done.stderr or done.stdout)
        return NonZeroExit(done.argv, done.returncode, done.stderr, done.stdout)

    def _run(self, argv: tuple[str, ...]) -> IOResult[Completed, EffectError]:
        return run(Command(argv=argv), timeout=self.timeout)

    # ------------------------------------------------------------------ effects

    def start(self, launch: Launch) -> IOResult[Handle, EffectError]:
        """Submit ``launch.submission`` (or run ``launch.command``, which submits: ``flux
        submit``, ``kubectl create``) once every tool it needs is there."""
        submission = launch.submission
        submit = submission.submit if submission is not None else launch.command
        if submit is None:
            return IOFailure(
                OSFailure("submit", f"{launch.name!r} has nothing to submit to {self.name}")
            )
        paths = self._tool_paths(submit.argv[0])
        exit_file = self.exit_file(launch)
        return (
            find_tools(dict.fromkeys(paths.values()))
            .bind(lambda _: _prepare(launch, submission, exit_file))
            .bind(lambda _: run(submit, timeout=self.timeout))
            .bind(lambda done: self._submitted(launch, done, paths, exit_file))
        )

    def _submitted(
        self, launch: Launch, done: Completed, paths: Mapping[str, str], exit_file: str | None
    ) -> IOResult[Handle, EffectError]:
        if done.returncode != 0:
            return IOFailure(self.failure(done))
        parsed = self.scheduler.parse_submit(done)
        if isinstance(parsed, Failure):
            tool = os.path.basename(done.argv[0])
            return IOFailure(UnparsableOutput(tool, done.stdout + done.stderr, parsed.failure()))
        extra = (
            (SUBMITTED, utc_stamp()),
            *((TOOL_KEY + k, v) for k, v in paths.items()),
            *launch.facts.items(),
        )
        if exit_file is not None:
            extra += ((EXIT_FILE, exit_file),)
        job_id = parsed.unwrap()
        array = self.scheduler.array
        if ARRAY_MEMBERS in launch.facts and array is not None and array.submitted is not None:
            # each task is a job of its own: every id the submit tool printed, in order
            ids = array.submitted(done.stdout)
            if ids is None or len(ids) != len(launch.members):
                tool = os.path.basename(done.argv[0])
                expected = f"{len(launch.members)} job ids, one a line"
                return IOFailure(UnparsableOutput(tool, done.stdout + done.stderr, expected))
            job_id, extra = ids[0], (*extra, (ARRAY_IDS, " ".join(ids)))
        return IOSuccess(Handle(launcher=self.name, name=launch.name, job_id=job_id, extra=extra))

    def _ask(
        self, query: StatusQuery, handles: Sequence[Handle], tools: Mapping[str, str]
    ) -> Callable[[States], IOResult[States, EffectError]]:
        """Run ``query`` for the handles not yet in ``found`` (not at all when there are none)."""

        def ask(found: States) -> IOResult[States, EffectError]:
            missing = [h for h in handles if h.job_id not in found]
            if not missing:
                return IOSuccess(found)

            def read(done: Completed) -> IOResult[States, EffectError]:
                parsed = query.read(done, missing)
                if isinstance(parsed, Success):
                    return IOSuccess({**found, **parsed.unwrap()})
                if done.returncode != 0:
                    return IOFailure(self.failure(done))
                tool = os.path.basename(done.argv[0])
                return IOFailure(UnparsableOutput(tool, done.stdout, parsed.failure()))

            argv = query.argv(missing, tools, _local_zone())
            if argv is None:
                return IOSuccess(found)
            return self._run(argv).bind(read)

        return ask

    def query(
        self, handles: Sequence[Handle], tools: Mapping[str, str]
    ) -> IOResult[States, EffectError]:
        """States of the handles' jobs by job id, from the scheduler's status queries in order
        (ids no query reports are absent)."""
        result: IOResult[States, EffectError] = IOSuccess({})
        for status_query in self.scheduler.queries:
            result = result.bind(self._ask(status_query, handles, tools))
        return result

    def _tasks(self, handle: Handle) -> tuple[Handle, ...]:
        """The task handles of an array job (``()`` for another job)."""
        return task_handles(handle, self.scheduler.array) if is_array(handle) else ()

    def poll(self, handles: Sequence[Handle]) -> IOResult[Mapping[Handle, JobState], EffectError]:
        """Statuses of every handle with a constant number of scheduler calls; an array job's
        is the combined state of its tasks (each asked in the same calls)."""
        expanded = {h: tasks for h in handles if (tasks := self._tasks(h))}
        asked = [t for h in handles for t in expanded.get(h, (h,))]
        result: IOResult[Mapping[Handle, JobState], EffectError] = IOSuccess({})
        for tools, members in self._groups(asked):
            result = result.bind(self._poll_more(members, tools))
        if not expanded:
            return result
        return result.map(lambda states: self._fold(handles, expanded, states))

    def _fold(
        self,
        handles: Sequence[Handle],
        expanded: Mapping[Handle, tuple[Handle, ...]],
        states: Mapping[Handle, JobState],
    ) -> dict[Handle, JobState]:
        """Each array job's state from its tasks' (members told of their changes)."""
        out: dict[Handle, JobState] = {}
        for handle in handles:
            tasks = expanded.get(handle)
            if tasks is None:
                out[handle] = states[handle]
                continue
            last = self._members.setdefault(self._ident(handle), {})
            for task in tasks:
                state = states[task]
                if not state.job_id:  # the id the scheduler knows the member by
                    state = attrs.evolve(state, job_id=task.job_id)
                if last.get(task.name) != state:
                    last[task.name] = state
                    for watcher in list(self._member_watchers):
                        watcher(handle, task.name, state)
            out[handle] = combine_states([states[t] for t in tasks])
        return out

    def member_states(self, handle: Handle) -> Mapping[str, JobState]:
        """The members' states of array job ``handle`` as of the last poll, by name."""
        return dict(self._members.get(self._ident(handle), {}))

    def watch_members(self, callback: Callable[[Handle, str, JobState], None]) -> None:
        """Call ``callback(handle, member, state)`` when a poll sees a member of array job
        ``handle`` change."""
        self._member_watchers.append(callback)

    def _poll_more(
        self, handles: Sequence[Handle], tools: Mapping[str, str]
    ) -> Callable[[Mapping[Handle, JobState]], IOResult[Mapping[Handle, JobState], EffectError]]:
        def more(
            done: Mapping[Handle, JobState],
        ) -> IOResult[Mapping[Handle, JobState], EffectError]:
            return self.query(handles, tools).map(
                lambda states: {**done, **self._reconcile(handles, states)}
            )

        return more

    def _reconcile(self, handles: Sequence[Handle], states: States) -> dict[Handle, JobState]:
        out: dict[Handle, JobState] = {}
        for h in handles:
            ident = self._ident(h)
            array = h.get(ARRAY_OF)
            stopped = ident in self._stopped or (
                array is not None and self._ident(h, array) in self._stopped
            )
            state = self._final.get(ident) or reconcile(
                states.get(h.job_id),
                stopped,
                None if h.job_id in states else recorded_exit(h),
                scheduler=self.name,
            )
            if state.status.is_final and h.job_id in states:
                self._final[ident] = state
            out[h] = state
        return out

    def stop(self, handles: Sequence[Handle]) -> IOResult[None, EffectError]:
        """Cancel every handle, one call per set of tool paths; a job that had already finished
        is not an error."""
        result: IOResult[None, EffectError] = IOSuccess(None)
        for tools, members in self._groups(handles):
            result = result.bind(self._cancel_more(members, tools))
        return result

    def _cancel_more(
        self, handles: Sequence[Handle], tools: Mapping[str, str]
    ) -> Callable[[None], IOResult[None, EffectError]]:
        return lambda _: self._cancel(handles, tools)

    def _cancel(
        self, handles: Sequence[Handle], tools: Mapping[str, str]
    ) -> IOResult[None, EffectError]:
        # an array whose tasks are jobs of their own (Flux copies) is cancelled task by task
        handles = [
            t
            for h in handles
            for t in (
                self._tasks(h)
                if self.scheduler.array is not None and self.scheduler.array.task_id is None
                else ()
            )
            or (h,)
        ]
        job_ids = list(dict.fromkeys(h.job_id for h in handles))
        argv = self.scheduler.cancel_argv(handles, tools)
        if argv is None:
            return IOSuccess(None)

        def read(done: Completed) -> IOResult[None, EffectError]:
            acted = self.scheduler.read_cancel(done, job_ids)
            if acted is None:
                return IOFailure(self.failure(done))
            self._stopped.update(self._ident(handles[0], job_id) for job_id in acted)
            return IOSuccess(None)

        return find_tools([argv[0]]).bind(lambda _: self._run(argv)).bind(read)


__all__ = ["SchedulerLauncher", "find_tools", "recorded_exit", "utc_stamp"]
