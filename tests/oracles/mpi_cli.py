"""Test-only model of how the MPI launchers read their argv: Open MPI ``mpirun``, MPICH's Hydra
``mpiexec`` and Cray PALS ``mpiexec``.

Independent of ``smartsim``: nothing is imported from the library and nothing is derived from its
tables. Sources:

- Open MPI 4.1 ``mpirun(1)`` (https://www.open-mpi.org/doc/v4.1/man1/mpirun.1.php; Debian's
  openmpi-bin 4.1.4): SYNOPSIS ``mpirun [global_options] [local_options1] <program1> [<args1>] :
  [local_options2] <program2> ...``; the option list (``-c, -n, --n, -np``; ``-N, --npernode``;
  ``--map-by ppr:N:<object>`` and the ``:PE=n`` modifier; ``--cpus-per-proc``;
  ``-H, -host, --host``; ``--hostfile``; ``-wdir, --wdir, -wd``; ``--timeout <seconds>``;
  ``-x <env>``: "-x foo=bar", exported to the started processes; ``--mca <key> <value>``).
  mpirun takes no ``--opt=value`` form and treats "the first unrecognized command line token as
  the executable" (its own error text); here an unknown option is an error instead, so a typo in
  a builder cannot pass silently.
- MPICH 4.0.2 ``mpiexec.hydra -help`` (Debian's mpich): global options ``-genv {name} {value}``,
  ``-genvlist``, ``-genvnone``, ``-genvall``, ``-f``, ``-hosts``, ``-wdir``, ``-configfile``;
  local options ``-env {name} {value}``, ``-envlist``, ``-envnone``, ``-envall``, ``-n/-np``;
  "Hydra specific options (treated as global)" (``-bind-to``, ``-ppn``, ``-gpus-per-proc``, ...).
  The Hydra user guide: ``MPIEXEC_TIMEOUT`` is the job's time limit in seconds. Observed with
  that build: options are also accepted with two dashes, and ``-wdir`` binds to one executable.
- Cray PALS ``mpiexec --help`` as quoted in CrayLabs/SmartSim#354 ("Usage: mpiexec
  [global_options] [command_options] cmd1 [: [command_options] cmd2 [: ...] ]", GLOBAL OPTIONS
  ``--hosts``, ``--hostfile``, ``--env`` "(VAR=VAL format)", ``--envlist``, ``--envall``,
  ``--cpu-bind``, ``--depth``, ...), HPE's PALS CLI (cray ``mpiexec`` click command: ``-n, -np,
  --np``; ``-ppn, --ppn``; ``-host, --host, -hosts, --hosts``; MPMD commands accept only
  ``-n/--np``, ``--wdir``, ``--umask``, ``--depth``), and ALCF's Polaris guide
  (``mpiexec --np 32 -ppn 8 -d 8 --cpu-bind depth -env OMP_NUM_THREADS=8 ./hello_affinity``,
  ``--depth=${NDEPTH}``).

Each reader returns :class:`AppView` values: what each program of the launch gets (its program
and arguments, task counts, hosts, working directory, the time limit and the environment its
ranks see, modelled from the documentation: local ranks inherit the launcher's environment and
the tool's env options override it).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = [
    "AppView",
    "CliError",
    "Opt",
    "OptionTable",
    "ParsedApp",
    "UnknownOption",
    "parse_colon_argv",
    "read_mpich",
    "read_openmpi",
    "read_pals",
    "unwrap_env",
]


class CliError(ValueError):
    """argv the tool would reject, or read differently from what a builder meant."""


class UnknownOption(CliError):
    """An option the tool does not document: it stops with an error (a loud refusal)."""


@dataclass(frozen=True)
class Opt:
    """One option: its canonical name, every spelling, how many words it takes."""

    name: str
    spellings: tuple[str, ...]
    nargs: int = 1
    scope: str = "local"  # "global": launch-wide; "local": one program


class OptionTable:
    def __init__(self, opts: Sequence[Opt]) -> None:
        self.by_spelling: dict[str, Opt] = {}
        for opt in opts:
            for s in opt.spellings:
                assert s not in self.by_spelling, s
                self.by_spelling[s] = opt

    def __getitem__(self, spelling: str) -> Opt:
        try:
            return self.by_spelling[spelling]
        except KeyError:
            raise UnknownOption(f"unknown option {spelling!r}") from None

    def names(self) -> set[str]:
        return {o.name for o in self.by_spelling.values()}


@dataclass
class ParsedApp:
    """One program of a launch: its options in argv order, program and arguments."""

    options: list[tuple[str, tuple[str, ...]]]
    program: str
    args: list[str]

    def values(self, name: str) -> list[tuple[str, ...]]:
        return [v for n, v in self.options if n == name]

    def one(self, name: str) -> str | None:
        found = self.values(name)
        if len(found) > 1:
            raise CliError(f"{name} given twice in one program")
        return found[0][0] if found else None


@dataclass(frozen=True)
class AppView:
    """What one program of a launch is given."""

    program: str
    args: tuple[str, ...]
    ntasks: int | None = None
    tasks_per_node: int | None = None
    cpus_per_task: int | None = None
    gpus_per_task: int | None = None
    hosts: tuple[str, ...] = ()
    excluded_hosts: tuple[str, ...] = ()
    wdir: str | None = None
    time: int | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    #: Options not interpreted above, as (canonical name, values), in argv order.
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()


def parse_colon_argv(
    argv: Sequence[str],
    table: OptionTable,
    *,
    equals: bool,
    later_apps: set[str] | None = None,
    colon_values: bool = False,
) -> list[ParsedApp]:
    """Split ``launcher [opts] prog [args] : [opts] prog [args] ...`` into programs.

    Options are read until the first word not starting with ``-`` (the program); the program's
    arguments run to the next lone ``:``. ``equals``: ``--opt=value`` is accepted.
    ``later_apps``: the option names allowed after the first ``:`` (None: all).
    ``colon_values``: an option's value may be a lone ``:`` (observed with Hydra: ``-env X :``
    sets X to ":"); elsewhere a lone ``:`` is taken to be the separator, wherever it stands.
    """
    apps: list[ParsedApp] = []
    i = 1
    n = len(argv)
    while True:
        opts: list[tuple[str, tuple[str, ...]]] = []
        while i < n and argv[i].startswith("-") and argv[i] != "-":
            word = argv[i]
            spelling, attached = word, None
            if equals and word.startswith("--") and "=" in word:
                spelling, attached = word.split("=", 1)
            opt = table[spelling]
            if apps and later_apps is not None and opt.name not in later_apps:
                raise CliError(f"{spelling} is not allowed after ':'")
            if attached is not None:
                if opt.nargs != 1:
                    raise CliError(f"{spelling} takes {opt.nargs} words, got {word!r}")
                values: tuple[str, ...] = (attached,)
                i += 1
            else:
                values = tuple(argv[i + 1 : i + 1 + opt.nargs])
                if len(values) != opt.nargs or (":" in values and not colon_values):
                    raise CliError(f"{spelling} needs {opt.nargs} value(s)")
                i += 1 + opt.nargs
            opts.append((opt.name, values))
        if i >= n or argv[i] == ":":
            raise CliError("a program is missing")
        program = argv[i]
        i += 1
        args: list[str] = []
        while i < n and argv[i] != ":":
            args.append(argv[i])
            i += 1
        apps.append(ParsedApp(opts, program, args))
        if i >= n:
            return apps
        i += 1
        if i >= n:
            raise CliError("nothing after ':'")


def unwrap_env(program: str, args: Sequence[str]) -> tuple[str, tuple[str, ...], dict[str, str]]:
    """The program ``env NAME=value ... prog args`` really runs, its arguments and the variables
    set for it. GNU coreutils env(1): "env [OPTION]... [-] [NAME=VALUE]... [COMMAND [ARG]...]:
    Set each NAME to VALUE in the environment and run COMMAND"."""
    if posixpath.basename(program) != "env":
        return program, tuple(args), {}
    assigned: dict[str, str] = {}
    i = 0
    while i < len(args) and "=" in args[i]:
        if args[i].startswith("-"):
            raise CliError(f"env option {args[i]!r} is not modelled")
        key, value = args[i].split("=", 1)
        assigned[key] = value
        i += 1
    if i >= len(args) or args[i].startswith("-"):
        raise CliError("env without a command to run")
    return args[i], tuple(args[i + 1 :]), assigned


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    if not re.fullmatch(r"[1-9][0-9]*", value):
        raise CliError(f"not a positive count: {value!r}")
    return int(value)


