"""MPI launchers: Open MPI ``mpirun``/``mpiexec``/``orterun``, MPICH (Hydra) ``mpiexec``, Cray PALS
``mpiexec``. Pure: settings in, a :class:`~smartsim.commands._types.Command` out.

Rules of this module (each rendering rule cites the tool's documentation beside the code):

* **The flavour is explicit.** ``mpiexec`` names three incompatible tools, so
  ``run_command="mpiexec"`` needs ``flavour="openmpi"|"mpich"|"pals"``; ``"auto"`` is resolved
  once by :func:`smartsim.effects.mpi_detect.resolve_flavour` (which runs ``mpiexec --version``)
  *before* checking and building. Nothing here probes. ``mpirun`` means Open MPI unless the
  flavour says MPICH (MPICH installs ``mpirun`` as another name of ``mpiexec.hydra``);
  ``orterun``/``mpiexec.openmpi`` are Open MPI only, ``mpiexec.mpich``/``mpiexec.hydra`` MPICH only.
* **Check, then render.** ``check_*`` returns every setting the tool cannot express as a typed
  error (:class:`~smartsim.errors.Unsupported`, :class:`~smartsim.errors.DuplicateOption`,
  :class:`~smartsim.errors.ConflictingOptions`, ...); the builders assume a checked value.
* **Environment reaches the ranks with the entity's values.** Variables go into ``Command.env``
  (the launcher's own environment: local ranks inherit it, and it configures the launcher itself,
  e.g. ``OMPI_MCA_*``) *and* into the tool's own flags, which carry them to remote ranks and
  override a caller's value of the same name. In an MPMD launch a variable set by only some parts
  travels only in those parts' flags (Open MPI ``-x`` and MPICH ``-env`` are per program), so it
  never leaks into the other programs; only variables every part sets alike go into
  ``Command.env``. Where the tool's env option is global (PALS ``--env``, aprun ``-e``, jsrun
  ``-E``), a part's own variables go before its program as ``env NAME=value`` (env(1): "Set each
  NAME to VALUE in the environment and run COMMAND"), as the srun builder does.
* **Global options agree.** A setting rendered by a launch-wide option (the time limit, Hydra's
  ``-ppn``/``-hosts``/``-bind-to``, Open MPI's ``--map-by``) is taken from the first program; an
  MPMD part may leave it unset or repeat it, never change it.
* **Allocations.** A launcher started inside an allocation (an ``salloc``/``sbatch``/``qsub``
  shell) finds it in its environment (verified: Open MPI 4.1.4 and MPICH 4.0.2 run inside
  ``salloc -N 2`` put ranks on both nodes); none can be pointed at another allocation from
  outside, so ``RunSettings.alloc`` is Unsupported and ``LaunchContext.alloc`` is not rendered.
* **The program's argv ends each part unchanged.** A lone ``:`` argument is refused (every tool
  here reads it as the MPMD separator — verified for Open MPI 4.1.4 and MPICH 4.0.2), and an
  executable may not start with ``-``.
* ``run_args``: Open MPI and PALS use the seed's option rule (``-K v``, ``--key v``, bare flag):
  Open MPI 4.1's mpirun(1) spells every long option with two dashes (``--np``, ``--map-by``; most
  also with one) and Open MPI 5 deprecates the one-dash forms, and PALS documents ``--hosts``,
  ``--cpu-bind``, ``-n``, ``-d``. MPICH uses Hydra's own single-dash form (``-key v``, also for
  ``-ppn`` and ``-genv``), as ``mpiexec.hydra -help`` lists every option.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Final, final

import attrs
from returns.result import Failure, Result, Success

from smartsim.commands._options import (
    OptionRules,
    is_set,
    option_problems,
    options_tokens,
    render_value,
    typed_set,
)
from smartsim.commands._types import Command
from smartsim.commands.launch import LaunchContext, RunCommandSpec
from smartsim.errors import (
    BadValue,
    ConflictingOptions,
    Unsupported,
    ValidationError,
)
from smartsim.values import Duration, OptionValue, RunSettings

__all__ = [
    "CWD",
    "FLAVOURS",
    "MPICH",
    "MPIEXEC",
    "OPENMPI",
    "PALS",
    "LauncherRules",
    "check_launcher",
    "check_mpich",
    "check_mpiexec",
    "check_openmpi",
    "check_pals",
    "colon_command",
    "common_env",
    "count_words",
    "duration_seconds",
    "env_prefix",
    "host_items",
    "launcher_rules",
    "mpich_command",
    "mpiexec_command",
    "openmpi_command",
    "option_words",
    "pals_command",
    "parse_mpi_version",
    "single_dash_tokens",
    "tasks_words",
    "total_tasks",
    "version_command",
]

#: The concrete flavours an ``mpiexec`` can be.
FLAVOURS: Final = ("openmpi", "mpich", "pals")

# --------------------------------------------------------------------------- shared machinery
# (also used by smartsim.commands.aprun and smartsim.commands.jsrun)

#: A run_args key that the launch directory owns (``--wdir``, ``--chdir``): always a duplicate.
CWD: Final = "the launch directory (LaunchContext.cwd)"


@final
@attrs.frozen(kw_only=True)
class LauncherRules:
    """What one launcher can express, as data read by :func:`check_launcher`.

    ``options`` is the ``run_args`` table, an :class:`~smartsim.commands._options.OptionRules`
    (its ``typed`` maps an option to the RunSettings fields that render it); ``cwd`` names the
    options the launch directory owns (always a duplicate); ``unsupported`` the fields the tool
    cannot express; ``shared`` the fields rendered by launch-wide options, which MPMD parts may
    only repeat; ``global_env`` says the tool's env option applies to every program, so a part's
    own variables need :func:`env_prefix`. Written with :func:`launcher_rules`.
    """

    options: OptionRules
    unsupported: tuple[str, ...]
    cwd: frozenset[str] = frozenset()
    shared: tuple[str, ...] = ()
    global_env: bool = False

    @property
    def tool(self) -> str:
        return self.options.tool


def launcher_rules(
    tool: str,
    *,
    unsupported: tuple[str, ...],
    reserved: Mapping[str, tuple[str, ...] | str],
    aliases: Mapping[str, str] | None = None,
    valued: frozenset[str] = frozenset(),
    flags: frozenset[str] = frozenset(),
    shared: tuple[str, ...] = (),
    global_env: bool = False,
    colon_mpmd: bool = True,
    single_dash: bool = False,
) -> LauncherRules:
    """A launcher's rules as its man page reads: ``reserved`` maps an option (its canonical
    ``run_args`` key) to the typed fields that render it, or to :data:`CWD`; ``aliases`` its
    other spellings; ``valued``/``flags`` the other options that need a value or take none (a
    reserved option always needs one); ``colon_mpmd`` that the tool splits programs on a lone
    ``:``.

    >>> rules = launcher_rules("t", unsupported=(), reserved={"n": ("ntasks",), "wd": CWD})
    >>> sorted(rules.options.valued), sorted(rules.cwd), dict(rules.options.typed)
    (['n', 'wd'], ['wd'], {'n': ('ntasks',)})
    """
    return LauncherRules(
        options=OptionRules(
            tool=tool,
            aliases=aliases or {},
            typed={k: v for k, v in reserved.items() if not isinstance(v, str)},
            valued=valued | frozenset(reserved),
            flags=flags,
            colon_splits=colon_mpmd,
            single_dash=single_dash,
        ),
        unsupported=unsupported,
        cwd=frozenset(k for k, v in reserved.items() if v == CWD),
        shared=shared,
        global_env=global_env,
    )


def option_words(text: str) -> frozenset[str]:
    """The option names in ``text``, separated by whitespace (tables read like the man page).

    >>> sorted(option_words("bind-to  rank-by"))
    ['bind-to', 'rank-by']
    """
    return frozenset(text.split())


def total_tasks(rs: RunSettings) -> int | None:
    """The task count: ``ntasks``, or ``nodes * tasks_per_node`` when only those are given."""
    if rs.ntasks is not None:
        return rs.ntasks
    if rs.nodes is not None and rs.tasks_per_node is not None:
        return rs.nodes * rs.tasks_per_node
    return None


def tasks_words(flag: str, part: RunSettings) -> list[str]:
    """``[flag, N]`` for the part's task count (see :func:`total_tasks`), or nothing."""
    tasks = total_tasks(part)
    return [] if tasks is None else [flag, str(tasks)]


