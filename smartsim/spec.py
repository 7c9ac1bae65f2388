"""Experiment specs: one TOML file that describes allocations, run settings, batch settings,
models and ensembles, read into frozen values (the format: ``docs/spec.md``; its JSON schema:
``docs/spec.schema.json``).

Two steps, kept apart:

* :func:`parse_spec` (pure: text in, a :class:`Spec` or every :class:`SpecProblem` out) checks
  the shape of each table and the generic rules of :mod:`smartsim.validate`, the run command's
  own rules and the Slurm allocation rules, and names every problem by the file, the field and
  the line (``tomllib`` gives the line of a syntax error; for a field, the line of its key or of
  the nearest enclosing table is found by a small scanner -- best effort);
* :func:`instantiate` (the shell: it makes an :class:`~smartsim.Experiment` and its entities)
  adds what only the chosen launcher knows, again named by spec field.

Relative paths in a spec (``experiment.path``, ``model.path``, ``files``) are taken from the
directory of the spec file, so a spec means the same thing whatever the current directory is.

>>> spec = parse_spec('''
... [experiment]
... name = "demo"
...
... [run_settings.hello]
... exe = "echo"
... args = ["hello", "{who}"]
...
... [[model]]
... name = "greet"
... run_settings = "hello"
... params = { who = "world" }
... ''', file="demo.toml", base_dir="/work").unwrap()
>>> spec.experiment.path, spec.run_settings["hello"].args, spec.models[0].params["who"]
('/work/demo', ('hello', '{who}'), 'world')
>>> bad = '''
... [experiment]
... name = "x"
... launcher = 3
... [run_settings.r]
... exe = "a.out"
... nodes = 0
... [[model]]
... name = "m"
... run_settings = "r"
... '''
>>> print(parse_spec(bad, file="bad.toml", base_dir="/").failure())
bad.toml:4: experiment.launcher: expected a string, got 3 (an integer)
bad.toml:7: run_settings.r.nodes must be positive, got 0
"""

from __future__ import annotations

import datetime as _dt
import graphlib
import json
import math
import os
import posixpath
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeAlias, TypeVar, final

import attrs
from returns.result import Failure, Result, Success

from smartsim._frozen import FrozenMap
from smartsim.errors import Invalid, SmartSimError, ValidationError
from smartsim.values import (
    AllocationRequest,
    ArraySpec,
    BatchSettings,
    Duration,
    Ensemble,
    GeneratorFiles,
    Model,
    OptionValue,
    ParamValue,
    RunSettings,
)

if TYPE_CHECKING:
    from smartsim.experiment import Experiment

T = TypeVar("T")

__all__ = [
    "AllocationSpec",
    "EnsembleSpec",
    "ExperimentSpec",
    "Instance",
    "ModelSpec",
    "Spec",
    "SpecProblem",
    "SpecProblems",
    "instantiate",
    "parse_spec",
    "read_spec",
]

#: The perm strategies a spec may name (a callable cannot be written in TOML).
PERM_STRATEGIES: Final = ("all_perm", "step", "random")
#: Allocation and run-settings names become shell variables in ``smartsim render``.
_TABLE_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

Entity: TypeAlias = Model | Ensemble


# =========================================================================== problems


@final
@attrs.frozen
class SpecProblem:
    """One thing wrong with a spec: the file, the field (``run_settings.sim.nodes``; empty for
    the file as a whole), the line when known, and a sentence that names the field.

    ``error`` is the library's typed error when the problem came from one.
    """

    file: str
    field: str
    line: int | None
    message: str
    error: ValidationError | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.message}"


@final
@attrs.frozen
class SpecProblems:
    """Every problem found in one spec, in file order where lines are known."""

    problems: tuple[SpecProblem, ...]

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


# =========================================================================== values


@final
@attrs.frozen(kw_only=True)
class ExperimentSpec:
    """``[experiment]``: the experiment's name, launcher and directory (absolute)."""

    name: str
    launcher: str = "local"
    path: str


@final
@attrs.frozen(kw_only=True)
class AllocationSpec:
    """``[allocation.NAME]``: a Slurm allocation ``smartsim run`` obtains first and releases at
    the end; ``timeout`` bounds the wait for it (seconds)."""

    name: str
    request: AllocationRequest
    timeout: float = 300.0


@final
@attrs.frozen(kw_only=True)
class ModelSpec:
    """One ``[[model]]``: its run settings and batch settings by table name."""

    name: str
    run_settings: str
    params: FrozenMap[str, ParamValue] = attrs.field(factory=FrozenMap)
    batch_settings: str | None = None
    path: str | None = None
    files: GeneratorFiles = attrs.field(factory=GeneratorFiles)
    after: tuple[str, ...] = ()


@final
@attrs.frozen(kw_only=True)
class EnsembleSpec:
    """One ``[[ensemble]]``: parameters (a value or a list of values each) and how to combine
    them, run settings and batch settings by table name."""

    name: str
    run_settings: str
    params: FrozenMap[str, tuple[ParamValue, ...]] = attrs.field(factory=FrozenMap)
    perm_strategy: str = "all_perm"
    replicas: int | None = None
    n_models: int | None = None
    seed: int | None = None
    batch_settings: str | None = None
    path: str | None = None
    files: GeneratorFiles = attrs.field(factory=GeneratorFiles)
    after: tuple[str, ...] = ()

    @property
    def param_lists(self) -> dict[str, list[ParamValue]]:
        return {k: list(v) for k, v in self.params.items()}