def _pair(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise CliError(f"expected NAME=value, got {text!r}")
    key, value = text.split("=", 1)
    return key, value


def _extra(app: ParsedApp, used: set[str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((n, v) for n, v in app.options if n not in used)


# --------------------------------------------------------------------------- Open MPI 4.1


def _o(name: str, *spellings: str, nargs: int = 1, scope: str = "local") -> Opt:
    return Opt(name, spellings, nargs, scope)


OPENMPI = OptionTable(
    [
        _o("np", "-c", "-n", "--n", "-np", "--np"),
        _o("npernode", "-npernode", "--npernode", "-N"),
        _o("map-by", "-map-by", "--map-by", scope="global"),
        _o("bind-to", "-bind-to", "--bind-to", scope="global"),
        _o("rank-by", "-rank-by", "--rank-by", scope="global"),
        _o(
            "cpus-per-proc",
            "-cpus-per-proc",
            "--cpus-per-proc",
            "-cpus-per-rank",
            "--cpus-per-rank",
        ),
        _o("host", "-H", "-host", "--host"),
        _o("hostfile", "-hostfile", "--hostfile", "-machinefile", "--machinefile"),
        _o("wdir", "-wdir", "--wdir", "-wd", "--wd"),
        _o("timeout", "-timeout", "--timeout", scope="global"),
        _o("x", "-x"),
        _o("mca", "-mca", "--mca", nargs=2, scope="global"),
        _o("prefix", "-prefix", "--prefix", scope="global"),
        _o("output-filename", "-output-filename", "--output-filename", scope="global"),
        _o("oversubscribe", "-oversubscribe", "--oversubscribe", nargs=0, scope="global"),
        _o("nooversubscribe", "-nooversubscribe", "--nooversubscribe", nargs=0, scope="global"),
        _o("allow-run-as-root", "--allow-run-as-root", nargs=0, scope="global"),
        _o("report-bindings", "-report-bindings", "--report-bindings", nargs=0, scope="global"),
        _o("tag-output", "-tag-output", "--tag-output", nargs=0, scope="global"),
        _o("timestamp-output", "-timestamp-output", "--timestamp-output", nargs=0, scope="global"),
        _o("display-map", "-display-map", "--display-map", nargs=0, scope="global"),
        _o(
            "use-hwthread-cpus",
            "-use-hwthread-cpus",
            "--use-hwthread-cpus",
            nargs=0,
            scope="global",
        ),
        _o("verbose", "-v", "--verbose", nargs=0, scope="global"),
        _o("quiet", "-q", "--quiet", nargs=0, scope="global"),
    ]
)

_PPR = re.compile(r"ppr:(?P<n>[1-9][0-9]*):node(?::PE=(?P<pe>[1-9][0-9]*))?")
_PE = re.compile(r"[a-z]+:PE=(?P<pe>[1-9][0-9]*)")


def read_openmpi(argv: Sequence[str], launcher_env: Mapping[str, str]) -> list[AppView]:
    """What each program of an Open MPI ``mpirun`` launch gets."""
    apps = parse_colon_argv(argv, OPENMPI, equals=False)
    tpn = cpus = timeout = None
    for app in apps:
        for name, values in app.options:
            value = values[0] if values else ""
            if name == "map-by":
                if tpn is not None or cpus is not None:
                    raise CliError("--map-by given twice")
                ppr, pe = _PPR.fullmatch(value), _PE.fullmatch(value)
                if ppr:
                    tpn, cpus = _int(ppr["n"]), _int(ppr["pe"])
                elif pe:
                    cpus = _int(pe["pe"])
                else:
                    raise CliError(f"--map-by {value!r} is not modelled")
            if name == "timeout":
                timeout = _int(value)
    views = []
    for app in apps:
        env = dict(launcher_env)
        # mpirun(1): "-x foo=bar" sets foo for the started processes; a bare "-x foo" exports
        # the launcher's value. Observed: in an MPMD launch -x reaches its own program only.
        for (text,) in app.values("x"):
            if "=" in text:
                key, value = _pair(text)
                env[key] = value
        hosts = app.one("host")
        npernode = _int(app.one("npernode"))
        program, args, assigned = unwrap_env(app.program, app.args)
        env.update(assigned)
        views.append(
            AppView(
                program=program,
                args=args,
                ntasks=_int(app.one("np")),
                tasks_per_node=tpn if npernode is None else npernode,
                cpus_per_task=cpus if cpus is not None else _int(app.one("cpus-per-proc")),
                hosts=tuple(hosts.split(",")) if hosts else (),
                wdir=app.one("wdir"),
                time=timeout,
                env=env,
                extra=_extra(app, {"np", "npernode", "map-by", "host", "wdir", "timeout", "x"}),
            )
        )
    return views


# --------------------------------------------------------------------------- MPICH (Hydra)


def _h(name: str, nargs: int = 1, scope: str = "global") -> Opt:
    # Hydra reads "-name" and, observed with MPICH 4.0.2, "--name" alike.
    return Opt(name, (f"-{name}", f"--{name}"), nargs, scope)


MPICH = OptionTable(
    [
        _h("genv", 2),
        _h("genvlist"),
        _h("genvnone", 0),
        _h("genvall", 0),
        _h("f"),
        _h("hosts"),
        _h("wdir", scope="local"),
        _h("configfile"),
        _h("env", 2, "local"),
        _h("envlist", 1, "local"),
        _h("envnone", 0, "local"),
        _h("envall", 0, "local"),
        Opt("n", ("-n", "--n", "-np", "--np"), 1, "local"),
        _h("launcher"),
        _h("launcher-exec"),
        _h("enable-x", 0),
        _h("disable-x", 0),
        _h("rmk"),
        _h("topolib"),
        _h("bind-to"),
        _h("map-by"),
        _h("membind"),
        _h("demux"),
        _h("verbose", 0),
        _h("info", 0),
        _h("print-all-exitcodes", 0),
        _h("iface"),
        _h("ppn"),
        _h("profile", 0),
        _h("prepend-rank", 0),
        _h("l", 0),
        _h("prepend-pattern"),
        _h("outfile-pattern"),
        _h("errfile-pattern"),
        _h("nameserver"),
        _h("disable-auto-cleanup", 0),
        _h("disable-hostname-propagation", 0),
        _h("order-nodes"),
        _h("localhost"),
        _h("usize"),
        _h("pmi-port", 0),
        _h("skip-launch-node", 0),
        _h("gpus-per-proc"),
    ]
)

_BIND = re.compile(r"core:(?P<n>[1-9][0-9]*)")


def read_mpich(argv: Sequence[str], launcher_env: Mapping[str, str]) -> list[AppView]:
    """What each program of a Hydra ``mpiexec`` launch gets."""
    apps = parse_colon_argv(argv, MPICH, equals=False, colon_values=True)
    glob: dict[str, str | None] = {}
    genv: dict[str, str] = {}
    for app in apps:
        for name, values in app.options:
            if name == "genv":
                genv[values[0]] = values[1]
            elif name in ("ppn", "hosts", "bind-to", "gpus-per-proc"):  # Hydra: global
                if name in glob:
                    raise CliError(f"-{name} given twice")
                glob[name] = values[0]
    cpus = None
    used = {"genv", "env", "n", "wdir", "ppn", "hosts", "gpus-per-proc"}
    if glob.get("bind-to") is not None:
        match = _BIND.fullmatch(glob["bind-to"] or "")
        if match:  # "core:N": N cores per process; other policies are kept as they are
            cpus = _int(match["n"])
            used.add("bind-to")
    timeout = _int(launcher_env.get("MPIEXEC_TIMEOUT"))
    views = []
    for app in apps:
        # -genvall is the default: ranks see the launcher's environment, then -genv, then the
        # program's own -env (observed: -env overrides a caller's value for its program only).
        env = dict(launcher_env)
        env.update(genv)
        for key, value in app.values("env"):
            env[key] = value
        hosts = glob.get("hosts")
        program, args, assigned = unwrap_env(app.program, app.args)
        env.update(assigned)
        views.append(
            AppView(
                program=program,
                args=args,
                ntasks=_int(app.one("n")),
                tasks_per_node=_int(glob.get("ppn")),
                cpus_per_task=cpus,
                gpus_per_task=_int(glob.get("gpus-per-proc")),
                hosts=tuple(hosts.split(",")) if hosts else (),
                wdir=app.one("wdir"),
                time=timeout,
                env=env,
                extra=_extra(app, used),
            )
        )
    return views


# --------------------------------------------------------------------------- Cray PALS


def _p(name: str, *spellings: str, nargs: int = 1, scope: str = "global") -> Opt:
    return Opt(name, spellings, nargs, scope)


PALS = OptionTable(
    [
        _p("np", "-n", "-np", "--np", scope="command"),
        _p("wdir", "-wdir", "--wdir", scope="command"),
        _p("umask", "-umask", "--umask", scope="command"),
        _p("soft", "-soft", "--soft", scope="command"),
        _p("depth", "-d", "-depth", "--depth", scope="command"),
        _p("ppn", "-ppn", "--ppn"),
        _p("hosts", "-host", "--host", "-hosts", "--hosts", "-hostlist", "--hostlist"),
        _p("hostfile", "-f", "-hostfile", "--hostfile"),
        _p("configfile", "-configfile", "--configfile"),
        _p("env", "-env", "--env"),
        _p("envlist", "-envlist", "--envlist"),
        _p("envall", "-envall", "--envall", nargs=0),
        _p("envnone", "-envnone", "--envnone", nargs=0),
        _p("transfer", "--transfer", nargs=0),
        _p("no-transfer", "--no-transfer", nargs=0),
        _p("cpu-bind", "--cpu-bind"),
        _p("mem-bind", "--mem-bind"),
        _p("label", "-l", "--label", nargs=0),
        _p("no-label", "--no-label", nargs=0),
        _p("include-tasks", "--include-tasks"),
        _p("exclude-tasks", "--exclude-tasks"),
        _p("exclusive", "--exclusive", nargs=0),
        _p("line-buffer", "--line-buffer", nargs=0),
        _p("pmi", "--pmi"),
        _p("rlimits", "--rlimits"),
    ]
)
#: What an MPMD command after ':' may carry (HPE's PALS CLI, parse_mpmd_args).
PALS_COMMAND_OPTIONS = {"np", "wdir", "umask", "depth", "soft"}


def read_pals(argv: Sequence[str], launcher_env: Mapping[str, str]) -> list[AppView]:
    """What each program of a PALS ``mpiexec`` launch gets."""
    apps = parse_colon_argv(argv, PALS, equals=True, later_apps=PALS_COMMAND_OPTIONS)
    first = apps[0]
    env = dict(launcher_env)  # --envall is the default
    for (text,) in first.values("env"):
        key, value = _pair(text)
        env[key] = value
    hosts = first.one("hosts")
    depth = _int(first.one("depth"))
    views = []
    for app in apps:
        own_depth = _int(app.one("depth")) if app is not first else None
        program, args, assigned = unwrap_env(app.program, app.args)
        views.append(
            AppView(
                program=program,
                args=args,
                ntasks=_int(app.one("np")),
                tasks_per_node=_int(first.one("ppn")),
                cpus_per_task=own_depth if own_depth is not None else depth,
                hosts=tuple(hosts.split(",")) if hosts else (),
                wdir=app.one("wdir"),
                env={**env, **assigned},
                extra=_extra(app, {"np", "ppn", "hosts", "depth", "env", "wdir"}),
            )
        )
    return views
