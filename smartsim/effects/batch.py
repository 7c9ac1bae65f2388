"""Effects shared by batch-scheduler launchers: submit a script, poll many jobs, cancel many.

A batch scheduler (PBS, LSF, Grid Engine, ...) is described to this module by a few *pure* seams
(the PSI/J split): the planner that turns an entity into :class:`~smartsim.commands.plan.Launch`
values whose ``submission`` carries the script and the submit :class:`~smartsim.commands.Command`;
a parser of the submit tool's output; the status query ``Command`` and its parser; the cancel
``Command`` and a reader of its outcome. :class:`BatchLauncher` owns everything impure around
them, once for every scheduler:

* ``start`` finds every tool the job will need *before* submitting (a job that could not be
  polled or cancelled is not submitted; a missing tool is an
  :class:`~smartsim.errors.ExecutableNotFound` naming it), creates the launch's directories,
  writes the script and the launch's files, runs the submit command and parses the job id. The
  handle records the paths of the status and cancel tools, so a handle read back from the
  journal is polled and stopped with the same product's tools.
* ``poll`` makes a constant number of scheduler calls whatever the number of handles (one per
  set of tool paths, normally one; a subclass that needs a second source, like Grid Engine's
  accounting file, overrides :meth:`BatchLauncher.query` and stays constant).
* ``stop`` cancels every handle in one call; a job that had already finished is not an error,
  and a job this launcher cancelled that the scheduler no longer reports is ``CANCELLED``.
* A job the scheduler no longer reports at all (PBS without job history, LSF after
  ``CLEAN_PERIOD``, Grid Engine without accounting) is read from the exit-status file its
  script writes as it ends (:meth:`BatchLauncher.exit_file`); the file is removed before each
  submission so an earlier run's status is never read.

Tool paths: sites install ``qsub`` from more than one product, so the user may name them
(``World.tools`` for the plan, :attr:`BatchLauncher.tools` for the launcher). When only the
submit tool is named, its siblings in the same directory are preferred for status and cancel.
Nothing here raises for an expected failure.
"""

# ruff: noqa: PLC0414 (``x as x``: helpers moved to _tools.py stay importable here)
from __future__ import annotations

import datetime as _dt
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from typing import Final

import attrs
from returns.io import IOFailure, IOResult, IOSuccess
from returns.pipeline import is_successful
from returns.result import Failure, Result, Success

from smartsim._frozen import FrozenMap
from smartsim.commands._types import Command, Submission
from smartsim.commands.batch import script_exit_file
from smartsim.commands.plan import Launch, World
from smartsim.effects._tools import SUBMITTED as SUBMITTED
from smartsim.effects._tools import find_tools as find_tools
from smartsim.effects._tools import utc_stamp
from smartsim.effects._tools import write_text as write_text
from smartsim.effects.launcher import Handle
from smartsim.effects.process import Completed, run
from smartsim.errors import (
    EffectError,
    Invalid,
    NonZeroExit,
    OSFailure,
    SchedulerUnavailable,
    UnparsableOutput,
)
from smartsim.status import JobState, Status
from smartsim.values import Ensemble, Model

#: Prefix of the keys that record tool paths in ``Handle.extra`` (``tool:qstat``).
TOOL_KEY: Final = "tool:"
#: Key of the file the job writes its exit status to (``Handle.extra``), when it does.
EXIT_FILE: Final = "exit_file"


