"""LSF/CSM ``jsrun`` (IBM Job Step Manager; Summit, Sierra, Lassen). Pure.

Sources: IBM Spectrum LSF 10.1 Job Step Manager, ``jsrun`` and "Explicit Resource File (ERF)
format" (https://www.ibm.com/support/knowledgecenter/en/SSWRJV_10.1.0/jsm/erf_format.html);
LLNL "Slurm srun versus IBM CSM jsrun" (https://hpc.llnl.gov/banks-jobs/running-jobs/slurm-srun-versus-ibm-csm-jsrun).

Rules:

* jsrun places ranks in *resource sets*. One task per resource set expresses the run settings
  exactly: ``--nrs <tasks> --tasks_per_rs 1 --cpu_per_rs <cpus_per_task>
  --gpu_per_rs <gpus_per_task> --rs_per_host <tasks_per_node>``;
* ``-E NAME=value`` sets a variable for the whole step (also kept in ``Command.env``); in an
  MPMD step a program's own variables start its app line as ``env NAME=value``;
  ``--chdir`` is the launch directory; ``--stdio_stdout``/``--stdio_stderr`` name the output
  files, which jsrun writes itself — so ``Command.stdout``/``stderr`` stay ``None`` and the effects
  layer must not open those files too;
* **MPMD** goes through an ERF read with ``--erf_input``. :func:`jsrun_erf` lists *every*
  program as ``app <i>: <command line>`` (the first one included: the ERF replaces the program
  on the jsrun command line) and one rank line per program, ``<n>: { host: *; cpu: * } : app <i>``
  (the "process per resource set" form, ranks numbered by ``launch_distribution: packed`` in
  program order). The text travels in ``Command.files`` (path -> text); the effects layer writes
  it before starting jsrun, and a plan shows it. An ERF app line is a plain command line, so a
  word that is empty or holds whitespace cannot be expressed; the rank lines carry no per-rank
  CPU/GPU placement (that needs the node layout), so those settings are refused in MPMD mode;
* jsrun has no time limit: ``time`` is :class:`~smartsim.errors.Unsupported` (the ``bsub -W``
  walltime bounds the step). Host lists are chosen by LSF, so ``hostlist`` is refused too.
"""

from __future__ import annotations

import posixpath
from typing import Final

from smartsim.commands._options import options_tokens
from smartsim.commands._types import Command
from smartsim.commands.launch import LaunchContext, RunCommandSpec
from smartsim.commands.mpi import (
    CWD,
    check_launcher,
    common_env,
    count_words,
    env_prefix,
    launcher_rules,
    option_words,
    tasks_words,
)
from smartsim.errors import BadValue, Unsupported, ValidationError
from smartsim.values import RunSettings

__all__ = ["JSRUN", "check_jsrun", "erf_path", "jsrun_command", "jsrun_erf"]

_PER_TASK: Final = ("ntasks", "nodes", "tasks_per_node", "cpus_per_task", "gpus_per_task")
#: One task per resource set: its CPUs and GPUs are the task's, and a host holds
#: ``tasks_per_node`` of them (jsrun(1) --cpu_per_rs, --gpu_per_rs, --rs_per_host).
_PER_RS: Final = (
    ("cpus_per_task", "--cpu_per_rs"), ("gpus_per_task", "--gpu_per_rs"),
    ("tasks_per_node", "--rs_per_host"),
)  # fmt: skip

_RULES: Final = launcher_rules(
    "LSF jsrun",
    unsupported=(
        "mem",
        "time",
        "hostlist",
        "excluded_hosts",
        "alloc",
        "mpi",
        "het_group",
        "flavour",
    ),
    # jsrun(1): -n/--nrs, -a/--tasks_per_rs, -c/--cpu_per_rs, -g/--gpu_per_rs,
    # -r/--rs_per_host, -p/--np, -h/--chdir, -o/--stdio_stdout, -k/--stdio_stderr, -U/--erf_input.
    reserved={
        "nrs": ("ntasks", "nodes"),
        "np": ("ntasks", "nodes"),
        "tasks_per_rs": _PER_TASK,
        "cpu_per_rs": ("cpus_per_task",),
        "gpu_per_rs": ("gpus_per_task",),
        "rs_per_host": ("tasks_per_node",),
        "chdir": CWD,
        "stdio_stdout": CWD,
        "stdio_stderr": CWD,
        "erf_input": CWD,
    },
    aliases={
        "n": "nrs",
        "p": "np",
        "a": "tasks_per_rs",
        "c": "cpu_per_rs",
        "g": "gpu_per_rs",
        "r": "rs_per_host",
        "h": "chdir",
        "o": "stdio_stdout",
        "k": "stdio_stderr",
        "U": "erf_input",
    },
    # -E applies to the whole job step.
    global_env=True,
    # jsrun has no ':' syntax; MPMD is the ERF.
    colon_mpmd=False,
    # jsrun(1) options with an argument (besides the reserved ones)
    valued=option_words(
        "K rs_per_socket m memory_per_rs b bind d launch_distribution l latency_priority "
        "E env F env_eval D env_no_propagate e stdio_mode i stdio_input erf_output M "
        "smpiargs X exit_on_error"
    ),
)

_ERF_TOOL: Final = "jsrun ERF"