def count_words(rs: RunSettings, flags: Sequence[tuple[str, str]]) -> list[str]:
    """``[flag, N]`` for each count of ``rs`` that is set, in the order of ``flags`` (pairs of
    a field of RunSettings and the tool's option for it).

    >>> rs = RunSettings(exe="a", cpus_per_task=2)
    >>> count_words(rs, [("nodes", "-N"), ("cpus_per_task", "-c")])
    ['-c', '2']
    """
    words: list[str] = []
    for field, flag in flags:
        value = getattr(rs, field)
        if value is not None:
            words += [flag, str(value)]
    return words


def colon_command(
    head: Sequence[str],
    parts: Sequence[RunSettings],
    words: Callable[[int, RunSettings], list[str]],
    ctx: LaunchContext,
    env: Mapping[str, str],
) -> Command:
    """A colon-MPMD command (``mpirun``, ``mpiexec``, ``aprun``): ``head`` (the tool and its
    global options), then the ``words(i, part)`` of each part (its options and its program),
    the parts separated by ``:``; run in ``ctx``'s directory with ``env`` added.

    >>> a, b = RunSettings(exe="a", ntasks=2), RunSettings(exe="b", args=("x",), ntasks=1)
    >>> colon_command(["mpiexec"], (a, b), lambda i, p: [*tasks_words("-n", p), p.exe, *p.args],
    ...               LaunchContext(cwd="/w", name="m"), env={}).argv
    ('mpiexec', '-n', '2', 'a', ':', '-n', '1', 'b', 'x')
    """
    argv = list(head)
    for i, part in enumerate(parts):
        if i:
            argv.append(":")
        argv += words(i, part)
    return Command(argv=argv, env=env, cwd=ctx.cwd, stdout=ctx.stdout, stderr=ctx.stderr)