@final
@attrs.frozen(kw_only=True)
class Spec:
    """A whole spec, every value checked. ``run_settings`` holds each table as written (its
    ``alloc`` left unset when it names an allocation; ``alloc_refs`` says which) and without its
    MPMD parts (``mpmd_refs`` names them)."""

    file: str
    base_dir: str
    experiment: ExperimentSpec
    allocations: FrozenMap[str, AllocationSpec] = attrs.field(factory=FrozenMap)
    run_settings: FrozenMap[str, RunSettings] = attrs.field(factory=FrozenMap)
    alloc_refs: FrozenMap[str, str] = attrs.field(factory=FrozenMap)
    mpmd_refs: FrozenMap[str, tuple[str, ...]] = attrs.field(factory=FrozenMap)
    batch_settings: FrozenMap[str, BatchSettings] = attrs.field(factory=FrozenMap)
    models: tuple[ModelSpec, ...] = ()
    ensembles: tuple[EnsembleSpec, ...] = ()
    #: The source text (for the line numbers of later problems).
    text: str = attrs.field(default="", repr=False, eq=False)

    def resolved_run_settings(self, name: str, allocs: Mapping[str, str]) -> RunSettings:
        """Table ``name`` with its MPMD parts attached and allocation names replaced by the
        ids in ``allocs``."""

        def one(table: str) -> RunSettings:
            rs = self.run_settings[table]
            ref = self.alloc_refs.get(table)
            if ref is not None and ref in allocs:
                rs = attrs.evolve(rs, alloc=allocs[ref])
            return rs

        return one(name).with_mpmd(*(one(p) for p in self.mpmd_refs.get(name, ())))

    @property
    def entries(self) -> tuple[ModelSpec | EnsembleSpec, ...]:
        """Ensembles, then models, each in file order."""
        return (*self.ensembles, *self.models)

    @property
    def entity_names(self) -> tuple[str, ...]:
        """Models and ensembles, in file order within each kind (ensembles first)."""
        return tuple(e.name for e in self.ensembles) + tuple(m.name for m in self.models)

    def stages(self) -> tuple[tuple[str, ...], ...]:
        """Entity names in launch order: each stage starts once the stages before it have
        finished (``after``); within a stage, ensembles first, then models."""
        order = {name: i for i, name in enumerate(self.entity_names)}
        after = {e.name: e.after for e in self.entries}
        sorter = graphlib.TopologicalSorter(after)
        sorter.prepare()
        stages: list[tuple[str, ...]] = []
        while sorter.is_active():
            ready = tuple(sorted(sorter.get_ready(), key=lambda n: order[n]))
            stages.append(ready)
            sorter.done(*ready)
        return tuple(stages)


# =========================================================================== line numbers

_KEY = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')"""
_KEYPATH = rf"{_KEY}(?:\s*\.\s*{_KEY})*"
_ARRAY_HEADER: Final = re.compile(rf"\s*\[\[\s*({_KEYPATH})\s*\]\]")
_TABLE_HEADER: Final = re.compile(rf"\s*\[\s*({_KEYPATH})\s*\]")
_KEY_LINE: Final = re.compile(rf"\s*({_KEYPATH})\s*=")
_ONE_KEY: Final = re.compile(_KEY)

PathKey: TypeAlias = tuple[str | int, ...]


def _split_keypath(text: str) -> tuple[str, ...]:
    out: list[str] = []
    for match in _ONE_KEY.finditer(text):
        word = match[0]
        if word[:1] in "\"'":
            word = word[1:-1]
        out.append(word)
    return tuple(out)


def key_lines(text: str) -> dict[PathKey, int]:
    """The line (1-based) where each table and key of a TOML text is written, by path
    (``("model", 0, "name")``). A best-effort scanner: keys inside inline tables and lines
    inside multi-line strings are not indexed; a lookup falls back to the enclosing path.

    >>> lines = key_lines('[x]\\na = 1\\n[[m]]\\nb = 2\\n[[m]]\\nb = 3\\n[m.p]\\nc = 4\\n')
    >>> lines[("x", "a")], lines[("m", 1, "b")], lines[("m", 1, "p", "c")]
    (2, 6, 8)
    """
    index: dict[PathKey, int] = {}
    arrays: dict[tuple[str, ...], int] = {}
    current: PathKey = ()
    in_string: str | None = None

    def resolve(keys: tuple[str, ...]) -> PathKey:
        out: list[str | int] = []
        for i, key in enumerate(keys):
            out.append(key)
            count = arrays.get(keys[: i + 1])
            if count is not None and i < len(keys) - 1:
                out.append(count - 1)
        return tuple(out)

    # TOML ends lines with LF (or CRLF) only; str.splitlines would also split at U+2028 and
    # other separators a string value may hold, and the numbers would drift from tomllib's.
    for number, line in enumerate(text.split("\n"), start=1):
        if in_string is not None:
            if line.count(in_string) % 2 == 1:
                in_string = None
            continue
        array = _ARRAY_HEADER.match(line)
        table = None if array else _TABLE_HEADER.match(line)
        if array:
            keys = _split_keypath(array[1])
            count = arrays.get(keys, 0)
            arrays[keys] = count + 1
            current = (*resolve(keys[:-1]), keys[-1], count)
            index.setdefault(current, number)
        elif table:
            current = resolve(_split_keypath(table[1]))
            index.setdefault(current, number)
        else:
            key = _KEY_LINE.match(line)
            if key:
                index.setdefault((*current, *_split_keypath(key[1])), number)
        for quote in ('"""', "'''"):
            if line.count(quote) % 2 == 1:
                in_string = quote
                break
    return index


def field_path(field: str) -> PathKey:
    """A field name as a path: ``model[0].params['a']`` -> ``("model", 0, "params", "a")``.

    >>> field_path("run_settings.sim.run_args['n']"), field_path("model[2].name")
    (('run_settings', 'sim', 'run_args', 'n'), ('model', 2, 'name'))
    """
    out: list[str | int] = []
    for match in re.finditer(r"""\[(\d+)\]|\[('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")\]|([^.\[\]]+)""",
                             field):  # fmt: skip
        if match[1] is not None:
            out.append(int(match[1]))
        elif match[2] is not None:
            out.append(match[2][1:-1])
        else:
            out.append(match[3])
    return tuple(out)


def line_of(lines: Mapping[PathKey, int], field: str) -> int | None:
    """The line of ``field``, or of the nearest enclosing key or table that has one."""
    path = field_path(field)
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return None


# =========================================================================== reading


def _kind(value: object) -> str:
    match value:
        case bool():
            return "a boolean"
        case int():
            return "an integer"
        case float():
            return "a float"
        case str():
            return "a string"
        case list():
            return "an array"
        case dict():
            return "a table"
        case _dt.datetime() | _dt.date() | _dt.time():
            return "a date or time"
        case _:
            return type(value).__name__


#: How one key of a table is read: ``read(reader, field, value)``, its problems reported.
_Read: TypeAlias = Callable[["_Reader", str, object], object]


