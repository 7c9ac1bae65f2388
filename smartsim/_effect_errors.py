"""The effect family of :mod:`smartsim.errors`: what went wrong in the world.

Its home is :mod:`smartsim.errors` (import the names from there); it is defined here so that the
builders, which never fail in the world, do not pay for defining it at import.
"""

from __future__ import annotations

from typing import final

import attrs

from smartsim.errors import _Fieldwise


@attrs.frozen(slots=False, repr=False, eq=False)
class EffectError(_Fieldwise):
    """Base of what went wrong in the world. ``transient``: trying again later may succeed."""

    @property
    def transient(self) -> bool:
        return False

    @property
    def message(self) -> str:
        return self._template.format_map(vars(self)) if self._template else type(self).__name__

    def __str__(self) -> str:
        return self.message


@final
@attrs.frozen(slots=False, repr=False, eq=False)
class ExecutableNotFound(EffectError):
    """The program to run is not on PATH, or not executable."""

    command: str
    reason: str = "not found"

    _template = "cannot run {command!r}: {reason}"


@final
@attrs.frozen(slots=False, repr=False, eq=False)
class NonZeroExit(EffectError):
    """A scheduler or tool command exited non-zero; carries what it said."""

    argv: tuple[str, ...]
    returncode: int
    stderr: str = ""
    stdout: str = ""

    @property
    def message(self) -> str:
        said = (self.stderr or self.stdout).strip()
        return f"{self.argv[0] if self.argv else '?'} exited {self.returncode}: {said}"


@final
@attrs.frozen(slots=False, repr=False, eq=False)
class SchedulerUnavailable(EffectError):
    """The scheduler's controller could not be reached; polling resumes when it is back."""

    argv: tuple[str, ...]
    detail: str = ""

    @property
    def transient(self) -> bool:
        return True

    @property
    def message(self) -> str:
        return f"scheduler unavailable ({' '.join(self.argv[:1])}): {self.detail.strip()}"


@final
@attrs.frozen(slots=False, repr=False, eq=False)
class Timeout(EffectError):
    """A command or a wait did not finish in time (e.g. an allocation that stays pending)."""

    what: str
    seconds: float

    _template = "{what} did not finish within {seconds:g} s"

    @property
    def transient(self) -> bool:
        return True


@final
@attrs.frozen(slots=False, repr=False, eq=False)
class UnparsableOutput(EffectError):
    """A tool printed something its parser does not recognise."""

    tool: str
    text: str
    expected: str = ""

    @property
    def message(self) -> str:
        return f"could not read {self.tool} output ({self.expected}): {self.text[:200]!r}"


@final
@attrs.frozen(slots=False, repr=False, eq=False)
class OSFailure(EffectError):
    """An operating-system call failed (file, fork, signal)."""

    operation: str
    detail: str

    _template = "{operation} failed: {detail}"


@final
@attrs.frozen(slots=False, repr=False, eq=False)
class Interrupted(EffectError):
    """The user pressed Ctrl-C; what was started has been cleaned up."""

    what: str = ""

    @property
    def message(self) -> str:
        return f"interrupted{': ' + self.what if self.what else ''}"


@final
@attrs.frozen(slots=False, repr=False, eq=False)
class NotStarted(EffectError):
    """An operation on an entity that this experiment has not launched."""

    name: str

    _template = "{name!r} has not been started"


@final
@attrs.frozen(slots=False, repr=False, eq=False)
class AfterNotCompleted(EffectError):
    """``start(..., after=[...])``: an entity waited for did not complete, so this one was not
    started."""

    names: tuple[str, ...]

    @property
    def message(self) -> str:
        return f"not started: {', '.join(self.names)} did not complete (after=)"


@final
@attrs.frozen(slots=False, repr=False, eq=False)
class StillRunning(EffectError):
    """A stop was asked and these entities were still not final when the wait for them ended
    (their scheduler ids or processes in ``names``); they may still be alive."""

    names: tuple[str, ...]
    seconds: float

    @property
    def transient(self) -> bool:
        return True

    @property
    def message(self) -> str:
        alive = ", ".join(self.names)
        return f"still running {self.seconds:g} s after they were asked to stop: {alive}"


@final
@attrs.frozen(slots=False, repr=False, eq=False)
class NeverStarts(EffectError):
    """A wait that could never end: the scheduler holds these jobs pending for a reason under
    which they cannot start (``name (job id): REASON: why`` each). They are left queued;
    stopping the experiment cancels them."""

    jobs: tuple[str, ...]

    @property
    def message(self) -> str:
        return "can never start as the cluster is configured: " + "; ".join(self.jobs)


@final
@attrs.frozen(slots=False, repr=False, eq=False)
class UnknownJob(EffectError):
    """The scheduler does not know this job id (and, where it keeps accounting, never did)."""

    job_id: str
    #: What the scheduler said.
    said: str = ""

    @property
    def message(self) -> str:
        return f"no job {self.job_id}{': ' + self.said if self.said else ''}"


@final
@attrs.frozen(slots=False, repr=False, eq=False)
class MissingDependency(EffectError):
    """An optional part of smartsim whose package is not installed (``install`` says how)."""

    package: str
    install: str

    _template = "the {package!r} package is not installed: {install}"