def duration_seconds(value: Duration | str | None) -> int | None:
    """Whole seconds of a checked duration (text is left to the generic validator)."""
    return value.seconds if isinstance(value, Duration) else None


def host_items(hosts: Sequence[str]) -> list[str]:
    """Host names: each entry split on commas (Slurm bracket ranges are refused by the checks)."""
    return [item for entry in hosts for item in entry.split(",") if item]


def common_env(parts: Sequence[RunSettings]) -> dict[str, str]:
    """Variables every part sets to the same value, in the first part's order."""
    first, *rest = parts
    return {k: v for k, v in first.env.items() if all(p.env.get(k) == v for p in rest)}


def env_prefix(part: RunSettings, parts: Sequence[RunSettings]) -> list[str]:
    """``env NAME=value ...`` for ``part``'s own variables (those not all ``parts`` share), or
    nothing: the words that start a program with them where the tool's env option is global.

    >>> a, b = RunSettings(exe="a", env={"G": "1", "R": "a"}), RunSettings(exe="b", env={"G": "1"})
    >>> env_prefix(a, (a, b)), env_prefix(b, (a, b))
    (['env', 'R=a'], [])
    """
    shared = common_env(parts)
    own = [f"{k}={v}" for k, v in part.env.items() if k not in shared]
    return ["env", *own] if own else []


def check_launcher(rs: RunSettings, rules: LauncherRules) -> list[ValidationError]:
    """Every setting of ``rs`` (MPMD parts included) that ``rules.tool`` cannot express."""
    errors: list[ValidationError] = []
    parts = rs.parts
    first = parts[0]
    for i, part in enumerate(parts):
        where = "run_settings" if i == 0 else f"run_settings.mpmd[{i - 1}]"
        if i > 0 and part.run_command not in (None, rs.run_command):
            errors.append(
                ConflictingOptions(
                    f"{where}.run_command", part.run_command, f"run_command={rs.run_command!r}"
                )
            )
        if i > 0 and part.flavour not in (None, rs.flavour):
            errors.append(
                ConflictingOptions(f"{where}.flavour", part.flavour, f"flavour={rs.flavour!r}")
            )
        for name in rules.unsupported:
            value = getattr(part, name)
            if is_set(value):
                shown = dict(value) if isinstance(value, Mapping) else value
                errors.append(Unsupported(f"{where}.{name}", shown, rules.tool))
        if (
            part.nodes is not None
            and part.tasks_per_node is None
            and "nodes" not in rules.unsupported
        ):
            # None of these tools has a node-count option: nodes is expressed as tasks per node.
            errors.append(
                Unsupported(
                    f"{where}.nodes", part.nodes, f"{rules.tool} (nodes needs tasks_per_node)"
                )
            )
        if part.exe.startswith("-"):
            errors.append(
                BadValue(f"{where}.exe", part.exe, "a program name not starting with '-'")
            )
        if rules.options.colon_splits and part.exe == ":":
            errors.append(
                BadValue(
                    f"{where}.exe",
                    part.exe,
                    f"a program name ({rules.tool} reads ':' as the MPMD separator)",
                )
            )
        if rules.options.colon_splits:
            for name, value in part.env.items():
                if value == ":":  # -genv NAME VALUE: the value is a word of its own
                    errors.append(
                        BadValue(
                            f"{where}.env[{name!r}]",
                            value,
                            f"a value other than a lone ':' ({rules.tool} may read it as the "
                            "MPMD separator)",
                        )
                    )
            for j, arg in enumerate(part.args):
                if arg == ":":
                    errors.append(
                        BadValue(
                            f"{where}.args[{j}]",
                            arg,
                            f"an argument other than a lone ':' ({rules.tool} reads it as the "
                            "MPMD separator)",
                        )
                    )
        for field in ("hostlist", "excluded_hosts"):
            for host in getattr(part, field):
                if "[" in host:
                    errors.append(
                        Unsupported(
                            f"{where}.{field}",
                            host,
                            f"{rules.tool} (no Slurm host ranges; list the hosts)",
                        )
                    )
        typed = dict.fromkeys(rules.cwd, CWD) | typed_set(rules.options, part, f"{where}.")
        errors.extend(option_problems(rules.options, f"{where}.run_args", part.run_args, typed))
        if i > 0:
            for name in rules.shared:
                value = getattr(part, name)
                if is_set(value) and value != getattr(first, name):
                    errors.append(
                        ConflictingOptions(
                            f"{where}.{name}",
                            value,
                            f"run_settings.{name} (a launch-wide option of {rules.tool})",
                        )
                    )
        if rules.global_env and env_prefix(part, parts) and "=" in part.exe:
            errors.append(
                BadValue(
                    f"{where}.exe",
                    part.exe,
                    "a program name without '=' (env(1), which sets this program's own "
                    "variables, would read it as one more NAME=VALUE)",
                )
            )
    return errors


