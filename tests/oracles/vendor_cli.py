"""Test-only model of how ALPS ``aprun`` and LSF ``jsrun`` read their argv, and of jsrun's
Explicit Resource File (ERF) grammar.

Independent of ``smartsim``: nothing is imported from the library. Sources:

- HPE, "Run Applications Using the aprun Command" (CLE 7.0,
  https://www.hpe.com/psnow/resources/ebooks/a00114008en_us_v2/Run_Applications_Using_the_aprun_Command.html):
  ``aprun [global_options] [command_options] cmd1 [: [command_options] cmd2 [: ...] ]``; global
  options ``-b|--bypass-app-transfer``, ``-B|--batch-args``, ``-C|--reconnect``,
  ``-D|--debug level``, ``-e|--environment-override env`` ("Must use format VARNAME=value"),
  ``-m|--memory-per-pe size``; "forwards the user's login node environment to the assigned
  compute nodes". Cray CLE aprun(1) synopsis (docs.cray.com S-2496): ``-a arch``, ``-cc``,
  ``-cp``, ``-d depth``, ``-E`` (exclude node list), ``-j``, ``-L node_list``, ``-m``, ``-n pes``,
  ``-N pes_per_node``, ``-q``, ``-r``, ``-S``, ``-sl``, ``-sn``, ``-ss``, ``-T``, ``-t sec``;
  node lists are ALPS node ids ("-L 32,33,40", "-L 41-87"). Long spellings of the command options
  (``--pes``, ``--pes-per-node``, ``--cpus-per-pe``, ``--node-list``, ``--exclude-node-list``,
  ``--cpu-binding``, ``--cpu-time-limit``) as listed by ``aprun --help`` on CLE 6/7.
- IBM Spectrum LSF 10.1 Job Step Manager: ``jsrun`` options ``-n/--nrs``, ``-a/--tasks_per_rs``,
  ``-c/--cpu_per_rs``, ``-g/--gpu_per_rs``, ``-r/--rs_per_host``, ``-p/--np``, ``-b/--bind``,
  ``-d/--launch_distribution``, ``-E/--env var=value``, ``-h/--chdir``, ``-o/--stdio_stdout``,
  ``-k/--stdio_stderr``, ``-U/--erf_input``, ``-M/--smpiargs``; jsrun propagates the caller's
  environment (``-D/--env_no_propagate`` removes a name); and "Explicit Resource File (ERF)
  format" (https://www.ibm.com/support/knowledgecenter/en/SSWRJV_10.1.0/jsm/erf_format.html):
  a preamble of symbols, ``app <#>: COMMAND LINE`` ("The number must start with 0 and increment
  for each application specified"), then lines ``RANK_SPECIFICATION : RESOURCE_SET_SPECIFICATION
  [: APPLICATION SPECIFICATION]`` where the rank specification is ``rank: RANGE`` or a number of
  ranks ("Only one format can be used within a single ERF") and the resource set is
  ``{ key : value ; ... }`` that "must minimally contain the keys hosts and cpu".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tests.oracles.mpi_cli import AppView, CliError, Opt, OptionTable, parse_colon_argv, unwrap_env

__all__ = ["Erf", "parse_erf", "read_aprun", "read_jsrun"]


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    if not re.fullmatch(r"[1-9][0-9]*", value):
        raise CliError(f"not a positive count: {value!r}")
    return int(value)


# --------------------------------------------------------------------------- aprun


def _a(name: str, *spellings: str, nargs: int = 1, scope: str = "command") -> Opt:
    return Opt(name, spellings, nargs, scope)


APRUN = OptionTable(
    [
        _a("b", "-b", "--bypass-app-transfer", nargs=0, scope="global"),
        _a("B", "-B", "--batch-args", nargs=0, scope="global"),
        _a("C", "-C", "--reconnect", nargs=0, scope="global"),
        _a("D", "-D", "--debug", scope="global"),
        _a("e", "-e", "--environment-override", scope="global"),
        _a("m", "-m", "--memory-per-pe", scope="global"),
        _a("q", "-q", "--quiet", nargs=0, scope="global"),
        _a("T", "-T", nargs=0, scope="global"),
        _a("a", "-a"),
        _a("cc", "-cc", "--cpu-binding"),
        _a("cp", "-cp"),
        _a("d", "-d", "--cpus-per-pe"),
        _a("E", "-E", "--exclude-node-list"),
        _a("j", "-j"),
        _a("L", "-L", "--node-list"),
        _a("l", "-l", "--node-list-file"),
        _a("n", "-n", "--pes"),
        _a("N", "-N", "--pes-per-node"),
        _a("r", "-r"),
        _a("S", "-S"),
        _a("sl", "-sl"),
        _a("sn", "-sn"),
        _a("ss", "-ss", nargs=0),
        _a("t", "-t", "--cpu-time-limit"),
    ]
)
APRUN_COMMAND_OPTIONS = {o.name for o in APRUN.by_spelling.values() if o.scope == "command"}
_NIDS = re.compile(r"\d+(?:-\d+)?(?:,\d+(?:-\d+)?)*")


def _nids(value: str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if not _NIDS.fullmatch(value):
        raise CliError(f"not an ALPS node list: {value!r}")
    return tuple(value.split(","))


def read_aprun(argv: Sequence[str], launcher_env: Mapping[str, str]) -> list[AppView]:
    """What each command of an ``aprun`` launch gets."""
    apps = parse_colon_argv(argv, APRUN, equals=True, later_apps=APRUN_COMMAND_OPTIONS)
    env = dict(launcher_env)  # the login node environment is forwarded
    for (text,) in apps[0].values("e"):
        if "=" not in text:
            raise CliError(f"-e needs VARNAME=value, got {text!r}")
        key, value = text.split("=", 1)
        env[key] = value
    used = {"e", "n", "N", "d", "L", "E"}
    views = []
    for app in apps:
        program, args, assigned = unwrap_env(app.program, app.args)
        views.append(
            AppView(
                program=program,
                args=args,
                ntasks=_int(app.one("n")),
                tasks_per_node=_int(app.one("N")),
                cpus_per_task=_int(app.one("d")),
                hosts=_nids(app.one("L")),
                excluded_hosts=_nids(app.one("E")),
                env={**env, **assigned},
                extra=tuple((n, v) for n, v in app.options if n not in used),
            )
        )
    return views


# --------------------------------------------------------------------------- jsrun


def _j(name: str, short: str | None, long: str, nargs: int = 1) -> Opt:
    return Opt(name, (*((short,) if short else ()), long), nargs, "global")


JSRUN = OptionTable(
    [
        _j("nrs", "-n", "--nrs"),
        _j("tasks_per_rs", "-a", "--tasks_per_rs"),
        _j("cpu_per_rs", "-c", "--cpu_per_rs"),
        _j("gpu_per_rs", "-g", "--gpu_per_rs"),
        _j("rs_per_host", "-r", "--rs_per_host"),
        _j("rs_per_socket", "-K", "--rs_per_socket"),
        _j("np", "-p", "--np"),
        _j("memory_per_rs", "-m", "--memory_per_rs"),
        _j("bind", "-b", "--bind"),
        _j("launch_distribution", "-d", "--launch_distribution"),
        _j("latency_priority", "-l", "--latency_priority"),
        _j("chdir", "-h", "--chdir"),
        _j("env", "-E", "--env"),
        _j("env_eval", "-F", "--env_eval"),
        _j("env_no_propagate", "-D", "--env_no_propagate"),
        _j("stdio_stdout", "-o", "--stdio_stdout"),
        _j("stdio_stderr", "-k", "--stdio_stderr"),
        _j("stdio_mode", "-e", "--stdio_mode"),
        _j("stdio_input", "-i", "--stdio_input"),
        _j("erf_input", "-U", "--erf_input"),
        _j("erf_output", None, "--erf_output"),
        _j("smpiargs", "-M", "--smpiargs"),
        _j("exit_on_error", "-X", "--exit_on_error"),
    ]
)


@dataclass(frozen=True)
class Erf:
    """A parsed ERF: preamble symbols, application command lines, rank lines."""

    preamble: dict[str, str]
    apps: dict[int, tuple[str, ...]]
    #: (ranks: a count or a "rank: a-b" range text, resource set keys, app index or None)
    ranks: tuple[tuple[int | str, dict[str, str], int | None], ...]


_SYMBOLS = {
    "launch_distribution",
    "cpu_index_using",
    "overlapping_rs",
    "skip_missing_cpu",
    "skip_missing_gpu",
    "skip_missing_mem",
    "oversubscribe_cpu",
    "oversubscribe_gpu",
    "oversubscribe_mem",
}
_APP = re.compile(r"app\s+(?P<i>\d+)\s*:\s*(?P<cmd>.*)")
_SYMBOL = re.compile(r"(?P<key>[a-z_]+)\s*:\s*(?P<value>\S+)")
_RANKS = re.compile(
    r"(?:rank\s*:\s*(?P<range>\d+(?:-\d+)?)|(?P<count>\d+))\s*:\s*"
    r"\{(?P<rs>(?:[^{}]|\{[^{}]*\})*)\}\s*(?::\s*app\s+(?P<app>\d+))?"
)


def parse_erf(text: str) -> Erf:
    """Read an ERF the way the IBM format page describes it."""
    preamble: dict[str, str] = {}
    apps: dict[int, tuple[str, ...]] = {}
    ranks: list[tuple[int | str, dict[str, str], int | None]] = []
    forms: set[str] = set()
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if match := _APP.fullmatch(line):
            index = int(match["i"])
            if index != len(apps):
                raise CliError(f"app numbers must start at 0 and increment: {line!r}")
            words = tuple(match["cmd"].split())
            if not words:
                raise CliError(f"empty command line: {line!r}")
            apps[index] = words
        elif match := _RANKS.fullmatch(line):
            forms.add("range" if match["range"] else "count")
            if len(forms) > 1:
                raise CliError("only one rank specification format per ERF")
            rs: dict[str, str] = {}
            for item in match["rs"].split(";"):
                if not item.strip():
                    continue
                if ":" not in item:
                    raise CliError(f"resource set item without ':': {item!r}")
                key, value = item.split(":", 1)
                rs[key.strip()] = value.strip()
            if ("host" not in rs and "hosts" not in rs) or "cpu" not in rs:
                raise CliError(f"a resource set needs host and cpu: {line!r}")
            who: int | str = match["range"] if match["range"] else int(match["count"])
            if isinstance(who, int) and who <= 0:
                raise CliError(f"a rank count must be positive: {line!r}")
            ranks.append((who, rs, None if match["app"] is None else int(match["app"])))
        elif (match := _SYMBOL.fullmatch(line)) and match["key"] in _SYMBOLS:
            preamble[match["key"]] = match["value"]
        else:
            raise CliError(f"not an ERF line: {line!r}")
    for _who, _rs, app in ranks:
        if app is not None and app not in apps:
            raise CliError(f"rank line names app {app}, which is not listed")
    return Erf(preamble, apps, tuple(ranks))


def read_jsrun(
    argv: Sequence[str], launcher_env: Mapping[str, str], files: Mapping[str, str]
) -> list[AppView]:
    """What each program of a ``jsrun`` step gets (an ERF is read from ``files``)."""
    table = JSRUN
    opts: list[tuple[str, tuple[str, ...]]] = []
    i = 1
    while i < len(argv) and argv[i].startswith("-"):
        word = argv[i]
        spelling, attached = word, None
        if word.startswith("--") and "=" in word:
            spelling, attached = word.split("=", 1)
        opt = table[spelling]
        if attached is not None:
            opts.append((opt.name, (attached,)))
            i += 1
        else:
            if i + 1 >= len(argv):
                raise CliError(f"{spelling} needs a value")
            opts.append((opt.name, (argv[i + 1],)))
            i += 2
    names = [n for n, _ in opts]
    for name in set(names):
        if name != "env" and names.count(name) > 1:
            raise CliError(f"--{name} given twice")
    value = {n: v[0] for n, v in opts}
    env = dict(launcher_env)  # jsrun propagates the caller's environment
    for name, (text,) in opts:
        if name == "env" and "=" in text:
            key, val = text.split("=", 1)
            env[key] = val
    used = {"nrs", "tasks_per_rs", "cpu_per_rs", "gpu_per_rs", "rs_per_host", "chdir", "env"}
    used |= {"erf_input", "stdio_stdout", "stdio_stderr"}
    extra = tuple((n, v) for n, v in opts if n not in used)
    if "erf_input" in value:
        if i != len(argv):
            raise CliError("a program after --erf_input whose ERF lists the apps")
        resource_flags = {"nrs", "tasks_per_rs", "cpu_per_rs", "gpu_per_rs", "rs_per_host", "np"}
        if resource_flags & set(value):
            raise CliError("resource set flags together with --erf_input")
        erf = parse_erf(files[value["erf_input"]])
        views = []
        for index, words in erf.apps.items():
            counts = [who for who, _rs, app in erf.ranks if app == index]
            if len(counts) != 1 or not isinstance(counts[0], int):
                raise CliError(f"app {index} needs exactly one rank-count line")
            program, args, assigned = unwrap_env(words[0], words[1:])
            views.append(
                AppView(
                    program=program,
                    args=args,
                    ntasks=counts[0],
                    wdir=value.get("chdir"),
                    env={**env, **assigned},
                    extra=extra if index == 0 else (),
                )
            )
        return views
    if i >= len(argv):
        raise CliError("a program is missing")
    per_rs = _int(value.get("tasks_per_rs"))
    nrs = _int(value.get("nrs"))
    one_task_per_rs = per_rs == 1
    return [
        AppView(
            program=argv[i],
            args=tuple(argv[i + 1 :]),
            # with one task per resource set, resource-set counts are task counts
            ntasks=nrs if one_task_per_rs else None,
            tasks_per_node=_int(value.get("rs_per_host")) if one_task_per_rs else None,
            cpus_per_task=_int(value.get("cpu_per_rs")) if one_task_per_rs else None,
            gpus_per_task=_int(value.get("gpu_per_rs")) if one_task_per_rs else None,
            wdir=value.get("chdir"),
            env=env,
            extra=extra,
        )
    ]
