"""Error values.

Two families, kept apart as PSI/J does: :class:`ValidationError` says the *description* is wrong
(fix the input), :class:`EffectError` says the *world* did not cooperate (a tool is missing, a
scheduler said no, a controller is down — ``transient`` tells whether trying again may help).
Both are frozen values carried inside ``returns`` containers. Only the shell modules
(``Experiment``, ``smartsim.slurm``, the CLI) raise, and they raise :class:`SmartSimError`, which
carries the value in ``.error``.

Import cost: every builder import defines the validation errors, and attrs' per-class code
generation is the bulk of that cost, so

* an error class has attrs generate only its ``__init__`` (and the frozen guard): equality,
  hashing and repr are written once in :class:`_Fieldwise`, from the attrs fields;
* a class that adds no field is a plain subclass (it inherits all of that, fields included),
  and says its message as a template of its fields (:attr:`_Fieldwise._template`);
* the effect family, which no builder uses, is defined in :mod:`smartsim._effect_errors` and
  loaded the first time one of its names is read from this module (PEP 562); the names are
  this module's all the same (``from smartsim.errors import NonZeroExit``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, final

import attrs

if TYPE_CHECKING:
    from smartsim._effect_errors import (
        AfterNotCompleted,
        EffectError,
        ExecutableNotFound,
        Interrupted,
        MissingDependency,
        NeverStarts,
        NonZeroExit,
        NotStarted,
        OSFailure,
        SchedulerUnavailable,
        StillRunning,
        Timeout,
        UnknownJob,
        UnparsableOutput,
    )

__all__ = [
    "AfterNotCompleted",
    "BadDuration",
    "BadHostName",
    "BadMemory",
    "BadName",
    "BadOptionName",
    "BadValue",
    "ConflictingOptions",
    "DuplicateOption",
    "EffectError",
    "EmptyValue",
    "ExecutableNotFound",
    "ForbiddenCharacter",
    "InconsistentTasks",
    "Interrupted",
    "Invalid",
    "MissingDependency",
    "NeverStarts",
    "NonZeroExit",
    "NotPositive",
    "NotStarted",
    "OSFailure",
    "SchedulerUnavailable",
    "SmartSimError",
    "SmartSimName",
    "StillRunning",
    "Timeout",
    "UnknownJob",
    "UnknownLauncher",
    "UnparsableOutput",
    "UnsafePath",
    "Unsupported",
    "ValidationError",
]

#: The names :mod:`smartsim._effect_errors` defines, loaded on first use.
_EFFECT_ERRORS = frozenset(
    {
        "AfterNotCompleted",
        "EffectError",
        "ExecutableNotFound",
        "Interrupted",
        "MissingDependency",
        "NeverStarts",
        "NonZeroExit",
        "NotStarted",
        "OSFailure",
        "SchedulerUnavailable",
        "StillRunning",
        "Timeout",
        "UnknownJob",
        "UnparsableOutput",
    }
)


def __getattr__(name: str) -> Any:
    if name not in _EFFECT_ERRORS:
        raise AttributeError(f"module 'smartsim.errors' has no attribute {name!r}")
    from smartsim import _effect_errors

    value = getattr(_effect_errors, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


# (the type: ignores: attrs.fields accepts any attrs class; _Fieldwise is one only through its
# subclasses, which mypy cannot see here)
def _field_values(value: object) -> tuple[object, ...]:
    return tuple(getattr(value, a.name) for a in attrs.fields(type(value)))  # type: ignore[arg-type]


class _Fieldwise:
    """Equality, hash and repr by class and attrs fields (what ``attrs.frozen`` would make)."""

    __slots__ = ()

    #: The message, formatted with the fields by name (``{field}``, ``{value!r}``, ...). A class
    #: whose message needs more than its fields' text overrides ``message`` instead.
    _template: ClassVar[str] = ""

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

    _template = "{field}={value!r} is invalid"

    @property
    def message(self) -> str:
        """The problem in one sentence, naming the field and the value."""
        return self._template.format_map(vars(self))

    def __str__(self) -> str:
        return self.message


@final
class NotPositive(ValidationError):
    """A count, size or duration that must be > 0 (Slurm reads ``--time 0`` as no limit)."""

    _template = "{field} must be positive, got {value!r}"


@final
class EmptyValue(ValidationError):
    """An empty string where the tool needs a value (Slurm rejects ``--partition ''``)."""

    _template = "{field} must not be empty"


@final
class BadOptionName(ValidationError):
    """An option key that is empty, starts with a dash or holds characters outside [A-Za-z0-9_-]."""

    _template = (
        "{field}: option name {value!r} is not a plain option name "
        "(letters, digits, '-' and '_', no leading dash)"
    )


@final
@attrs.frozen(slots=False, repr=False, eq=False)
class ForbiddenCharacter(ValidationError):
    """A NUL byte anywhere, or a newline/CR in text that reaches a single command or script line."""

    character: str = "\n"

    _template = "{field}={value!r} contains the forbidden character {character!r}"


@final
class InconsistentTasks(ValidationError):
    """``nodes * tasks_per_node`` disagrees with ``ntasks``."""

    _template = "{field}: {value} (nodes x tasks_per_node must equal ntasks)"


@final
@attrs.frozen(slots=False, repr=False, eq=False)
class DuplicateOption(ValidationError):
    """The same scheduler option given twice: a typed field and a raw key, or two spellings."""

    other: str = ""

    _template = "{field} sets the same option as {other} (value {value!r})"


@final
class BadHostName(ValidationError):
    """A host name outside the tool's documented grammar."""

    _template = "{field}: {value!r} is not a valid host name or host list"


