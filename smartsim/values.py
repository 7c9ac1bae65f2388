"""The frozen values users describe work with.

Every value is a frozen ``attrs`` class changed only with :func:`attrs.evolve`. Dicts and lists a
user passes become :class:`~smartsim._frozen.FrozenMap` and tuples. Constructors raise
``TypeError`` only for values of the wrong *type*; every domain rule (positive counts, option
names, host grammar, ...) is checked by :mod:`smartsim.validate`, which reports all problems at
once. Text that does not parse as a duration or a memory size is therefore kept as the raw ``str``
so that validation can name it.
"""

from __future__ import annotations

import functools
import math
import re
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final, TypeAlias, TypeVar, final

import attrs
from returns.result import Failure, Result, Success

from smartsim._frozen import EMPTY_MAP, FrozenMap, fieldwise, frozen_map
from smartsim._lazy import LazyPattern

if TYPE_CHECKING:
    import datetime as _dt

# Import cost: attrs generates code for each class, and dict-based frozen classes (slots=False)
# cost it half as much to define as slotted ones, and set their fields faster; equality, hash
# and repr are attrs' own, written once (:func:`~smartsim._frozen.fieldwise`) rather than
# generated per class. ``datetime`` is
# not imported: a timedelta can only reach a converter once its caller has imported it. The
# grammars are compiled on first use (:class:`~smartsim._lazy.LazyPattern`).

#: What an option may carry: a value, or ``None``/``True`` for a bare flag, ``False`` to omit it.
OptionValue: TypeAlias = str | int | float | bool | None
#: What a parameter of an ensemble member may be.
ParamValue: TypeAlias = str | int | float | bool


# --------------------------------------------------------------------------- Duration

#: Slurm's --time forms (sbatch(1)): "minutes", "minutes:seconds", "hours:minutes:seconds",
#: "days-hours", "days-hours:minutes", "days-hours:minutes:seconds". Slurm sums the fields, so
#: a field may overflow (``10:00:70`` is 10 h 1 min 10 s).
_DAYS = LazyPattern(r"(?P<d>\d+)-(?P<h>\d+)(?::(?P<m>\d+)(?::(?P<s>\d+))?)?")
_CLOCK = LazyPattern(r"(?P<a>\d+)(?::(?P<b>\d+)(?::(?P<c>\d+))?)?")
#: The forms a duration text may take, for error messages.
DURATION_FORMS: Final = "'MM', 'MM:SS', 'H:MM:SS', 'D-HH', 'D-HH:MM' or 'D-HH:MM:SS'"