@final
@attrs.define
class _Entry:
    """One table while it is read: where it is (``model[0]``, ``allocation.big``), its keys,
    the fields read so far, how many problems the spec had before them, and (a model's or an
    ensemble's) its ``params`` table."""

    f: str
    table: dict[str, Any]
    fields: dict[str, Any]
    before: int
    params: dict[str, Any] | None = None


class _Reader:
    """Collects problems while reading one spec."""

    def __init__(self, file: str, text: str, base_dir: str) -> None:
        self.file = file
        self.base_dir = base_dir
        self.lines = key_lines(text)
        self.problems: list[SpecProblem] = []

    # ------------------------------------------------------------------ reporting

    def fail(self, field: str, text: str) -> None:
        self.problems.append(SpecProblem(self.file, field, line_of(self.lines, field), text))

    def typed(self, error: ValidationError) -> None:
        self.problems.append(
            SpecProblem(self.file, error.field, line_of(self.lines, error.field), error.message,
                        error)
        )  # fmt: skip

    def wrong(self, field: str, value: object, expected: str) -> None:
        self.fail(field, f"{field}: expected {expected}, got {value!r} ({_kind(value)})")

    # ------------------------------------------------------------------ shapes

    def table(self, field: str, value: object) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.wrong(field, value, "a table")
            return None
        return value

    def keys(self, field: str, table: Mapping[str, Any], known: Sequence[str]) -> None:
        for key in table:
            if key not in known:
                self.fail(
                    f"{field}.{key}",
                    f"{field}.{key}: unknown key {key!r}; known keys: {', '.join(known)}",
                )

    def entry(
        self, f: str, value: object, known: Sequence[str], reads: Mapping[str, _Read],
        required: str | None = None,
    ) -> _Entry | None:
        """``value`` as the table ``f``: its unknown keys reported (``known``: the others),
        and each key that ``reads`` names read the way it says; ``None`` if it is not a table
        or lacks its ``required`` key."""
        table = self.table(f, value)
        if table is None:
            return None
        self.keys(f, table, known)
        if required is not None and not self.required(f, table, required):
            return None
        before = len(self.problems)
        fields = {k: read(self, f"{f}.{k}", table[k]) for k, read in reads.items() if k in table}
        return _Entry(f, table, fields, before)

    def required(self, field: str, table: Mapping[str, Any], key: str) -> bool:
        if key not in table:
            self.fail(field, f"{field}: the key {key!r} is required")
            return False
        return True

    def string(self, field: str, value: object) -> str | None:
        if not isinstance(value, str):
            self.wrong(field, value, "a string")
            return None
        return value

    def integer(self, field: str, value: object) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.wrong(field, value, "an integer")
            return None
        return value

    def number(self, field: str, value: object) -> float | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.wrong(field, value, "a number")
            return None
        return float(value)

    def boolean(self, field: str, value: object) -> bool | None:
        if not isinstance(value, bool):
            self.wrong(field, value, "true or false")
            return None
        return value

    def strings(self, field: str, value: object) -> tuple[str, ...] | None:
        if not isinstance(value, list):
            self.wrong(field, value, "an array of strings")
            return None
        ok = True
        for i, item in enumerate(value):
            if not isinstance(item, str):
                self.wrong(f"{field}[{i}]", item, "a string")
                ok = False
        return tuple(value) if ok else None

    def duration(self, field: str, value: object) -> Duration | str | int | None:
        """Seconds, text in a Slurm ``--time`` form, or a bare TOML time (``01:30:00``)."""
        if isinstance(value, _dt.time) and not isinstance(value, _dt.datetime):
            if value.tzinfo is not None:
                self.wrong(field, value, "a duration")
                return None
            return Duration(value.hour * 3600 + value.minute * 60 + value.second)
        if isinstance(value, str):
            return value  # unparsable text is reported by validation, with its own message
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.wrong(field, value, 'a duration: seconds, "H:MM:SS" (any Slurm form), TOML time')
            return None
        if isinstance(value, float):
            if not math.isfinite(value):
                self.wrong(field, value, "a finite number of seconds")
                return None
            return Duration.from_seconds(value)
        return value

    def memory(self, field: str, value: object) -> str | int | None:
        if isinstance(value, str):
            return value
        return self.integer(field, value)

    def options(self, field: str, value: object) -> dict[str, OptionValue] | None:
        """A table of raw options: strings and numbers are values, ``true`` a bare flag,
        ``false`` leaves the option out."""
        table = self.table(field, value)
        if table is None:
            return None
        out: dict[str, OptionValue] = {}
        for key, item in table.items():
            if isinstance(item, (str, int, float, bool)):
                out[key] = item
            else:
                self.wrong(
                    f"{field}.{key}", item, "a string, a number, true (a bare flag) or false"
                )
        return out

    def env(self, field: str, value: object) -> dict[str, str] | None:
        table = self.table(field, value)
        if table is None:
            return None
        out: dict[str, str] = {}
        for key, item in table.items():
            if isinstance(item, bool) or not isinstance(item, (str, int, float)):
                self.wrong(f"{field}.{key}", item, "a string or a number")
            else:
                out[key] = item if isinstance(item, str) else str(item)
        return out

    def param(self, field: str, value: object) -> ParamValue | None:
        if isinstance(value, (str, int, float, bool)):
            return value
        self.wrong(field, value, "a string, a number or a boolean")
        return None

    def path(self, field: str, value: object) -> str | None:
        text = self.string(field, value)
        if text is None:
            return None
        if not text or "\x00" in text:
            self.wrong(field, value, "a path")
            return None
        return posixpath.normpath(posixpath.join(self.base_dir, text))

    def files(self, field: str, value: object) -> GeneratorFiles:
        table = self.table(field, value)
        if table is None:
            return GeneratorFiles()
        self.keys(field, table, ("copy", "symlink", "configure"))
        lists: dict[str, tuple[str, ...]] = {}
        for key in ("copy", "symlink", "configure"):
            if key in table:
                names = self.strings(f"{field}.{key}", table[key]) or ()
                resolved = [self.path(f"{field}.{key}[{i}]", n) for i, n in enumerate(names)]
                lists[key] = tuple(p for p in resolved if p is not None)
        return GeneratorFiles(
            to_copy=lists.get("copy", ()),
            to_symlink=lists.get("symlink", ()),
            to_configure=lists.get("configure", ()),
        )

    def names(self, field: str, value: object) -> tuple[str, ...]:
        if isinstance(value, str):
            return (value,)
        return self.strings(field, value) or ()