def single_dash_tokens(options: Mapping[str, OptionValue]) -> tuple[str, ...]:
    """Hydra's option form: ``-key value`` whatever the key's length, bare ``-key`` for a flag."""
    out: list[str] = []
    for key, value in options.items():
        if value is False:
            continue
        out.append(f"-{key}")
        if value is not None and value is not True:
            out.append(render_value(value))
    return tuple(out)


# --------------------------------------------------------------------------- flavours

# run_command (its basename) -> (the flavour it means when none is given, the flavours it may be)
_NAME_FLAVOURS: Final[dict[str, tuple[str | None, tuple[str, ...]]]] = {
    # MPICH's installer makes mpirun another name of mpiexec.hydra; Debian's mpirun is Open MPI.
    "mpirun": ("openmpi", ("openmpi", "mpich")),
    "orterun": ("openmpi", ("openmpi",)),
    "mpiexec.openmpi": ("openmpi", ("openmpi",)),
    "mpiexec.mpich": ("mpich", ("mpich",)),
    "mpiexec.hydra": ("mpich", ("mpich",)),
    "mpiexec": (None, FLAVOURS),
}


def _flavour(rs: RunSettings, default: str | None) -> str | ValidationError:
    """The concrete flavour ``rs`` asks for, or the error that stops it being built."""
    name = posixpath.basename(rs.run_command) if rs.run_command else None
    implied, allowed = _NAME_FLAVOURS.get(
        name or "", (default, FLAVOURS if default is None else (default,))
    )
    if rs.flavour == "auto":
        return BadValue(
            "run_settings.flavour",
            "auto",
            "a detected flavour: resolve 'auto' with "
            "smartsim.effects.mpi_detect.resolve_flavour before checking",
        )
    # A spec chosen directly (PALS for "mpiexec") settles what the name leaves open.
    flavour = rs.flavour or implied or default
    if flavour is None:
        return BadValue(
            "run_settings.flavour",
            None,
            f"one of {', '.join(map(repr, FLAVOURS))} for run_command={rs.run_command!r} "
            "(Open MPI, MPICH and Cray PALS all call their launcher mpiexec), or 'auto' to "
            "detect it once from `mpiexec --version`",
        )
    if flavour not in allowed:
        return ConflictingOptions(
            "run_settings.flavour", flavour, f"run_command={rs.run_command!r}"
        )
    return flavour


def _program(rs: RunSettings, default: str) -> str:
    return rs.run_command or default


# --------------------------------------------------------------------------- Open MPI

_OPENMPI_RULES: Final = launcher_rules(
    "Open MPI mpirun",
    unsupported=("gpus_per_task", "mem", "excluded_hosts", "alloc", "mpi", "het_group"),
    # Open MPI 4.1 mpirun(1): -c/-n/--n/-np, -N/--npernode, --map-by, --cpus-per-proc
    # (--cpus-per-rank), -H/--host, --timeout, -wdir/--wdir/-wd.
    reserved={
        "np": ("ntasks", "nodes"),
        "npernode": ("tasks_per_node",),
        "map-by": ("tasks_per_node", "cpus_per_task"),
        "cpus-per-proc": ("cpus_per_task",),
        "host": ("hostlist",),
        "timeout": ("time",),
        "wdir": CWD,
    },
    aliases={
        "n": "np",
        "c": "np",
        "N": "npernode",
        "cpus-per-rank": "cpus-per-proc",
        "H": "host",
        "wd": "wdir",
    },
    # --map-by and --timeout apply to the whole job.
    shared=("time", "tasks_per_node", "cpus_per_task"),
    # mpirun(1) 4.1 options that take an argument (besides the reserved ones)
    valued=option_words(
        "bind-to rank-by hostfile machinefile x prefix output-filename npersocket "
        "rankfile app mca am tune report-uri xterm"
    ),
    flags=option_words(
        "oversubscribe nooversubscribe allow-run-as-root report-bindings tag-output "
        "timestamp-output display-map display-devel-map display-allocation "
        "use-hwthread-cpus v verbose q quiet bynode byslot noprefix "
        "merge-stderr-to-stdout"
    ),
)


