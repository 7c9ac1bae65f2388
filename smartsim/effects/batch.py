"""Effects shared by batch-scheduler launchers: submit a script, poll many jobs, cancel one.

A batch scheduler (PBS, LSF, Grid Engine, ...) is described to this module by a few *pure* seams
(the PSI/J split): the planner that turns an entity into a :class:`~smartsim.commands.plan.Launch`
whose ``submission`` carries the script and the submit :class:`~smartsim.commands.Command`; a
parser of the submit tool's output; the status query ``Command`` and its parser; the cancel
``Command`` and a reader of its outcome. :class:`BatchLauncher` owns everything impure around
them, once for every scheduler:

* ``start`` checks that every tool the launcher will need exists *before* submitting (a job
  that could not be polled or cancelled is not submitted), writes the script and the launch's
  files, runs the submit command and parses the job id;
* ``poll`` makes a constant number of scheduler calls whatever the number of handles (one by
  default; subclasses that need a second source, like Grid Engine's accounting, override
  :meth:`BatchLauncher.query`);
* ``stop`` runs the cancel command; a job that had already finished is not an error. A job this
  launcher stopped that the scheduler no longer reports is ``CANCELLED``, not ``UNKNOWN``.

Tool paths can be named by the user (``tools={"qsub": "/opt/pbs/bin/qsub"}``): sites install
``qsub`` from more than one product. Nothing here raises for an expected failure.
"""

from __future__ import annotations

import datetime as _dt
import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure, Result, Success

from smartsim._frozen import FrozenMap
from smartsim.commands._types import Command, Submission
from smartsim.commands.plan import Launch, World
from smartsim.effects.launcher import Handle
from smartsim.effects.process import Completed, run
from smartsim.errors import (
    EffectError,
    ExecutableNotFound,
    Invalid,
    NonZeroExit,
    OSFailure,
    SchedulerUnavailable,
    UnparsableOutput,
)
from smartsim.status import JobState, Status
from smartsim.values import Ensemble, Model

#: Key of the submission time (UTC, ISO 8601) in ``Handle.extra``.
SUBMITTED: Final = "submitted"


