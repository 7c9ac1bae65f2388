"""The local planner: an entity and the world in, the exact processes to start out. Pure.

Each model (each ensemble member) becomes one :class:`~smartsim.commands.plan.Launch`: its
run settings go through the run-command registry (:mod:`smartsim.commands.launch`), so
``run_command="mpirun"``, ``"mpiexec.mpich"``, ``"srun"`` ... work on one machine as well as
``None`` (the program itself). The process runs in the model's directory with stdout and stderr
in ``<dir>/<name>.out`` / ``.err`` (the history scheme of
:func:`~smartsim.commands.plan.output_paths`).
A direct launch's ``time`` becomes :attr:`Launch.time_limit`, which the local effects enforce.
Batch settings cannot be honoured without a scheduler, so they are an error, never ignored.
"""

from __future__ import annotations

from typing import Final

import attrs
from returns.result import Result

from smartsim.commands.launch import LaunchContext, check_run_command, launch_command
from smartsim.commands.plan import (
    Launch,
    World,
    member_problems,
    model_launch,
    output_paths,
    plan_each_member,
)
from smartsim.errors import BadValue, Invalid, ValidationError
from smartsim.validate import run_settings_problems
from smartsim.values import Duration, Ensemble, Model, RunSettings

#: How errors name this launcher.
TOOL: Final = "the local launcher"


def _prefixed(prefix: str, errors: list[ValidationError]) -> list[ValidationError]:
    return [attrs.evolve(e, field=f"{prefix}.{e.field}") for e in errors]


def _settings_problems(rs: RunSettings, prefix: str) -> list[ValidationError]:
    errors = run_settings_problems(rs, f"{prefix}.run_settings")
    try:
        errors += _prefixed(prefix, check_run_command(rs))
    except ImportError as exc:  # a family whose builders are not installed yet
        errors.append(BadValue(f"{prefix}.run_settings.run_command", rs.run_command, str(exc)))
    return errors


def model_problems(model: Model) -> list[ValidationError]:
    """Everything about ``model`` the local launcher cannot run, each field named after it."""
    return member_problems(model, tool=TOOL, settings=_settings_problems)


def plan_model(model: Model, world: World) -> Launch:
    """The launch of a valid model (see :func:`model_problems`).

    >>> from smartsim.values import RunSettings
    >>> m = Model(name="m", run_settings=RunSettings(exe="echo", args=("{x}",), env={"A": "1"}),
    ...           path="/e/m")
    >>> launch = plan_model(m, World(exp_path="/e", run_index=1))
    >>> launch.command.argv, dict(launch.command.env), launch.stdout
    (('echo', '{x}'), {'A': '1'}, '/e/m/m.1.out')
    """
    rs = model.run_settings
    out, err = output_paths(model.path, model.name, world.run_index)
    ctx = LaunchContext(
        cwd=model.path, name=model.name, stdout=out, stderr=err, alloc=rs.alloc or world.alloc
    )
    built = launch_command(rs, ctx)
    cwd = built.cwd or model.path
    command = attrs.evolve(built, stdout=out, stderr=err, cwd=cwd)
    limit = rs.time if rs.run_command is None and isinstance(rs.time, Duration) else None
    return model_launch(model, command, stdout=out, stderr=err, cwd=cwd, time_limit=limit)


def plan_local(entity: Model | Ensemble, world: World) -> Result[tuple[Launch, ...], Invalid]:
    """Every process that runs ``entity`` locally, or every reason it cannot run.

    >>> from smartsim.values import RunSettings, BatchSettings
    >>> bad = Model(name="m", run_settings=RunSettings(exe="x"), path="/e/m",
    ...             batch_settings=BatchSettings(nodes=1))
    >>> problems = plan_local(bad, World(exp_path="/e")).failure().errors
    >>> [(type(e).__name__, e.field) for e in problems]
    [('Unsupported', 'm.batch_settings')]
    """
    return plan_each_member(entity, world, tool=TOOL, problems=model_problems, plan=plan_model)