def check_openmpi(rs: RunSettings) -> list[ValidationError]:
    """What Open MPI's ``mpirun`` cannot express in ``rs``.

    >>> check_openmpi(RunSettings(exe="a.out", gpus_per_task=1))[0].message
    'Open MPI mpirun cannot express run_settings.gpus_per_task=1'
    """
    errors = check_launcher(rs, _OPENMPI_RULES)
    for i, part in enumerate(rs.parts):
        mca = part.run_args.get("mca")
        if mca is not None and mca is not False:  # identity: 0 == False, but 0 is a value
            # mpirun(1): "--mca <key> <value>" takes two words; one run_args value is one word.
            where = "run_settings" if i == 0 else f"run_settings.mpmd[{i - 1}]"
            errors.append(
                BadValue(
                    f"{where}.run_args['mca']",
                    part.run_args["mca"],
                    "MCA parameters in env as OMPI_MCA_<key>=<value> (--mca takes two words)",
                )
            )
    return errors


def _openmpi_map_by(rs: RunSettings) -> str | None:
    # mpirun(1) 4.1: "--map-by ppr:N:<object>" places N processes per object; the ":PE=n"
    # modifier binds each process to n processing elements and replaces the deprecated
    # --npernode and --cpus-per-proc.
    if rs.tasks_per_node is not None:
        base = f"ppr:{rs.tasks_per_node}:node"
    elif rs.cpus_per_task is not None:
        base = "slot"
    else:
        return None
    return base if rs.cpus_per_task is None else f"{base}:PE={rs.cpus_per_task}"


def openmpi_command(rs: RunSettings, ctx: LaunchContext) -> Command:
    """The Open MPI ``mpirun`` command for checked settings.

    Every program gets ``--wdir`` (it is a per-program option: Open MPI 4.1.4 started the second
    program of ``--wdir /usr a : b`` in the caller's directory) and its own ``-x NAME=value``.

    >>> rs = RunSettings(exe="hello", args=("a b",), ntasks=4, env={"OMP_NUM_THREADS": "2"},
    ...                  run_command="mpirun", run_args={"oversubscribe": None}, time=90)
    >>> ctx = LaunchContext(cwd="/w", name="m")
    >>> openmpi_command(rs, ctx).argv  # doctest: +NORMALIZE_WHITESPACE
    ('mpirun', '--timeout', '90', '--wdir', '/w', '-n', '4', '-x', 'OMP_NUM_THREADS=2',
     '--oversubscribe', 'hello', 'a b')
    """
    parts = rs.parts
    argv: list[str] = [_program(rs, "mpirun")]
    seconds = duration_seconds(rs.time)
    if seconds is not None:
        # mpirun(1): "--timeout <seconds>: The maximum number of seconds that mpirun will run."
        argv += ["--timeout", str(seconds)]
    map_by = _openmpi_map_by(rs)

    def words(i: int, part: RunSettings) -> list[str]:
        own = ["--wdir", ctx.cwd, *tasks_words("-n", part)]
        if i == 0 and map_by is not None:
            own += ["--map-by", map_by]
        if part.hostlist:
            own += ["--host", ",".join(host_items(part.hostlist))]
        for key, value in part.env.items():
            # mpirun(1): "-x <env>: Export the specified environment variables to the remote
            # nodes before executing the program ... -x foo=bar sets foo"; per app context.
            own += ["-x", f"{key}={value}"]
        return [*own, *options_tokens(part.run_args), part.exe, *part.args]

    return colon_command(argv, parts, words, ctx, env=common_env(parts))


# --------------------------------------------------------------------------- MPICH (Hydra)

