"""ALPS ``aprun`` (Cray XC/XE systems under PBS or Moab/Torque). Pure.

Sources: HPE, "Run Applications Using the aprun Command" (CLE 7.0,
https://www.hpe.com/psnow/resources/ebooks/a00114008en_us_v2/Run_Applications_Using_the_aprun_Command.html)
and the Cray CLE ``aprun(1)`` synopsis (docs.cray.com S-2496). The usage is
``aprun [global_options] [command_options] cmd1 [: [command_options] cmd2 [: ...]]``:

* ``-e NAME=value`` ("Must use format VARNAME=value") and ``-m`` are *global* options: variables
  every MPMD program shares go in ``-e``, a program's own ones before it as ``env NAME=value``;
  ``-n``, ``-N``, ``-d``, ``-L``, ``-E`` are command options and are rendered per program;
* aprun has **no walltime**: ``-t sec`` limits each PE's *CPU* time, so ``RunSettings.time`` is
  :class:`~smartsim.errors.Unsupported` here (the batch job's walltime bounds the run); a CPU-time
  limit can still be given as ``run_args={"t": seconds}``;
* ``-L``/``-E`` take ALPS node ids (NIDs: ``12``, ``40-47``), not host names;
* ALPS "forwards the user's login node environment to the assigned compute nodes" and starts
  the PEs in aprun's working directory, so ``Command.env``/``Command.cwd`` carry both as well;
* ``run_args``: a key of one or two letters is a single-dash option (``-n``, ``-cc``, ``-ss``,
  ``-sl``: aprun's own spelling), a longer key ``--key value`` (``--cpu-binding``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from smartsim.commands._options import render_value
from smartsim.commands._types import Command
from smartsim.commands.launch import LaunchContext, RunCommandSpec
from smartsim.commands.mpi import (
    CWD,
    check_launcher,
    colon_command,
    common_env,
    count_words,
    env_prefix,
    host_items,
    launcher_rules,
    option_words,
    tasks_words,
)
from smartsim.errors import BadValue, Unsupported, ValidationError
from smartsim.values import OptionValue, RunSettings

__all__ = ["APRUN", "aprun_command", "aprun_option_tokens", "check_aprun"]

#: aprun(1) -N (PEs per node) and -d (the depth: cores per PE).
_COUNTS: Final = (("tasks_per_node", "-N"), ("cpus_per_task", "-d"))
_NID_RANGE: Final = re.compile(r"\d+(?:-\d+)?")

_RULES: Final = launcher_rules(
    "ALPS aprun",
    unsupported=("gpus_per_task", "mem", "alloc", "mpi", "het_group", "flavour"),
    reserved={
        "n": ("ntasks", "nodes"),
        "N": ("tasks_per_node",),
        "d": ("cpus_per_task",),
        "L": ("hostlist",),
        "E": ("excluded_hosts",),
        "wdir": CWD,
    },
    aliases={
        "pes": "n",
        "pes-per-node": "N",
        "cpus-per-pe": "d",
        "node-list": "L",
        "exclude-node-list": "E",
    },
    global_env=True,
    # aprun(1) options with an argument (besides the reserved ones)
    valued=option_words(
        "D debug e environment-override m memory-per-pe a cc cpu-binding cp F j l "
        "node-list-file r S sl sn t cpu-time-limit p R"
    ),
    flags=option_words(
        "b bypass-app-transfer B batch-args C reconnect q quiet T sync-output ss "
        "strict-memory-containment"
    ),
)


def check_aprun(rs: RunSettings) -> list[ValidationError]:
    """What ``aprun`` cannot express in ``rs``.

    >>> check_aprun(RunSettings(exe="a.out", time=600))[0].tool
    "ALPS aprun (no walltime option; -t limits each PE's CPU seconds)"
    """
    errors: list[ValidationError] = []
    for i, part in enumerate(rs.parts):
        where = "run_settings" if i == 0 else f"run_settings.mpmd[{i - 1}]"
        if part.time is not None:
            errors.append(
                Unsupported(
                    f"{where}.time",
                    part.time,
                    "ALPS aprun (no walltime option; -t limits each PE's CPU seconds)",
                )
            )
        for field in ("hostlist", "excluded_hosts"):
            for nid in host_items(getattr(part, field)):
                if "[" not in nid and not _NID_RANGE.fullmatch(nid):
                    errors.append(
                        BadValue(
                            f"{where}.{field}",
                            nid,
                            "ALPS node ids such as 12 or 40-47 (aprun -L/-E take NIDs)",
                        )
                    )
    return errors + check_launcher(rs, _RULES)


def aprun_option_tokens(options: Mapping[str, OptionValue]) -> tuple[str, ...]:
    """``run_args`` in aprun's spelling.

    >>> aprun_option_tokens({"cc": "depth", "ss": None, "j": 2, "cpu-binding": "none"})
    ('-cc', 'depth', '-ss', '-j', '2', '--cpu-binding', 'none')
    """
    out: list[str] = []
    for key, value in options.items():
        if value is False:
            continue
        out.append(f"-{key}" if len(key) <= 2 else f"--{key}")
        if value is not None and value is not True:
            out.append(render_value(value))
    return tuple(out)


def aprun_command(rs: RunSettings, ctx: LaunchContext) -> Command:
    """The ``aprun`` command for checked settings.

    >>> rs = RunSettings(exe="./a.out", args=("arg1", "arg2"), ntasks=384, run_command="aprun")
    >>> aprun_command(rs, LaunchContext(cwd="/w", name="m")).argv
    ('aprun', '-n', '384', './a.out', 'arg1', 'arg2')
    >>> rs = RunSettings(exe="./a", ntasks=4, tasks_per_node=2, env={"A": "1"}, run_command="aprun")
    >>> aprun_command(rs.with_mpmd(RunSettings(exe="./b", ntasks=8, cpus_per_task=2,
    ...                                        env={"A": "1"})),
    ...               LaunchContext(cwd="/w", name="m")).argv  # doctest: +NORMALIZE_WHITESPACE
    ('aprun', '-e', 'A=1', '-n', '4', '-N', '2', './a', ':', '-n', '8', '-d', '2', './b')
    """
    parts = rs.parts
    glob = common_env(parts)
    argv: list[str] = [rs.run_command or "aprun"]
    for key, value in glob.items():
        argv += ["-e", f"{key}={value}"]

    def words(i: int, part: RunSettings) -> list[str]:
        # "-d depth: the number of CPU cores required for each PE and its threads".
        own = tasks_words("-n", part) + count_words(part, _COUNTS)
        if part.hostlist:
            own += ["-L", ",".join(host_items(part.hostlist))]
        if part.excluded_hosts:
            own += ["-E", ",".join(host_items(part.excluded_hosts))]
        own += aprun_option_tokens(part.run_args)
        return [*own, *env_prefix(part, parts), part.exe, *part.args]

    return colon_command(argv, parts, words, ctx, env=glob)


#: ``aprun``: ALPS application launch.
APRUN: Final = RunCommandSpec(tool="ALPS aprun", check=check_aprun, build=aprun_command)