def _prepare(
    launch: Launch, submission: Submission, exit_file: str | None
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
    for directory in launch.mkdirs:
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as exc:
            return IOFailure(OSFailure(f"mkdir {directory}", exc.strerror or str(exc)))
    files = [
        (submission.script_path, submission.script),
        *launch.files.items(),
        *submission.submit.files.items(),
    ]
    for path, text in files:
        written = write_text(path, text)
        if not is_successful(written):
            return written
    return IOSuccess(None)


class BatchLauncher:
    """Start, poll and stop jobs of one batch scheduler; subclasses provide the pure seams.

    Subclasses set :attr:`name`, :attr:`submit_tool` and :attr:`tool_names` and implement
    :meth:`plan`, :meth:`parse_submit`, :meth:`status_command`, :meth:`parse_status` and
    :meth:`cancel_command`; they may refine :meth:`cancel_succeeded`, :meth:`unavailable` and
    :meth:`query`. Constructible with no arguments (``Experiment`` looks launchers up by name).
    """

    #: The launcher's name in ``Experiment(launcher=...)`` and in handles.
    name: str = "batch"
    #: The tool that submits (its path is the first word of the submit command).
    submit_tool: str = ""
    #: Every tool this launcher runs, by default name (submit, status, cancel, ...).
    tool_names: tuple[str, ...] = ()
    #: The job script's suffix, when the planner's scripts record their exit status
    #: (:func:`smartsim.commands.batch.script_exit_file`).
    script_suffix: str | None = None

    def __init__(self, *, tools: Mapping[str, str] | None = None, timeout: float = 60.0) -> None:
        #: Tool paths named by the user (``{"qsub": "/opt/pbs/bin/qsub"}``).
        self.tools: FrozenMap[str, str] = FrozenMap(dict(tools or {}))
        #: Seconds a scheduler command may take before it is a :class:`~smartsim.errors.Timeout`.
        self.timeout = timeout
        self._stopped: set[str] = set()

    # ------------------------------------------------------------------ pure seams

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

    def plan(self, entity: Model | Ensemble, world: World) -> Result[tuple[Launch, ...], Invalid]:
        """Pure: the launches that would run ``entity``."""
        raise NotImplementedError

    def parse_submit(self, done: Completed) -> Result[str, str]:
        """The job id the submit tool printed (``Failure`` says what was expected)."""
        raise NotImplementedError

    def status_command(self, job_ids: Sequence[str], tools: Mapping[str, str]) -> Command:
        """One command that reports on every job of ``job_ids``."""
        raise NotImplementedError

    def parse_status(
        self, done: Completed, job_ids: Sequence[str]
    ) -> Result[Mapping[str, JobState], str]:
        """States of the jobs the status output reports (ids it does not report are left out)."""
        raise NotImplementedError

    def cancel_command(self, job_ids: Sequence[str], tools: Mapping[str, str]) -> Command:
        raise NotImplementedError

    def cancel_succeeded(self, done: Completed) -> bool:
        """Whether the cancel worked, counting "the job had already finished" as success."""
        return done.returncode == 0

    def unavailable(self, done: Completed) -> bool:
        """Whether the tool failed because the scheduler could not be reached (transient)."""
        return False

    def exit_file(self, launch: Launch) -> str | None:
        """The file ``launch``'s job records its exit status in, if its script does."""
        if launch.submission is None or self.script_suffix is None:
            return None
        submission = launch.submission
        return script_exit_file(submission.script_path, submission.script, self.script_suffix)

    def cancelled(self, done: Completed, job_ids: Sequence[str]) -> set[str]:
        """The ids the cancel command acted on (not those that had already finished): their
        later failure is reported as ``CANCELLED``."""
        return set(job_ids)

    # ------------------------------------------------------------------ helpers

    def _tool_paths(self, submit_path: str) -> dict[str, str]:
        """Where each tool is for a job submitted with ``submit_path``."""
        directory = os.path.dirname(submit_path)
        paths: dict[str, str] = {}
        for name in self.tool_names:
            if name == self.submit_tool:
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
        return {name: recorded.get(name, self.tool(name)) for name in self.tool_names}

    def _groups(self, handles: Sequence[Handle]) -> list[tuple[dict[str, str], list[Handle]]]:
        groups: dict[tuple[tuple[str, str], ...], list[Handle]] = {}
        for handle in handles:
            key = tuple(sorted(self.handle_tools(handle).items()))
            groups.setdefault(key, []).append(handle)
        return [(dict(key), members) for key, members in groups.items()]

    def failure(self, done: Completed) -> EffectError:
        """The error a failed tool run stands for."""
        if self.unavailable(done):
            return SchedulerUnavailable(done.argv, done.stderr or done.stdout)
        return NonZeroExit(done.argv, done.returncode, done.stderr, done.stdout)

    def run_tool(self, command: Command) -> IOResult[Completed, EffectError]:
        """Run a scheduler tool; a non-zero exit stays a ``Completed`` for the caller to read."""
        return run(command, timeout=self.timeout)

    # ------------------------------------------------------------------ effects

    def start(self, launch: Launch) -> IOResult[Handle, EffectError]:
        """Submit ``launch.submission`` once every tool it needs is there."""
        submission = launch.submission
        if submission is None:
            return IOFailure(
                OSFailure("submit", f"{launch.name!r} has no batch submission for {self.name}")
            )
        paths = self._tool_paths(submission.submit.argv[0])
        exit_file = self.exit_file(launch)
        return (
            find_tools(dict.fromkeys(paths.values()))
            .bind(lambda _: _prepare(launch, submission, exit_file))
            .bind(lambda _: self.run_tool(submission.submit))
            .bind(lambda done: self._submitted(launch, done, paths, exit_file))
        )

    def _submitted(
        self, launch: Launch, done: Completed, paths: Mapping[str, str], exit_file: str | None
    ) -> IOResult[Handle, EffectError]:
        if done.returncode != 0:
            return IOFailure(self.failure(done))
        parsed = self.parse_submit(done)
        if isinstance(parsed, Failure):
            tool = os.path.basename(done.argv[0])
            return IOFailure(UnparsableOutput(tool, done.stdout + done.stderr, parsed.failure()))
        extra = ((SUBMITTED, utc_stamp()), *((TOOL_KEY + k, v) for k, v in paths.items()))
        if exit_file is not None:
            extra += ((EXIT_FILE, exit_file),)
        return IOSuccess(
            Handle(launcher=self.name, name=launch.name, job_id=parsed.unwrap(), extra=extra)
        )

    def query(
        self, handles: Sequence[Handle], tools: Mapping[str, str]
    ) -> IOResult[Mapping[str, JobState], EffectError]:
        """States of the handles' jobs from one status command, by job id (ids the scheduler
        does not report are absent)."""
        job_ids = list(dict.fromkeys(h.job_id for h in handles))
        command = self.status_command(job_ids, tools)

        def read(done: Completed) -> IOResult[Mapping[str, JobState], EffectError]:
            parsed = self.parse_status(done, job_ids)
            if isinstance(parsed, Success):
                return IOSuccess(parsed.unwrap())
            if done.returncode != 0:
                return IOFailure(self.failure(done))
            tool = os.path.basename(done.argv[0])
            return IOFailure(UnparsableOutput(tool, done.stdout, parsed.failure()))

        return self.run_tool(command).bind(read)

    def poll(self, handles: Sequence[Handle]) -> IOResult[Mapping[Handle, JobState], EffectError]:
        """Statuses of every handle with a constant number of scheduler calls."""
        result: IOResult[Mapping[Handle, JobState], EffectError] = IOSuccess({})
        for tools, members in self._groups(handles):
            result = result.bind(self._query_more(members, tools))
        return result

    def _query_more(
        self, handles: Sequence[Handle], tools: Mapping[str, str]
    ) -> Callable[[Mapping[Handle, JobState]], IOResult[Mapping[Handle, JobState], EffectError]]:
        def more(
            done: Mapping[Handle, JobState],
        ) -> IOResult[Mapping[Handle, JobState], EffectError]:
            return self.query(handles, tools).map(
                lambda states: {**done, **self._assign(handles, states)}
            )

        return more

    def _assign(
        self, handles: Sequence[Handle], states: Mapping[str, JobState]
    ) -> dict[Handle, JobState]:
        out: dict[Handle, JobState] = {}
        for handle in handles:
            state = states.get(handle.job_id)
            stopped = handle.job_id in self._stopped
            if state is None:
                state = _recorded_exit(handle)
            if state is None:
                if stopped:
                    state = JobState(Status.CANCELLED, reason="cancelled by smartsim")
                else:
                    state = JobState(Status.UNKNOWN, reason=f"{self.name} does not report it")
            elif stopped and state.status is Status.FAILED:
                # killed because this launcher asked (schedulers report the kill as a failure)
                state = attrs.evolve(state, status=Status.CANCELLED)
            out[handle] = state
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
        job_ids = list(dict.fromkeys(h.job_id for h in handles))
        command = self.cancel_command(job_ids, tools)

        def read(done: Completed) -> IOResult[None, EffectError]:
            if self.cancel_succeeded(done):
                self._stopped.update(self.cancelled(done, job_ids))
                return IOSuccess(None)
            return IOFailure(self.failure(done))

        return find_tools([command.argv[0]]).bind(lambda _: self.run_tool(command)).bind(read)


def _recorded_exit(handle: Handle) -> JobState | None:
    """The state the job's exit-status file records, when the file exists and holds one."""
    path = handle.get(EXIT_FILE)
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            text = stream.read(64).strip()
    except OSError:
        return None
    if not text.isascii() or not text.isdigit():
        return None
    code = int(text)
    reason = "read from the job's exit-status file (the scheduler no longer reports it)"
    status = Status.COMPLETED if code == 0 else Status.FAILED
    return JobState(status, raw="exit file", returncode=code, reason=reason)


def submitted_at(handle: Handle) -> _dt.datetime | None:
    """When ``handle``'s job was submitted (recorded by :meth:`BatchLauncher.start`)."""
    value = handle.get(SUBMITTED)
    if value is None:
        return None
    try:
        return _dt.datetime.fromisoformat(value)
    except ValueError:
        return None