@final
class BadDuration(ValidationError):
    """Text that is not a duration in one of Slurm's ``--time`` forms."""

    _template = (
        "{field}={value!r} is not a duration: use a timedelta, a number of "
        "seconds, or text 'MM', 'MM:SS', 'H:MM:SS', 'D-HH', 'D-HH:MM' or 'D-HH:MM:SS'"
    )


@final
class BadMemory(ValidationError):
    """Text that is not a memory size (``512M``, ``4GB``, or an int of megabytes)."""

    _template = "{field}={value!r} is not a memory size (e.g. '512M', '4G', 1024)"


@final
@attrs.frozen(slots=False, repr=False, eq=False)
class BadName(ValidationError):
    """A name (entity, job, parameter) outside the allowed character set."""

    rule: str = "letters, digits, '.', '_' and '-'"

    _template = "{field}={value!r} is not a valid name ({rule})"


@final
@attrs.frozen(slots=False, repr=False, eq=False)
class BadValue(ValidationError):
    """A value outside the set or grammar a field accepts; ``expected`` says what is."""

    expected: str = ""

    _template = "{field}={value!r} is invalid: expected {expected}"


@final
@attrs.frozen(slots=False, repr=False, eq=False)
class Unsupported(ValidationError):
    """A setting the chosen tool cannot express (never dropped silently)."""

    tool: str = ""

    _template = "{tool} cannot express {field}={value!r}"


@final
@attrs.frozen(slots=False, repr=False, eq=False)
class ConflictingOptions(ValidationError):
    """Two settings that exclude each other."""

    other: str = ""

    _template = "{field}={value!r} conflicts with {other}"


@final
@attrs.frozen(slots=False, repr=False, eq=False)
class UnknownLauncher(ValidationError):
    """A launcher or run-command name smartsim does not know."""

    known: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        return f"unknown {self.field} {self.value!r}; known: {', '.join(self.known)}"


@final
@attrs.frozen(slots=False, repr=False, eq=False)
class UnsafePath(ValidationError):
    """A generator file whose copy, link or configuration would destroy or escape something:
    ``/``, the experiment directory or an ancestor, the entity's own directory or anything in
    it (``generate(overwrite=True)`` removes that directory first)."""

    reason: str = ""

    _template = "{field}={value!r} is refused: {reason}"


@final
@attrs.frozen(slots=False, repr=False, eq=False)
class SmartSimName(ValidationError):
    """A name of CrayLabs SmartSim's API that is not ours; ``replacement`` says what to write
    here (docs/migrating-from-smartsim.md)."""

    replacement: str = ""

    _template = "{field} is SmartSim's; here: {replacement}"


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


# --------------------------------------------------------------------------- shell


@final
class SmartSimError(Exception):
    """Raised by the shell modules only; ``error`` holds the typed value."""

    def __init__(self, error: EffectError | Invalid | ValidationError) -> None:
        super().__init__(str(error))
        self.error = error
