"""Error values.

Two families, kept apart as PSI/J does: :class:`ValidationError` says the *description* is wrong
(fix the input), :class:`EffectError` says the *world* did not cooperate (a tool is missing, a
scheduler said no, a controller is down — ``transient`` tells whether trying again may help).
Both are frozen values carried inside ``returns`` containers. Only the shell modules
(``Experiment``, ``smartsim.slurm``, the CLI) raise, and they raise :class:`SmartSimError`, which
carries the value in ``.error``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import final

import attrs

# Every builder import defines all of these classes, and attrs' per-class code generation is the
# bulk of that cost. So each error class has attrs generate only its __init__ (and the frozen
# guard): equality, hashing and repr are written once below, from the attrs fields, and a
# subclass that adds no field is a plain subclass (it inherits all of it, fields included).


# (the type: ignores: attrs.fields accepts any attrs class; _Fieldwise is one only through its
# subclasses, which mypy cannot see here)
def _field_values(value: object) -> tuple[object, ...]:
    return tuple(getattr(value, a.name) for a in attrs.fields(type(value)))  # type: ignore[arg-type]


class _Fieldwise:
    """Equality, hash and repr by class and attrs fields (what ``attrs.frozen`` would make)."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return _field_values(self) == _field_values(other)

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash((self.__class__, *_field_values(self)))

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{a.name}={getattr(self, a.name)!r}"
            for a in attrs.fields(type(self))  # type: ignore[arg-type]
        )
        return f"{self.__class__.__qualname__}({shown})"


@attrs.frozen(slots=False, repr=False, eq=False)
class ValidationError(_Fieldwise):
    """Base of every input problem: the field it concerns and the offending value."""

    field: str
    value: object

    @property
    def message(self) -> str:
        return f"{self.field}={self.value!r} is invalid"

    def __str__(self) -> str:
        return self.message


@final
class NotPositive(ValidationError):
    """A count, size or duration that must be > 0 (Slurm reads ``--time 0`` as no limit)."""

    @property
    def message(self) -> str:
        return f"{self.field} must be positive, got {self.value!r}"


@final
class EmptyValue(ValidationError):
    """An empty string where the tool needs a value (Slurm rejects ``--partition ''``)."""

    @property
    def message(self) -> str:
        return f"{self.field} must not be empty"


@final
class BadOptionName(ValidationError):
    """An option key that is empty, starts with a dash or holds characters outside [A-Za-z0-9_-]."""

    @property
    def message(self) -> str:
        return (
            f"{self.field}: option name {self.value!r} is not a plain option name "
            "(letters, digits, '-' and '_', no leading dash)"
        )


@final
@attrs.frozen(slots=False, repr=False, eq=False)
class ForbiddenCharacter(ValidationError):
    """A NUL byte anywhere, or a newline/CR in text that reaches a single command or script line."""

    character: str = "\n"

    @property
    def message(self) -> str:
        return f"{self.field}={self.value!r} contains the forbidden character {self.character!r}"


@final
class InconsistentTasks(ValidationError):
    """``nodes * tasks_per_node`` disagrees with ``ntasks``."""

    @property
    def message(self) -> str:
        return f"{self.field}: {self.value} (nodes x tasks_per_node must equal ntasks)"


@final
@attrs.frozen(slots=False, repr=False, eq=False)
class DuplicateOption(ValidationError):
    """The same scheduler option given twice: a typed field and a raw key, or two spellings."""

    other: str = ""

    @property
    def message(self) -> str:
        return f"{self.field} sets the same option as {self.other} (value {self.value!r})"


@final
class BadHostName(ValidationError):
    """A host name outside the tool's documented grammar."""

    @property
    def message(self) -> str:
        return f"{self.field}: {self.value!r} is not a valid host name or host list"


@final
class BadDuration(ValidationError):
    """Text that is not a duration in one of Slurm's ``--time`` forms."""

    @property
    def message(self) -> str:
        return (
            f"{self.field}={self.value!r} is not a duration: use a timedelta, a number of "
            "seconds, or text 'MM', 'MM:SS', 'H:MM:SS', 'D-HH', 'D-HH:MM' or 'D-HH:MM:SS'"
        )


@final
class BadMemory(ValidationError):
    """Text that is not a memory size (``512M``, ``4GB``, or an int of megabytes)."""

    @property
    def message(self) -> str:
        return f"{self.field}={self.value!r} is not a memory size (e.g. '512M', '4G', 1024)"


@final
@attrs.frozen(slots=False, repr=False, eq=False)
class BadName(ValidationError):
    """A name (entity, job, parameter) outside the allowed character set."""

    rule: str = "letters, digits, '.', '_' and '-'"

    @property
    def message(self) -> str:
        return f"{self.field}={self.value!r} is not a valid name ({self.rule})"


@final
@attrs.frozen(slots=False, repr=False, eq=False)
class BadValue(ValidationError):
    """A value outside the set or grammar a field accepts; ``expected`` says what is."""

    expected: str = ""

    @property
    def message(self) -> str:
        return f"{self.field}={self.value!r} is invalid: expected {self.expected}"


