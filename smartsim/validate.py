"""Domain rules for the values, returning every problem at once.

``validate_*(value)`` returns ``Success(value)`` or ``Failure(Invalid(errors))``; it never raises.
Launcher-specific rules (an option a tool cannot express, the same option given twice) live
beside each builder as ``check_*`` functions and are composed in by the callers.
"""

from __future__ import annotations

import math
import posixpath
import re
from collections.abc import Mapping, Sequence
from typing import Final

from returns.result import Failure, Result, Success

from smartsim._checked import once
from smartsim._lazy import LazyPattern
from smartsim.commands._options import (
    check_env,
    check_nonempty_text,
    check_options,
    check_text,
    is_env_name,
)
from smartsim.errors import (
    BadDuration,
    BadHostName,
    BadMemory,
    BadName,
    BadValue,
    ConflictingOptions,
    EmptyValue,
    InconsistentTasks,
    Invalid,
    NotPositive,
    UnsafePath,
    ValidationError,
)
from smartsim.values import (
    AllocationRequest,
    ArraySpec,
    BatchSettings,
    Duration,
    JobId,
    Memory,
    Model,
    ParamValue,
    RunSettings,
)

#: Names used for directories and files and as scheduler job names.
NAME: Final = LazyPattern(r"[A-Za-z0-9][A-Za-z0-9._-]*")
#: One host-list item: RFC 1123 labels, plus Slurm's bracket ranges (``n[1-4,7]``).
_RANGES = r"\[[0-9]+(?:-[0-9]+)?(?:,[0-9]+(?:-[0-9]+)?)*\]"
_LABEL = rf"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?|[A-Za-z0-9-]*{_RANGES}[A-Za-z0-9-]*)"
HOST: Final = LazyPattern(rf"{_LABEL}(?:\.{_LABEL})*")
FLAVOURS: Final = ("openmpi", "mpich", "pals", "auto")


def check_name(field: str, name: str) -> list[ValidationError]:
    if not NAME.fullmatch(name) or len(name) > 200:
        return [BadName(field, name)]
    return []


def check_positive(field: str, value: int | None) -> list[ValidationError]:
    if value is not None and value <= 0:
        return [NotPositive(field, value)]
    return []


def _check_amount(
    field: str, value: str | None, amount: int | None, unreadable: type[ValidationError]
) -> list[ValidationError]:
    """A time or memory field: text the converter could not read is ``unreadable``; a read
    ``amount`` must be positive."""
    if isinstance(value, str):
        return [unreadable(field, value)]
    return check_positive(field, amount)


def check_duration(field: str, value: Duration | str | None) -> list[ValidationError]:
    seconds = value.seconds if isinstance(value, Duration) else None
    return _check_amount(field, value if isinstance(value, str) else None, seconds, BadDuration)


def check_memory(field: str, value: Memory | str | None) -> list[ValidationError]:
    megabytes = value.megabytes if isinstance(value, Memory) else None
    return _check_amount(field, value if isinstance(value, str) else None, megabytes, BadMemory)


def split_hosts(hosts: Sequence[str]) -> list[str]:
    """Host-list items: each entry split on commas outside Slurm's brackets."""
    out: list[str] = []
    for entry in hosts:
        if "[" not in entry and "]" not in entry:
            out += entry.split(",")
            continue
        depth, start = 0, 0
        for i, ch in enumerate(entry):
            if ch == "[":
                depth += 1
            elif ch == "]":
                depth -= 1
            elif ch == "," and depth == 0:
                out.append(entry[start:i])
                start = i + 1
        out.append(entry[start:])
    return out


def check_hosts(field: str, hosts: Sequence[str]) -> list[ValidationError]:
    return [BadHostName(field, h) for h in split_hosts(hosts) if not HOST.fullmatch(h)]


def check_array(field: str, array: ArraySpec | None) -> list[ValidationError]:
    if array is None:
        return []
    errors: list[ValidationError] = []
    if array.start < 0:
        errors.append(BadValue(f"{field}.start", array.start, "an index >= 0"))
    if array.stop < array.start:
        errors.append(BadValue(f"{field}.stop", array.stop, f"an index >= start ({array.start})"))
    errors += check_positive(f"{field}.step", array.step)
    errors += check_positive(f"{field}.limit", array.limit)
    return errors