@final
@attrs.frozen(order=True, slots=False)
class Duration:
    """A length of time in whole seconds; rendered per scheduler by ``smartsim.commands``.

    Fractions of a second round *up*: a limit never shrinks, and never becomes ``0``, which
    Slurm reads as "no limit".

    >>> Duration.parse("25:00:00").unwrap().hms()
    '25:00:00'
    >>> import datetime
    >>> Duration.from_timedelta(datetime.timedelta(days=1, hours=1)).seconds
    90000
    """

    seconds: int

    @staticmethod
    def from_seconds(seconds: float) -> Duration:
        return Duration(math.ceil(seconds))

    @staticmethod
    def from_timedelta(delta: _dt.timedelta) -> Duration:
        return Duration.from_seconds(delta.total_seconds())

    @staticmethod
    def parse(text: str) -> Result[Duration, str]:
        """Parse every form Slurm's ``--time`` takes: ``MM``, ``MM:SS``, ``H:MM:SS``, ``D-HH``,
        ``D-HH:MM``, ``D-HH:MM:SS`` (fields may overflow: ``10:00:70``). As in Slurm, a
        two-field ``10:00`` is ten *minutes* and a bare ``30`` is thirty minutes (an ``int``
        given to a time field is seconds).

        >>> [Duration.parse(t).unwrap().seconds for t in ("30", "10:00", "10:00:70", "1-2")]
        [1800, 600, 36070, 93600]
        """
        text = text.strip()
        match = _DAYS.fullmatch(text)
        if match is not None:
            days, hours = int(match["d"]), int(match["h"])
            minutes, secs = int(match["m"] or 0), int(match["s"] or 0)
            return Success(Duration(((days * 24 + hours) * 60 + minutes) * 60 + secs))
        match = _CLOCK.fullmatch(text)
        if match is None:
            return Failure(text)
        a, b, c = match["a"], match["b"], match["c"]
        if c is not None:
            return Success(Duration(int(a) * 3600 + int(b) * 60 + int(c)))
        if b is not None:
            return Success(Duration(int(a) * 60 + int(b)))
        return Success(Duration(int(a) * 60))

    @property
    def timedelta(self) -> _dt.timedelta:
        import datetime

        return datetime.timedelta(seconds=self.seconds)

    def hms(self) -> str:
        """``H:MM:SS`` with unbounded hours (PBS ``walltime``, SGE ``h_rt``, Slurm)."""
        hours, rest = divmod(self.seconds, 3600)
        minutes, secs = divmod(rest, 60)
        return f"{hours}:{minutes:02d}:{secs:02d}"

    def minutes_up(self) -> int:
        """Whole minutes, rounded up."""
        return -(-self.seconds // 60)


def to_duration(value: object) -> Duration | str | None:
    """attrs converter for ``time`` fields; unparsable text is kept for validation to report."""
    if value is None or isinstance(value, Duration):
        return value
    if isinstance(value, bool):
        raise TypeError(f"a duration cannot be a bool: {value!r}")
    datetime = sys.modules.get("datetime")
    if datetime is not None and isinstance(value, datetime.timedelta):
        return Duration.from_timedelta(value)
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return str(value)
        return Duration.from_seconds(value)
    if isinstance(value, str):
        parsed = Duration.parse(value)
        return parsed.unwrap() if isinstance(parsed, Success) else value
    raise TypeError(f"expected a timedelta, seconds or text like 'H:MM:SS', got {value!r}")


# --------------------------------------------------------------------------- Memory

_MEM = LazyPattern(r"(?P<n>\d+)\s*(?P<u>[KMGT]?)(?:i?B)?", re.IGNORECASE)
_MEM_FACTOR: Final = {"K": 1 / 1024, "": 1, "M": 1, "G": 1024, "T": 1024 * 1024}


@final
@attrs.frozen(order=True, slots=False)
class Memory:
    """A memory size in mebibytes (Slurm's ``M``; ``G`` is 1024 M as in Slurm).

    >>> Memory.parse("4GB").unwrap()
    Memory(megabytes=4096)
    >>> Memory.parse("1500M").unwrap().megabytes
    1500
    """

    megabytes: int

    @staticmethod
    def parse(text: str) -> Result[Memory, str]:
        match = _MEM.fullmatch(text.strip())
        if match is None:
            return Failure(text)
        mb = int(match["n"]) * _MEM_FACTOR[match["u"].upper()]
        return Success(Memory(math.ceil(mb)))


def to_memory(value: object) -> Memory | str | None:
    """attrs converter: an int is megabytes, text like ``4G``/``512MB`` is parsed."""
    if value is None or isinstance(value, Memory):
        return value
    if isinstance(value, bool):
        raise TypeError(f"a memory size cannot be a bool: {value!r}")
    if isinstance(value, int):
        return Memory(value)
    if isinstance(value, str):
        parsed = Memory.parse(value)
        return parsed.unwrap() if isinstance(parsed, Success) else value
    raise TypeError(f"expected megabytes (int) or text like '4G', got {value!r}")


# --------------------------------------------------------------------------- JobId

_SLURM_ID = LazyPattern(
    r"(?P<job>\d+)"
    r"(?:\+(?P<het>\d+))?"
    r"(?:_(?:(?P<task>\d+)|\[(?P<range>[0-9,:%\-]+)\]))?"
    r"(?:\.(?P<step>\d+(?:\+\d+)?|batch|extern|interactive|TBD))?"  # 87.6+0: het step part
    r"(?:;(?P<cluster>[A-Za-z0-9_.\-]+))?"
)


@final
@fieldwise
@attrs.frozen(slots=False, eq=False, repr=False)
class JobId:
    """A Slurm job id in every form Slurm prints.

    >>> JobId.parse("123_[0-3%2]").unwrap().array_range
    '0-3%2'
    >>> str(JobId.parse("77+1.0;cl").unwrap()), JobId.parse("77+1.0;cl").unwrap().cluster
    ('77+1.0', 'cl')
    """

    job: int
    het_offset: int | None = None
    array_task: int | None = None
    array_range: str | None = None
    step: str | None = None
    cluster: str | None = None

    @staticmethod
    def parse(text: str) -> Result[JobId, str]:
        """Parse ``123``, ``123;cl``, ``123+1``, ``123_4``, ``123_[0-3%2]``, ``123.0``,
        ``123.batch``, ``123.extern`` and their combinations."""
        if text.isdigit() and text.isascii():  # the common case, without the regex
            return Success(JobId(int(text)))
        match = _SLURM_ID.fullmatch(text.strip())
        if match is None:
            return Failure(text)
        return Success(
            JobId(
                job=int(match["job"]),
                het_offset=None if match["het"] is None else int(match["het"]),
                array_task=None if match["task"] is None else int(match["task"]),
                array_range=match["range"],
                step=match["step"],
                cluster=match["cluster"],
            )
        )

    @property
    def job_part(self) -> str:
        """The id without the step (what ``--jobid`` and ``squeue -j`` take)."""
        out = str(self.job)
        if self.het_offset is not None:
            out += f"+{self.het_offset}"
        if self.array_task is not None:
            out += f"_{self.array_task}"
        elif self.array_range is not None:
            out += f"_[{self.array_range}]"
        return out

    def with_step(self, step: str | int | None) -> JobId:
        return attrs.evolve(self, step=None if step is None else str(step))

    def __str__(self) -> str:
        return self.job_part if self.step is None else f"{self.job_part}.{self.step}"


# --------------------------------------------------------------------------- ArraySpec


@final
@fieldwise
@attrs.frozen(slots=False, eq=False, repr=False)
class ArraySpec:
    """A job array: indices ``start..stop`` (inclusive) by ``step``, at most ``limit`` at once.

    >>> str(ArraySpec(0, 9, limit=2))
    '0-9%2'
    """

    start: int
    stop: int
    step: int = 1
    limit: int | None = None

    @property
    def indices(self) -> range:
        return range(self.start, self.stop + 1, self.step)

    def __str__(self) -> str:
        out = f"{self.start}-{self.stop}"
        if self.step != 1:
            out += f":{self.step}"
        if self.limit is not None:
            out += f"%{self.limit}"
        return out


# --------------------------------------------------------------------------- converters


def _str_tuple(value: object) -> tuple[str, ...]:
    """Sequences of strings become tuples. A bare string is refused: ``args="a b"`` would
    otherwise be split by someone's guess (SmartSim split on spaces and lost arguments)."""
    if value is None or value == ():
        return ()
    if type(value) is tuple or type(value) is list:
        items = value if type(value) is tuple else tuple(value)
        try:
            "".join(items)  # raises TypeError for any non-str item, at C speed
            return items
        except TypeError:
            pass  # the loop below names the item
    if isinstance(value, (str, bytes)):
        raise TypeError(
            f"expected a sequence of strings, got the string {value!r}; wrap it: ({value!r},)"
        )
    if not isinstance(value, Iterable):
        raise TypeError(f"expected a sequence of strings, got {value!r}")
    items = tuple(value)
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"expected strings, got {item!r}")
    return items