# ------------------------------------------------------------------ tables

_INTEGER: Final = _Reader.integer
_STRING: Final = _Reader.string

_EXPERIMENT_KEYS: Final = ("name", "launcher", "path")
_ALLOCATION_KEYS: Final = (
    "nodes", "time", "partition", "account", "constraint", "exclusive", "job_name", "mem",
    "gpus", "opts", "timeout",
)  # fmt: skip
_RUN_KEYS: Final = (
    "exe", "args", "env", "run_command", "nodes", "ntasks", "tasks_per_node", "cpus_per_task",
    "gpus_per_task", "mem", "time", "hostlist", "excluded_hosts", "alloc", "run_args",
    "flavour", "mpi", "het_group", "mpmd",
)  # fmt: skip
_BATCH_KEYS: Final = (
    "nodes", "time", "account", "partition", "mem", "gpus", "batch_args", "job_name", "array",
    "preamble",
)  # fmt: skip
_MODEL_KEYS: Final = ("name", "run_settings", "params", "batch_settings", "path", "files", "after")
_ENSEMBLE_KEYS: Final = (
    "name", "run_settings", "params", "perm_strategy", "replicas", "n_models", "seed",
    "batch_settings", "path", "files", "after",
)  # fmt: skip
_TOP_KEYS: Final = ("experiment", "allocation", "run_settings", "batch_settings", "model",
                    "ensemble")  # fmt: skip
_INT_FIELDS: Final = ("nodes", "ntasks", "tasks_per_node", "cpus_per_task", "gpus_per_task")
#: How each key of a table is read (the keys a table's reader handles itself are not here).
_ALLOCATION_READS: Final[dict[str, _Read]] = {
    "nodes": _INTEGER, "gpus": _INTEGER, "partition": _STRING, "account": _STRING,
    "constraint": _STRING, "job_name": _STRING, "exclusive": _Reader.boolean,
    "time": _Reader.duration, "mem": _Reader.memory, "opts": _Reader.options,
}  # fmt: skip
_RUN_READS: Final[dict[str, _Read]] = {
    "exe": _STRING, "args": _Reader.strings, "env": _Reader.env,
    **dict.fromkeys(_INT_FIELDS, _INTEGER),
    "run_command": _STRING, "flavour": _STRING, "mpi": _STRING,
    "mem": _Reader.memory, "time": _Reader.duration, "run_args": _Reader.options,
}  # fmt: skip
_BATCH_READS: Final[dict[str, _Read]] = {
    "nodes": _INTEGER, "gpus": _INTEGER, "account": _STRING, "partition": _STRING,
    "job_name": _STRING, "time": _Reader.duration, "mem": _Reader.memory,
    "batch_args": _Reader.options, "preamble": _Reader.strings,
}  # fmt: skip


def _relabel(error: ValidationError, old: str, new: str) -> ValidationError:
    """``error`` with the leading ``old`` of its field (and of the field it names as ``other``,
    if any) replaced by ``new``."""

    def swap(text: str) -> str:
        if text == old or text.startswith((old + ".", old + "[")):
            return new + text[len(old) :]
        return text

    changed = attrs.evolve(error, field=swap(error.field))
    other = getattr(error, "other", None)
    if isinstance(other, str):
        changed = attrs.evolve(changed, other=swap(other))  # type: ignore[call-arg]
    return changed


def _read_experiment(r: _Reader, data: Mapping[str, Any]) -> ExperimentSpec | None:
    raw = data.get("experiment")
    if raw is None:
        r.fail("experiment", "experiment: the table [experiment] with a name is required")
        return None
    table = r.table("experiment", raw)
    if table is None:
        return None
    r.keys("experiment", table, _EXPERIMENT_KEYS)
    if not r.required("experiment", table, "name"):
        return None
    name = r.string("experiment.name", table["name"])
    launcher = r.string("experiment.launcher", table.get("launcher", "local"))
    path = r.path("experiment.path", table["path"]) if "path" in table else None
    if name is None or launcher is None:
        return None
    from smartsim.errors import UnknownLauncher
    from smartsim.experiment import LAUNCHERS
    from smartsim.validate import check_name

    for error in check_name("experiment.name", name):
        r.typed(error)
    if launcher not in LAUNCHERS:
        r.typed(UnknownLauncher("experiment.launcher", launcher, tuple(LAUNCHERS)))
    return ExperimentSpec(
        name=name, launcher=launcher, path=path or posixpath.join(r.base_dir, name)
    )


def _read_allocation(r: _Reader, name: str, e: _Entry) -> AllocationSpec | None:
    from smartsim.commands.slurm import check_allocation
    from smartsim.validate import allocation_problems

    f, table, fields = e.f, e.table, e.fields
    if "opts" in fields:
        fields["add_opts"] = fields.pop("opts")
    timeout = 300.0
    if "timeout" in table:
        seconds = r.number(f"{f}.timeout", table["timeout"])
        if seconds is not None and not (seconds > 0 and math.isfinite(seconds)):
            r.wrong(f"{f}.timeout", table["timeout"], "a number of seconds > 0")
        elif seconds is not None:
            timeout = seconds
    if len(r.problems) > e.before:
        return None
    req = AllocationRequest(**fields)
    for error in allocation_problems(req, "allocation") + check_allocation(req):
        opts = _relabel(error, "allocation.add_opts", "allocation.opts")
        r.typed(_relabel(opts, "allocation", f))
    return AllocationSpec(name=name, request=req, timeout=timeout)