def check_params(field: str, params: Mapping[str, ParamValue]) -> list[ValidationError]:
    errors: list[ValidationError] = []
    for key, value in params.items():
        if not is_env_name(key):  # [A-Za-z_][A-Za-z0-9_]*
            errors.append(BadName(field, key, "a parameter name: [A-Za-z_][A-Za-z0-9_]*"))
        if isinstance(value, str):
            errors += check_text(f"{field}[{key!r}]", value, single_line=False)
        elif isinstance(value, float) and not math.isfinite(value):
            errors.append(BadValue(f"{field}[{key!r}]", value, "a finite number"))
    return errors


def _is_job_id(text: str) -> bool:
    """Whether ``text`` is a Slurm job id (:meth:`JobId.parse`; a plain number at C speed)."""
    return (text.isdigit() and text.isascii()) or isinstance(JobId.parse(text), Success)


@once
def run_settings_problems(rs: RunSettings, field: str = "run_settings") -> list[ValidationError]:
    """Every generic problem of one run settings value (MPMD parts included)."""
    f = f"{field}."
    errors: list[ValidationError] = []
    if rs.exe == "":
        errors.append(EmptyValue(f + "exe", rs.exe))
    else:
        errors += check_text(f + "exe", rs.exe)
    if "\x00" in "".join(rs.args):
        for i, arg in enumerate(rs.args):
            errors += check_text(f"{f}args[{i}]", arg, single_line=False)
    if rs.env:
        errors += check_env(f + "env", rs.env)
    for name, count in (
        ("nodes", rs.nodes),
        ("ntasks", rs.ntasks),
        ("tasks_per_node", rs.tasks_per_node),
        ("cpus_per_task", rs.cpus_per_task),
        ("gpus_per_task", rs.gpus_per_task),
    ):
        if count is not None and count <= 0:
            errors.append(NotPositive(f + name, count))
    if (
        rs.nodes is not None
        and rs.tasks_per_node is not None
        and rs.ntasks is not None
        and rs.nodes > 0
        and rs.tasks_per_node > 0
        and rs.nodes * rs.tasks_per_node != rs.ntasks
    ):
        errors.append(
            InconsistentTasks(
                f + "ntasks",
                f"nodes={rs.nodes} x tasks_per_node={rs.tasks_per_node} != ntasks={rs.ntasks}",
            )
        )
    if rs.mem is not None:
        errors += check_memory(f + "mem", rs.mem)
    if rs.time is not None:
        errors += check_duration(f + "time", rs.time)
    if rs.hostlist:
        errors += check_hosts(f + "hostlist", rs.hostlist)
    if rs.excluded_hosts:
        errors += check_hosts(f + "excluded_hosts", rs.excluded_hosts)
    if rs.alloc is not None and not _is_job_id(rs.alloc):
        errors.append(BadValue(f + "alloc", rs.alloc, "a Slurm job id such as '1234'"))
    if rs.run_command is not None:
        errors += check_nonempty_text(f + "run_command", rs.run_command)
        if rs.run_command and rs.run_command.split() != [rs.run_command]:  # holds whitespace
            errors.append(BadValue(f + "run_command", rs.run_command, "one program name"))
    if rs.run_args:
        errors += check_options(f + "run_args", rs.run_args)
    if rs.flavour is not None and rs.flavour not in FLAVOURS:
        errors.append(BadValue(f + "flavour", rs.flavour, " or ".join(FLAVOURS)))
    if rs.mpi is not None and not re.fullmatch(r"[A-Za-z0-9_]+", rs.mpi):
        errors.append(BadValue(f + "mpi", rs.mpi, "an MPI plugin name such as 'pmix' or 'pmi2'"))
    for i, group in enumerate(rs.het_group):
        if isinstance(group, bool) or not isinstance(group, int) or group < 0:
            errors.append(BadValue(f"{f}het_group[{i}]", group, "a component index >= 0"))
    for i, part in enumerate(rs.mpmd):
        if not isinstance(part, RunSettings):
            errors.append(BadValue(f"{f}mpmd[{i}]", part, "a RunSettings"))
            continue
        if part.mpmd:
            errors.append(ConflictingOptions(f"{f}mpmd[{i}].mpmd", "nested", "mpmd parts"))
        errors += run_settings_problems(part, f"{f}mpmd[{i}]")
    return errors


def validate_run_settings(rs: RunSettings) -> Result[RunSettings, Invalid]:
    """Every problem of ``rs``, or ``rs`` itself.

    >>> bad = RunSettings(exe="a.out", nodes=0, ntasks=-1)
    >>> for e in validate_run_settings(bad).failure().errors:
    ...     print(e)
    run_settings.nodes must be positive, got 0
    run_settings.ntasks must be positive, got -1
    """
    errors = run_settings_problems(rs)
    return Failure(Invalid(tuple(errors))) if errors else Success(rs)


