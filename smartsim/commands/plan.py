"""Plans: exactly what ``Experiment.start`` will execute, as values (the dry run).

A planner is a pure function ``(entity, world) -> Result[tuple[Launch, ...], Invalid]``. Whatever
the plan needs from the world (the caller's allocation id, the next free output index, ...) is read
once by the shell and passed in as a :class:`World`; the builders stay pure, and ``start`` executes
the very plan ``preview`` shows, so the two cannot drift.

Output history (one scheme for every launcher, see :func:`output_paths`): the first run of an
entity writes ``<dir>/<name>.out`` and ``<dir>/<name>.err``; a later run writes
``<dir>/<name>.<k>.out`` / ``.err`` where ``k`` is :attr:`World.run_index`, one more than the
largest index already present (:func:`next_run_index`; the largest over every entity started
together, so the files of one ``start`` share one index, and past any run the experiment has
launched, whose batch job may not have written its files yet). Nothing is renamed and no
earlier file is ever opened for writing again, so every run's output stays complete.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Callable, Iterable, Mapping
from typing import final

import attrs
from returns.result import Failure, Result, Success

from smartsim._frozen import FrozenMap, frozen_map
from smartsim.commands._types import Command, Submission, heredoc
from smartsim.errors import BadValue, EmptyValue, Invalid, Unsupported, ValidationError
from smartsim.validate import check_name, check_params
from smartsim.values import Duration, Ensemble, Model, RunSettings


def _texts(value: object, what: str) -> tuple[str, ...]:
    """``value`` as a tuple of text, refusing a lone string (it is a sequence of ``what``)."""
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise TypeError(f"expected a sequence of {what}, got {value!r}")
    return tuple(str(v) for v in value)


def _ids(value: object) -> tuple[str, ...]:
    return _texts(value, "job ids")


def _dirs(value: object) -> tuple[str, ...]:
    return _texts(value, "directory paths")


@final
@attrs.frozen(kw_only=True, slots=False)
class World:
    """Facts about the outside read once by the shell (never by builders)."""

    exp_path: str
    #: An enclosing allocation, e.g. ``SLURM_JOB_ID`` of the calling process.
    alloc: str | None = None
    #: Index for this run's output files (the history scheme: earlier output is never truncated).
    run_index: int = 0
    #: Tool paths named by the user (``{"qsub": "/opt/pbs/bin/qsub"}``).
    tools: FrozenMap[str, str] = attrs.field(factory=FrozenMap, converter=frozen_map)
    #: Job ids (``Handle.job_id``) the planned batch jobs must wait for: a scheduler that has
    #: dependencies renders them (Slurm: ``sbatch --dependency=afterok:<ids>``).
    after: tuple[str, ...] = attrs.field(default=(), converter=_ids)


@final
@attrs.frozen(kw_only=True, slots=False)
class Launch:
    """One unit the effects layer starts and tracks: a process (``command``) or a batch job
    (``submission``). ``members`` names the models it runs (a batch ensemble runs several)."""

    name: str
    kind: str
    members: tuple[str, ...]
    cwd: str
    stdout: str
    stderr: str
    command: Command | None = None
    submission: Submission | None = None
    #: Files the effects layer writes before starting (path -> text), e.g. an ERF or hostfile.
    files: FrozenMap[str, str] = attrs.field(factory=FrozenMap, converter=frozen_map)
    #: Directories the effects layer creates (``mkdir -p``) before anything else.
    mkdirs: tuple[str, ...] = attrs.field(default=(), converter=_dirs)
    #: What the plan knows about the job that the effects layer records in its handle (key ->
    #: value), e.g. the Kubernetes namespace and experiment label a poll selects by.
    facts: FrozenMap[str, str] = attrs.field(factory=FrozenMap, converter=frozen_map)
    #: The scheduler's names of the members' own steps, in ``members`` order, when a batch job
    #: runs them as steps the effects layer can follow one by one (Slurm: ``srun --job-name``).
    steps: tuple[str, ...] = ()
    #: A run-time limit the effects layer enforces itself (a direct local launch): when it is
    #: reached the process group gets SIGTERM, then SIGKILL after the grace period, and the
    #: launch ends FAILED. Schedulers enforce their own limits from the argv or the script.
    time_limit: Duration | None = None

    def shell(self) -> str:
        """Shell text a person can paste to do the same thing.

        >>> out, err = "/e/m/m.out", "/e/m/m.err"
        >>> cmd = Command(argv=("echo", "a b"), cwd="/e/m", stdout=out, stderr=err)
        >>> print(Launch(name="m", kind="Model", members=("m",), cwd="/e/m", stdout=out,
        ...              stderr=err, command=cmd, mkdirs=("/e/m",)).shell())
        # Model m
        mkdir -p /e/m
        cd /e/m && echo 'a b' >/e/m/m.out 2>/e/m/m.err
        """
        lines = [f"# {self.kind} {self.name}"]
        if self.mkdirs:
            lines.append("mkdir -p " + " ".join(shlex.quote(d) for d in self.mkdirs))
        if self.time_limit is not None:
            lines.append(
                f"# time limit {self.time_limit.hms()}: smartsim sends SIGTERM to the process "
                "group, then SIGKILL after its grace period"
            )
        for path, text in self.files.items():
            lines.append(f"cat > {shlex.quote(path)} {heredoc(text)}")
        if self.submission is not None:
            lines.append(self.submission.shell())
        if self.command is not None:
            # The planner copies the command's files into ``files``; write them once.
            command = self.command
            if command.files and all(self.files.get(p) == t for p, t in command.files.items()):
                command = attrs.evolve(command, files=FrozenMap())
            lines.append(command.shell())
        return "\n".join(lines)


@final
@attrs.frozen(slots=False)
class Plan:
    """Every launch, in order. ``str()`` is shell text a person can paste."""

    launches: tuple[Launch, ...]

    def __str__(self) -> str:
        return "\n\n".join(launch.shell() for launch in self.launches)


def model_launch(
    model: Model,
    command: Command,
    *,
    stdout: str,
    stderr: str,
    cwd: str | None = None,
    files: Mapping[str, str] | None = None,
    mkdirs: tuple[str, ...] | None = None,
    time_limit: Duration | None = None,
) -> Launch:
    """The launch of one model on its own: one member, named after it, run in its directory
    (``cwd``), which is made first (``mkdirs``), writing the files its ``command`` needs.

    >>> m = Model(name="m", run_settings=RunSettings(exe="echo"), path="/e/m")
    >>> launch = model_launch(m, Command(argv=("echo",)), stdout="/e/m/m.out", stderr="/e/m/m.err")
    >>> launch.members, launch.cwd, launch.mkdirs
    (('m',), '/e/m', ('/e/m',))
    """
    return Launch(
        name=model.name,
        kind="Model",
        members=(model.name,),
        cwd=model.path if cwd is None else cwd,
        stdout=stdout,
        stderr=stderr,
        command=command,
        files=command.files if files is None else files,
        mkdirs=(model.path,) if mkdirs is None else mkdirs,
        time_limit=time_limit,
    )


def output_paths(directory: str, name: str, run_index: int) -> tuple[str, str]:
    """The stdout and stderr files of ``name`` for run ``run_index`` (the history scheme).

    >>> output_paths("/exp/sim_0", "sim_0", 0)
    ('/exp/sim_0/sim_0.out', '/exp/sim_0/sim_0.err')
    >>> output_paths("/exp/sim_0", "sim_0", 2)
    ('/exp/sim_0/sim_0.2.out', '/exp/sim_0/sim_0.2.err')
    """
    stem = name if run_index == 0 else f"{name}.{run_index}"
    return (posixpath.join(directory, f"{stem}.out"), posixpath.join(directory, f"{stem}.err"))


def next_run_index(name: str, filenames: Iterable[str]) -> int:
    """The first history index whose files are all new, given a directory's file names:
    0 when ``name`` has no output yet, else one more than the largest index present.

    >>> next_run_index("m", ["params.json"]), next_run_index("m", ["m.err"])
    (0, 1)
    >>> next_run_index("m", ["m.out", "m.3.out", "m.1.err", "mm.7.out"])
    4
    """
    # String tests, not a regex per name: a run plans this for every member (10^4 of them).
    stem = name + "."
    best = -1
    for filename in filenames:
        if not filename.startswith(stem) or not filename.endswith((".out", ".err")):
            continue
        if len(filename) == len(stem) + 3:  # m.out, m.err
            best = max(best, 0)
            continue
        digits = filename[len(stem) : -4]  # m.3.out -> "3"
        if digits.isdigit() and digits.isascii():
            best = max(best, int(digits))
    return best + 1


def member_problems(
    model: Model,
    *,
    tool: str,
    settings: Callable[[RunSettings, str], list[ValidationError]],
    absolute_path: bool = False,
) -> list[ValidationError]:
    """Everything about ``model`` a launcher that starts it itself (local, Dragon) cannot run,
    each field named after it: its name, params and path (an absolute one if
    ``absolute_path``), ``settings(model.run_settings, model.name)``, and batch settings, which
    ``tool`` has no use for."""
    prefix = model.name
    errors = check_name("name", model.name)
    errors += check_params(f"{prefix}.params", model.params)
    if not model.path:
        errors.append(EmptyValue(f"{prefix}.path", model.path))
    elif "\x00" in model.path or (absolute_path and not posixpath.isabs(model.path)):
        expected = "an absolute path without NUL" if absolute_path else "a path without NUL"
        errors.append(BadValue(f"{prefix}.path", model.path, expected))
    errors += settings(model.run_settings, prefix)
    if model.batch_settings is not None:
        errors.append(Unsupported(f"{prefix}.batch_settings", model.batch_settings, tool))
    return errors


def plan_each_member(
    entity: Model | Ensemble,
    world: World,
    *,
    tool: str,
    problems: Callable[[Model], list[ValidationError]],
    plan: Callable[[Model, World], Launch],
) -> Result[tuple[Launch, ...], Invalid]:
    """The planner of a launcher that starts every member on its own (local, Dragon): every
    reason ``entity`` cannot run (an ensemble's name, its batch settings, which ``tool`` cannot
    honour, no members at all, the ``problems`` of each member), else each member's ``plan``.
    """
    errors: list[ValidationError] = []
    if isinstance(entity, Ensemble):
        errors += check_name("name", entity.name)
        if entity.batch_settings is not None:
            errors.append(Unsupported(f"{entity.name}.batch_settings", entity.batch_settings, tool))
        if not entity.members:
            errors.append(EmptyValue(f"{entity.name}.members", ()))
        models = entity.members
    else:
        models = (entity,)
    for model in models:
        errors += problems(model)
    if errors:
        return Failure(Invalid(tuple(errors)))
    return Success(tuple(plan(m, world) for m in models))