_MPICH_RULES: Final = launcher_rules(
    "MPICH mpiexec (Hydra)",
    unsupported=("mem", "excluded_hosts", "alloc", "mpi", "het_group"),
    # mpiexec.hydra -help: -n/-np, -ppn, -hosts, -bind-to, -gpus-per-proc, -wdir.
    reserved={
        "n": ("ntasks", "nodes"),
        "ppn": ("tasks_per_node",),
        "hosts": ("hostlist",),
        "bind-to": ("cpus_per_task",),
        "gpus-per-proc": ("gpus_per_task",),
        "wdir": CWD,
    },
    aliases={"np": "n", "host": "hosts"},
    # mpiexec.hydra -help lists -hosts as a global option and -ppn, -bind-to, -gpus-per-proc
    # among the "Hydra specific options (treated as global)"; MPIEXEC_TIMEOUT is per launch.
    shared=("time", "tasks_per_node", "hostlist", "cpus_per_task", "gpus_per_task"),
    single_dash=True,
    # mpiexec.hydra -help: options shown with an argument (besides the reserved ones)
    valued=option_words(
        "genv genvlist f configfile env envlist launcher launcher-exec rmk topolib map-by "
        "membind demux iface prepend-pattern outfile-pattern errfile-pattern nameserver "
        "order-nodes localhost usize"
    ),
    flags=option_words(
        "genvnone genvall envnone envall enable-x disable-x verbose info "
        "print-all-exitcodes profile prepend-rank l disable-auto-cleanup "
        "disable-hostname-propagation pmi-port skip-launch-node"
    ),
)


def check_mpich(rs: RunSettings) -> list[ValidationError]:
    """What MPICH's Hydra ``mpiexec`` cannot express in ``rs``.

    >>> check_mpich(RunSettings(exe="a.out", excluded_hosts=("n3",)))[0].message
    "MPICH mpiexec (Hydra) cannot express run_settings.excluded_hosts=('n3',)"
    """
    errors = check_launcher(rs, _MPICH_RULES)
    if rs.time is not None:
        # The time limit travels as MPIEXEC_TIMEOUT; a variable of that name would fight it.
        for i, part in enumerate(rs.parts):
            if "MPIEXEC_TIMEOUT" in part.env:
                where = "run_settings" if i == 0 else f"run_settings.mpmd[{i - 1}]"
                errors.append(
                    ConflictingOptions(
                        f"{where}.env['MPIEXEC_TIMEOUT']",
                        part.env["MPIEXEC_TIMEOUT"],
                        "run_settings.time (Hydra's MPIEXEC_TIMEOUT)",
                    )
                )
    return errors


def mpich_command(rs: RunSettings, ctx: LaunchContext) -> Command:
    """The MPICH (Hydra) ``mpiexec`` command for checked settings.

    Variables every program sets alike are global (``-genv NAME value``, the documented
    two-word form, so a value is always one whole word); the others are ``-env`` of their
    program. The time limit is Hydra's ``MPIEXEC_TIMEOUT`` (seconds) in the launcher's
    environment: Hydra has no time-limit flag.

    >>> a = RunSettings(exe="ocean", ntasks=4, env={"G": "1", "L": "a"}, time=60,
    ...                 run_command="mpiexec.mpich")
    >>> cmd = mpich_command(a.with_mpmd(RunSettings(exe="air", ntasks=8, env={"G": "1"})),
    ...                     LaunchContext(cwd="/w", name="m"))
    >>> cmd.argv  # doctest: +NORMALIZE_WHITESPACE
    ('mpiexec.mpich', '-genv', 'G', '1', '-n', '4', '-wdir', '/w', '-env', 'L', 'a', 'ocean',
     ':', '-n', '8', '-wdir', '/w', 'air')
    >>> dict(cmd.env)
    {'G': '1', 'MPIEXEC_TIMEOUT': '60'}
    """
    parts = rs.parts
    glob = common_env(parts)
    argv: list[str] = [_program(rs, "mpiexec")]
    for key, value in glob.items():
        # mpiexec.hydra -help: "-genv {name} {value}  environment variable name and value"
        argv += ["-genv", key, value]
    if rs.tasks_per_node is not None:
        argv += ["-ppn", str(rs.tasks_per_node)]
    if rs.hostlist:
        argv += ["-hosts", ",".join(host_items(rs.hostlist))]
    if rs.cpus_per_task is not None:
        # Hydra's binding grammar: -bind-to <object>[:<count>] binds each process to <count>
        # objects (verified: -bind-to core:2 gives Cpus_allowed_list 0-1 on MPICH 4.0.2).
        argv += ["-bind-to", f"core:{rs.cpus_per_task}"]
    if rs.gpus_per_task is not None:
        argv += ["-gpus-per-proc", str(rs.gpus_per_task)]

    def words(i: int, part: RunSettings) -> list[str]:
        # Hydra 4.0.2 applies -wdir to one executable only (a -wdir before the first program
        # did not reach the second), and a second -wdir in one section is an error.
        own = [*tasks_words("-n", part), "-wdir", ctx.cwd]
        for key, value in part.env.items():
            if key not in glob:
                # "-env {name} {value}": a local option, so it reaches this program only.
                own += ["-env", key, value]
        return [*own, *single_dash_tokens(part.run_args), part.exe, *part.args]

    env = dict(glob)
    seconds = duration_seconds(rs.time)
    if seconds is not None:
        # Hydra user guide, environment settings: "MPIEXEC_TIMEOUT: The maximum running time of
        # a job in seconds." (verified: "APPLICATION TIMED OUT, TIMEOUT = 2s").
        env["MPIEXEC_TIMEOUT"] = str(seconds)
    return colon_command(argv, parts, words, ctx, env=env)


