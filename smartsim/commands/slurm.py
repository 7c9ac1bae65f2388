"""Slurm: ``salloc``/``srun``/``sbatch``/``scancel``/``squeue``/``sacct`` argv and script text, and
parsers of what those tools print. Pure: no subprocess, environment, clock or files.

Rules of this module (Slurm 22.05; man pages salloc(1), srun(1), sbatch(1), squeue(1), sacct(1),
scancel(1); behaviour marked *verified* was reproduced with the 22.05.8 binaries):

* Raw options (``add_opts``, ``run_args``, ``batch_args``) follow the seed's rule
  (:func:`smartsim.commands._options.option_tokens`): ``-K value``, ``--key value``, a bare flag
  for ``None``/``True``, nothing for ``False``; options whose argument Slurm treats as optional
  (``--exclusive[=user]``, ``--immediate[=secs]``, ``-K[0|1]`` ...) are written ``--key=value`` /
  ``-Kvalue`` because a separate word would be read as the program (the man pages: "for proper
  parsing the single letter option must be followed immediately with the value").
* The same option given twice -- a typed field and a raw key, or two spellings such as ``t``
  and ``time`` -- is a :class:`~smartsim.errors.DuplicateOption`, never two flags.
* Options smartsim sets for programmatic use are defaults the user may override by spelling
  them out (``J``/``job-name``, ``immediate``, ``output``/``error`` of steps and batch jobs);
  options that would break what smartsim reads back are refused
  (:class:`~smartsim.errors.ConflictingOptions`): ``salloc -Q`` (prints no job id),
  ``salloc --no-shell`` set to ``False``, ``srun --chdir`` (the working directory belongs to
  the command), ``sbatch --wrap`` (replaces the script), ``--help``/``--usage``/``--version``.
* ``srun`` and ``salloc`` split their argv at every word that is exactly ``:`` (heterogeneous
  components; *verified*: ``srun -n1 echo a : b`` makes two components), so no value or
  argument may be ``:``.
* The entity's environment travels in the ``srun`` process's own environment
  (:attr:`Command.env`), never as ``--export=ALL,K=V`` pairs: with ``ALL`` the caller's value
  wins (srun(1), ``--export``). MPMD parts whose environments differ get their own values
  through ``env K=V program`` in their part of the argv.
* Concurrent steps: since 21.08 a step without ``--exact`` is given every CPU of its nodes, so
  a second step in the same allocation waits (srun(1), ``--exact``, ``--exclusive``). Every
  step therefore carries ``--exact`` (omit it with ``run_args={"exact": False}``), and a step
  bound to an allocation that asks for no memory carries ``--mem=0``, which srun(1) defines for
  steps as "restrict the job step to the amount of memory allocated to the job, but not remove
  any of the job's memory allocation from being available to other job steps".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, TypeAlias, final

import attrs
from returns.result import Failure, Result, Success

from smartsim._checked import once
from smartsim._frozen import FrozenMap, fieldwise
from smartsim._lazy import LazyPattern
from smartsim.commands._options import (
    OPTION_NAME,
    OptionRules,
    check_nonempty_text,
    option_problems,
    option_tokens,
    typed_set,
)
from smartsim.commands._texts import batch_settings_texts, run_settings_texts
from smartsim.commands._types import Command
from smartsim.commands.launch import LaunchContext, RunCommandSpec
from smartsim.commands.script import (
    ScriptReader,
    background_and_wait,
    batch_script,
    directive_line,
)
from smartsim.errors import (
    BadValue,
    ConflictingOptions,
    Invalid,
    Unsupported,
    ValidationError,
)
from smartsim.status import JobState, Status
from smartsim.validate import (
    allocation_problems,
    batch_problems,
    check_name,
    run_settings_problems,
)
from smartsim.values import (
    AllocationRequest,
    BatchSettings,
    Duration,
    JobId,
    Memory,
    OptionValue,
    RunSettings,
)

__all__ = [
    "SALLOC_OPTIONS",
    "SBATCH_OPTIONS",
    "SLURM_STATES",
    "SRUN",
    "SRUN_OPTIONS",
    "SacctRow",
    "StepShape",
    "batch_size",
    "check_allocation",
    "check_batch",
    "check_sbatch",
    "check_srun",
    "never_starts",
    "parse_sacct",
    "parse_sacct_rows",
    "parse_salloc_pending",
    "parse_salloc_stderr",
    "parse_sbatch_parsable",
    "parse_squeue",
    "sacct_argv",
    "sacct_known_argv",
    "salloc_argv",
    "sbatch_command",
    "sbatch_script",
    "scancel_argv",
    "slurm_memory",
    "slurm_status",
    "slurm_time",
    "squeue_argv",
    "srun_command",
    "step_shape",
    "validate_salloc",
    "validate_sbatch",
    "validate_srun",
    "whole_nodes",
]

Members: TypeAlias = Sequence[tuple[RunSettings, LaunchContext]]

# --------------------------------------------------------------------------- option tables
# Written out from the OPTIONS sections of salloc(1), srun(1) and sbatch(1), Slurm 22.05.
# They serve the checks (which option is which, which take no argument) and the optional-
# argument rendering rule; options not listed pass through untouched (sites add SPANK options).

_COMMON_SHORT: Final = {
    "A": "account", "B": "extra-node-info", "C": "constraint", "D": "chdir", "F": "nodefile",
    "G": "gpus", "H": "hold", "J": "job-name", "L": "licenses", "M": "clusters", "N": "nodes",
    "O": "overcommit", "Q": "quiet", "S": "core-spec", "V": "version", "c": "cpus-per-task",
    "d": "dependency", "h": "help", "k": "no-kill", "m": "distribution", "n": "ntasks",
    "p": "partition", "q": "qos", "s": "oversubscribe", "t": "time", "v": "verbose",
    "w": "nodelist", "x": "exclude",
}  # fmt: skip
_SHORT: Final[Mapping[str, Mapping[str, str]]] = {
    "salloc": {**_COMMON_SHORT, "I": "immediate", "K": "kill-command"},
    "srun": {
        **_COMMON_SHORT, "E": "preserve-env", "I": "immediate", "K": "kill-on-bad-exit",
        "T": "threads", "W": "wait", "X": "disable-status", "Z": "no-allocate", "b": "begin",
        "e": "error", "i": "input", "l": "label", "o": "output", "r": "relative",
        "u": "unbuffered",
    },
    "sbatch": {
        **_COMMON_SHORT, "W": "wait", "a": "array", "b": "begin", "e": "error", "i": "input",
        "o": "output",
    },
}  # fmt: skip

#: What ``sbatch`` does to a script's text: it refuses a script holding CR LF anywhere ("Batch
#: script contains DOS line breaks", ``src/sbatch/sbatch.c``); lines end at LF; ``#SBATCH`` lines
#: are read only before the first command (sbatch(1)), but ``#PBS`` and ``#BSUB`` lines are
#: translated wherever they are among the first 100 non-comment lines, unless ``--ignore-pbs``
#: (``xlate_batch_script``, ``src/sbatch/xlate.c``; ``_opt_wrpr_batch_script`` in 22.05's
#: ``opt.c``; observed on 22.05.8: a body line ``#PBS -N x`` renamed a held job ``x``).
READER: Final = ScriptReader(tool="sbatch", refused=("\r\n",), directive=re.compile("#PBS|#BSUB"))

#: Options that take no argument (a value for them is an error; ``--requeue`` is one).
_NO_ARG: Final[Mapping[str, frozenset[str]]] = {
    "salloc": frozenset({
        "bell", "contiguous", "help", "hold", "no-bell", "no-shell", "overcommit",
        "oversubscribe", "quiet", "reboot", "spread-job", "usage", "use-min-nodes", "verbose",
        "version",
    }),
    "srun": frozenset({
        "contiguous", "disable-status", "exact", "help", "hold", "label", "multi-prog",
        "no-allocate", "overcommit", "overlap", "oversubscribe", "preserve-env", "pty", "quiet",
        "quit-on-interrupt", "reboot", "spread-job", "test-only", "unbuffered", "usage",
        "use-min-nodes", "verbose", "version",
    }),
    "sbatch": frozenset({
        "contiguous", "help", "hold", "ignore-pbs", "no-requeue", "overcommit", "oversubscribe",
        "parsable", "quiet", "reboot", "requeue", "spread-job", "test-only", "usage",
        "use-min-nodes", "verbose", "version", "wait",
    }),
}  # fmt: skip

#: Options whose argument is optional (``--key[=value]`` in the man pages).
_OPTIONAL_ARG: Final[Mapping[str, frozenset[str]]] = {
    "salloc": frozenset({
        "exclusive", "get-user-env", "immediate", "kill-command", "nice", "no-kill", "x11",
    }),
    "srun": frozenset({
        "bcast", "compress", "exclusive", "immediate", "kill-on-bad-exit", "nice", "no-kill",
        "propagate", "resv-ports", "send-libs", "x11",
    }),
    "sbatch": frozenset({"exclusive", "get-user-env", "nice", "no-kill", "propagate"}),
}  # fmt: skip

#: Known options that require an argument (a bare flag for them is an error).
_REQUIRED_ARG: Final[Mapping[str, frozenset[str]]] = {
    tool: frozenset(_SHORT[tool].values()) - _NO_ARG[tool] - _OPTIONAL_ARG[tool]
    | {
        "account", "comment", "constraint", "cpus-per-gpu", "cpus-per-task", "dependency",
        "exclude", "gpus", "gpus-per-node", "gpus-per-task", "gres", "job-name", "mem",
        "mem-per-cpu", "mem-per-gpu", "nodelist", "nodes", "ntasks", "ntasks-per-node",
        "partition", "qos", "reservation", "time", "time-min", "tmp", "wckey",
        # long-only options with a required argument in all three man pages
        "acctg-freq", "begin", "chdir", "cluster-constraint", "clusters", "core-spec",
        "cores-per-socket", "cpu-freq", "deadline", "delay-boot", "distribution",
        "extra-node-info", "gpu-bind", "gpu-freq", "gpus-per-socket", "hint", "licenses",
        "mail-type", "mail-user", "mcs-label", "mem-bind", "mincpus", "network", "nodefile",
        "ntasks-per-core", "ntasks-per-gpu", "ntasks-per-socket", "power", "priority",
        "profile", "signal", "sockets-per-node", "switches", "thread-spec",
        "threads-per-core", "tres-per-task",
    }
    for tool in ("salloc", "srun", "sbatch")
}  # fmt: skip
_REQUIRED_EXTRA: Final = {
    "srun": frozenset({
        "export", "het-group", "jobid", "mpi", "open-mode", "output", "error", "cpu-bind",
        "epilog", "prolog", "task-epilog", "task-prolog", "input", "relative", "threads",
        "accel-bind", "slurmd-debug",
    }),
    "sbatch": frozenset({"array", "export", "open-mode", "output", "error", "wrap"}),
    "salloc": frozenset(),
}

#: Options whose rendered token the key must match: the long name and any short letter.
_RENDER_OPTIONAL: Final[Mapping[str, frozenset[str]]] = {
    tool: _OPTIONAL_ARG[tool]
    | {short for short, long in _SHORT[tool].items() if long in _OPTIONAL_ARG[tool]}
    for tool in ("salloc", "srun", "sbatch")
}

#: Mutually exclusive memory options (salloc(1)/srun(1)/sbatch(1), ``--mem``).
_MEMORY: Final = frozenset({"mem", "mem-per-cpu", "mem-per-gpu"})
#: Options that only print something and exit.
_EXITS: Final = frozenset({"help", "usage", "version"})


#: Long names Slurm 22.05 also accepts for an option (its option table, not the man pages).
_ALIASES: Final = {
    "tasks-per-node": "ntasks-per-node",
    "cpu_bind": "cpu-bind",
    "pack-group": "het-group",
    "cluster": "clusters",
}


def _slurm_options(tool: str, typed: Mapping[str, tuple[str, ...]]) -> OptionRules:
    """``tool``'s option table (the man-page sets above) as the one shape every builder uses;
    ``typed``: the options a typed field renders (option -> that field)."""
    return OptionRules(
        tool=tool,
        typed=typed,
        aliases={**_SHORT[tool], **_ALIASES},
        flags=_NO_ARG[tool],
        valued=(_REQUIRED_ARG[tool] | _REQUIRED_EXTRA[tool]) - _NO_ARG[tool],
        optional_arg=_OPTIONAL_ARG[tool],
        exits=_EXITS & _NO_ARG[tool],
        exclusive=(
            (
                _MEMORY,
                "one another (--mem, --mem-per-cpu and --mem-per-gpu are mutually exclusive)",
            ),
        ),
        colon_splits=tool != "sbatch",  # srun and salloc split their argv at ':' (MPMD, het)
    )


#: salloc(1), srun(1) and sbatch(1)'s raw options (``add_opts``, ``run_args``, ``batch_args``).
#: (AllocationRequest.exclusive is a typed --exclusive only when True: see check_allocation.)
SALLOC_OPTIONS: Final = _slurm_options("salloc", {
    "nodes": ("nodes",), "time": ("time",), "partition": ("partition",),
    "account": ("account",), "constraint": ("constraint",), "job-name": ("job_name",),
    "mem": ("mem",), "gpus": ("gpus",),
})  # fmt: skip
SRUN_OPTIONS: Final = _slurm_options("srun", {
    "nodes": ("nodes",), "ntasks": ("ntasks",), "ntasks-per-node": ("tasks_per_node",),
    "cpus-per-task": ("cpus_per_task",), "gpus-per-task": ("gpus_per_task",), "mem": ("mem",),
    "time": ("time",), "nodelist": ("hostlist",), "exclude": ("excluded_hosts",),
    "mpi": ("mpi",), "het-group": ("het_group",), "jobid": ("alloc",),
})  # fmt: skip
SBATCH_OPTIONS: Final = _slurm_options("sbatch", {
    "nodes": ("nodes",), "time": ("time",), "account": ("account",),
    "partition": ("partition",), "mem": ("mem",), "gpus": ("gpus",), "job-name": ("job_name",),
    "array": ("array",), "nodelist": ("hostlist",), "exclude": ("excluded_hosts",),
})  # fmt: skip
_OPTIONS: Final = {"salloc": SALLOC_OPTIONS, "srun": SRUN_OPTIONS, "sbatch": SBATCH_OPTIONS}


def _canonical(tool: str, key: str) -> str:
    """The long option name ``key`` stands for (``N`` -> ``nodes``); unknown keys as they are."""
    return _OPTIONS[tool].canonical(key)


def _pairs(options: Mapping[str, OptionValue]) -> tuple[tuple[str, OptionValue], ...]:
    if isinstance(options, FrozenMap):
        return options.items_tuple()
    return tuple(options.items())


def _spelled(tool: str, options: Mapping[str, OptionValue]) -> dict[str, str]:
    """canonical name -> the key the user spelled it with, for keys that render something
    (``False`` leaves an option out, so it neither sets nor duplicates anything)."""
    out: dict[str, str] = {}
    for key, value in _pairs(options):
        if value is not False and OPTION_NAME.fullmatch(key):
            out.setdefault(_canonical(tool, key), key)
    return out


# --------------------------------------------------------------------------- formats


def slurm_time(duration: Duration) -> str:
    """Slurm's ``--time``: ``HH:MM:SS`` below a day, ``D-HH:MM:SS`` from a day on.

    >>> slurm_time(Duration(90)), slurm_time(Duration(90000))
    ('00:01:30', '1-01:00:00')
    """
    days, rest = divmod(duration.seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}-{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{hours:02d}:{minutes:02d}:{secs:02d}"


def slurm_memory(memory: Memory) -> str:
    """Slurm's ``--mem``: whole gibibytes as ``G``, else ``M`` (Slurm's ``G`` is 1024 ``M``).

    >>> slurm_memory(Memory(4096)), slurm_memory(Memory(1500))
    ('4G', '1500M')
    """
    if memory.megabytes % 1024 == 0:
        return f"{memory.megabytes // 1024}G"
    return f"{memory.megabytes}M"


# --------------------------------------------------------------------------- salloc


def check_allocation(req: AllocationRequest) -> list[ValidationError]:
    """What ``salloc`` forbids or smartsim cannot use in ``req`` (the generic rules are
    :func:`smartsim.validate.allocation_problems`; :func:`validate_salloc` runs both).

    >>> for e in check_allocation(AllocationRequest(nodes=2, add_opts={"N": 3, "Q": None})):
    ...     print(type(e).__name__, e.field)
    DuplicateOption allocation.add_opts['N']
    ConflictingOptions allocation.add_opts['Q']
    """
    field = "allocation.add_opts"
    opts = req.add_opts
    typed = typed_set(SALLOC_OPTIONS, req, "allocation.")
    if req.exclusive is True:
        typed["exclusive"] = "allocation.exclusive"
    errors = option_problems(SALLOC_OPTIONS, field, opts, typed)
    for key, value in opts.items():
        name = _canonical("salloc", key) if OPTION_NAME.fullmatch(key) else ""
        where = f"{field}[{key!r}]"
        if name == "quiet" and value is not False:
            # salloc(1) -Q: "Suppress informational messages" -- including the granted id.
            errors.append(
                ConflictingOptions(
                    where, value, "smartsim reads the allocation id from salloc's stderr"
                )
            )
        if name == "no-shell" and value is False:
            errors.append(
                ConflictingOptions(
                    where, value, "smartsim's salloc, which must return at once (--no-shell)"
                )
            )
    return errors


def validate_salloc(req: AllocationRequest) -> Result[AllocationRequest, Invalid]:
    """``req`` if :func:`salloc_argv` can render it, else every problem (generic and Slurm).

    >>> validate_salloc(AllocationRequest(nodes=1, add_opts={"partition": ""})).failure()
    Invalid(errors=(EmptyValue(field="allocation.add_opts['partition']", value=''),))
    """
    errors = allocation_problems(req) + check_allocation(req)
    return Failure(Invalid(tuple(errors))) if errors else Success(req)


#: salloc options by which a request sizes its tasks or CPUs, or says how nodes are shared.
_ALLOC_SIZING: Final = frozenset({
    "ntasks", "ntasks-per-node", "ntasks-per-core", "ntasks-per-socket", "ntasks-per-gpu",
    "cpus-per-task", "mincpus", "cores-per-socket", "sockets-per-node", "threads-per-core",
    "extra-node-info", "cpus-per-gpu", "exclusive", "oversubscribe", "core-spec",
    "thread-spec",
})  # fmt: skip


def whole_nodes(req: AllocationRequest) -> bool:
    """Whether ``req`` gets whole nodes (``--exclusive``): asked (``exclusive=True``), or by
    default (``exclusive=None``) when it asks for nodes and sizes no tasks or CPUs itself.

    >>> sized = AllocationRequest(nodes=1, add_opts={"ntasks-per-node": 4})
    >>> shared = AllocationRequest(nodes=1, exclusive=False)
    >>> whole_nodes(AllocationRequest(nodes=1)), whole_nodes(sized), whole_nodes(shared)
    (True, False, False)
    """
    if req.exclusive is not None:
        return req.exclusive
    spelled = _spelled("salloc", req.add_opts)
    asks_nodes = req.nodes is not None or "nodes" in spelled
    return asks_nodes and not _ALLOC_SIZING & spelled.keys()


def salloc_argv(
    req: AllocationRequest, *, job_name: str = "smartsim", immediate: int | Duration | None = None
) -> tuple[str, ...]:
    """``salloc`` argv for a validated request: ``--no-shell`` (return once granted) and a job
    name first, then ``--immediate=S`` when asked, the typed fields, then ``add_opts`` in order.

    >>> req = AllocationRequest(nodes=5, add_opts={"C": "haswell", "partition": "debug",
    ...                                            "time": "10:00:00", "exclusive": None})
    >>> print(*salloc_argv(req))  # doctest: +NORMALIZE_WHITESPACE
    salloc --no-shell --job-name smartsim
           -N 5 -C haswell --partition debug --time 10:00:00 --exclusive
    >>> print(*salloc_argv(AllocationRequest(nodes=1, time=90000, exclusive=True), immediate=30))
    salloc --no-shell --job-name smartsim --immediate=30 -N 1 --time 1-01:00:00 --exclusive

    ``job_name`` is the default name: ``req.job_name`` or a ``J``/``job-name`` key wins; so does
    an ``immediate``/``I`` key over ``immediate``. salloc(1): ``--immediate[=<seconds>]`` takes
    its argument attached. A request for nodes that sizes nothing else gets whole nodes
    (:func:`whole_nodes`): ``--exclusive`` last.

    >>> salloc_argv(AllocationRequest(nodes=1))
    ('salloc', '--no-shell', '--job-name', 'smartsim', '-N', '1', '--exclusive')
    """
    opts = req.add_opts
    spelled = _spelled("salloc", opts)
    argv: list[str] = ["salloc"]
    if "no-shell" not in spelled:
        argv.append("--no-shell")
    if req.job_name is None and "job-name" not in spelled:
        argv += ["--job-name", job_name]
    if immediate is not None and "immediate" not in spelled:
        seconds = immediate.seconds if isinstance(immediate, Duration) else immediate
        argv.append(f"--immediate={seconds}")
    if req.nodes is not None:
        argv += ["-N", str(req.nodes)]
    if isinstance(req.time, Duration):
        argv += ["--time", slurm_time(req.time)]
    if req.partition is not None:
        argv += ["--partition", req.partition]
    if req.account is not None:
        argv += ["--account", req.account]
    if req.constraint is not None:
        argv += ["--constraint", req.constraint]
    if req.exclusive:
        argv.append("--exclusive")
    if req.job_name is not None:
        argv += ["--job-name", req.job_name]
    if req.mem is not None and not isinstance(req.mem, str):
        argv += ["--mem", slurm_memory(req.mem)]
    if req.gpus is not None:
        argv += ["--gpus", str(req.gpus)]
    for key, value in opts.items():
        argv.extend(option_tokens(key, value, optional_arg=_RENDER_OPTIONAL["salloc"]))
    if req.exclusive is None and whole_nodes(req):
        argv.append("--exclusive")
    return tuple(argv)


# --------------------------------------------------------------------------- srun


def _parts(rs: RunSettings) -> tuple[RunSettings, ...]:
    """This program and its MPMD parts. (Each part is read for its own fields only, so the
    primary is used as it is: ``rs.parts`` would rebuild it through every converter.)"""
    return (rs, *rs.mpmd) if rs.mpmd else (rs,)


def _shared_env(parts: Sequence[RunSettings]) -> Mapping[str, str]:
    """The variables every part sets to the same value (in the first part's order)."""
    first = parts[0].env
    if len(parts) == 1:
        return first
    return {k: v for k, v in first.items_tuple() if all(p.env.get(k, None) == v for p in parts[1:])}


def _part_env(part: RunSettings, shared: Mapping[str, str]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in part.env.items_tuple() if k not in shared]


def _named(tool: str, options: FrozenMap[str, OptionValue]) -> tuple[set[str], set[str]]:
    """For validated raw options: (canonical names given at all, those that render something)."""
    rules = _OPTIONS[tool]
    mentioned: set[str] = set()
    present: set[str] = set()
    for key, value in options.items_tuple():
        name = rules.canonical(key)
        mentioned.add(name)
        if value is not False:
            present.add(name)
    return mentioned, present


def _check_part(rs: RunSettings, f: str, shared: Mapping[str, str]) -> list[ValidationError]:
    errors: list[ValidationError] = []
    spelled: dict[str, str] = {}
    if rs.run_args:
        typed = typed_set(SRUN_OPTIONS, rs, f"{f}.")
        errors += option_problems(SRUN_OPTIONS, f"{f}.run_args", rs.run_args, typed, seen=spelled)
    if "chdir" in spelled:
        errors.append(
            ConflictingOptions(
                f"{f}.run_args[{spelled['chdir']!r}]",
                rs.run_args[spelled["chdir"]],
                "the command's working directory (LaunchContext.cwd)",
            )
        )
    if "export" in spelled and rs.env:
        value = rs.run_args[spelled["export"]]
        if not (isinstance(value, str) and value == "ALL"):
            errors.append(
                ConflictingOptions(
                    f"{f}.run_args[{spelled['export']!r}]",
                    value,
                    f"{f}.env (srun would not pass the entity's environment)",
                )
            )
    if rs.exe.startswith("-"):
        errors.append(
            BadValue(
                f"{f}.exe",
                rs.exe,
                "a program name not starting with '-' (srun would read it as an option)",
            )
        )
    if rs.exe == ":" or ":" in rs.args:
        for i, word in enumerate((rs.exe, *rs.args)):
            if word == ":":
                path = f"{f}.exe" if i == 0 else f"{f}.args[{i - 1}]"
                errors.append(BadValue(path, word, "not ':' (srun splits its argv at ':' words)"))
    if "=" in rs.exe and _part_env(rs, shared):
        errors.append(
            BadValue(
                f"{f}.exe",
                rs.exe,
                "a program name without '=' (this MPMD part's own "
                "environment is set with env(1), which would read it as a variable)",
            )
        )
    if rs.alloc is not None and not rs.alloc.isdigit():
        parsed = JobId.parse(rs.alloc)
        if isinstance(parsed, Success):
            jid = parsed.unwrap()
            if (jid.het_offset, jid.array_task, jid.array_range, jid.step) != (None,) * 4:
                errors.append(
                    BadValue(
                        f"{f}.alloc",
                        rs.alloc,
                        "a whole job id such as '1234' (select "
                        "heterogeneous components with het_group)",
                    )
                )
    return errors


@once
def check_srun(rs: RunSettings) -> list[ValidationError]:
    """What ``srun`` forbids or cannot express in ``rs`` and its MPMD parts (the generic rules
    are :func:`smartsim.validate.run_settings_problems`; :func:`validate_srun` runs both).

    >>> for e in check_srun(RunSettings(exe="a.out", ntasks=4, run_args={"n": 8, "t": "1:00:00",
    ...                                                                 "time": "2:00:00"})):
    ...     print(e.field, "duplicates", e.other)
    run_settings.run_args['n'] duplicates run_settings.ntasks
    run_settings.run_args['time'] duplicates run_settings.run_args['t']
    """
    parts = _parts(rs)
    shared = _shared_env(parts)
    errors = _check_part(rs, "run_settings", shared)
    for i, part in enumerate(rs.mpmd):
        f = f"run_settings.mpmd[{i}]"
        errors += _check_part(part, f, shared)
        if part.run_command not in (None, "srun"):
            errors.append(
                ConflictingOptions(
                    f"{f}.run_command",
                    part.run_command,
                    "run_settings.run_command ('srun'): one launch has one launcher",
                )
            )
        if part.alloc is not None and part.alloc != rs.alloc:
            errors.append(
                ConflictingOptions(
                    f"{f}.alloc", part.alloc, "run_settings.alloc: one srun runs in one allocation"
                )
            )
    return errors


def validate_srun(rs: RunSettings) -> Result[RunSettings, Invalid]:
    """``rs`` if :func:`srun_command` can render it, else every problem (generic and Slurm)."""
    errors = run_settings_problems(rs) + check_srun(rs)
    return Failure(Invalid(tuple(errors))) if errors else Success(rs)


def _jobid(rs: RunSettings, ctx: LaunchContext) -> tuple[str, str | None] | None:
    """(job number, cluster) of the allocation the step joins, if any."""
    text = rs.alloc if rs.alloc is not None else ctx.alloc
    if text is None:
        return None
    if text.isdigit():
        return text, None
    parsed = JobId.parse(text)
    if isinstance(parsed, Success):
        jid = parsed.unwrap()
        return str(jid.job), jid.cluster
    return text, None  # not validated: rendered as given, for srun to judge


@final
@fieldwise
@attrs.frozen(slots=False, eq=False, repr=False)
class StepShape:
    """What one ``srun`` step (or one MPMD part) asks for, as counts: ``nodes`` (the fewest it
    may run on), ``tasks``, CPUs per task and GPUs in all."""

    nodes: int
    tasks: int
    cpus_per_task: int
    gpus: int

    @property
    def cpus(self) -> int:
        return self.tasks * self.cpus_per_task


def _count(value: object) -> int | None:
    """A whole count given as an int or digits (``run_args={"n": "4"}``), else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str) and value.isdigit() and int(value) > 0:
        return int(value)
    return None


def _raw_count(part: RunSettings, name: str) -> tuple[bool, int | None]:
    """(whether ``run_args`` names the srun option ``name``, its count if it is one)."""
    for key, value in part.run_args.items_tuple():
        if SRUN_OPTIONS.canonical(key) == name and value is not False:
            return True, _count(value)
    return False, None


def step_shape(part: RunSettings) -> StepShape | None:
    """The counts srun gives a step of ``part`` (one MPMD part; srun(1) defaults: one task per
    node, one node, one CPU per task), from its typed fields or the same options in
    ``run_args``; ``None`` when a count is not a plain number (``--nodes=2-4``).

    >>> step_shape(RunSettings(exe="a")), step_shape(RunSettings(exe="a", nodes=2)).tasks
    (StepShape(nodes=1, tasks=1, cpus_per_task=1, gpus=0), 2)
    >>> step_shape(RunSettings(exe="a", ntasks=4, cpus_per_task=2, gpus_per_task=1)).gpus
    4
    """
    counts: dict[str, int | None] = {}
    for name, typed in (
        ("nodes", part.nodes),
        ("ntasks", part.ntasks),
        ("ntasks-per-node", part.tasks_per_node),
        ("cpus-per-task", part.cpus_per_task),
        ("gpus-per-task", part.gpus_per_task),
    ):
        named, raw = _raw_count(part, name)
        if typed is not None:
            counts[name] = typed
        elif named:
            if raw is None:
                return None
            counts[name] = raw
        else:
            counts[name] = None
    nodes = counts["nodes"]
    tasks = counts["ntasks"]
    if tasks is None:
        per_node = counts["ntasks-per-node"]
        tasks = per_node * (nodes or 1) if per_node is not None else (nodes or 1)
    cpt = counts["cpus-per-task"] or 1
    gpus = (counts["gpus-per-task"] or 0) * tasks
    return StepShape(nodes or 1, tasks, cpt, gpus)


def _batch_counts(part: RunSettings, mentioned: set[str]) -> list[str]:
    """A member step's own node and task counts inside a batch script: srun would otherwise
    take them from the batch job (``SLURM_NNODES``, ``SLURM_NTASKS``) -- *verified* on 22.05: a
    1-task step in a 2-node job warns ``can't run 1 processes on 2 nodes``, and a step with no
    ``-n`` in a job of ``--ntasks 4`` runs 4 tasks. Counts the member gives stay its own."""
    shape = step_shape(part)
    if shape is None:
        return []
    argv: list[str] = []
    if part.nodes is None and "nodes" not in mentioned:
        fixed = part.tasks_per_node is not None or "ntasks-per-node" in mentioned
        argv += ["-N", "1" if shape.tasks == 1 or fixed else f"1-{shape.tasks}"]
    if part.ntasks is None and "ntasks" not in mentioned:
        argv += ["-n", str(shape.tasks)]
    return argv


def _part_argv(
    rs: RunSettings,
    ctx: LaunchContext,
    jobid: tuple[str, str | None] | None,
    env_prefix: Sequence[tuple[str, str]],
    *,
    bound: bool,
    array_task: bool = False,
    in_batch: bool = False,
) -> list[str]:
    mentioned, present = _named("srun", rs.run_args)
    argv: list[str] = []
    if jobid is not None and "jobid" not in present:
        argv += ["--jobid", jobid[0]]
        if jobid[1] is not None and "clusters" not in present:
            argv += ["-M", jobid[1]]
    if "job-name" not in present:
        argv += ["--job-name", ctx.name]
    if ctx.stdout is not None and "output" not in present:
        argv += ["--output", slurm_filename(ctx.stdout, array_task=array_task)]
    if ctx.stderr is not None and "error" not in present:
        argv += ["--error", slurm_filename(ctx.stderr, array_task=array_task)]
    if "exact" not in mentioned and "exclusive" not in present:
        argv.append("--exact")
    if bound and rs.mem is None and not mentioned & _MEMORY:
        argv.append("--mem=0")
    if rs.nodes is not None:
        argv += ["-N", str(rs.nodes)]
    if rs.ntasks is not None:
        argv += ["-n", str(rs.ntasks)]
    if in_batch:
        argv += _batch_counts(rs, mentioned)
    if rs.tasks_per_node is not None:
        argv += ["--ntasks-per-node", str(rs.tasks_per_node)]
    if rs.cpus_per_task is not None:
        argv += ["-c", str(rs.cpus_per_task)]
    if rs.gpus_per_task is not None:
        argv += ["--gpus-per-task", str(rs.gpus_per_task)]
    if rs.mem is not None and not isinstance(rs.mem, str):
        argv += ["--mem", slurm_memory(rs.mem)]
    if isinstance(rs.time, Duration):
        argv += ["--time", slurm_time(rs.time)]
    if rs.hostlist:
        argv += ["--nodelist", ",".join(rs.hostlist)]
    if rs.excluded_hosts:
        argv += ["--exclude", ",".join(rs.excluded_hosts)]
    if rs.mpi is not None:
        argv.append(f"--mpi={rs.mpi}")
    if rs.het_group:
        argv.append("--het-group=" + ",".join(str(g) for g in rs.het_group))
    optional = _RENDER_OPTIONAL["srun"]
    for key, value in rs.run_args.items_tuple():
        argv.extend(option_tokens(key, value, optional_arg=optional))
    if env_prefix:
        argv += ["env", *(f"{k}={v}" for k, v in env_prefix)]
    argv += [rs.exe, *rs.args]
    return argv


def slurm_filename(path: str, *, array_task: bool = False) -> str:
    """A path as Slurm's ``--output``/``--error`` filename pattern must spell it.

    srun(1) and sbatch(1), "filename pattern": ``%`` starts a replacement symbol and ``%%`` is
    a literal ``%``; a backslash anywhere turns all replacement off. ``array_task`` inserts
    ``%a`` (the array index) before the extension, so array tasks do not share files.

    >>> slurm_filename("/w/100%/m.out"), slurm_filename("/w/m.out", array_task=True)
    ('/w/100%%/m.out', '/w/m.%a.out')
    >>> slurm_filename("/w/a\\\\b%/m.out")
    '/w/a\\\\b%/m.out'
    """
    if "\\" in path:
        return path  # no replacement at all, so nothing to escape (and no %a possible)
    escaped = path.replace("%", "%%")
    if not array_task:
        return escaped
    head, dot, ext = escaped.rpartition(".")
    if not dot or "/" in ext:
        return escaped + ".%a"
    return f"{head}.%a.{ext}"


def _srun(
    rs: RunSettings, ctx: LaunchContext, *, in_batch: bool, array_task: bool = False
) -> Command:
    jobid = None if in_batch else _jobid(rs, ctx)
    bound = in_batch or jobid is not None
    parts = _parts(rs)
    shared = _shared_env(parts)
    argv: list[str] = ["srun"]
    for i, part in enumerate(parts):
        if i:
            argv.append(":")
        prefix = _part_env(part, shared) if len(parts) > 1 else ()
        argv += _part_argv(
            part, ctx, jobid, prefix, bound=bound, array_task=array_task, in_batch=in_batch
        )
    return Command(argv=argv, env=shared, cwd=ctx.cwd)


def srun_command(rs: RunSettings, ctx: LaunchContext, *, in_batch: bool = False) -> Command:
    """The ``srun`` command for validated settings (see :func:`validate_srun`).

    >>> rs = RunSettings(exe="python", args=("sim.py", "a b"), env={"OMP_NUM_THREADS": "4"},
    ...                  nodes=2, ntasks=8, time=3600, run_args={"exclusive": None})
    >>> ctx = LaunchContext(cwd="/w/sim", name="sim", stdout="/w/sim/sim.out",
    ...                     stderr="/w/sim/sim.err", alloc="1234")
    >>> cmd = srun_command(rs, ctx)
    >>> print(*cmd.argv)  # doctest: +NORMALIZE_WHITESPACE
    srun --jobid 1234 --job-name sim --output /w/sim/sim.out --error /w/sim/sim.err --mem=0
         -N 2 -n 8 --time 01:00:00 --exclusive python sim.py a b
    >>> cmd.env, cmd.cwd
    (FrozenMap({'OMP_NUM_THREADS': '4'}), '/w/sim')

    ``--jobid`` comes from ``rs.alloc``, else ``ctx.alloc``; without either srun makes its own
    allocation. ``in_batch``: the step runs inside a batch script, in the job's own allocation
    (no ``--jobid``; bound all the same, so ``--mem=0`` applies). ``run_args`` keys
    ``J``/``job-name``, ``o``/``output``, ``e``/``error`` replace the context's defaults.
    MPMD parts follow ``:`` with their own options; variables all parts share travel in
    ``Command.env``, a part's own ones as ``env K=V`` before its program:

    >>> b = RunSettings(exe="b.out", ntasks=2, env={"OMP_NUM_THREADS": "4", "ROLE": "b"})
    >>> srun_command(rs.with_mpmd(b), LaunchContext(cwd="/w", name="m")).argv[-11:]
    ('sim.py', 'a b', ':', '--job-name', 'm', '--exact', '-n', '2', 'env', 'ROLE=b', 'b.out')
    """
    return _srun(rs, ctx, in_batch=in_batch)


#: The ``srun`` entry of the run-command registry (:mod:`smartsim.commands.launch`).
SRUN: Final = RunCommandSpec(tool="srun", check=check_srun, build=srun_command)


# --------------------------------------------------------------------------- sbatch


def check_batch(bs: BatchSettings) -> list[ValidationError]:
    """What ``sbatch`` forbids or cannot express in ``bs`` (the generic rules are
    :func:`smartsim.validate.batch_problems`; :func:`validate_sbatch` runs everything).

    >>> for e in check_batch(BatchSettings(nodes=2, batch_args={"N": 3, "requeue": 1})):
    ...     print(type(e).__name__, e.field)
    DuplicateOption batch_settings.batch_args['N']
    BadValue batch_settings.batch_args['requeue']
    """
    field = "batch_settings.batch_args"
    typed = typed_set(SBATCH_OPTIONS, bs, "batch_settings.")
    errors = option_problems(SBATCH_OPTIONS, field, bs.batch_args, typed)
    spelled = _spelled("sbatch", bs.batch_args)
    if "wrap" in spelled:
        key = spelled["wrap"]
        errors.append(
            ConflictingOptions(
                f"{field}[{key!r}]",
                bs.batch_args[key],
                "the script smartsim writes (--wrap replaces it)",
            )
        )
    return errors


def check_sbatch(
    members: Members,
    bs: BatchSettings,
    *,
    job_name: str = "smartsim",
    output: str | None = None,
    error: str | None = None,
) -> list[ValidationError]:
    """The Slurm rules for a whole batch job: :func:`check_batch`, :func:`check_srun` per member,
    and what a member cannot do inside a batch script."""
    errors = check_batch(bs)
    found = {(e.field, getattr(e, "character", None)) for e in errors}
    for where, text in batch_settings_texts(bs, "batch_settings"):
        for e in READER.problems(where, text):
            if (e.field, getattr(e, "character", None)) not in found:
                errors.append(e)
    spelled = _spelled("sbatch", bs.batch_args)
    if bs.job_name is None and "job-name" not in spelled:
        errors += check_name("job_name", job_name)
    for name, value in (("output", output), ("error", error)):
        if name not in spelled:
            errors += check_nonempty_text(name, value)
            if value is not None:
                errors += READER.problems(name, value)  # the job's own files: directives
    export = spelled.get("export")
    for i, (rs, ctx) in enumerate(members):
        f = f"members[{i}]"
        for e in check_srun(rs):
            errors.append(_reroot(e, f))
        errors += _script_text_problems(rs, f)
        for name in ("cwd", "name", "stdout", "stderr"):
            text = getattr(ctx, name)
            if isinstance(text, str):
                errors += READER.problems(f"{f}.context.{name}", text)
        wide = [s.nodes for s in map(step_shape, _parts(rs)) if s is not None]
        if bs.nodes is not None and sum(wide) > bs.nodes:
            errors.append(
                BadValue(
                    f"{f}.nodes", sum(wide),
                    f"at most the batch job's nodes ({bs.nodes}): the step could never start",
                )
            )  # fmt: skip
        if rs.run_command != "srun":
            errors.append(
                Unsupported(
                    f"{f}.run_command",
                    rs.run_command,
                    "smartsim's sbatch script (members are launched with srun)",
                )
            )
        if rs.alloc is not None:
            errors.append(
                ConflictingOptions(
                    f"{f}.alloc", rs.alloc, "the batch job (members run in its allocation)"
                )
            )
        if export is not None and any(p.env for p in _parts(rs)):
            mode = bs.batch_args[export]
            if not (isinstance(mode, str) and mode.startswith("ALL")):
                errors.append(
                    ConflictingOptions(
                        f"batch_settings.batch_args[{export!r}]",
                        mode,
                        f"{f}.env (sbatch --export without ALL makes srun drop "
                        "the environment it is given)",
                    )
                )
    return errors


def _script_text_problems(rs: RunSettings, f: str) -> list[ValidationError]:
    """:data:`READER`'s rule for every text of ``rs`` that the script carries."""
    errors: list[ValidationError] = []
    for where, text in run_settings_texts(rs, f):
        errors += READER.problems(where, text)
    return errors


def _reroot(error: ValidationError, prefix: str) -> ValidationError:
    """``error`` with its leading ``run_settings`` replaced by ``prefix``."""
    if error.field.startswith("run_settings"):
        return attrs.evolve(error, field=prefix + error.field[len("run_settings") :])
    return error


def validate_sbatch(
    members: Members,
    bs: BatchSettings,
    *,
    job_name: str = "smartsim",
    output: str | None = None,
    error: str | None = None,
) -> Result[BatchSettings, Invalid]:
    """``bs`` if :func:`sbatch_script` can render the job, else every problem found in the batch
    settings and the members (generic and Slurm rules)."""
    errors = batch_problems(bs)
    for i, (rs, _ctx) in enumerate(members):
        errors += [_reroot(e, f"members[{i}]") for e in run_settings_problems(rs)]
    errors += check_sbatch(members, bs, job_name=job_name, output=output, error=error)
    return Failure(Invalid(tuple(errors))) if errors else Success(bs)


#: sbatch options by which the user sizes the job's tasks and CPUs (smartsim then adds none).
_SIZING: Final = frozenset({
    "ntasks", "ntasks-per-node", "ntasks-per-core", "ntasks-per-socket", "ntasks-per-gpu",
    "cpus-per-task", "mincpus", "cores-per-socket", "sockets-per-node", "threads-per-core",
    "extra-node-info", "cpus-per-gpu",
})  # fmt: skip
_GPU_SIZING: Final = frozenset(
    {"gpus", "gres", "gpus-per-node", "gpus-per-task", "gpus-per-socket"}
)


def batch_size(members: Members, bs: BatchSettings) -> list[tuple[str, ...]]:
    """The ``#SBATCH`` sizing that lets every member of a batch job run at once: the tasks of
    all members (``--ntasks``, with ``--cpus-per-task`` when they all ask the same number of
    CPUs per task, else one task per CPU), enough nodes for the widest member, and their GPUs.
    What the user sized (``nodes``, ``gpus``, ``ntasks``/``cpus-per-task``... in
    ``batch_args``) stays as given; a member whose counts are not plain numbers leaves the
    job as the user wrote it.

    >>> one = RunSettings(exe="a", run_command="srun")
    >>> members = [(one, LaunchContext(cwd="/w", name=f"m{i}")) for i in range(4)]
    >>> batch_size(members, BatchSettings(nodes=2))
    [('--ntasks', '4')]
    >>> two = RunSettings(exe="a", run_command="srun", ntasks=2, cpus_per_task=3, nodes=2)
    >>> batch_size([(two, LaunchContext(cwd="/w", name="m"))] * 2, BatchSettings())
    [('-N', '2'), ('--ntasks', '4'), ('--cpus-per-task', '3')]
    """
    spelled = _spelled("sbatch", bs.batch_args)
    shapes: list[StepShape] = []
    widest = 1
    for rs, _ctx in members:
        parts = [step_shape(p) for p in _parts(rs)]
        if any(p is None for p in parts):
            return []
        known = [p for p in parts if p is not None]
        shapes += known
        widest = max(widest, sum(p.nodes for p in known))
    if not shapes:
        return []
    groups: list[tuple[str, ...]] = []
    nodes = bs.nodes
    if nodes is None and "nodes" not in spelled and widest > 1:
        nodes = widest
        groups.append(("-N", str(widest)))
    if not _SIZING & spelled.keys():
        per_task = {s.cpus_per_task for s in shapes}
        if len(per_task) == 1:
            tasks, (cpt,) = sum(s.tasks for s in shapes), per_task
        else:
            tasks, cpt = sum(s.cpus for s in shapes), 1
        if tasks > (nodes or 1):
            groups.append(("--ntasks", str(tasks)))
        if cpt > 1:
            groups.append(("--cpus-per-task", str(cpt)))
    gpus = sum(s.gpus for s in shapes)
    if gpus and bs.gpus is None and not _GPU_SIZING & spelled.keys():
        groups.append(("--gpus", str(gpus)))
    return groups


def _batch_directives(
    bs: BatchSettings, job_name: str, output: str | None, error: str | None,
    members: Members = (),
) -> list[tuple[str, ...]]:  # fmt: skip
    spelled = _spelled("sbatch", bs.batch_args)
    groups: list[tuple[str, ...]] = []
    name = bs.job_name if bs.job_name is not None else job_name
    if "job-name" not in spelled:
        groups.append(("--job-name", name))
    each_task = bs.array is not None
    if output is not None and "output" not in spelled:
        groups.append(("--output", slurm_filename(output, array_task=each_task)))
    if error is not None and "error" not in spelled:
        groups.append(("--error", slurm_filename(error, array_task=each_task)))
    if bs.nodes is not None:
        groups.append(("-N", str(bs.nodes)))
    if isinstance(bs.time, Duration):
        groups.append(("--time", slurm_time(bs.time)))
    if bs.account is not None:
        groups.append(("--account", bs.account))
    if bs.partition is not None:
        groups.append(("--partition", bs.partition))
    if bs.mem is not None and not isinstance(bs.mem, str):
        groups.append(("--mem", slurm_memory(bs.mem)))
    if bs.gpus is not None:
        groups.append(("--gpus", str(bs.gpus)))
    if bs.hostlist:
        groups.append(("--nodelist", ",".join(bs.hostlist)))
    if bs.excluded_hosts:
        groups.append(("--exclude", ",".join(bs.excluded_hosts)))
    if bs.array is not None:
        groups.append((f"--array={bs.array}",))
    groups += batch_size(members, bs)
    for key, value in bs.batch_args.items():
        words = option_tokens(key, value, optional_arg=_RENDER_OPTIONAL["sbatch"])
        if words:
            groups.append(words)
    return groups


def sbatch_script(
    members: Members,
    bs: BatchSettings,
    *,
    job_name: str = "smartsim",
    output: str | None = None,
    error: str | None = None,
) -> str:
    """A bash batch script for validated members sharing ``bs`` (see :func:`validate_sbatch`).

    One ``#SBATCH`` line per option, its words quoted for sbatch's own lexer
    (:func:`smartsim.commands.script.directive_word`); ``bs.preamble`` as written; then each
    member's ``srun`` step in the background, each waited for, the script failing when any
    member failed.

    >>> bs = BatchSettings(nodes=1, time=600, batch_args={"C": "gpu", "comment": "run #3"})
    >>> m = RunSettings(exe="echo", args=("hi there",), env={"X": "1"}, run_command="srun")
    >>> print(sbatch_script([(m, LaunchContext(cwd="/w/m", name="m"))], bs, job_name="ens",
    ...                     output="/w/ens.out", error="/w/ens.err"))  # doctest: +ELLIPSIS
    #!/bin/bash
    #SBATCH --job-name ens
    #SBATCH --output /w/ens.out
    #SBATCH --error /w/ens.err
    #SBATCH -N 1
    #SBATCH --time 00:10:00
    #SBATCH -C gpu
    #SBATCH --comment "run #3"
    smartsim_pids=()
    cd /w/m && env X=1 srun --job-name m --exact --mem=0 -N 1 -n 1 echo 'hi there' &
    smartsim_pids+=("$!")
    ...

    Members run in the batch job's allocation: no ``--jobid``; each member step has its own
    node and task counts (``-N``/``-n``), and the job is sized for all members at once
    (:func:`batch_size`).
    """
    directives = [
        directive_line("#SBATCH", words)
        for words in _batch_directives(bs, job_name, output, error, members)
    ]
    # every array task runs every member: each task gets its own files (``%a``)
    each_task = bs.array is not None
    commands = [_srun(rs, ctx, in_batch=True, array_task=each_task) for rs, ctx in members]
    return batch_script("#!/bin/bash", directives, bs.preamble, background_and_wait(commands))


def sbatch_command(
    script_path: str,
    *,
    parsable: bool = True,
    dependency: str | None = None,
    clusters: str | None = None,
    test_only: bool = False,
    cwd: str | None = None,
) -> Command:
    """The command that submits ``script_path``.

    >>> sbatch_command("/w/ens.sh", dependency="afterok:12").argv
    ('sbatch', '--parsable', '--dependency', 'afterok:12', '/w/ens.sh')

    ``--parsable`` makes sbatch print ``jobid[;cluster]`` (sbatch(1)), read by
    :func:`parse_sbatch_parsable`. A path starting with ``-`` is written ``./-...`` so that it
    is not read as an option. The job's working directory is sbatch's (``cwd``).
    """
    argv = ["sbatch"]
    if parsable:
        argv.append("--parsable")
    if dependency is not None:
        argv += ["--dependency", dependency]
    if clusters is not None:
        argv += ["-M", clusters]
    if test_only:
        argv.append("--test-only")
    argv.append(f"./{script_path}" if script_path.startswith("-") else script_path)
    return Command(argv=argv, cwd=cwd)


# --------------------------------------------------------------------------- scancel/squeue/sacct


def _clusters(ids: Sequence[JobId], clusters: str | None) -> tuple[str, ...]:
    if clusters is not None:
        return ("-M", clusters)
    names = list(dict.fromkeys(j.cluster for j in ids if j.cluster is not None))
    return ("-M", ",".join(names)) if names else ()


def _job_level(jid: JobId) -> str:
    """The id squeue/sacct select a job by: ``123`` or ``123_4`` (components, steps and pending
    ranges are rows of that job)."""
    return f"{jid.job}_{jid.array_task}" if jid.array_task is not None else str(jid.job)


def scancel_argv(
    ids: Iterable[JobId],
    *,
    clusters: str | None = None,
    signal: str | int | None = None,
    verbose: bool = False,
) -> tuple[str, ...]:
    """``scancel`` argv for jobs, array tasks, het components or steps.

    >>> scancel_argv([JobId.parse("12;cl").unwrap(), JobId.parse("13.2;cl").unwrap()])
    ('scancel', '-M', 'cl', '12', '13.2')
    >>> scancel_argv([JobId(7, array_range="0-3")], signal="TERM")
    ('scancel', '--signal', 'TERM', '7')

    ``-M`` comes from the ids' clusters unless ``clusters`` is given; pass ids of one cluster per
    call (a job number means different jobs on different clusters). A pending range
    ``7_[0-3]`` cancels the whole array ``7`` (scancel(1): an array id without an index
    cancels every element). ``verbose`` (``-v``) makes scancel say what it could not cancel
    (*verified* on 22.05: without it an unknown id is silent, exit 0; with it
    ``Kill job error on job id N: Invalid job id specified``, still exit 0).
    """
    jids = list(ids)
    argv = ["scancel", *_clusters(jids, clusters)]
    if verbose:
        argv.append("-v")
    if signal is not None:
        argv += ["--signal", str(signal)]
    for jid in jids:
        argv.append(str(jid.job) if jid.array_range is not None else str(jid))
    return tuple(argv)


#: squeue fields: id, long state, reason (last: it is free text).
SQUEUE_FORMAT: Final = "%i|%T|%r"


def squeue_argv(ids: Iterable[JobId], *, clusters: str | None = None) -> tuple[str, ...]:
    """``squeue`` argv in a machine format: no header, every state (finished jobs too, until
    slurmctld forgets them after MinJobAge), ``id|STATE|reason`` per line.

    >>> squeue_argv([JobId(12), JobId(12, het_offset=1), JobId(13, array_task=4)])
    ('squeue', '-h', '-t', 'all', '-o', '%i|%T|%r', '--jobs=12,13_4')

    The format is always given, so ``SQUEUE_FORMAT``/``SQUEUE_FORMAT2`` in the environment do not
    matter (squeue(1): command line options override the environment). squeue(1) ``-j``: "this
    option's argument is optional", hence ``--jobs=``. Without ids: every job of the user
    (``--me``).
    """
    jids = list(ids)
    argv = ["squeue", *_clusters(jids, clusters), "-h", "-t", "all", "-o", SQUEUE_FORMAT]
    if jids:
        argv.append("--jobs=" + ",".join(dict.fromkeys(_job_level(j) for j in jids)))
    else:
        argv.append("--me")
    return tuple(argv)


#: sacct fields: id, state, exit code, reason, then the name (last: free text that may hold '|').
SACCT_FIELDS: Final = ("JobID", "State", "ExitCode", "Reason", "Start", "End", "JobName")
#: The environment :func:`sacct_argv` is run with: ``Start``/``End`` as Unix seconds
#: (``SLURM_TIME_FORMAT`` takes a strftime(3) format, sacct(1) ENVIRONMENT VARIABLES), so
#: reading them needs no time zone.
SACCT_ENV: Final = {"SLURM_TIME_FORMAT": "%s"}


def sacct_known_argv(jid: JobId) -> tuple[str, ...]:
    """``sacct`` argv that prints one line per record accounting has of job ``jid`` (nothing
    when it has none). sacct(1): with ``--jobs`` and no ``--starttime`` the search starts at the
    epoch, so an old job is found too.

    >>> sacct_known_argv(JobId.parse("12;cl").unwrap())
    ('sacct', '-M', 'cl', '-n', '-X', '-P', '-o', 'JobID', '--jobs=12')
    """
    return ("sacct", *_clusters([jid], None), "-n", "-X", "-P", "-o", "JobID", f"--jobs={jid.job}")


def sacct_argv(ids: Iterable[JobId], *, clusters: str | None = None) -> tuple[str, ...]:
    """``sacct`` argv in a machine format (``-P``: ``|``-separated, never truncated) with a row
    per job *and per step* (``123``, ``123.batch``, ``123.extern``, ``123.0``...).

    >>> sacct_argv([JobId(12), JobId(12, step="3")])
    ('sacct', '-n', '-P', '--format=JobID,State,ExitCode,Reason,Start,End,JobName', '--jobs=12')

    ``--format`` overrides ``SACCT_FORMAT``. No ``-X``: steps are rows too, so ``srun`` steps
    can be followed by their ids.
    """
    jids = list(ids)
    argv = ["sacct", *_clusters(jids, clusters), "-n", "-P", "--format=" + ",".join(SACCT_FIELDS)]
    if jids:
        argv.append("--jobs=" + ",".join(dict.fromkeys(_job_level(j) for j in jids)))
    return tuple(argv)


# --------------------------------------------------------------------------- states

#: Slurm job states (long names and the short codes squeue prints with ``%t``) to statuses.
#: From "JOB STATE CODES" in squeue(1) and sacct(1), Slurm 22.05.
SLURM_STATES: Final[Mapping[str, Status]] = {
    # Waiting for (or again for) resources; the program is not running.
    "PENDING": Status.PENDING, "PD": Status.PENDING,
    "CONFIGURING": Status.PENDING, "CF": Status.PENDING,  # allocated, nodes booting
    "REQUEUED": Status.PENDING, "RQ": Status.PENDING,
    "REQUEUE_HOLD": Status.PENDING, "RH": Status.PENDING,
    "REQUEUE_FED": Status.PENDING, "RF": Status.PENDING,
    "RESV_DEL_HOLD": Status.PENDING, "RD": Status.PENDING,
    "SUSPENDED": Status.PENDING, "S": Status.PENDING,  # CPUs released; resumes later
    "STOPPED": Status.PENDING, "ST": Status.PENDING,  # SIGSTOP; resumes later
    # Running, or finishing up.
    "RUNNING": Status.RUNNING, "R": Status.RUNNING,
    "COMPLETING": Status.RUNNING, "CG": Status.RUNNING,
    "STAGE_OUT": Status.RUNNING, "SO": Status.RUNNING,
    "SIGNALING": Status.RUNNING, "SI": Status.RUNNING,
    "RESIZING": Status.RUNNING, "RS": Status.RUNNING,
    # Done.
    "COMPLETED": Status.COMPLETED, "CD": Status.COMPLETED,  # "exit code of zero"
    "FAILED": Status.FAILED, "F": Status.FAILED,
    "TIMEOUT": Status.FAILED, "TO": Status.FAILED,
    "NODE_FAIL": Status.FAILED, "NF": Status.FAILED,
    "OUT_OF_MEMORY": Status.FAILED, "OOM": Status.FAILED,
    "BOOT_FAIL": Status.FAILED, "BF": Status.FAILED,
    "DEADLINE": Status.FAILED, "DL": Status.FAILED,
    "SPECIAL_EXIT": Status.FAILED, "SE": Status.FAILED,
    # A preempted job that is requeued reports PENDING/REQUEUED next; the row itself ended.
    "PREEMPTED": Status.FAILED, "PR": Status.FAILED,
    "CANCELLED": Status.CANCELLED, "CA": Status.CANCELLED,
    "REVOKED": Status.CANCELLED, "RV": Status.CANCELLED,  # another cluster runs the sibling
}  # fmt: skip


def slurm_status(state: str) -> Status:
    """The status for a state as squeue/sacct print it (``CANCELLED by 1000``, ``RUNNING``,
    ``PD``); states this table does not know are ``UNKNOWN``.

    >>> slurm_status("CANCELLED by 0"), slurm_status("TIMEOUT"), slurm_status("WHATEVER")
    (<Status.CANCELLED: 'CANCELLED'>, <Status.FAILED: 'FAILED'>, <Status.UNKNOWN: 'UNKNOWN'>)
    """
    words = state.split()
    if not words:
        return Status.UNKNOWN
    return SLURM_STATES.get(words[0].rstrip("+"), Status.UNKNOWN)


#: squeue(1) "JOB REASON CODES" of a pending job that cannot start as the cluster is
#: configured (Slurm keeps such a job queued when partition limits are not enforced at
#: submission; *verified* on 22.05: ``sbatch -N 5`` on 4 nodes pends ``PartitionNodeLimit``,
#: ``-n 40`` on 32 CPUs ``PartitionConfig``, and ``srun -N 5`` waits "for resources" forever).
NEVER_STARTS: Final[Mapping[str, str]] = {
    "PartitionNodeLimit": "it asks for more nodes than its partition has or allows (or the "
    "partition's nodes are DOWN/DRAINED)",
    "PartitionTimeLimit": "its time limit exceeds its partition's",
    "PartitionConfig": "no configuration of its partition can hold what it asks for",
    "BadConstraints": "its constraints can not be satisfied",
    "DependencyNeverSatisfied": "its dependency can never be satisfied",
    "InvalidAccount": "its account is invalid",
    "InvalidQOS": "its QOS is invalid",
    "QOSMaxCpuPerJobLimit": "it asks for more CPUs than its QOS allows a job",
    "QOSMaxNodePerJobLimit": "it asks for more nodes than its QOS allows a job",
    "QOSMaxWallDurationPerJobLimit": "its time limit exceeds its QOS's",
}


def never_starts(reason: str) -> str | None:
    """Why a job Slurm holds pending with ``reason`` cannot start as the cluster is now
    configured, or ``None`` when it may still start (``Resources``, ``Priority``...).

    >>> never_starts("PartitionNodeLimit") is not None, never_starts("Resources")
    (True, None)
    """
    return NEVER_STARTS.get(reason.strip())


def _reason(text: str) -> str:
    text = text.strip()
    return "" if text in ("None", "(null)", "") else text


_EXIT: Final = LazyPattern(r"(\d+):(\d+)")


def _exit_code(text: str) -> tuple[int | None, int | None]:
    match = _EXIT.fullmatch(text.strip())
    if match is None:
        return None, None
    signal = int(match[2])
    return int(match[1]), (signal or None)


#: The largest signal number on Linux (signal(7)).
_SIGRTMAX: Final = 64


def _epoch(text: str) -> float | None:
    """A time sacct printed with ``SLURM_TIME_FORMAT=%s``; anything else is not known."""
    text = text.strip()
    return float(text) if text.isdigit() and text.isascii() else None


def _valid_id(text: str) -> bool:
    return bool(text) and isinstance(JobId.parse(text), Success) and text == text.strip()


# --------------------------------------------------------------------------- parsers

_GRANTED: Final = LazyPattern(r"Granted job allocation (\d+)")
_PENDING: Final = LazyPattern(r"Pending job allocation (\d+)")


def parse_salloc_stderr(text: str) -> Result[JobId, str]:
    """The granted allocation from salloc's stderr (``salloc: Granted job allocation N``).

    >>> print(parse_salloc_stderr("salloc: Pending job allocation 15\\n"
    ...                           "salloc: Granted job allocation 15\\n").unwrap())
    15
    >>> parse_salloc_stderr("salloc: error: invalid partition specified: nosuch\\n").failure()
    'salloc: error: invalid partition specified: nosuch\\n'
    """
    match = _GRANTED.search(text)
    return Success(JobId(int(match[1]))) if match else Failure(text)


def parse_salloc_pending(text: str) -> Result[JobId, str]:
    """The id of an allocation salloc is still waiting for (``Pending job allocation N``), so
    that an interrupted wait can cancel it.

    >>> parse_salloc_pending("salloc: Pending job allocation 15\\n").unwrap().job
    15
    """
    match = _PENDING.search(text)
    return Success(JobId(int(match[1]))) if match else Failure(text)


def parse_sbatch_parsable(stdout: str) -> Result[JobId, str]:
    """The job id from ``sbatch --parsable``: the last non-empty line, ``jobid[;cluster]``
    (site wrappers may print banners first).

    >>> parse_sbatch_parsable("Welcome to Stampede3\\n42;cl\\n").unwrap()
    JobId(job=42, het_offset=None, array_task=None, array_range=None, step=None, cluster='cl')
    """
    lines = [line.strip() for line in stdout.splitlines() if line.strip()]
    if not lines or not re.fullmatch(r"\d+(?:;[A-Za-z0-9_.\-]+)?", lines[-1]):
        return Failure(stdout)
    return JobId.parse(lines[-1]).alt(lambda _: stdout)


def parse_squeue(text: str) -> Result[dict[str, JobState], str]:
    """States per id from :func:`squeue_argv`'s output, keyed by the id exactly as printed
    (``12``, ``12+1``, ``13_4``, ``14_[0-3]``): ``1234`` is not ``12345``.

    >>> states = parse_squeue("12|RUNNING|None\\n13|PENDING|Resources\\n").unwrap()
    >>> states["12"].status, states["13"].reason
    (<Status.RUNNING: 'RUNNING'>, 'Resources')

    ``CLUSTER: name`` header lines (printed with ``-M``) are skipped; any other line that does
    not fit the format makes the whole text a failure.
    """
    out: dict[str, JobState] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("CLUSTER: "):
            continue
        fields = line.split("|", 2)
        if len(fields) != 3 or not _valid_id(fields[0]) or not fields[1].strip():
            return Failure(f"unexpected squeue line: {line!r}")
        state = fields[1].strip()
        out[fields[0]] = JobState(slurm_status(state), state, reason=_reason(fields[2]))
    return Success(out)


@final
@fieldwise
@attrs.frozen(slots=False, eq=False, repr=False)
class SacctRow:
    """One row of :func:`sacct_argv`'s output: a job, an array task, a het component or a step."""

    id: str
    state: JobState
    name: str


def parse_sacct_rows(text: str) -> Result[tuple[SacctRow, ...], str]:
    """Every row of :func:`sacct_argv`'s output (run with :data:`SACCT_ENV`), in order (steps
    included). An end by signal N (``ExitCode`` ``0:N``) has returncode -N; ``Start``/``End``
    become the state's ``start``/``end`` (``Unknown`` or ``None``: not known).

    >>> rows = parse_sacct_rows("17|FAILED|3:0|None|1700000000|1700000005|acct1\\n"
    ...                         "17.0|CANCELLED by 0|0:9||1700000001|Unknown|hostname\\n")
    >>> rows = rows.unwrap()
    >>> [(r.id, r.state.status.value, r.state.returncode, r.state.end, r.name) for r in rows]
    [('17', 'FAILED', 3, 1700000005.0, 'acct1'), ('17.0', 'CANCELLED', -9, None, 'hostname')]
    """
    rows: list[SacctRow] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        fields = line.split("|", len(SACCT_FIELDS) - 1)
        if len(fields) != len(SACCT_FIELDS) or not _valid_id(fields[0]) or not fields[1].strip():
            return Failure(f"unexpected sacct line: {line!r}")
        state = fields[1].strip()
        returncode, signal = _exit_code(fields[2])
        if signal is not None and signal <= _SIGRTMAX:  # 0:125 is Slurm's OOM mark, no signal
            returncode = -signal
        job_state = JobState(
            slurm_status(state),
            state,
            returncode,
            signal,
            _reason(fields[3]),
            job_id=fields[0],
            start=_epoch(fields[4]),
            end=_epoch(fields[5]),
        )
        rows.append(SacctRow(fields[0], job_state, fields[6]))
    return Success(tuple(rows))


def parse_sacct(text: str) -> Result[dict[str, JobState], str]:
    """States per id (jobs and steps) from :func:`sacct_argv`'s output, keyed by the id exactly
    as printed: ``1234`` is not ``12345``, ``17.0`` is the step. A repeated id keeps its last row.

    >>> states = parse_sacct("19|CANCELLED by 0|0:15|None|1|2|a\\n"
    ...                      "19.0|OUT_OF_MEMORY|0:125||1|2|b\\n")
    >>> states = states.unwrap()
    >>> states["19"].status, states["19"].signal, states["19.0"].status
    (<Status.CANCELLED: 'CANCELLED'>, 15, <Status.FAILED: 'FAILED'>)
    """
    return parse_sacct_rows(text).map(lambda rows: {row.id: row.state for row in rows})