def _read_run_settings(
    r: _Reader, e: _Entry, allocations: Mapping[str, object]
) -> tuple[RunSettings, str | None, tuple[str, ...]] | None:
    """One run-settings table: the value (without MPMD parts), its allocation name, the names
    of its MPMD parts."""
    from smartsim.validate import run_settings_problems

    f, table, fields = e.f, e.table, e.fields
    for key in ("hostlist", "excluded_hosts"):
        if key in table:
            value = table[key]
            fields[key] = value if isinstance(value, str) else r.strings(f"{f}.{key}", value)
    if "het_group" in table:
        groups = table["het_group"]
        if isinstance(groups, int) and not isinstance(groups, bool):
            groups = [groups]
        if not isinstance(groups, list):
            r.wrong(f"{f}.het_group", groups, "an array of integers")
        else:
            fields["het_group"] = tuple(
                r.integer(f"{f}.het_group[{i}]", g) for i, g in enumerate(groups)
            )
    alloc_ref: str | None = None
    if "alloc" in table:
        value = table["alloc"]
        if isinstance(value, int) and not isinstance(value, bool):
            fields["alloc"] = str(value)
        elif isinstance(value, str) and value in allocations:
            alloc_ref = value
        elif isinstance(value, str) and value and not value[0].isdigit():
            known = ", ".join(allocations) or "none declared"
            r.fail(
                f"{f}.alloc",
                f"{f}.alloc: {value!r} is neither an [allocation.NAME] of this spec "
                f"({known}) nor a Slurm job id",
            )
        else:
            fields["alloc"] = r.string(f"{f}.alloc", value)
    mpmd = r.names(f"{f}.mpmd", table["mpmd"]) if "mpmd" in table else ()
    rs = _built(r, e, RunSettings, run_settings_problems)
    return None if rs is None else (rs, alloc_ref, mpmd)


def _built(
    r: _Reader,
    e: _Entry,
    cls: Callable[..., T],
    problems: Callable[[T, str], list[ValidationError]],
) -> T | None:
    """The value of table ``e`` made from the fields read, with its domain ``problems``
    reported; ``None`` when reading it found a problem (after still checking the fields that
    were read, so that one pass reports every problem)."""
    f, fields = e.f, e.fields
    if len(r.problems) > e.before:
        _check_rest(r, before=e.before, f=f, cls=cls, fields=fields, problems=problems)
        return None
    try:
        value = cls(**fields)
    except TypeError as exc:  # every type was checked above; kept for safety
        r.fail(f, f"{f}: {exc}")
        return None
    for error in problems(value, f):
        r.typed(error)
    return value


def _check_rest(
    r: _Reader,
    *,
    before: int,
    f: str,
    cls: Callable[..., T],
    fields: Mapping[str, Any],
    problems: Callable[[T, str], list[ValidationError]],
) -> None:
    """Domain problems of the fields that were read without a problem (the others are left
    out), so that one pass reports every problem of a table."""
    bad = {p.field for p in r.problems[before:]}
    kept = {k: v for k, v in fields.items() if v is not None and f"{f}.{k}" not in bad}
    try:
        value = cls(**kept)
    except TypeError:
        return
    for error in problems(value, f):
        if not any(error.field == b or error.field.startswith(b + ".") for b in bad):
            r.typed(error)


def _read_batch_settings(r: _Reader, e: _Entry) -> BatchSettings | None:
    from smartsim.validate import batch_problems

    f, table, fields = e.f, e.table, e.fields
    if "array" in table:
        array = r.table(f"{f}.array", table["array"])
        if array is not None:
            r.keys(f"{f}.array", array, ("start", "stop", "step", "limit"))
            r.required(f"{f}.array", array, "start")
            r.required(f"{f}.array", array, "stop")
            parts = {
                k: r.integer(f"{f}.array.{k}", array[k])
                for k in ("start", "stop", "step", "limit")
                if k in array
            }
            start, stop = parts.get("start"), parts.get("stop")
            if len(r.problems) == e.before and start is not None and stop is not None:
                fields["array"] = ArraySpec(start, stop, parts.get("step") or 1, parts.get("limit"))
    return _built(r, e, BatchSettings, batch_problems)


def _read_common(
    r: _Reader,
    f: str,
    table: Mapping[str, Any],
    run_settings: Mapping[str, object],
    batch_settings: Mapping[str, object],
) -> dict[str, Any]:
    """The keys models and ensembles share."""
    from smartsim.validate import check_name

    out: dict[str, Any] = {}
    name = r.string(f"{f}.name", table["name"]) if r.required(f, table, "name") else None
    if name is not None:
        for error in check_name(f"{f}.name", name):
            r.typed(error)
        out["name"] = name
    if r.required(f, table, "run_settings"):
        ref = r.string(f"{f}.run_settings", table["run_settings"])
        if ref is not None and ref not in run_settings:
            known = ", ".join(run_settings) or "none declared"
            r.fail(f"{f}.run_settings", f"{f}.run_settings: no [run_settings.{ref}] ({known})")
        elif ref is not None:
            out["run_settings"] = ref
    if "batch_settings" in table:
        ref = r.string(f"{f}.batch_settings", table["batch_settings"])
        if ref is not None and ref not in batch_settings:
            known = ", ".join(batch_settings) or "none declared"
            r.fail(
                f"{f}.batch_settings", f"{f}.batch_settings: no [batch_settings.{ref}] ({known})"
            )
        elif ref is not None:
            out["batch_settings"] = ref
    if "path" in table:
        out["path"] = r.path(f"{f}.path", table["path"])
    if "files" in table:
        out["files"] = r.files(f"{f}.files", table["files"])
    if "after" in table:
        out["after"] = r.names(f"{f}.after", table["after"])
    return out


def _read_entries(
    r: _Reader,
    kind: str,
    raws: Sequence[object],
    tables: tuple[Mapping[str, object], Mapping[str, object]],
    read: Callable[[_Reader, _Entry], T | None],
) -> list[T | None]:
    """Each table of the array ``[[kind]]`` read by ``read`` after what every entry has:
    its known keys, its name and settings references (``tables``: the run_settings and
    batch_settings tables declared), its path, files and ``after``."""
    keys = _MODEL_KEYS if kind == "model" else _ENSEMBLE_KEYS
    out: list[T | None] = []
    for i, raw in enumerate(raws):
        e = r.entry(f"{kind}[{i}]", raw, keys, {})
        if e is not None:
            e.fields = _read_common(r, e.f, e.table, *tables)
            if "params" in e.table:
                e.params = r.table(f"{e.f}.params", e.table["params"])
        out.append(None if e is None else read(r, e))
    return out


def _read_model(r: _Reader, e: _Entry) -> ModelSpec | None:
    from smartsim.validate import check_params

    f, fields = e.f, e.fields
    if e.params is not None:
        values = {k: r.param(f"{f}.params.{k}", v) for k, v in e.params.items()}
        if len(r.problems) == e.before:
            fields["params"] = FrozenMap(values)
            for error in check_params(f"{f}.params", fields["params"]):
                r.typed(error)
    if len(r.problems) > e.before:
        return None
    return ModelSpec(**fields)