# --------------------------------------------------------------------------- Cray PALS

_PALS_RULES: Final = launcher_rules(
    "Cray PALS mpiexec",
    unsupported=("gpus_per_task", "mem", "time", "excluded_hosts", "alloc", "mpi", "het_group"),
    # PALS mpiexec --help: -n/--np, --ppn, --hosts (also --host/--hostlist), -d/--depth, --wdir.
    reserved={
        "np": ("ntasks", "nodes"),
        "ppn": ("tasks_per_node",),
        "hosts": ("hostlist",),
        "depth": ("cpus_per_task",),
        "wdir": CWD,
    },
    aliases={"n": "np", "host": "hosts", "hostlist": "hosts", "d": "depth"},
    # PALS `mpiexec --help` (quoted in CrayLabs/SmartSim#354) lists --hosts, --env, --envlist,
    # --cpu-bind and --depth among the GLOBAL OPTIONS; --ppn is a top-level option of HPE's
    # PALS CLI that MPMD commands do not take.
    shared=("tasks_per_node", "hostlist", "cpus_per_task"),
    global_env=True,
    # PALS --help / HPE's PALS CLI: options with an argument (besides the reserved ones)
    valued=option_words(
        "f hostfile configfile umask soft env envlist cpu-bind mem-bind include-tasks "
        "exclude-tasks pmi rlimits procinfo-file path arch file"
    ),
    flags=option_words(
        "envall envnone transfer no-transfer l label no-label exclusive shared "
        "line-buffer no-line-buffer abort-on-failure no-abort-on-failure sstartup "
        "no-sstartup"
    ),
)


def check_pals(rs: RunSettings) -> list[ValidationError]:
    """What Cray PALS ``mpiexec`` cannot express in ``rs`` (it has no time limit).

    >>> check_pals(RunSettings(exe="a.out", time=60))[0].message
    'Cray PALS mpiexec cannot express run_settings.time=Duration(seconds=60)'
    """
    return check_launcher(rs, _PALS_RULES)


def pals_command(rs: RunSettings, ctx: LaunchContext) -> Command:
    """The Cray PALS ``mpiexec`` command for checked settings.

    >>> rs = RunSettings(exe="./hello_affinity", nodes=4, tasks_per_node=8, cpus_per_task=8,
    ...                  env={"OMP_NUM_THREADS": "8"}, run_args={"cpu-bind": "depth"},
    ...                  run_command="mpiexec", flavour="pals")
    >>> pals_command(rs, LaunchContext(cwd="/w", name="m")).argv  # doctest: +NORMALIZE_WHITESPACE
    ('mpiexec', '--ppn', '8', '--depth', '8', '--env', 'OMP_NUM_THREADS=8', '--np', '32',
     '--cpu-bind', 'depth', './hello_affinity')
    """
    parts = rs.parts
    glob = common_env(parts)
    argv: list[str] = [_program(rs, "mpiexec")]
    # Global options first: "Usage: mpiexec [global_options] [command_options] cmd1 [: ...]".
    if rs.tasks_per_node is not None:
        argv += ["--ppn", str(rs.tasks_per_node)]
    if rs.hostlist:
        argv += ["--hosts", ",".join(host_items(rs.hostlist))]
    if rs.cpus_per_task is not None:
        argv += ["--depth", str(rs.cpus_per_task)]
    for key, value in glob.items():
        # PALS --help: "--env  Set an env var (VAR=VAL format)"; ALCF: --env OMP_NUM_THREADS=2.
        argv += ["--env", f"{key}={value}"]

    def words(i: int, part: RunSettings) -> list[str]:
        own = [*tasks_words("--np", part), *options_tokens(part.run_args)]
        return [*own, *env_prefix(part, parts), part.exe, *part.args]

    # PALS starts ranks in mpiexec's working directory (its --wdir defaults to it), and
    # exports the whole launcher environment (--envall is the default).
    return colon_command(argv, parts, words, ctx, env=glob)


# --------------------------------------------------------------------------- dispatch