@final
@attrs.frozen(slots=False, repr=False, eq=False)
class Unsupported(ValidationError):
    """A setting the chosen tool cannot express (never dropped silently)."""

    tool: str = ""

    @property
    def message(self) -> str:
        return f"{self.tool} cannot express {self.field}={self.value!r}"


@final
@attrs.frozen(slots=False, repr=False, eq=False)
class ConflictingOptions(ValidationError):
    """Two settings that exclude each other."""

    other: str = ""

    @property
    def message(self) -> str:
        return f"{self.field}={self.value!r} conflicts with {self.other}"


@final
@attrs.frozen(slots=False, repr=False, eq=False)
class UnknownLauncher(ValidationError):
    """A launcher or run-command name smartsim does not know."""

    known: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        return f"unknown {self.field} {self.value!r}; known: {', '.join(self.known)}"


@final
@attrs.frozen
class UnsafePath(ValidationError):
    """A generator file whose copy, link or configuration would destroy or escape something:
    ``/``, the experiment directory or an ancestor, the entity's own directory or anything in
    it (``generate(overwrite=True)`` removes that directory first)."""

    reason: str = ""

    @property
    def message(self) -> str:
        return f"{self.field}={self.value!r} is refused: {self.reason}"


@final
@attrs.frozen
class SmartSimName(ValidationError):
    """A name of CrayLabs SmartSim's API that is not ours; ``replacement`` says what to write
    here (docs/migrating-from-smartsim.md)."""

    replacement: str = ""

    @property
    def message(self) -> str:
        return f"{self.field} is SmartSim's; here: {self.replacement}"


def _error_tuple(value: object) -> tuple[ValidationError, ...]:
    if not isinstance(value, (tuple, list)):
        raise TypeError(f"expected a sequence of ValidationError, got {value!r}")
    return tuple(value)


@final
@attrs.frozen(slots=False, repr=False, eq=False)
class Invalid(_Fieldwise):
    """Every problem found in one value, in the order found."""

    errors: tuple[ValidationError, ...] = attrs.field(converter=_error_tuple)

    def __str__(self) -> str:
        return "; ".join(e.message for e in self.errors)

    @staticmethod
    def of(errors: Sequence[ValidationError]) -> Invalid:
        return Invalid(tuple(errors))


# --------------------------------------------------------------------------- effects


@attrs.frozen(slots=False, repr=False, eq=False)
class EffectError(_Fieldwise):
    """Base of what went wrong in the world. ``transient``: trying again later may succeed."""

    @property
    def transient(self) -> bool:
        return False

    @property
    def message(self) -> str:
        return type(self).__name__

    def __str__(self) -> str:
        return self.message


@final
@attrs.frozen(slots=False, repr=False, eq=False)
class ExecutableNotFound(EffectError):
    """The program to run is not on PATH, or not executable."""

    command: str
    reason: str = "not found"

    @property
    def message(self) -> str:
        return f"cannot run {self.command!r}: {self.reason}"


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

    @property
    def transient(self) -> bool:
        return True

    @property
    def message(self) -> str:
        return f"{self.what} did not finish within {self.seconds:g} s"


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

    @property
    def message(self) -> str:
        return f"{self.operation} failed: {self.detail}"


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

    @property
    def message(self) -> str:
        return f"{self.name!r} has not been started"


@final
@attrs.frozen
class AfterNotCompleted(EffectError):
    """``start(..., after=[...])``: an entity waited for did not complete, so this one was not
    started."""

    names: tuple[str, ...]

    @property
    def message(self) -> str:
        return f"not started: {', '.join(self.names)} did not complete (after=)"


@final
@attrs.frozen
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
@attrs.frozen
class NeverStarts(EffectError):
    """A wait that could never end: the scheduler holds these jobs pending for a reason under
    which they cannot start (``name (job id): REASON: why`` each). They are left queued;
    stopping the experiment cancels them."""

    jobs: tuple[str, ...]

    @property
    def message(self) -> str:
        return "can never start as the cluster is configured: " + "; ".join(self.jobs)


@final
@attrs.frozen
class UnknownJob(EffectError):
    """The scheduler does not know this job id (and, where it keeps accounting, never did)."""

    job_id: str
    #: What the scheduler said.
    said: str = ""

    @property
    def message(self) -> str:
        return f"no job {self.job_id}{': ' + self.said if self.said else ''}"


@final
@attrs.frozen
class MissingDependency(EffectError):
    """An optional part of smartsim whose package is not installed (``install`` says how)."""

    package: str
    install: str

    @property
    def message(self) -> str:
        return f"the {self.package!r} package is not installed: {self.install}"


# --------------------------------------------------------------------------- shell


@final
class SmartSimError(Exception):
    """Raised by the shell modules only; ``error`` holds the typed value."""

    def __init__(self, error: EffectError | Invalid | ValidationError) -> None:
        super().__init__(str(error))
        self.error = error