def _read_ensemble(r: _Reader, e: _Entry) -> EnsembleSpec | None:
    from smartsim.ensemble import param_sets

    f, table, fields, before = e.f, e.table, e.fields, e.before
    if e.params is not None:
        lists: dict[str, tuple[ParamValue, ...]] = {}
        for key, value in e.params.items():
            items = value if isinstance(value, list) else [value]
            checked = [r.param(f"{f}.params.{key}[{j}]", v) for j, v in enumerate(items)]
            lists[key] = tuple(v for v in checked if v is not None)
        fields["params"] = FrozenMap(lists)
    if "perm_strategy" in table:
        strategy = r.string(f"{f}.perm_strategy", table["perm_strategy"])
        if strategy is not None:
            fields["perm_strategy"] = strategy
    for key in ("replicas", "n_models", "seed"):
        if key in table:
            fields[key] = r.integer(f"{f}.{key}", table[key])
    if fields.get("perm_strategy") == "random" and fields.get("seed") is None:
        r.fail(
            f"{f}.perm_strategy",
            f"{f}.perm_strategy: 'random' needs a seed in a spec (seed = N), so that "
            "`smartsim render` and `smartsim run` draw the same members",
        )
    if len(r.problems) > before:
        return None
    sets = param_sets(
        {k: list(v) for k, v in fields.get("params", {}).items()},
        fields.get("perm_strategy", "all_perm"),
        n_models=fields.get("n_models"),
        seed=fields.get("seed"),
        replicas=fields.get("replicas"),
    )
    if isinstance(sets, Failure):
        for error in sets.failure().errors:
            r.typed(_ensemble_field(error, f))
        return None
    return EnsembleSpec(**fields)


def _ensemble_field(error: ValidationError, f: str) -> ValidationError:
    """An error of :func:`smartsim.ensemble.param_sets` named after the spec's keys
    (``params['a'][1]`` -> ``ensemble[0].params.a[1]``)."""
    field = re.sub(r"^params\[(['\"])(.*?)\1\]", r"params.\2", error.field)
    return attrs.evolve(error, field=f"{f}.{field}")


def _check_run_commands(
    r: _Reader,
    run_settings: Mapping[str, RunSettings],
    mpmd_refs: Mapping[str, tuple[str, ...]],
    used: set[str],
) -> None:
    """The run command's own rules, for each table with its MPMD parts attached. A table used
    only as an MPMD part (not by a model or an ensemble) is checked as part of its users: on
    its own it may lack what only the whole launch has (``run_command``)."""
    from smartsim.commands.launch import check_run_command

    parts_only = {p for parts in mpmd_refs.values() for p in parts} - used
    seen: set[tuple[str, str]] = set()
    for name, rs in run_settings.items():
        if name in parts_only or rs.run_command is None:
            continue  # run_command None means what the launcher makes of it (checked later)
        parts = mpmd_refs.get(name, ())
        composite = rs.with_mpmd(*(run_settings[p] for p in parts))
        if any(p.flavour == "auto" for p in composite.parts):
            continue  # the experiment detects the MPI first (it runs `mpiexec --version`)
        try:
            errors = check_run_command(composite)
        except ImportError as exc:
            f = f"run_settings.{name}.run_command"
            r.fail(f, f"{f}: {rs.run_command!r} is not available in this installation ({exc})")
            continue
        for error in errors:
            field = error.field
            match = re.match(r"run_settings\.mpmd\[(\d+)\](.*)", field)
            if match and int(match[1]) < len(parts):
                new = f"run_settings.{parts[int(match[1])]}{match[2]}"
            elif field.startswith(("run_settings.", "run_settings[")):
                new = f"run_settings.{name}" + field[len("run_settings") :]
            else:  # a field named on its own (UnknownLauncher says "run_command")
                new = f"run_settings.{name}.{field}"
            relabelled = attrs.evolve(error, field=new)
            key = (relabelled.field, relabelled.message)
            if key not in seen:
                seen.add(key)
                r.typed(relabelled)


def _check_names(r: _Reader, spec: Spec) -> None:
    """Entity and member names are unique; ``after`` names known entities, without cycles."""
    from smartsim.ensemble import member_name, param_sets

    owners: dict[str, str] = {}
    entries: list[tuple[str, str, tuple[str, ...]]] = []
    for i, ens in enumerate(spec.ensembles):
        sets = param_sets(ens.param_lists, ens.perm_strategy, n_models=ens.n_models,
                          seed=ens.seed, replicas=ens.replicas)  # fmt: skip
        count = len(sets.unwrap()) if isinstance(sets, Success) else 0
        members = tuple(member_name(ens.name, j) for j in range(count))
        entries.append((f"ensemble[{i}]", ens.name, members))
    for i, model in enumerate(spec.models):
        entries.append((f"model[{i}]", model.name, ()))
    for f, name, members in entries:
        for each in (name, *members):
            if each in owners:
                r.fail(
                    f"{f}.name",
                    f"{f}.name: the name {each!r} is already used by {owners[each]}",
                )
            else:
                owners[each] = f
    known = {name for _, name, _ in entries}
    for f, entity in [(f"ensemble[{i}]", e) for i, e in enumerate(spec.ensembles)] + [
        (f"model[{i}]", m) for i, m in enumerate(spec.models)
    ]:
        for j, other in enumerate(entity.after):
            if other not in known:
                r.fail(f"{f}.after[{j}]", f"{f}.after[{j}]: no model or ensemble {other!r}")
            elif other == entity.name:
                r.fail(f"{f}.after[{j}]", f"{f}.after[{j}]: {other!r} cannot wait for itself")
    try:
        graphlib.TopologicalSorter(
            {e.name: [a for a in e.after if a in known] for e in spec.entries}
        ).prepare()
    except graphlib.CycleError as exc:
        cycle = " -> ".join(exc.args[1])
        r.fail("", f"after: the entities wait for each other in a cycle ({cycle})")