def _hosts(value: object) -> tuple[str, ...]:
    """Host lists: a sequence of names, or one string (a Slurm host list such as ``n[1-4]``
    or a comma-separated list)."""
    if isinstance(value, str):
        return (value,) if value else ()
    return _str_tuple(value)


def _env(value: object) -> FrozenMap[str, str]:
    """Environment: str keys; str values (ints and floats are rendered with ``str()``)."""
    pairs = frozen_map(value)
    if not pairs:
        return pairs
    converted = False
    out: list[tuple[str, str]] = []
    for key, val in pairs.items():
        if type(val) is not str:
            if not isinstance(key, str):
                raise TypeError(f"environment names must be str, got {key!r}")
            if isinstance(val, bool) or not isinstance(val, (str, int, float)):
                raise TypeError(
                    f"environment value for {key!r} must be str, int or float, got {val!r}"
                )
            out.append((key, str(val)))
            converted = True
            continue
        if type(key) is not str:
            raise TypeError(f"environment names must be str, got {key!r}")
        out.append((key, val))
    return FrozenMap(out) if converted else pairs


def _opts(value: object) -> FrozenMap[str, OptionValue]:
    pairs = frozen_map(value)
    for key, val in pairs.items():
        if not isinstance(key, str):
            raise TypeError(f"option names must be str, got {key!r}")
        if val is not None and not isinstance(val, (str, int, float, bool)):
            raise TypeError(
                f"option {key!r}: value must be str, int, float, bool or None, got {val!r}"
            )
    return pairs