def _write(path: str, text: str) -> OSFailure | None:
    try:
        parent = os.path.dirname(path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        return OSFailure(f"write {path}", exc.strerror or str(exc))
    return None


def write_text(path: str, text: str) -> IOResult[None, EffectError]:
    """Write ``text`` at ``path`` (creating parent directories)."""
    error = _write(path, text)
    return IOSuccess(None) if error is None else IOFailure(error)


def find_tool(path: str) -> IOResult[str, EffectError]:
    """``path`` itself when it names an executable (on ``PATH`` or as a file path)."""
    found = shutil.which(path)
    if found is None:
        reason = "not executable" if os.path.exists(path) else "not found on PATH"
        return IOFailure(ExecutableNotFound(path, reason))
    return IOSuccess(path)


def find_tools(paths: Iterable[str]) -> IOResult[None, EffectError]:
    """The first missing tool of ``paths``, as :class:`ExecutableNotFound`."""
    for path in paths:
        if shutil.which(path) is None:
            return find_tool(path).map(lambda _: None)
    return IOSuccess(None)


class BatchLauncher:
    """Start, poll and stop jobs of one batch scheduler; subclasses provide the pure seams.

    Subclasses set :attr:`name` and :attr:`tool_names` and implement :meth:`plan`,
    :meth:`parse_submit`, :meth:`status_command`, :meth:`parse_status`,
    :meth:`cancel_command` and :meth:`cancel_succeeded`; they may refine
    :meth:`unavailable` (what a controller-down message looks like) and :meth:`query`.
    """

    #: The launcher's name in ``Experiment(launcher=...)`` and in handles.
    name: str = "batch"
    #: Every tool this launcher runs (submit, status, cancel, ...), by default name.
    tool_names: tuple[str, ...] = ()

    def __init__(self, *, tools: Mapping[str, str] | None = None, timeout: float = 60.0) -> None:
        self.tools: FrozenMap[str, str] = FrozenMap(dict(tools or {}))
        self.timeout = timeout
        self._stopped: set[str] = set()

    # ------------------------------------------------------------------ pure seams

    def tool(self, name: str, world: World | None = None) -> str:
        """The path to run for tool ``name``: the world's choice, then this launcher's, then
        the bare name (looked up on ``PATH``)."""
        if world is not None and name in world.tools:
            return world.tools[name]
        return self.tools.get(name, name)

    def plan(self, entity: Model | Ensemble, world: World) -> Result[tuple[Launch, ...], Invalid]:
        """Pure: the launches that would run ``entity``."""
        raise NotImplementedError

    def parse_submit(self, done: Completed) -> Result[str, str]:
        """The job id the submit tool printed (``Failure`` carries what was expected)."""
        raise NotImplementedError

    def status_command(self, job_ids: Sequence[str]) -> Command:
        """One command that reports on every job of ``job_ids``."""
        raise NotImplementedError

    def parse_status(
        self, done: Completed, job_ids: Sequence[str]
    ) -> Result[Mapping[str, JobState], str]:
        """States of the jobs the status output mentions (absent ids are left out)."""
        raise NotImplementedError

    def cancel_command(self, job_id: str) -> Command:
        raise NotImplementedError

    def cancel_succeeded(self, done: Completed) -> bool:
        """Whether the cancel worked, including "the job had already finished"."""
        return done.returncode == 0

    def unavailable(self, done: Completed) -> bool:
        """Whether the tool failed because the scheduler could not be reached (transient)."""
        return False

    # ------------------------------------------------------------------ helpers

    def _needed_tools(self, launch: Launch) -> tuple[str, ...]:
        submit = launch.submission.submit.argv[0] if launch.submission is not None else None
        first = launch.command.argv[0] if launch.command is not None else None
        names = [p for p in (submit, first) if p is not None]
        names.extend(self.tool(n) for n in self.tool_names)
        out: list[str] = []
        for path in names:
            if path not in out:
                out.append(path)
        return tuple(out)

    def _failed(self, done: Completed) -> EffectError:
        if self.unavailable(done):
            return SchedulerUnavailable(done.argv, done.stderr or done.stdout)
        return NonZeroExit(done.argv, done.returncode, done.stderr, done.stdout)

    def run_tool(self, command: Command) -> IOResult[Completed, EffectError]:
        """Run a scheduler tool; a non-zero exit stays a ``Completed`` for the caller to read."""
        return run(command, timeout=self.timeout)

    # ------------------------------------------------------------------ effects

    def start(self, launch: Launch) -> IOResult[Handle, EffectError]:
        """Submit ``launch.submission``; its tools must all exist first."""
        submission = launch.submission
        if submission is None:
            return IOFailure(
                OSFailure("submit", f"{launch.name!r} has no batch submission for {self.name}")
            )
        return (
            find_tools(self._needed_tools(launch))
            .bind(lambda _: _write_files(launch, submission))
            .bind(lambda _: self.run_tool(submission.submit))
            .bind(lambda done: self._submitted(launch, done))
        )

    def _submitted(self, launch: Launch, done: Completed) -> IOResult[Handle, EffectError]:
        if done.returncode != 0:
            return IOFailure(self._failed(done))
        parsed = self.parse_submit(done)
        if isinstance(parsed, Failure):
            tool = os.path.basename(done.argv[0])
            return IOFailure(UnparsableOutput(tool, done.stdout + done.stderr, parsed.failure()))
        stamp = _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()
        return IOSuccess(
            Handle(
                launcher=self.name,
                name=launch.name,
                job_id=parsed.unwrap(),
                extra=((SUBMITTED, stamp),),
            )
        )

    def query(self, handles: Sequence[Handle]) -> IOResult[Mapping[str, JobState], EffectError]:
        """States of the handles' jobs from one status command, by job id (ids the scheduler
        does not report are absent)."""
        job_ids = list(dict.fromkeys(h.job_id for h in handles))
        command = self.status_command(job_ids)

        def read(done: Completed) -> IOResult[Mapping[str, JobState], EffectError]:
            parsed = self.parse_status(done, job_ids)
            if isinstance(parsed, Success):
                return IOSuccess(parsed.unwrap())
            if done.returncode != 0:
                return IOFailure(self._failed(done))
            tool = os.path.basename(done.argv[0])
            return IOFailure(UnparsableOutput(tool, done.stdout, parsed.failure()))

        return self.run_tool(command).bind(read)

    def poll(self, handles: Sequence[Handle]) -> IOResult[Mapping[Handle, JobState], EffectError]:
        """Statuses of every handle with a constant number of scheduler calls."""
        if not handles:
            return IOSuccess({})

        def assign(states: Mapping[str, JobState]) -> Mapping[Handle, JobState]:
            out: dict[Handle, JobState] = {}
            for handle in handles:
                state = states.get(handle.job_id)
                if state is None:
                    if handle.job_id in self._stopped:
                        state = JobState(Status.CANCELLED, reason="cancelled by smartsim")
                    else:
                        state = JobState(
                            Status.UNKNOWN, reason=f"{self.name} does not report this job"
                        )
                out[handle] = state
            return out

        return self.query(handles).map(assign)

    def stop(self, handle: Handle) -> IOResult[None, EffectError]:
        """Cancel the job; one that had already finished is not an error."""
        command = self.cancel_command(handle.job_id)

        def read(done: Completed) -> IOResult[None, EffectError]:
            if self.cancel_succeeded(done):
                self._stopped.add(handle.job_id)
                return IOSuccess(None)
            return IOFailure(self._failed(done))

        return find_tool(command.argv[0]).bind(lambda _: self.run_tool(command)).bind(read)


def _write_files(launch: Launch, submission: Submission) -> IOResult[None, EffectError]:
    """The script, then the launch's and the submit command's files."""
    files = [
        (submission.script_path, submission.script),
        *launch.files.items(),
        *submission.submit.files.items(),
    ]
    for path, text in files:
        error = _write(path, text)
        if error is not None:
            return IOFailure(error)
    return IOSuccess(None)


def submitted_at(handle: Handle) -> _dt.datetime | None:
    """When ``handle``'s job was submitted (from ``Handle.extra``), if recorded."""
    for key, value in handle.extra:
        if key == SUBMITTED:
            try:
                return _dt.datetime.fromisoformat(value)
            except ValueError:
                return None
    return None