def parse_spec(text: str, *, file: str, base_dir: str) -> Result[Spec, SpecProblems]:
    """Read spec ``text`` (from ``file``, whose directory is ``base_dir``) into a :class:`Spec`,
    or every problem found. Pure."""
    if file.endswith(".json"):
        # The same spec as JSON (docs/spec.md); fields are named by the same paths, without
        # line numbers.
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            problem = f"not JSON: {exc.msg} (column {exc.colno})"
            return Failure(SpecProblems((SpecProblem(file, "", exc.lineno, problem),)))
        if not isinstance(data, dict):
            problem = f"not a spec: the JSON document is {_kind(data)}, not an object"
            return Failure(SpecProblems((SpecProblem(file, "", 1, problem),)))
        return _parse_data(data, "", file=file, base_dir=base_dir)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        line = int(match[1]) if match else None
        message = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", str(exc))
        where = f" (column {match[0].split('column ')[1][:-1]})" if match else ""
        return Failure(SpecProblems((SpecProblem(file, "", line, f"not TOML: {message}{where}"),)))
    return _parse_data(data, text, file=file, base_dir=base_dir)


def _parse_data(
    data: dict[str, Any], text: str, *, file: str, base_dir: str
) -> Result[Spec, SpecProblems]:
    r = _Reader(file, text, base_dir)
    for key in data:
        if key not in _TOP_KEYS:
            r.fail(key, f"{key}: unknown table; known: {', '.join(_TOP_KEYS)}")
    experiment = _read_experiment(r, data)

    def named_tables(kind: str) -> dict[str, object]:
        raw = data.get(kind, {})
        if not isinstance(raw, dict):
            r.wrong(kind, raw, f"tables [{kind}.NAME]")
            return {}
        for name in raw:
            if not _TABLE_NAME.fullmatch(name):
                r.fail(
                    f"{kind}.{name}",
                    f"{kind}.{name}: {name!r} is not a table name here (letters, digits and "
                    "'_', not starting with a digit)",
                )
        return {k: v for k, v in raw.items() if _TABLE_NAME.fullmatch(k)}

    raw_allocs = named_tables("allocation")
    raw_runs = named_tables("run_settings")
    raw_batches = named_tables("batch_settings")

    def entries(
        kind: str, raws: Mapping[str, object], keys: Sequence[str], reads: Mapping[str, _Read],
        required: str | None = None,
    ) -> Iterator[tuple[str, _Entry]]:
        for name, raw in raws.items():
            e = r.entry(f"{kind}.{name}", raw, keys, reads, required)
            if e is not None:
                yield name, e

    allocations: dict[str, AllocationSpec] = {}
    for name, e in entries("allocation", raw_allocs, _ALLOCATION_KEYS, _ALLOCATION_READS):
        alloc = _read_allocation(r, name, e)
        if alloc is not None:
            allocations[name] = alloc
    run_settings: dict[str, RunSettings] = {}
    alloc_refs: dict[str, str] = {}
    mpmd_refs: dict[str, tuple[str, ...]] = {}
    for name, e in entries("run_settings", raw_runs, _RUN_KEYS, _RUN_READS, required="exe"):
        read = _read_run_settings(r, e, raw_allocs)
        if read is not None:
            rs, ref, parts = read
            run_settings[name] = rs
            if ref is not None:
                alloc_refs[name] = ref
            if parts:
                mpmd_refs[name] = parts
    for name, parts in mpmd_refs.items():
        for j, part in enumerate(parts):
            f = f"run_settings.{name}.mpmd[{j}]"
            if part == name:
                r.fail(f, f"{f}: a run_settings table cannot be its own MPMD part")
            elif part not in raw_runs:
                r.fail(f, f"{f}: no [run_settings.{part}]")
            elif part in mpmd_refs:
                r.fail(f, f"{f}: [run_settings.{part}] has MPMD parts itself (no nesting)")
    used_allocs = set(alloc_refs.values())
    for name in raw_allocs:
        if name not in used_allocs:
            r.fail(
                f"allocation.{name}",
                f"allocation.{name}: no run_settings uses this allocation (alloc = {name!r})",
            )
    batch_settings: dict[str, BatchSettings] = {}
    for name, e in entries("batch_settings", raw_batches, _BATCH_KEYS, _BATCH_READS):
        bs = _read_batch_settings(r, e)
        if bs is not None:
            batch_settings[name] = bs

    def array_of_tables(kind: str) -> list[object]:
        raw = data.get(kind, [])
        if not isinstance(raw, list):
            r.wrong(kind, raw, f"an array of tables [[{kind}]]")
            return []
        return raw

    tables = (raw_runs, raw_batches)
    models = _read_entries(r, "model", array_of_tables("model"), tables, _read_model)
    ensembles = _read_entries(r, "ensemble", array_of_tables("ensemble"), tables, _read_ensemble)
    if "model" not in data and "ensemble" not in data:
        r.fail("", "the spec describes no [[model]] and no [[ensemble]]: nothing to run")
    if not r.problems:
        used = {e.run_settings for e in (*models, *ensembles) if e is not None}
        _check_run_commands(r, run_settings, mpmd_refs, used)
    if r.problems or experiment is None:
        return Failure(_sorted(r.problems))
    spec = Spec(
        file=file,
        base_dir=base_dir,
        experiment=experiment,
        allocations=FrozenMap(allocations),
        run_settings=FrozenMap(run_settings),
        alloc_refs=FrozenMap(alloc_refs),
        mpmd_refs=FrozenMap(mpmd_refs),
        batch_settings=FrozenMap(batch_settings),
        models=tuple(m for m in models if m is not None),
        ensembles=tuple(e for e in ensembles if e is not None),
        text=text,
    )
    _check_names(r, spec)
    if r.problems:
        return Failure(_sorted(r.problems))
    return Success(spec)


def _sorted(problems: Sequence[SpecProblem]) -> SpecProblems:
    """Problems in line order (those without a line last), each once."""
    seen: set[tuple[str, int | None, str]] = set()
    unique = []
    for problem in problems:  # error values may hold unhashable values: compare by text
        key = (problem.field, problem.line, problem.message)
        if key not in seen:
            seen.add(key)
            unique.append(problem)
    unique.sort(key=lambda p: (p.line is None, p.line or 0))
    return SpecProblems(tuple(unique))