def _params(value: object) -> FrozenMap[str, ParamValue]:
    pairs = frozen_map(value)
    for key, val in pairs.items():
        if not isinstance(key, str):
            raise TypeError(f"parameter names must be str, got {key!r}")
        if not isinstance(val, (str, int, float, bool)):
            raise TypeError(
                f"parameter {key!r}: value must be str, int, float or bool, got {val!r}"
            )
    return pairs


def _opt_int(value: object) -> int | None:
    if value is None or type(value) is int:  # the common cases (a bool's type is bool)
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an int, got {value!r}")
    return value


_C = TypeVar("_C", bound=type)


def _names_the_field(cls: _C) -> _C:
    """Class decorator (after ``attrs.frozen``): a converter's ``TypeError`` names its field.

    The fields keep their plain converters, so a valid construction pays nothing for this; a
    failing one is caught once and each given value is converted again to find the field at
    fault (``nodes="2"`` -> ``nodes must be an int, got '2' (write nodes=2, without quotes)``).
    """
    init = vars(cls)["__init__"]  # the one attrs made
    converters = {a.alias: (a.name, a.converter) for a in attrs.fields(cls) if a.converter}

    @functools.wraps(init)
    def __init__(self: object, **kwargs: Any) -> None:
        try:
            init(self, **kwargs)
        except TypeError as exc:
            raise _field_type_error(converters, kwargs) or exc from None

    setattr(cls, "__init__", __init__)  # noqa: B010 (mypy refuses assigning to a method)
    return cls


def _field_type_error(
    converters: dict[str, tuple[str, Any]], kwargs: dict[str, Any]
) -> TypeError | None:
    """The ``TypeError`` naming the first given field whose converter refuses its value."""
    for alias, value in kwargs.items():
        name, converter = converters.get(alias, (alias, None))
        if converter is None:
            continue
        try:
            converter(value)
        except TypeError as exc:
            if converter is _opt_int:
                hint = ""
                if isinstance(value, str) and value.strip().isdigit():
                    hint = f" (write {name}={int(value)}, without quotes)"
                return TypeError(f"{name} must be an int, got {value!r}{hint}")
            if converter is _opt_str:
                return TypeError(f"{name} must be a str, got {value!r}")
            return TypeError(f"{name}: {exc}")
    return None


def _opt_str(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"expected a str, got {value!r}")


def _alloc(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, JobId):
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"expected an allocation id (str or int), got {value!r}")


def _int_tuple(value: object) -> tuple[int, ...]:
    if value == ():
        return ()
    if not isinstance(value, Iterable) or isinstance(value, (str, bytes)):
        raise TypeError(f"expected a sequence of ints, got {value!r}")
    items = tuple(value)
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int):
            raise TypeError(f"expected ints, got {item!r}")
    return items


def _run_settings_tuple(value: object) -> tuple[RunSettings, ...]:
    if value == ():
        return ()
    if not isinstance(value, Iterable):
        raise TypeError(f"expected a sequence of RunSettings, got {value!r}")
    items = tuple(value)
    for item in items:
        if not isinstance(item, RunSettings):
            raise TypeError(f"expected RunSettings, got {item!r}")
    return items


def _models(value: object) -> tuple[Model, ...]:
    if not isinstance(value, Iterable):
        raise TypeError(f"expected a sequence of Models, got {value!r}")
    items = tuple(value)
    for item in items:
        if not isinstance(item, Model):
            raise TypeError(f"expected Model, got {item!r}")
    return items


def _array(value: object) -> ArraySpec | None:
    if value is None or isinstance(value, ArraySpec):
        return value
    if isinstance(value, range):
        return ArraySpec(value.start, value[-1] if len(value) else value.start, value.step)
    raise TypeError(f"expected an ArraySpec or a range, got {value!r}")


# --------------------------------------------------------------------------- settings