def check_jsrun(rs: RunSettings) -> list[ValidationError]:
    """What ``jsrun`` cannot express in ``rs``.

    >>> print(check_jsrun(RunSettings(exe="a", ntasks=2).with_mpmd(RunSettings(exe="b")))[0])
    ... # doctest: +ELLIPSIS
    run_settings.mpmd[0].ntasks=None is invalid: expected a task count (each ERF rank line ...
    """
    errors: list[ValidationError] = []
    if rs.mpmd:
        for i, part in enumerate(rs.parts):
            where = "run_settings" if i == 0 else f"run_settings.mpmd[{i - 1}]"
            if part.ntasks is None:
                errors.append(
                    BadValue(
                        f"{where}.ntasks",
                        None,
                        "a task count (each ERF rank line names how many ranks run its program)",
                    )
                )
            for name in _PER_TASK[1:]:
                value = getattr(part, name)
                if value is not None:
                    errors.append(
                        Unsupported(
                            f"{where}.{name}",
                            value,
                            f"{_ERF_TOOL} (MPMD rank lines carry no per-rank placement)",
                        )
                    )
            if i > 0 and part.run_args:
                errors.append(
                    Unsupported(
                        f"{where}.run_args",
                        dict(part.run_args),
                        f"{_ERF_TOOL} (jsrun options apply to the whole step)",
                    )
                )
            words = [(f"{where}.exe", part.exe)]
            words += [(f"{where}.args[{j}]", arg) for j, arg in enumerate(part.args)]
            shared = common_env(rs.parts)
            words += [(f"{where}.env[{k!r}]", v) for k, v in part.env.items() if k not in shared]
            for field, word in words:
                if (word == "" and ".env[" not in field) or any(c.isspace() for c in word):
                    errors.append(
                        Unsupported(
                            field,
                            word,
                            f"{_ERF_TOOL} (an app line is split into words on whitespace)",
                        )
                    )
    return errors + check_launcher(rs, _RULES)


def erf_path(ctx: LaunchContext) -> str:
    """Where the ERF of an MPMD launch is written: ``<cwd>/<name>.erf``.

    >>> erf_path(LaunchContext(cwd="/w/exp/m", name="m"))
    '/w/exp/m/m.erf'
    """
    return posixpath.join(ctx.cwd, f"{ctx.name}.erf")


def jsrun_erf(rs: RunSettings) -> str:
    """The Explicit Resource File for an MPMD launch: every program, then its rank count.

    >>> a = RunSettings(exe="./a.out", args=("in",), ntasks=2, run_command="jsrun")
    >>> print(jsrun_erf(a.with_mpmd(RunSettings(exe="./b.out", ntasks=4))), end="")
    launch_distribution: packed
    app 0: ./a.out in
    app 1: ./b.out
    <BLANKLINE>
    2: { host: *; cpu: * } : app 0
    4: { host: *; cpu: * } : app 1
    """
    parts = rs.parts
    # ERF format: a preamble of symbols, then "app <#>: COMMAND LINE" ("The number must start
    # with 0 and increment for each application specified"), then one line per rank set:
    # "RANK_SPECIFICATION : RESOURCE_SET_SPECIFICATION [: APPLICATION SPECIFICATION]" where a
    # rank specification may be a number of ranks placed by the launch distribution.
    lines = ["launch_distribution: packed"]
    lines += [
        f"app {i}: {' '.join((*env_prefix(p, parts), p.exe, *p.args))}" for i, p in enumerate(parts)
    ]
    lines.append("")
    lines += [f"{p.ntasks}: {{ host: *; cpu: * }} : app {i}" for i, p in enumerate(parts)]
    return "\n".join(lines) + "\n"


def jsrun_command(rs: RunSettings, ctx: LaunchContext) -> Command:
    """The ``jsrun`` command for checked settings (MPMD: with its ERF in ``Command.files``).

    >>> rs = RunSettings(exe="./a.out", ntasks=12, tasks_per_node=6, cpus_per_task=7,
    ...                  gpus_per_task=1, env={"OMP_NUM_THREADS": "7"}, run_command="jsrun")
    >>> jsrun_command(rs, LaunchContext(cwd="/w", name="m", stdout="/w/m.out")).argv
    ... # doctest: +NORMALIZE_WHITESPACE
    ('jsrun', '--chdir', '/w', '--stdio_stdout', '/w/m.out', '-E', 'OMP_NUM_THREADS=7',
     '--nrs', '12', '--tasks_per_rs', '1', '--cpu_per_rs', '7', '--gpu_per_rs', '1',
     '--rs_per_host', '6', './a.out')
    """
    argv: list[str] = [rs.run_command or "jsrun", "--chdir", ctx.cwd]
    if ctx.stdout is not None:
        argv += ["--stdio_stdout", ctx.stdout]
    if ctx.stderr is not None:
        argv += ["--stdio_stderr", ctx.stderr]
    glob = common_env(rs.parts)
    for key, value in glob.items():
        # jsrun(1): "-E, --env var=value  Exports the environment variable var with value".
        argv += ["-E", f"{key}={value}"]
    if rs.mpmd:
        argv += options_tokens(rs.run_args)
        path = erf_path(ctx)
        argv += ["--erf_input", path]
        return Command(argv=argv, env=glob, cwd=ctx.cwd, files={path: jsrun_erf(rs)})
    argv += tasks_words("--nrs", rs)
    if any(getattr(rs, name) is not None for name in _PER_TASK):
        argv += ["--tasks_per_rs", "1"]
    argv += count_words(rs, _PER_RS)
    argv += options_tokens(rs.run_args)
    argv += [rs.exe, *rs.args]
    return Command(argv=argv, env=rs.env, cwd=ctx.cwd)


#: ``jsrun``: LSF Job Step Manager launch (MPMD through an ERF).
JSRUN: Final = RunCommandSpec(tool="LSF jsrun", check=check_jsrun, build=jsrun_command)