def read_spec(path: str | os.PathLike[str]) -> Result[Spec, SpecProblems]:
    """Read and parse the spec file at ``path`` (a file that cannot be read is a problem too)."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        return Failure(SpecProblems((SpecProblem(name, "", None, f"cannot read: {exc.strerror}"),)))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Failure(
            SpecProblems((SpecProblem(name, "", None, f"not UTF-8 text: {exc.reason}"),))
        )
    return parse_spec(text, file=name, base_dir=os.path.dirname(os.path.abspath(name)))


# =========================================================================== instantiate


@final
@attrs.define
class Instance:
    """A spec made real: the experiment, its entities by name (as the experiment holds them,
    generator files attached) and the stages to start them in."""

    experiment: Experiment
    entities: dict[str, Entity]
    stages: tuple[tuple[str, ...], ...]
    after: dict[str, tuple[str, ...]]

    def stage_entities(self, stage: Sequence[str]) -> tuple[Entity, ...]:
        return tuple(self.entities[n] for n in stage)


def _entity_field(
    error: ValidationError,
    *,
    f: str,
    name: str,
    rs_name: str,
    parts: Sequence[str],
    bs_name: str | None,
) -> ValidationError:
    """A launcher's error about entity ``name`` (spec entry ``f``) named by spec field."""
    field = error.field
    prefix = re.match(rf"{re.escape(name)}(?:_\d+)?\.", field)
    if prefix:
        field = field[prefix.end() :]
    # the batch planners (PBS, LSF, Grid Engine) name fields after the value they looked at
    field = re.sub(r"^(?:model|ensemble)(?:\.members\[\d+\])?\.", "", field)
    field = re.sub(r"^members\[\d+\]", "run_settings", field)
    if field in ("run_settings", "batch_settings"):
        return attrs.evolve(error, field=f"{f}.{field}")  # the entity's choice of table
    if field.startswith("run_settings"):
        rest = field[len("run_settings") :]
        part = re.match(r"\.mpmd\[(\d+)\](.*)", rest)
        if part and int(part[1]) < len(parts):
            return attrs.evolve(error, field=f"run_settings.{parts[int(part[1])]}{part[2]}")
        return attrs.evolve(error, field=f"run_settings.{rs_name}{rest}")
    if field.startswith("batch_settings") and bs_name is not None:
        return attrs.evolve(error, field=f"batch_settings.{bs_name}{field[14:]}")
    field = re.sub(r"^params\[(['\"])(.*?)\1\]", r"params.\2", field)
    return attrs.evolve(error, field=f"{f}.{field}" if field else f)


def _create(
    exp: Experiment, entry: ModelSpec | EnsembleSpec, rs: RunSettings, bs: BatchSettings | None
) -> Entity:
    if isinstance(entry, ModelSpec):
        return exp.create_model(
            entry.name, rs, dict(entry.params), path=entry.path, batch_settings=bs
        )
    return exp.create_ensemble(
        entry.name,
        rs,
        entry.param_lists,
        perm_strategy=entry.perm_strategy,
        replicas=entry.replicas,
        n_models=entry.n_models,
        seed=entry.seed,
        batch_settings=bs,
        path=entry.path,
    )


def instantiate(
    spec: Spec,
    *,
    launcher: str | None = None,
    exp_path: str | None = None,
    allocs: Mapping[str, str] | None = None,
) -> Result[Instance, SpecProblems]:
    """Make the experiment and every entity of ``spec`` (nothing runs, nothing is written).

    ``launcher`` and ``exp_path`` override the spec's; ``allocs`` maps each allocation name to
    its Slurm job id. What the launcher cannot run is a problem named by spec field.
    """
    from smartsim.experiment import Experiment

    lines = key_lines(spec.text)
    problems: list[SpecProblem] = []

    def add(error: ValidationError) -> None:
        problems.append(
            SpecProblem(spec.file, error.field, line_of(lines, error.field), error.message, error)
        )

    def errors_of(exc: SmartSimError) -> tuple[ValidationError, ...] | None:
        if isinstance(exc.error, Invalid):
            return exc.error.errors
        if isinstance(exc.error, ValidationError):
            return (exc.error,)
        return None

    chosen = launcher or spec.experiment.launcher
    try:
        exp = Experiment(spec.experiment.name, exp_path or spec.experiment.path, chosen)
    except SmartSimError as exc:
        found = errors_of(exc)
        if found is None:
            raise
        for error in found:
            where = "experiment.launcher" if launcher is None else "--launcher"
            add(_relabel(attrs.evolve(error, field=where), where, where))
        return Failure(_sorted(problems))
    ids = dict(allocs or {})
    entities: dict[str, Entity] = {}
    entries: list[tuple[str, ModelSpec | EnsembleSpec]] = [
        (f"ensemble[{i}]", e) for i, e in enumerate(spec.ensembles)
    ] + [(f"model[{i}]", m) for i, m in enumerate(spec.models)]
    for f, entry in entries:
        rs = spec.resolved_run_settings(entry.run_settings, ids)
        bs = None if entry.batch_settings is None else spec.batch_settings[entry.batch_settings]
        try:
            entity = _create(exp, entry, rs, bs)
        except SmartSimError as exc:
            found = errors_of(exc)
            if found is None:
                raise
            parts = spec.mpmd_refs.get(entry.run_settings, ())
            for error in found:
                add(_entity_field(error, f=f, name=entry.name, rs_name=entry.run_settings,
                                  parts=parts, bs_name=entry.batch_settings))  # fmt: skip
            continue
        files = entry.files
        for key, paths in (("copy", files.to_copy), ("configure", files.to_configure)):
            for i, source in enumerate(paths):
                if not os.path.exists(source):
                    field = f"{f}.files.{key}[{i}]"
                    problems.append(
                        SpecProblem(spec.file, field, line_of(lines, field),
                                    f"{field}: {source} does not exist")
                    )  # fmt: skip
        if files.to_copy or files.to_symlink or files.to_configure:
            if isinstance(entity, Model):
                entity = exp.attach_generator_files(
                    entity, files.to_copy, files.to_symlink, files.to_configure
                )
            else:
                entity = exp.attach_generator_files(
                    entity, files.to_copy, files.to_symlink, files.to_configure
                )
        entities[entry.name] = entity
    if problems:
        return Failure(_sorted(problems))
    after = {e.name: e.after for e in spec.entries}
    return Success(Instance(exp, entities, spec.stages(), after))