class _SmartSimNames:
    """Reading one of CrayLabs SmartSim's attribute names that a value does not have
    (``rs.set_tasks``) is a typed error naming what to write instead (:mod:`smartsim.compat`);
    any other missing name is the usual ``AttributeError``. Invisible to the type checker."""

    __slots__ = ()

    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:
            from smartsim import compat

            compat.lookup(type(self).__name__, name)


@final
@_names_the_field
@fieldwise
@attrs.frozen(kw_only=True, slots=False, eq=False, repr=False)
class AllocationRequest:
    """An allocation to obtain (``salloc``), in Slurm's vocabulary.

    ``add_opts`` keys follow the seed's rule: a one-letter key is ``-K value``, a longer one
    ``--key value``; ``None``/``True`` is a bare flag and ``False`` leaves the option out.

    ``exclusive``: ``True`` whole nodes (``--exclusive``), ``False`` what Slurm gives by
    default (on a cluster that shares nodes, one CPU per node), ``None`` (the default) whole
    nodes when the request asks for nodes and sizes no tasks or CPUs itself -- what a user
    asking for N nodes means (see docs/launchers/slurm.md, "Steps fit their allocation").
    """

    nodes: int | None = attrs.field(default=None, converter=_opt_int)
    add_opts: FrozenMap[str, OptionValue] = attrs.field(default=EMPTY_MAP, converter=_opts)
    time: Duration | str | None = attrs.field(default=None, converter=to_duration)
    partition: str | None = attrs.field(default=None, converter=_opt_str)
    account: str | None = attrs.field(default=None, converter=_opt_str)
    constraint: str | None = attrs.field(default=None, converter=_opt_str)
    exclusive: bool | None = None
    job_name: str | None = attrs.field(default=None, converter=_opt_str)
    mem: Memory | str | None = attrs.field(default=None, converter=to_memory)
    gpus: int | None = attrs.field(default=None, converter=_opt_int)


@final
@_names_the_field
@fieldwise
@attrs.frozen(kw_only=True, slots=False, eq=False, repr=False)
class RunSettings(_SmartSimNames):
    """How to run one program: the executable, its arguments and environment, its resources.

    ``run_command`` names the launcher (``"srun"``, ``"mpirun"``, ``"mpiexec"``, ... or ``None``
    to run the program directly); ``run_args`` are that launcher's own options with the same
    rules as ``add_opts``. ``mpmd`` holds further programs started with this one in one MPMD
    launch (``srun a : b``, ``mpirun a : b``), each with its own options and environment.
    """

    exe: str = attrs.field(validator=attrs.validators.instance_of(str))
    args: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    env: FrozenMap[str, str] = attrs.field(default=EMPTY_MAP, converter=_env)
    nodes: int | None = attrs.field(default=None, converter=_opt_int)
    ntasks: int | None = attrs.field(default=None, converter=_opt_int)
    tasks_per_node: int | None = attrs.field(default=None, converter=_opt_int)
    cpus_per_task: int | None = attrs.field(default=None, converter=_opt_int)
    gpus_per_task: int | None = attrs.field(default=None, converter=_opt_int)
    mem: Memory | str | None = attrs.field(default=None, converter=to_memory)
    time: Duration | str | None = attrs.field(default=None, converter=to_duration)
    hostlist: tuple[str, ...] = attrs.field(default=(), converter=_hosts)
    excluded_hosts: tuple[str, ...] = attrs.field(default=(), converter=_hosts)
    alloc: str | None = attrs.field(default=None, converter=_alloc)
    run_command: str | None = attrs.field(default=None, converter=_opt_str)
    run_args: FrozenMap[str, OptionValue] = attrs.field(default=EMPTY_MAP, converter=_opts)
    #: MPI flavour for ``mpiexec``: ``"openmpi"``, ``"mpich"``, ``"pals"`` (or ``"auto"``:
    #: the effects layer detects it once). Pure builders never probe.
    flavour: str | None = attrs.field(default=None, converter=_opt_str)
    #: ``srun --mpi=`` plugin (``"pmix"``, ``"pmi2"``, ...).
    mpi: str | None = attrs.field(default=None, converter=_opt_str)
    #: ``srun --het-group`` components this step runs in.
    het_group: tuple[int, ...] = attrs.field(default=(), converter=_int_tuple)
    mpmd: tuple[RunSettings, ...] = attrs.field(default=(), converter=_run_settings_tuple)

    def with_mpmd(self, *parts: RunSettings) -> RunSettings:
        """A copy with ``parts`` appended as further MPMD programs."""
        return attrs.evolve(self, mpmd=self.mpmd + parts)

    @property
    def parts(self) -> tuple[RunSettings, ...]:
        """This program followed by its MPMD parts."""
        return (attrs.evolve(self, mpmd=()), *self.mpmd)

    @property
    def exe_args(self) -> list[str]:
        """SmartSim's name for :attr:`args` (a new list)."""
        return list(self.args)

    @property
    def env_vars(self) -> dict[str, str]:
        """SmartSim's name for :attr:`env` (a new dict)."""
        return dict(self.env)


