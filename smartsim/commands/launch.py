"""The run-command registry: which builder turns ``RunSettings`` into a launch ``Command``.

``RunSettings.run_command`` names a launcher (``None`` runs the program directly). Each entry has
a ``check`` (the settings that tool cannot express, as typed errors, never a silent drop) and a
pure ``build``. Entries live in their family's module and are imported on first use, so importing
the builders costs only what is used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Final, final

import attrs

from smartsim._checked import once
from smartsim.commands._types import Command
from smartsim.errors import UnknownLauncher, Unsupported, ValidationError
from smartsim.values import RunSettings


@final
@attrs.frozen(kw_only=True, slots=False)
class LaunchContext:
    """What a launch needs from the plan besides the settings: where it runs and writes, and
    the allocation it belongs to (resolved by the shell, e.g. from ``SLURM_JOB_ID``)."""

    cwd: str
    name: str
    stdout: str | None = None
    stderr: str | None = None
    alloc: str | None = None


@final
@attrs.frozen(kw_only=True, slots=False)
class RunCommandSpec:
    """One launcher family: its name for messages, its checks and its builder."""

    tool: str
    check: Callable[[RunSettings], list[ValidationError]]
    build: Callable[[RunSettings, LaunchContext], Command]


def _direct_check(rs: RunSettings) -> list[ValidationError]:
    errors: list[ValidationError] = []
    for name in ("nodes", "ntasks", "tasks_per_node", "cpus_per_task", "gpus_per_task"):
        value = getattr(rs, name)
        if value is not None and not (name in ("nodes", "ntasks") and value == 1):
            errors.append(
                Unsupported(f"run_settings.{name}", value, "a direct launch (no run_command)")
            )
    for name in ("mem", "alloc", "flavour", "mpi"):
        if getattr(rs, name) is not None:
            errors.append(
                Unsupported(
                    f"run_settings.{name}", getattr(rs, name), "a direct launch (no run_command)"
                )
            )
    if rs.hostlist or rs.excluded_hosts or rs.het_group:
        errors.append(
            Unsupported("run_settings.hostlist", rs.hostlist, "a direct launch (no run_command)")
        )
    if rs.run_args:
        errors.append(
            Unsupported(
                "run_settings.run_args", dict(rs.run_args), "a direct launch (no run_command)"
            )
        )
    if rs.mpmd:
        errors.append(
            Unsupported("run_settings.mpmd", len(rs.mpmd), "a direct launch (no run_command)")
        )
    return errors


def _direct_build(rs: RunSettings, ctx: LaunchContext) -> Command:
    return Command(
        argv=(rs.exe, *rs.args), env=rs.env, cwd=ctx.cwd, stdout=ctx.stdout, stderr=ctx.stderr
    )


#: Run the program itself, no launcher. ``time`` is enforced by the effects layer.
DIRECT: Final = RunCommandSpec(tool="a direct launch", check=_direct_check, build=_direct_build)

#: run_command name -> "module:attribute" of its RunCommandSpec.
_REGISTRY: Final[dict[str, str]] = {
    "srun": "smartsim.commands.slurm:SRUN",
    "mpirun": "smartsim.commands.mpi:OPENMPI",
    "orterun": "smartsim.commands.mpi:OPENMPI",
    "mpiexec": "smartsim.commands.mpi:MPIEXEC",
    "mpiexec.openmpi": "smartsim.commands.mpi:OPENMPI",
    "mpiexec.mpich": "smartsim.commands.mpi:MPICH",
    "mpiexec.hydra": "smartsim.commands.mpi:MPICH",
    "aprun": "smartsim.commands.aprun:APRUN",
    "jsrun": "smartsim.commands.jsrun:JSRUN",
    "flux": "smartsim.commands.flux:FLUX_RUN",
}

_NAMES: list[str | None] = [None]
_NAMES.extend(_REGISTRY)
#: Every run_command smartsim knows (``None``: run the program directly).
RUN_COMMANDS: Final = tuple(_NAMES)


#: The parallel launcher a workload manager's launcher uses for settings that ask for tasks,
#: nodes, hosts or run arguments and name no ``run_command`` (docs/launchers/*.md): every Slurm
#: model is an ``srun`` step. A batch scheduler's record names its own
#: (``Scheduler.parallel_launcher``: ``flux`` under Flux, ``jsrun`` under LSF with CSM,
#: ``lsf.scheduler(csm=True)``). Other launchers have none.
OWN_PARALLEL_LAUNCHER: Final[dict[str, str]] = {"slurm": "srun"}
#: SmartSim's default ``run_command``: the launcher's own parallel launcher where the settings
#: need one, else a direct launch.
AUTO: Final = "auto"


def needs_parallel_launcher(rs: RunSettings) -> bool:
    """Whether ``rs`` asks for something only a parallel launcher can give (tasks, nodes,
    hosts, run arguments, MPMD parts...): what a direct launch cannot express.

    >>> needs_parallel_launcher(RunSettings(exe="a.out")), needs_parallel_launcher(
    ...     RunSettings(exe="a.out", ntasks=4))
    (False, True)
    """
    return bool(rs.mpmd) or bool(_direct_check(attrs.evolve(rs, alloc=None)))


def resolve_run_command(rs: RunSettings, parallel: str | None) -> RunSettings:
    """``rs`` with ``run_command="auto"`` (or ``None`` where a parallel launcher is needed)
    replaced by ``parallel``, the launcher's own parallel launcher; ``"auto"`` for a serial
    program is a direct launch. MPMD parts follow the first program. Pure.

    >>> resolve_run_command(RunSettings(exe="a.out", ntasks=4), "srun").run_command
    'srun'
    >>> print(resolve_run_command(RunSettings(exe="a.out", run_command="auto"), "srun").run_command)
    None
    """
    wanted = rs.run_command
    if wanted not in (None, AUTO) and not any(p.run_command == AUTO for p in rs.mpmd):
        return rs
    if wanted in (None, AUTO):
        need = needs_parallel_launcher(rs)
        if need and parallel is not None:
            wanted = parallel
        elif wanted == AUTO:
            # No launcher of its own: a direct launch, whose check then names what it cannot do.
            wanted = None
    parts = tuple(
        attrs.evolve(p, run_command=wanted) if p.run_command in (None, AUTO) else p for p in rs.mpmd
    )
    if wanted == rs.run_command and parts == rs.mpmd:
        return rs
    return attrs.evolve(rs, run_command=wanted, mpmd=parts)


def run_command_spec(run_command: str | None) -> RunCommandSpec | UnknownLauncher:
    """The spec for ``run_command``, or an :class:`UnknownLauncher` error listing the known ones."""
    if run_command is None:
        return DIRECT
    target = _REGISTRY.get(run_command)
    if target is None:
        return UnknownLauncher("run_command", run_command, tuple(_REGISTRY))
    module, attr = target.split(":")
    spec = getattr(importlib.import_module(module), attr)
    assert isinstance(spec, RunCommandSpec)
    return spec


@once
def check_run_command(rs: RunSettings) -> list[ValidationError]:
    """What ``rs.run_command`` cannot express (every MPMD part must use the same launcher)."""
    spec = run_command_spec(rs.run_command)
    if isinstance(spec, UnknownLauncher):
        return [spec]
    return spec.check(rs)


def launch_command(rs: RunSettings, ctx: LaunchContext) -> Command:
    """The launch ``Command`` for validated settings (see :func:`check_run_command`)."""
    spec = run_command_spec(rs.run_command)
    assert isinstance(spec, RunCommandSpec), spec
    return spec.build(rs, ctx)