def _request_problems(
    f: str, req: AllocationRequest | BatchSettings, options: str, texts: tuple[str, ...]
) -> list[ValidationError]:
    """The fields an allocation and a batch job share: counts, time, memory, the raw options
    (field ``options``), the plain ``texts`` and the job name; ``f`` is the field prefix."""
    errors = check_positive(f + "nodes", req.nodes) + check_positive(f + "gpus", req.gpus)
    errors += check_duration(f + "time", req.time)
    errors += check_memory(f + "mem", req.mem)
    errors += check_options(f + options, getattr(req, options))
    for name in texts:
        errors += check_nonempty_text(f + name, getattr(req, name))
    if req.job_name is not None:
        errors += check_name(f + "job_name", req.job_name)
    return errors


@once
def allocation_problems(req: AllocationRequest, field: str = "allocation") -> list[ValidationError]:
    return _request_problems(f"{field}.", req, "add_opts", ("partition", "account", "constraint"))


def validate_allocation(req: AllocationRequest) -> Result[AllocationRequest, Invalid]:
    errors = allocation_problems(req)
    return Failure(Invalid(tuple(errors))) if errors else Success(req)


@once
def batch_problems(bs: BatchSettings, field: str = "batch_settings") -> list[ValidationError]:
    f = f"{field}."
    errors = _request_problems(f, bs, "batch_args", ("account", "partition"))
    errors += check_array(f + "array", bs.array)
    errors += check_hosts(f + "hostlist", bs.hostlist)
    errors += check_hosts(f + "excluded_hosts", bs.excluded_hosts)
    for i, line in enumerate(bs.preamble):
        errors += check_text(f"{f}preamble[{i}]", line)
    return errors


def validate_batch_settings(bs: BatchSettings) -> Result[BatchSettings, Invalid]:
    errors = batch_problems(bs)
    return Failure(Invalid(tuple(errors))) if errors else Success(bs)


#: Names ``generate`` writes itself in every entity directory.
_GENERATED: Final = ("params.json",)


def _within(path: str, directory: str) -> bool:
    """Whether ``path`` is ``directory`` or lies under it (both absolute and normalised)."""
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def source_problems(
    field: str, source: str, entity_dir: str, exp_path: str
) -> list[ValidationError]:
    """Why ``generate`` must not copy, link or configure ``source`` into ``entity_dir``."""
    if not source:
        return [EmptyValue(field, source)]
    if "\x00" in source:
        return [BadValue(field, source, "a path without NUL bytes")]
    if not posixpath.isabs(source):
        return [
            UnsafePath(
                field, source, "it is relative (attach_generator_files makes paths absolute)"
            )
        ]
    src = posixpath.normpath(source)
    if src.startswith("//"):
        src = "/" + src.lstrip("/")
    home = posixpath.normpath(entity_dir)
    if src == "/":
        return [UnsafePath(field, source, "it is the root directory")]
    if _within(exp_path, src):
        what = (
            "the experiment directory"
            if src == exp_path
            else "an ancestor of the experiment directory"
        )
        return [UnsafePath(field, source, f"it is {what} {exp_path}")]
    if _within(home, src):
        what = (
            "the entity's own directory" if src == home else "an ancestor of the entity's directory"
        )
        return [UnsafePath(field, source, f"it is {what} {home}")]
    if _within(src, home):
        return [
            UnsafePath(
                field,
                source,
                f"it is inside the entity's directory {home}, which "
                "generate(overwrite=True) removes first",
            )
        ]
    return []


def generator_files_problems(model: Model, exp_path: str, field: str = "") -> list[ValidationError]:
    """Every file attached to ``model`` that ``generate`` would refuse: see
    :func:`source_problems`; and two files landing on the same name in the model's directory
    (or on ``params.json``, which ``generate`` writes)."""
    errors: list[ValidationError] = []
    exp = posixpath.normpath(exp_path)
    taken: dict[str, str] = {name: "the generated params.json" for name in _GENERATED}
    files = model.files
    for key, paths in (
        ("to_copy", files.to_copy),
        ("to_symlink", files.to_symlink),
        ("to_configure", files.to_configure),
    ):
        for i, source in enumerate(paths):
            where = f"{field}{key}[{i}]"
            found = source_problems(where, source, model.path, exp)
            if found:
                errors += found
                continue
            name = posixpath.basename(posixpath.normpath(source))
            if name in taken:
                errors.append(
                    ConflictingOptions(
                        where, source, f"{taken[name]} (both would be {name!r} in {model.path})"
                    )
                )
            else:
                taken[name] = where
    return errors