_CHECKS: Final[dict[str, Callable[[RunSettings], list[ValidationError]]]] = {
    "openmpi": check_openmpi,
    "mpich": check_mpich,
    "pals": check_pals,
}
_BUILDS: Final[dict[str, Callable[[RunSettings, LaunchContext], Command]]] = {
    "openmpi": openmpi_command,
    "mpich": mpich_command,
    "pals": pals_command,
}


def _checker(default: str | None) -> Callable[[RunSettings], list[ValidationError]]:
    def check(rs: RunSettings) -> list[ValidationError]:
        flavour = _flavour(rs, default)
        if isinstance(flavour, ValidationError):
            return [flavour]
        return _CHECKS[flavour](rs)

    return check


def _builder(default: str | None) -> Callable[[RunSettings, LaunchContext], Command]:
    def build(rs: RunSettings, ctx: LaunchContext) -> Command:
        flavour = _flavour(rs, default)
        assert isinstance(flavour, str), f"build unchecked settings: {flavour}"
        return _BUILDS[flavour](rs, ctx)

    return build


def check_mpiexec(rs: RunSettings) -> list[ValidationError]:
    """What ``run_command="mpiexec"`` cannot express: first of all a missing flavour.

    >>> print(check_mpiexec(RunSettings(exe="a.out", run_command="mpiexec"))[0])
    ... # doctest: +ELLIPSIS
    run_settings.flavour=None is invalid: expected one of 'openmpi', 'mpich', 'pals' for ...
    """
    return _checker(None)(rs)


def mpiexec_command(rs: RunSettings, ctx: LaunchContext) -> Command:
    """The ``mpiexec`` command of ``rs.flavour`` (checked settings; the flavour is resolved).

    >>> rs = RunSettings(exe="a.out", ntasks=2, run_command="mpiexec", flavour="mpich")
    >>> mpiexec_command(rs, LaunchContext(cwd="/w", name="m")).argv
    ('mpiexec', '-n', '2', '-wdir', '/w', 'a.out')
    """
    return _builder(None)(rs, ctx)


#: ``mpirun``, ``orterun``, ``mpiexec.openmpi``: Open MPI (``mpirun`` may say ``flavour="mpich"``).
OPENMPI: Final = RunCommandSpec(
    tool="Open MPI mpirun", check=_checker("openmpi"), build=_builder("openmpi")
)
#: ``mpiexec.mpich``, ``mpiexec.hydra``: MPICH's Hydra process manager.
MPICH: Final = RunCommandSpec(
    tool="MPICH mpiexec (Hydra)", check=_checker("mpich"), build=_builder("mpich")
)
#: Cray PALS ``mpiexec`` (HPE Cray EX systems with PBS).
PALS: Final = RunCommandSpec(
    tool="Cray PALS mpiexec", check=_checker("pals"), build=_builder("pals")
)
#: ``mpiexec``: dispatches on ``RunSettings.flavour`` (required; ``"auto"`` is resolved first).
MPIEXEC: Final = RunCommandSpec(tool="mpiexec", check=check_mpiexec, build=mpiexec_command)


# --------------------------------------------------------------------------- flavour detection

_OPENMPI_VERSION = re.compile(r"\((?:Open MPI|OpenRTE|PRRTE)\)\s+\d")
_HYDRA_VERSION = re.compile(r"HYDRA build details|Intel\(R\) MPI Library")
_PALS_VERSION = re.compile(r"\bPALS\b|\bcray-pals\b", re.IGNORECASE)


def version_command(run_command: str) -> Command:
    """The command whose output tells the flavour of ``run_command``.

    >>> version_command("mpiexec").argv
    ('mpiexec', '--version')
    """
    return Command(argv=(run_command, "--version"))


def parse_mpi_version(text: str) -> Result[str, str]:
    """The flavour named by ``<launcher> --version`` output; never raises.

    Open MPI prints ``mpirun (Open MPI) 4.1.4`` (its ``mpiexec`` says ``(OpenRTE)``, Open MPI 5
    ``(PRRTE)``); MPICH's Hydra prints ``HYDRA build details:`` (Intel MPI's Hydra says
    ``Intel(R) MPI Library``); HPE's launcher names PALS.

    >>> parse_mpi_version("mpiexec (OpenRTE) 4.1.4\\n"), parse_mpi_version("HYDRA build details:")
    (<Success: openmpi>, <Success: mpich>)
    >>> parse_mpi_version("mpiexec.slurm: unknown")
    <Failure: mpiexec.slurm: unknown>
    """
    if _OPENMPI_VERSION.search(text):
        return Success("openmpi")
    if _HYDRA_VERSION.search(text):
        return Success("mpich")
    if _PALS_VERSION.search(text):
        return Success("pals")
    return Failure(text)