@final
@_names_the_field
@fieldwise
@attrs.frozen(kw_only=True, slots=False, eq=False, repr=False)
class BatchSettings(_SmartSimNames):
    """A batch job to submit (``sbatch``, ``qsub``, ``bsub``, ``flux batch``, ...).

    ``partition`` is rendered as the queue on schedulers that call it that.
    """

    nodes: int | None = attrs.field(default=None, converter=_opt_int)
    time: Duration | str | None = attrs.field(default=None, converter=to_duration)
    account: str | None = attrs.field(default=None, converter=_opt_str)
    partition: str | None = attrs.field(default=None, converter=_opt_str)
    mem: Memory | str | None = attrs.field(default=None, converter=to_memory)
    gpus: int | None = attrs.field(default=None, converter=_opt_int)
    batch_args: FrozenMap[str, OptionValue] = attrs.field(default=EMPTY_MAP, converter=_opts)
    job_name: str | None = attrs.field(default=None, converter=_opt_str)
    array: ArraySpec | None = attrs.field(default=None, converter=_array)
    #: Lines run before the members (``module load ...``); each is one shell line, written as is.
    preamble: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    #: Hosts the job must run on / must not run on (``sbatch --nodelist``/``--exclude``,
    #: ``bsub -m``, Grid Engine ``-l hostname=``, Flux ``--requires=host:``).
    hostlist: tuple[str, ...] = attrs.field(default=(), converter=_hosts)
    excluded_hosts: tuple[str, ...] = attrs.field(default=(), converter=_hosts)


# --------------------------------------------------------------------------- entities


@final
@_names_the_field
@fieldwise
@attrs.frozen(kw_only=True, slots=False, eq=False, repr=False)
class GeneratorFiles:
    """Files ``Experiment.generate`` places in an entity's directory."""

    to_copy: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    to_symlink: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    to_configure: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)


@final
@_names_the_field
@fieldwise
@attrs.frozen(kw_only=True, slots=False, eq=False, repr=False)
class Model(_SmartSimNames):
    """One program to run, with its parameters and its own directory."""

    name: str = attrs.field(validator=attrs.validators.instance_of(str))
    run_settings: RunSettings = attrs.field(validator=attrs.validators.instance_of(RunSettings))
    params: FrozenMap[str, ParamValue] = attrs.field(default=EMPTY_MAP, converter=_params)
    path: str = attrs.field(validator=attrs.validators.instance_of(str))
    batch_settings: BatchSettings | None = None
    files: GeneratorFiles = attrs.field(factory=GeneratorFiles)

    @property
    def kind(self) -> str:
        return "Model"


@final
@_names_the_field
@fieldwise
@attrs.frozen(kw_only=True, slots=False, eq=False, repr=False)
class Ensemble(_SmartSimNames):
    """Several models launched together; with ``batch_settings``, as one batch job."""

    name: str = attrs.field(validator=attrs.validators.instance_of(str))
    members: tuple[Model, ...] = attrs.field(converter=_models)
    path: str = attrs.field(validator=attrs.validators.instance_of(str))
    batch_settings: BatchSettings | None = None

    @property
    def kind(self) -> str:
        return "Ensemble"

    @property
    def models(self) -> list[Model]:
        """SmartSim's name for :attr:`members` (a new list)."""
        return list(self.members)

    @property
    def entities(self) -> list[Model]:
        """SmartSim's other name for :attr:`members` (a new list)."""
        return list(self.members)


Entity: TypeAlias = Model | Ensemble
