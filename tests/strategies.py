"""Shared Hypothesis strategies: the one home of ``valid_*`` and ``invalid_*`` generators.

Sections: text, small values, Slurm raw options, settings, invalid inputs. Other launchers'
engineers append their own clearly named sections at the END of this file.

Valid strategies are built valid by construction (no ``.filter(validate)``): a property that
uses them may assume :mod:`smartsim.validate` and the tool's ``check_*`` accept the value
(``tests/test_validate.py`` checks that they do). Text is deliberately nasty where the tool
allows it: spaces, both quotes, ``#``, ``$``, ``,``, ``=``, ``\\``, ``%``, leading dashes,
unicode (including characters Python's ``str.splitlines`` treats as line breaks, which bash and
sbatch do not).

Each ``invalid_*`` strategy yields a value that must come back as a failure containing one named
:class:`~smartsim.errors.ValidationError` kind (see :data:`INVALID`).
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
import os
import string
from collections.abc import Callable, Mapping
from typing import TypeAlias, TypeVar

from hypothesis import strategies as st

from smartsim import (
    AllocationRequest,
    ArraySpec,
    BatchSettings,
    Duration,
    Ensemble,
    JobId,
    Memory,
    Model,
    RunSettings,
)
from smartsim.commands.launch import LaunchContext
from smartsim.errors import (
    BadDuration,
    BadHostName,
    BadMemory,
    BadName,
    BadOptionName,
    BadValue,
    ConflictingOptions,
    DuplicateOption,
    EmptyValue,
    ForbiddenCharacter,
    InconsistentTasks,
    NotPositive,
    UnknownLauncher,
    Unsupported,
    ValidationError,
)

Settings: TypeAlias = RunSettings | AllocationRequest | BatchSettings
T = TypeVar("T")

# =========================================================================== text

#: Characters that break naive quoting, and some that Python (not bash/sbatch) calls line breaks.
NASTY_CHARACTERS = " '\"#$,=\\%*;&|<>()[]{}!?~`^:\t\x0b\x0c\x1c\x85\u2028é中ü€😀"
#: Whole words that have broken command builders (quoting, directive lexers, getopt, env(1)):
#: drawn in one step, so that every property meets them often and cheaply.
NASTY_WORDS = (
    "a b", "  lead", "trail ", "it's", 'say "hi"', "'", '"', '""', "''", "#", "run #3", "a#b",
    "$HOME", "${X}", "$(id)", "`id`", "a;b", "a&&b", "a|b", "x=y", "=", "a,b", ",", "%j_%t",
    "\\", "a\\b", "\\n", "\\\"", "*", "?", "~", "!x", "-x", "--", "--x=y", "-", "\t", "a\tb",
    "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "ünïcødé", "中文", "€", "😀", "e\u0301",
    "hetjob", "packjob", "HETJOB", ":x", "a:b", "{}", "[1-4]", "<in", ">out", "(x)", "ALL",
    "NONE", "%", "0", "00", "-1", "1e3",
)  # fmt: skip

_PLAIN_ALPHABET = string.ascii_letters + string.digits
_NASTY_ALPHABET = NASTY_CHARACTERS + _PLAIN_ALPHABET
_SINGLE_LINE_CHARS = st.characters(codec="utf-8", exclude_characters="\x00\n\r")
_ANY_CHARS = st.characters(codec="utf-8", exclude_characters="\x00")


@functools.cache
def _mixed(chars: st.SearchStrategy[str], min_size: int, max_size: int) -> st.SearchStrategy[str]:
    # A nasty whole word (one draw), short text over nasty characters, or arbitrary unicode.
    return st.one_of(
        st.sampled_from([w for w in NASTY_WORDS if min_size <= len(w) <= max_size]),
        st.text(_NASTY_ALPHABET, min_size=min_size, max_size=max_size),
        st.text(chars, min_size=min_size, max_size=max_size),
    )


@functools.cache
def single_line_text(*, min_size: int = 1, max_size: int = 8) -> st.SearchStrategy[str]:
    """Text with no NUL, ``\\n`` or ``\\r``: fits one command or directive line."""
    return _mixed(_SINGLE_LINE_CHARS, min_size, max_size)


@functools.cache
def any_text(*, min_size: int = 0, max_size: int = 8) -> st.SearchStrategy[str]:
    """Text without NUL (newlines allowed): program arguments, environment values."""
    return _mixed(_ANY_CHARS, min_size, max_size)


@functools.cache
def option_values() -> st.SearchStrategy[str | int]:
    """Values for options that take one: nasty text (never empty, never the word ``:``) or
    integers, ``0`` included."""
    return st.one_of(
        single_line_text().filter(lambda s: s != ":"),
        st.integers(min_value=0, max_value=10**6),
    )


@functools.cache
def arguments() -> st.SearchStrategy[str]:
    """One program argument: any text without NUL, empty included, never the word ``:``
    (srun splits its argv there) and never holding ``\\r\\n`` (sbatch rejects such scripts)."""
    return any_text().filter(lambda s: s != ":" and "\r\n" not in s)


@functools.cache
def program_names() -> st.SearchStrategy[str]:
    """An executable: nasty single-line text that srun reads as a program (no leading ``-``,
    not ``:``) and env(1) as one (no ``=``)."""
    return single_line_text(max_size=6).filter(
        lambda s: not s.startswith("-") and s != ":" and "=" not in s
    )


@functools.cache
def names() -> st.SearchStrategy[str]:
    """Entity and job names (``[A-Za-z0-9][A-Za-z0-9._-]*``)."""
    return _word(_PLAIN_ALPHABET, _PLAIN_ALPHABET + "._-", 11)


@functools.cache
def env_names() -> st.SearchStrategy[str]:
    return _word(string.ascii_letters + "_", _PLAIN_ALPHABET + "_", 7)


@functools.cache
def _word(first: str, rest: str, max_rest: int) -> st.SearchStrategy[str]:
    """A first character from ``first`` then up to ``max_rest`` from ``rest`` (cheaper than
    ``from_regex``)."""
    return st.builds(operator.add, st.sampled_from(first), st.text(rest, max_size=max_rest))


@functools.cache
def valid_env(*, max_size: int = 3) -> st.SearchStrategy[dict[str, str]]:
    """Environment changes: POSIX names; values any text without NUL (or ``\\r\\n``)."""
    return st.dictionaries(
        env_names(), any_text().filter(lambda s: "\r\n" not in s), max_size=max_size
    )


@functools.cache
def paths() -> st.SearchStrategy[str]:
    """Absolute paths made of nasty single-line components."""
    component = single_line_text(max_size=5).filter(lambda s: "/" not in s and s not in (".", ".."))
    return st.lists(component, min_size=1, max_size=3).map(lambda parts: "/" + "/".join(parts))


# =========================================================================== small values


@functools.cache
def _labels() -> st.SearchStrategy[str]:
    """RFC 1123 labels: letters first, no trailing dash."""
    return _word(string.ascii_lowercase, string.ascii_lowercase + string.digits + "-", 6).map(
        lambda s: s.rstrip("-")
    )


@functools.cache
def valid_hosts(*, max_size: int = 3) -> st.SearchStrategy[tuple[str, ...]]:
    """Host names and Slurm host lists (``n[1-4,7]``, ``node-2.cluster``)."""
    ranges = st.lists(st.tuples(st.integers(0, 99), st.integers(0, 9)), min_size=1, max_size=3).map(
        lambda rs: ",".join(f"{a}-{a + d}" if d else str(a) for a, d in rs)
    )
    plain = st.one_of(_labels(), st.builds(lambda a, b: f"{a}.{b}", _labels(), _labels()))
    bracket = st.builds(lambda p, r: f"{p}[{r}]", _labels(), ranges)
    return st.lists(st.one_of(plain, bracket), min_size=0, max_size=max_size).map(tuple)


@functools.cache
def durations() -> st.SearchStrategy[Duration]:
    """Positive durations, from a second to past a year (Slurm's ``D-HH:MM:SS`` territory)."""
    return st.integers(min_value=1, max_value=400 * 86400).map(Duration)


@functools.cache
def duration_inputs() -> st.SearchStrategy[Duration | dt.timedelta | int | str]:
    """What a user may pass as a ``time``: a Duration, a timedelta, seconds, ``H:MM:SS``."""
    return st.one_of(
        durations(),
        st.integers(1, 10**7).map(lambda s: dt.timedelta(seconds=s)),
        st.floats(0.001, 10**6, allow_nan=False).map(lambda s: dt.timedelta(seconds=s)),
        st.integers(1, 10**7),
        st.integers(1, 10**6).map(lambda s: Duration(s).hms()),
    )


@functools.cache
def memories() -> st.SearchStrategy[Memory]:
    return st.integers(min_value=1, max_value=4 * 1024 * 1024).map(Memory)


@functools.cache
def job_ids() -> st.SearchStrategy[JobId]:
    """Every shape of Slurm job id: plain, het component, array task or pending range, step,
    cluster."""
    rng = st.builds(
        lambda a, b, lim: f"{a}-{a + b}" + (f"%{lim}" if lim else ""),
        st.integers(0, 50),
        st.integers(0, 50),
        st.one_of(st.none(), st.integers(1, 9)),
    )
    return (
        st.builds(
            JobId,
            job=st.integers(1, 10**9),
            het_offset=st.one_of(st.none(), st.integers(0, 5)),
            array_task=st.none(),
            array_range=st.none(),
            step=st.one_of(
                st.none(),
                st.sampled_from(["batch", "extern", "interactive"]),
                st.integers(0, 99).map(str),
                st.builds("{}+{}".format, st.integers(0, 99), st.integers(0, 3)),
            ),
            cluster=st.one_of(
                st.none(), _word(string.ascii_lowercase, string.ascii_lowercase + "0123456789_-", 6)
            ),
        )
        | st.builds(
            JobId,
            job=st.integers(1, 10**9),
            array_task=st.integers(0, 10**4),
            step=st.one_of(st.none(), st.integers(0, 9).map(str)),
        )
        | st.builds(JobId, job=st.integers(1, 10**9), array_range=rng)
    )


@functools.cache
def array_specs() -> st.SearchStrategy[ArraySpec]:
    return st.builds(
        lambda start, span, step, limit: ArraySpec(start, start + span, step, limit),
        st.integers(0, 1000),
        st.integers(0, 1000),
        st.integers(1, 10),
        st.one_of(st.none(), st.integers(1, 50)),
    )


# =========================================================================== Slurm raw options
# Real options of each tool (so an independent parser of Slurm's argv accepts them), with their
# argument kind from the 22.05 man pages: (long name, short letter or None, kind). The options
# smartsim types, sets itself, or refuses are left out; the strategies add typed fields apart.

OptionSpec: TypeAlias = tuple[str, str | None, str]

SALLOC_POOL: tuple[OptionSpec, ...] = (
    ("account", "A", "required"), ("constraint", "C", "required"),
    ("partition", "p", "required"), ("qos", "q", "required"), ("comment", None, "required"),
    ("gres", None, "required"), ("licenses", "L", "required"),
    ("reservation", None, "required"), ("mail-user", None, "required"),
    ("wckey", None, "required"), ("cpus-per-task", "c", "required"),
    ("ntasks", "n", "required"), ("ntasks-per-node", None, "required"),
    ("job-name", "J", "required"), ("time-min", None, "required"),
    ("exclusive", None, "optional"), ("immediate", "I", "optional"),
    ("nice", None, "optional"), ("no-kill", "k", "optional"),
    ("contiguous", None, "none"), ("hold", "H", "none"), ("overcommit", "O", "none"),
    ("oversubscribe", "s", "none"), ("reboot", None, "none"), ("spread-job", None, "none"),
    ("use-min-nodes", None, "none"), ("verbose", "v", "none"), ("bell", None, "none"),
)  # fmt: skip
SRUN_POOL: tuple[OptionSpec, ...] = (
    ("partition", "p", "required"), ("comment", None, "required"),
    ("constraint", "C", "required"), ("cpu-bind", None, "required"),
    ("distribution", "m", "required"), ("gres", None, "required"),
    ("hint", None, "required"), ("open-mode", None, "required"), ("wait", "W", "required"),
    ("threads", "T", "required"), ("signal", None, "required"),
    ("cpus-per-gpu", None, "required"), ("job-name", "J", "required"),
    ("output", "o", "required"), ("error", "e", "required"), ("input", "i", "required"),
    ("kill-on-bad-exit", "K", "optional"), ("immediate", "I", "optional"),
    ("propagate", None, "optional"), ("bcast", None, "optional"),
    ("resv-ports", None, "optional"), ("compress", None, "optional"),
    ("exclusive", None, "optional"), ("label", "l", "none"), ("unbuffered", "u", "none"),
    ("overlap", None, "none"), ("verbose", "v", "none"), ("quiet", "Q", "none"),
    ("exact", None, "none"), ("disable-status", "X", "none"),
)  # fmt: skip
SBATCH_POOL: tuple[OptionSpec, ...] = (
    ("constraint", "C", "required"), ("qos", "q", "required"), ("comment", None, "required"),
    ("gres", None, "required"), ("licenses", "L", "required"),
    ("mail-type", None, "required"), ("mail-user", None, "required"),
    ("reservation", None, "required"), ("wckey", None, "required"),
    ("cpus-per-task", "c", "required"), ("ntasks", "n", "required"),
    ("ntasks-per-node", None, "required"), ("output", "o", "required"),
    ("error", "e", "required"), ("open-mode", None, "required"), ("signal", None, "required"),
    ("exclusive", None, "optional"), ("nice", None, "optional"), ("no-kill", "k", "optional"),
    ("propagate", None, "optional"), ("get-user-env", None, "optional"),
    ("requeue", None, "none"), ("no-requeue", None, "none"), ("hold", "H", "none"),
    ("overcommit", "O", "none"), ("contiguous", None, "none"), ("spread-job", None, "none"),
    ("verbose", "v", "none"), ("parsable", None, "none"),
)  # fmt: skip
POOLS: Mapping[str, tuple[OptionSpec, ...]] = {
    "salloc": SALLOC_POOL,
    "srun": SRUN_POOL,
    "sbatch": SBATCH_POOL,
}


_FLAGS = st.sampled_from([None, True, False])


@functools.cache
def _raw_value(kind: str) -> st.SearchStrategy[object]:
    if kind == "none":
        return _FLAGS
    if kind == "optional":
        return st.one_of(_FLAGS, option_values())
    return option_values()


@functools.cache
def _chosen(
    tool: str, exclude: frozenset[str], max_size: int
) -> st.SearchStrategy[list[OptionSpec]]:
    pool = [spec for spec in POOLS[tool] if spec[0] not in exclude]
    return st.lists(st.sampled_from(pool), max_size=max_size, unique_by=lambda s: s[0])


@functools.cache
def _spellings(long: str, short: str) -> st.SearchStrategy[str]:
    return st.sampled_from([long, short])


@st.composite
def _raw_options(
    draw: st.DrawFn, tool: str, exclude: frozenset[str], max_size: int
) -> dict[str, object]:
    out: dict[str, object] = {}
    for long, short, kind in draw(_chosen(tool, exclude, max_size)):
        key = draw(_spellings(long, short)) if short is not None else long
        out[key] = draw(_raw_value(kind))
    return out


@functools.cache
def raw_options(
    tool: str, *, exclude: frozenset[str] = frozenset(), max_size: int = 4
) -> st.SearchStrategy[dict[str, object]]:
    """Raw options for ``tool`` (``add_opts``/``run_args``/``batch_args``): real option names,
    each canonical option at most once, spelled long or short, never one in ``exclude``.
    (Strategies are cached: building them inside a draw would cost Hypothesis a validation
    each time.)"""
    return _raw_options(tool, exclude, max_size)


@functools.cache
def _maybe(strategy: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    return st.one_of(st.none(), strategy)


# =========================================================================== settings

_INT4, _INT8, _INT16 = st.integers(1, 4), st.integers(1, 8), st.integers(1, 16)
_INT64, _INT128 = st.integers(1, 64), st.integers(1, 128)
_ALLOC_IDS = st.integers(1, 10**7).map(str)
_BOOL = st.booleans()
_ARGS = st.lists(arguments(), max_size=4)


@st.composite
def valid_allocation_requests(draw: st.DrawFn) -> AllocationRequest:
    """Requests ``salloc_argv`` can render: typed fields plus real raw options that neither
    repeat a typed field nor each other."""
    nodes = draw(_maybe(_INT64))
    time = draw(_maybe(durations()))
    partition = draw(_maybe(single_line_text()))
    account = draw(_maybe(single_line_text()))
    constraint = draw(_maybe(single_line_text()))
    exclusive = draw(_BOOL)
    job_name = draw(_maybe(names()))
    mem = draw(_maybe(memories()))
    gpus = draw(_maybe(_INT8))
    typed = {
        "nodes": nodes, "time": time, "partition": partition, "account": account,
        "constraint": constraint, "exclusive": exclusive or None, "job-name": job_name,
        "mem": mem, "gpus": gpus,
    }  # fmt: skip
    exclude = frozenset(k for k, v in typed.items() if v is not None)
    add_opts = draw(raw_options("salloc", exclude=exclude))
    return AllocationRequest(
        nodes=nodes, add_opts=add_opts, time=time, partition=partition, account=account,
        constraint=constraint, exclusive=exclusive, job_name=job_name, mem=mem, gpus=gpus,
    )  # fmt: skip


@st.composite
def _tasks(draw: st.DrawFn) -> tuple[int | None, int | None, int | None]:
    """(nodes, ntasks, tasks_per_node) with nodes x tasks_per_node == ntasks when all are set."""
    nodes = draw(_maybe(_INT16))
    per_node = draw(_maybe(_INT8))
    if nodes is not None and per_node is not None:
        ntasks = nodes * per_node if draw(_BOOL) else None
    else:
        ntasks = draw(_maybe(_INT128))
    return nodes, ntasks, per_node


_TASKS = _tasks()
_SRUN_TYPED = {
    "nodes": "nodes", "ntasks": "ntasks", "tasks_per_node": "ntasks-per-node",
    "cpus_per_task": "cpus-per-task", "gpus_per_task": "gpus-per-task", "mem": "mem",
    "time": "time", "hostlist": "nodelist", "excluded_hosts": "exclude", "mpi": "mpi",
    "het_group": "het-group", "alloc": "jobid",
}  # fmt: skip


@functools.cache
def _run_part(
    run_command: str | None, run_args: st.SearchStrategy[dict[str, object]] | None
) -> st.SearchStrategy[RunSettings]:
    return _run_part_composite(run_command, run_args)


@functools.cache
def _mpmd_parts(
    run_args: st.SearchStrategy[dict[str, object]] | None, max_mpmd: int
) -> st.SearchStrategy[list[RunSettings]]:
    return st.lists(_run_part(None, run_args), max_size=max_mpmd)


_HET_GROUPS = st.lists(st.integers(0, 3), max_size=2, unique=True).map(tuple)
_MPI = st.sampled_from(["pmix", "pmi2", "none", "cray_shasta"])
_PREAMBLE = st.lists(st.sampled_from(["true", ": preamble", "# a comment", "set -u"]), max_size=2)


@st.composite
def _run_part_composite(
    draw: st.DrawFn, run_command: str | None, run_args: st.SearchStrategy[dict[str, object]] | None
) -> RunSettings:
    nodes, ntasks, per_node = draw(_TASKS)
    fields: dict[str, object] = {
        "nodes": nodes,
        "ntasks": ntasks,
        "tasks_per_node": per_node,
        "cpus_per_task": draw(_maybe(_INT16)),
        "gpus_per_task": draw(_maybe(_INT4)),
        "mem": draw(_maybe(memories())),
        "time": draw(_maybe(durations())),
        "hostlist": draw(valid_hosts(max_size=2)),
        "excluded_hosts": draw(valid_hosts(max_size=2)),
        "mpi": draw(_maybe(_MPI)),
        "het_group": draw(_HET_GROUPS),
    }
    if run_args is None:
        exclude = frozenset(
            {"chdir", "export"}
            | {name for key, name in _SRUN_TYPED.items() if fields.get(key) not in (None, ())}
        )
        args_value = draw(raw_options("srun", exclude=exclude))
    else:
        args_value = draw(run_args)
    return RunSettings(
        exe=draw(program_names()),
        args=draw(_ARGS),
        env=draw(valid_env()),
        run_command=run_command,
        run_args=args_value,
        **fields,
    )


@st.composite
def valid_run_settings(
    draw: st.DrawFn,
    *,
    run_command: str | None = "srun",
    run_args: st.SearchStrategy[dict[str, object]] | None = None,
    max_mpmd: int = 2,
    alloc: bool = True,
) -> RunSettings:
    """Settings ``srun_command`` can render (``run_command="srun"``): typed resources, real
    ``srun`` raw options (``run_args=None``; pass a strategy for another launcher's), nasty
    executables, arguments and environment values, and up to ``max_mpmd`` MPMD parts with their
    own environments. ``alloc`` draws a bound allocation id some of the time."""
    primary = draw(_run_part(run_command, run_args))
    mpmd = draw(_mpmd_parts(run_args, max_mpmd))
    alloc_id = draw(_maybe(_ALLOC_IDS)) if alloc else None
    return RunSettings(
        exe=primary.exe, args=primary.args, env=primary.env, nodes=primary.nodes,
        ntasks=primary.ntasks, tasks_per_node=primary.tasks_per_node,
        cpus_per_task=primary.cpus_per_task, gpus_per_task=primary.gpus_per_task,
        mem=primary.mem, time=primary.time, hostlist=primary.hostlist,
        excluded_hosts=primary.excluded_hosts, alloc=alloc_id, run_command=run_command,
        run_args=primary.run_args, mpi=primary.mpi, het_group=primary.het_group, mpmd=mpmd,
    )  # fmt: skip


@st.composite
def valid_batch_settings(draw: st.DrawFn) -> BatchSettings:
    """Batch settings ``sbatch_script`` can render. The preamble holds only harmless lines
    (scripts are run by bash in the tests)."""
    fields: dict[str, object] = {
        "nodes": draw(_maybe(_INT64)),
        "time": draw(_maybe(durations())),
        "account": draw(_maybe(single_line_text())),
        "partition": draw(_maybe(single_line_text())),
        "mem": draw(_maybe(memories())),
        "gpus": draw(_maybe(_INT8)),
        "job_name": draw(_maybe(names())),
        "array": draw(_maybe(array_specs())),
    }
    canonical = {
        "nodes": "nodes", "time": "time", "account": "account", "partition": "partition",
        "mem": "mem", "gpus": "gpus", "job_name": "job-name", "array": "array",
    }  # fmt: skip
    exclude = frozenset(canonical[k] for k, v in fields.items() if v is not None)
    batch_args = draw(raw_options("sbatch", exclude=exclude))
    preamble = draw(_PREAMBLE)
    return BatchSettings(batch_args=batch_args, preamble=preamble, **fields)


@st.composite
def valid_launch_contexts(draw: st.DrawFn, *, alloc: bool = True) -> LaunchContext:
    """Where a launch runs and writes: a nasty absolute directory, a name, output files."""
    return LaunchContext(
        cwd=draw(paths()),
        name=draw(names()),
        stdout=draw(_maybe(paths())),
        stderr=draw(_maybe(paths())),
        alloc=draw(_maybe(_ALLOC_IDS)) if alloc else None,
    )


# =========================================================================== invalid inputs
# One strategy per ValidationError kind; each value must fail with (at least) that kind when
# checked generically plus by its tool (RunSettings: srun or its run_command; AllocationRequest:
# salloc; BatchSettings: sbatch).


@functools.cache
def invalid_not_positive() -> st.SearchStrategy[Settings]:
    bad = st.integers(max_value=0)
    return st.one_of(
        st.builds(lambda n: RunSettings(exe="a.out", run_command="srun", nodes=n), bad),
        st.builds(lambda n: RunSettings(exe="a.out", run_command="srun", cpus_per_task=n), bad),
        st.builds(lambda n: AllocationRequest(nodes=n), bad),
        st.builds(lambda n: BatchSettings(gpus=n), bad),
        st.builds(lambda s: AllocationRequest(time=Duration(s)), bad),
        st.builds(lambda m: BatchSettings(mem=Memory(m)), bad),
    )


@functools.cache
def invalid_empty_value() -> st.SearchStrategy[Settings]:
    key = st.sampled_from(["partition", "p", "comment", "C", "qos"])
    return st.one_of(
        st.builds(lambda k: AllocationRequest(add_opts={k: ""}), key),
        st.builds(lambda k: BatchSettings(batch_args={k: ""}), key),
        st.builds(lambda k: RunSettings(exe="a", run_command="srun", run_args={k: ""}), key),
        st.just(AllocationRequest(partition="")),
        st.just(BatchSettings(account="")),
        st.just(RunSettings(exe="")),
    )


@functools.cache
def invalid_bad_option_name() -> st.SearchStrategy[Settings]:
    bad = st.one_of(
        st.just(""),
        single_line_text().map(lambda s: "-" + s),
        st.builds(lambda a, b: f"{a} {b}", names(), names()),
        st.builds(lambda a, b: f"{a}={b}", names(), names()),
    )
    return st.one_of(
        st.builds(lambda k: AllocationRequest(add_opts={k: "x"}), bad),
        st.builds(lambda k: RunSettings(exe="a", run_command="srun", run_args={k: None}), bad),
        st.builds(lambda k: BatchSettings(batch_args={k: 1}), bad),
    )


@functools.cache
def invalid_forbidden_character() -> st.SearchStrategy[Settings]:
    nul = st.builds(lambda a, b: f"{a}\x00{b}", single_line_text(min_size=0), any_text())
    newline = st.builds(
        lambda a, c, b: f"{a}{c}{b}", single_line_text(min_size=0), st.sampled_from("\n\r"),
        single_line_text(min_size=0),
    )  # fmt: skip
    return st.one_of(
        st.builds(lambda v: RunSettings(exe="a", args=(v,)), nul),
        st.builds(lambda v: RunSettings(exe="a", env={"X": v}), nul),
        st.builds(lambda v: RunSettings(exe=v, run_command="srun"), newline),
        st.builds(lambda v: AllocationRequest(add_opts={"comment": v}), newline),
        st.builds(lambda v: BatchSettings(partition=v), newline),
        st.builds(lambda v: BatchSettings(preamble=(v,)), newline),
    )


@functools.cache
def invalid_inconsistent_tasks() -> st.SearchStrategy[Settings]:
    @st.composite
    def build(draw: st.DrawFn) -> Settings:
        nodes = draw(st.integers(1, 16))
        per_node = draw(st.integers(1, 16))
        ntasks = draw(st.integers(1, 512).filter(lambda n: n != nodes * per_node))
        return RunSettings(
            exe="a", run_command="srun", nodes=nodes, tasks_per_node=per_node, ntasks=ntasks
        )

    return build()


@functools.cache
def invalid_duplicate_option() -> st.SearchStrategy[Settings]:
    return st.one_of(
        st.builds(
            lambda n, k: AllocationRequest(nodes=n, add_opts={k: n}),
            st.integers(1, 9),
            st.sampled_from(["N", "nodes"]),
        ),
        st.sampled_from(
            [
                AllocationRequest(add_opts={"time": "1:00:00", "t": "2:00:00"}),
                AllocationRequest(partition="a", add_opts={"p": "b"}),
                AllocationRequest(job_name="a", add_opts={"J": "b"}),
                AllocationRequest(exclusive=True, add_opts={"exclusive": None}),
                AllocationRequest(gpus=1, add_opts={"G": 2}),
                RunSettings(exe="a", run_command="srun", ntasks=2, run_args={"n": 2}),
                RunSettings(exe="a", run_command="srun", hostlist="n1", run_args={"w": "n2"}),
                RunSettings(exe="a", run_command="srun", run_args={"c": 1, "cpus-per-task": 2}),
                BatchSettings(time=60, batch_args={"t": "5"}),
                BatchSettings(account="a", batch_args={"A": "b"}),
                BatchSettings(array=ArraySpec(0, 3), batch_args={"a": "0-1"}),
            ]
        ),
    )


@functools.cache
def invalid_bad_host_name() -> st.SearchStrategy[Settings]:
    bad = st.one_of(
        st.sampled_from(["-n1", "a b", "n/1", "n_1", "n[1-", "n]1", "a..b", "é", "n1-"]),
        single_line_text().map(lambda s: f"x{s}!"),
    )
    return st.one_of(
        st.builds(lambda h: RunSettings(exe="a", run_command="srun", hostlist=(h,)), bad),
        st.builds(lambda h: RunSettings(exe="a", run_command="srun", excluded_hosts=(h,)), bad),
    )


@functools.cache
def invalid_bad_duration() -> st.SearchStrategy[Settings]:
    bad = st.one_of(
        st.sampled_from(["abc", "1 day", "1:2:3:4", "1-2-3", "10:", ":10", "-5", ""]),
        st.sampled_from([float("nan"), float("inf"), float("-inf")]),
    )
    return st.one_of(
        st.builds(lambda t: AllocationRequest(time=t), bad),
        st.builds(lambda t: RunSettings(exe="a", run_command="srun", time=t), bad),
        st.builds(lambda t: BatchSettings(time=t), bad),
    )


@functools.cache
def invalid_bad_memory() -> st.SearchStrategy[Settings]:
    bad = st.sampled_from(["lots", "4 GiB please", "1.5G", "-1G", "G", ""])
    return st.one_of(
        st.builds(lambda m: AllocationRequest(mem=m), bad),
        st.builds(lambda m: RunSettings(exe="a", run_command="srun", mem=m), bad),
        st.builds(lambda m: BatchSettings(mem=m), bad),
    )


@functools.cache
def invalid_bad_name() -> st.SearchStrategy[Settings]:
    bad_job = st.one_of(
        st.sampled_from(["a b", "-x", ".hidden", "a/b", "é", "x" * 201]),
        single_line_text().map(lambda s: f"{s} "),
    )
    bad_env = st.sampled_from(["1X", "A-B", "A B", "", "é"])
    return st.one_of(
        st.builds(lambda n: AllocationRequest(job_name=n), bad_job),
        st.builds(lambda n: BatchSettings(job_name=n), bad_job),
        st.builds(lambda n: RunSettings(exe="a", run_command="srun", env={n: "1"}), bad_env),
    )


@functools.cache
def invalid_bad_value() -> st.SearchStrategy[Settings]:
    return st.one_of(
        st.sampled_from(
            [
                RunSettings(exe="a", run_command="srun", flavour="intel"),
                RunSettings(exe="a", run_command="srun", mpi="pm ix"),
                RunSettings(exe="a", run_command="srun", alloc="abc"),
                RunSettings(exe="a", run_command="srun", alloc="12.3"),
                RunSettings(exe="-a", run_command="srun"),
                RunSettings(exe="a", args=("x", ":"), run_command="srun"),
                RunSettings(exe="a", run_command="srun", run_args={"exact": "yes"}),
                RunSettings(exe="a", run_command="srun", run_args={"comment": ":"}),
                RunSettings(exe="a", run_command="srun", run_args={"partition": None}),
                AllocationRequest(add_opts={"contiguous": 1}),
                BatchSettings(batch_args={"requeue": 1}),
                BatchSettings(array=ArraySpec(5, 2)),
            ]
        ),
        st.builds(lambda v: BatchSettings(batch_args={"requeue": v}), option_values()),
    )


@functools.cache
def invalid_unsupported() -> st.SearchStrategy[Settings]:
    """Settings a direct launch (no run_command) cannot express."""
    return st.one_of(
        st.builds(lambda n: RunSettings(exe="a", nodes=n), st.integers(2, 64)),
        st.builds(lambda n: RunSettings(exe="a", cpus_per_task=n), st.integers(1, 64)),
        st.just(RunSettings(exe="a", run_args={"x": 1})),
        st.just(RunSettings(exe="a", hostlist="n1")),
    )


@functools.cache
def invalid_conflicting_options() -> st.SearchStrategy[Settings]:
    return st.sampled_from(
        [
            AllocationRequest(add_opts={"Q": None}),
            AllocationRequest(add_opts={"quiet": True}),
            AllocationRequest(add_opts={"no-shell": False}),
            AllocationRequest(add_opts={"help": None}),
            AllocationRequest(mem=1024, add_opts={"mem-per-cpu": "1G"}),
            RunSettings(exe="a", run_command="srun", run_args={"chdir": "/tmp"}),
            RunSettings(exe="a", run_command="srun", run_args={"D": "/tmp"}),
            RunSettings(exe="a", run_command="srun", env={"A": "1"}, run_args={"export": "NONE"}),
            RunSettings(
                exe="a", run_command="srun",
                mpmd=[RunSettings(exe="b", mpmd=[RunSettings(exe="c")])],
            ),
            RunSettings(
                exe="a", run_command="srun", mpmd=[RunSettings(exe="b", run_command="mpirun")]
            ),
            BatchSettings(batch_args={"wrap": "hostname"}),
        ]
    )  # fmt: skip


@functools.cache
def invalid_unknown_launcher() -> st.SearchStrategy[Settings]:
    known = {"srun", "mpirun", "orterun", "mpiexec", "aprun", "jsrun", "flux"}
    return st.builds(
        lambda c: RunSettings(exe="a", run_command=c),
        st.from_regex(r"[a-z][a-z0-9._-]{0,10}", fullmatch=True).filter(
            lambda c: c not in known and not c.startswith("mpiexec.")
        ),
    )


#: ValidationError kind -> the strategy of values that must fail with it.
INVALID: Mapping[type[ValidationError], Callable[[], st.SearchStrategy[Settings]]] = {
    NotPositive: invalid_not_positive,
    EmptyValue: invalid_empty_value,
    BadOptionName: invalid_bad_option_name,
    ForbiddenCharacter: invalid_forbidden_character,
    InconsistentTasks: invalid_inconsistent_tasks,
    DuplicateOption: invalid_duplicate_option,
    BadHostName: invalid_bad_host_name,
    BadDuration: invalid_bad_duration,
    BadMemory: invalid_bad_memory,
    BadName: invalid_bad_name,
    BadValue: invalid_bad_value,
    Unsupported: invalid_unsupported,
    ConflictingOptions: invalid_conflicting_options,
    UnknownLauncher: invalid_unknown_launcher,
}

# =========================================================================== hostile input
# For the planners' totality properties (tests/test_fuzz.py, tests/test_hostile.py): anything a
# user (or a file system) can hand over, valid or not. A planner must refuse it with typed errors
# or produce a script every reader gives back exactly -- never raise.

#: Directive prefixes of every scheduler smartsim writes for, and the shell's own.
DIRECTIVE_PREFIXES = ("#PBS", "#BSUB", "#$", "#SBATCH", "#SLURM", "flux:", "#flux:", "FLUX:", "#!")
#: Line breaks of every reader (bash and most schedulers: LF; Flux: CR, CR LF; Python's
#: str.splitlines: the rest, which no reader here splits on).
LINE_BREAKS = (
    "\n",
    "\r",
    "\r\n",
    "\x0b",
    "\x0c",
    "\x1c",
    "\x1d",
    "\x1e",
    "\x85",
    "\u2028",
    "\u2029",
)
_CONTROLS = st.characters(min_codepoint=0, max_codepoint=0x1F) | st.characters(
    min_codepoint=0x7F, max_codepoint=0x9F
)
#: Every Unicode category, lone surrogates included (``st.characters`` leaves them out by
#: default).
_EVERY_CHARACTER = st.characters(categories=None, exclude_categories=()) | st.characters(
    min_codepoint=0xD800, max_codepoint=0xDFFF
)


@functools.cache
def hostile_text(*, max_size: int = 12) -> st.SearchStrategy[str]:
    """Text meant to break a renderer: controls (C0, C1, NUL), lone CR, every line break,
    directive prefixes after a line break, ``%``/``-``/``=`` first, quotes, surrogates as
    ``os.fsdecode`` makes them from non-UTF-8 bytes (and others), every Unicode category, and
    now and then a very long value."""
    atom = st.one_of(
        st.sampled_from(NASTY_WORDS),
        st.sampled_from(LINE_BREAKS),
        st.builds(
            "{}{} -N x".format, st.sampled_from(LINE_BREAKS), st.sampled_from(DIRECTIVE_PREFIXES)
        ),
        st.sampled_from(["%", "-", "=", "%a", "-x", "=x", "%1", "%%"]),
        st.text(_CONTROLS, min_size=1, max_size=3),
        st.text(_EVERY_CHARACTER, min_size=1, max_size=4),
        st.binary(min_size=1, max_size=4).map(os.fsdecode),
        st.text(_NASTY_ALPHABET, min_size=1, max_size=6),
    )
    short = st.lists(atom, min_size=1, max_size=4).map("".join).map(lambda s: s[: max_size * 2])
    long = st.builds(
        operator.mul, st.sampled_from(["a", "é", "#$ ", "\r"]), st.integers(2000, 5000)
    )
    return st.one_of(short, short, short, short, short, short, short, long)


@functools.cache
def mostly(
    plain: st.SearchStrategy[T], hostile: st.SearchStrategy[T], percent: int = 15
) -> st.SearchStrategy[T]:
    """``hostile`` about ``percent`` % of the time, else ``plain``: an entity with a hostile
    field or two among valid ones reaches the renderers instead of stopping at the first check.
    (A draw of 0..99 decides: ``st.one_of`` does not pick its branches evenly.)"""
    return st.integers(0, 99).flatmap(lambda i: hostile if i >= 100 - percent else plain)


@functools.cache
def hostile_env() -> st.SearchStrategy[dict[str, str]]:
    """Environment changes: hostile values under plain names, or a hostile name."""
    name = mostly(env_names(), hostile_text(max_size=4), percent=8)
    return st.dictionaries(name, mostly(any_text(), hostile_text()), max_size=2)


@functools.cache
def hostile_paths() -> st.SearchStrategy[str]:
    """Directories: absolute with hostile components, relative, empty, or non-UTF-8."""
    component = mostly(single_line_text(max_size=5), hostile_text(max_size=6)).map(
        lambda s: s.replace("/", "_") if s not in (".", "..") else "x"
    )
    absolute = st.lists(component, min_size=1, max_size=2).map(lambda ps: "/w/" + "/".join(ps))
    return mostly(absolute, st.one_of(absolute, hostile_text(max_size=6), st.just("")), percent=20)


@functools.cache
def hostile_run_settings() -> st.SearchStrategy[RunSettings]:
    """Run settings with hostile program, arguments and environment (run_command None)."""
    return st.builds(
        RunSettings,
        exe=mostly(program_names(), hostile_text(max_size=6)),
        args=st.lists(mostly(arguments(), hostile_text()), max_size=3).map(tuple),
        env=hostile_env(),
    )


@functools.cache
def hostile_batch_settings() -> st.SearchStrategy[BatchSettings]:
    """Batch settings with hostile account, queue, name, raw options and preamble."""
    text = mostly(single_line_text(), hostile_text(max_size=8), percent=15)
    return st.builds(
        BatchSettings,
        nodes=st.none() | st.integers(1, 4),
        time=st.none() | st.integers(1, 10**5),
        account=st.none() | text,
        partition=st.none() | text,
        job_name=st.none() | text,
        batch_args=mostly(
            st.just({}),
            st.dictionaries(
                mostly(st.sampled_from(["A", "l", "W", "P", "comment", "x"]), text),
                st.one_of(text, st.none(), st.integers(0, 99)),
                max_size=2,
            ),
            percent=30,
        ),
        preamble=mostly(st.just(()), st.lists(text, max_size=2).map(tuple), percent=30),
    )


@st.composite
def hostile_models(draw: st.DrawFn, *, batch: bool | None = None) -> Model:
    """A model with hostile text everywhere; batch settings always (``True``), never
    (``False``) or sometimes (``None``)."""
    with_batch = draw(st.booleans()) if batch is None else batch
    return Model(
        name=draw(mostly(names(), hostile_text(max_size=6), percent=8)),
        path=draw(hostile_paths()),
        run_settings=draw(hostile_run_settings()),
        batch_settings=draw(hostile_batch_settings()) if with_batch else None,
    )


@st.composite
def hostile_entities(draw: st.DrawFn, *, batch: bool | None = None) -> Model | Ensemble:
    """A hostile model, or (a quarter of the time) an ensemble of two hostile models, with or
    without the ensemble's own batch settings."""
    if draw(st.integers(0, 3)):
        return draw(hostile_models(batch=batch))
    with_batch = draw(st.booleans()) if batch is None else batch
    members = tuple(draw(hostile_models(batch=False)) for _ in range(2))
    return Ensemble(
        name=draw(names()),
        path=draw(hostile_paths()),
        members=members,
        batch_settings=draw(hostile_batch_settings()) if with_batch else None,
    )


__all__ = [
    "DIRECTIVE_PREFIXES",
    "INVALID",
    "LINE_BREAKS",
    "NASTY_CHARACTERS",
    "POOLS",
    "any_text",
    "arguments",
    "array_specs",
    "duration_inputs",
    "durations",
    "env_names",
    "hostile_batch_settings",
    "hostile_entities",
    "hostile_env",
    "hostile_models",
    "hostile_paths",
    "hostile_run_settings",
    "hostile_text",
    "invalid_bad_duration",
    "invalid_bad_host_name",
    "invalid_bad_memory",
    "invalid_bad_name",
    "invalid_bad_option_name",
    "invalid_bad_value",
    "invalid_conflicting_options",
    "invalid_duplicate_option",
    "invalid_empty_value",
    "invalid_forbidden_character",
    "invalid_inconsistent_tasks",
    "invalid_not_positive",
    "invalid_unknown_launcher",
    "invalid_unsupported",
    "job_ids",
    "memories",
    "names",
    "option_values",
    "paths",
    "program_names",
    "raw_options",
    "single_line_text",
    "valid_allocation_requests",
    "valid_batch_settings",
    "valid_env",
    "valid_hosts",
    "valid_launch_contexts",
    "valid_run_settings",
]
