"""The imperative shell: validate -> plan (pure) -> effects, and the one place that raises.

:class:`Experiment` creates frozen entities, keeps its own mutable registry of what it created
and started, and drives a launcher (see :mod:`smartsim.effects.launcher`). Everything it needs
from the world for a plan (the allocation id in the environment, the next free output index) is
read once per call and carried in a :class:`~smartsim.commands.plan.World`, so :meth:`preview`
returns exactly what :meth:`start` then executes. Problems are raised as
:class:`~smartsim.errors.SmartSimError` carrying the typed value (an ``Invalid`` with every
problem, or an ``EffectError``); a program that cannot be started is not raised but ends its own
entity FAILED (its error is in :meth:`Experiment.errors`), so its siblings still run.

Every launch, status change and stop is appended to ``<exp_path>/journal.jsonl`` (see
:mod:`smartsim.effects.journal`); :meth:`Experiment.reconnect` reads it back in another process
to show what ran and stop what is still running.
"""

from __future__ import annotations

import collections
import contextlib
import importlib
import importlib.util
import logging
import os
import shlex
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, NoReturn, TextIO, TypeVar, final

import attrs
from returns.io import IOFailure, IOResult
from returns.result import Failure, Result
from returns.unsafe import unsafe_perform_io

from smartsim.commands._types import Command
from smartsim.commands.generate import DEFAULT_TAG, FileOp, MakeDir, generation_ops
from smartsim.commands.launch import (
    OWN_PARALLEL_LAUNCHER,
    check_run_command,
    resolve_run_command,
)
from smartsim.commands.plan import Launch, Plan, World, output_paths
from smartsim.commands.scheduler import Scheduler
from smartsim.effects import files, journal
from smartsim.effects.launcher import Handle, Launcher, Notifies, NotifiesMembers, Waits
from smartsim.ensemble import Strategy
from smartsim.ensemble import ensemble as make_ensemble
from smartsim.ensemble import model as make_model
from smartsim.errors import (
    AfterNotCompleted,
    BadValue,
    ConflictingOptions,
    EffectError,
    EmptyValue,
    Invalid,
    NotStarted,
    SmartSimError,
    StillRunning,
    UnknownLauncher,
    Unsupported,
    ValidationError,
)
from smartsim.status import JobState, Status
from smartsim.validate import (
    batch_problems,
    check_name,
    generator_files_problems,
    run_settings_problems,
)
from smartsim.values import BatchSettings, Ensemble, GeneratorFiles, Model, ParamValue, RunSettings

Entity = Model | Ensemble
E = TypeVar("E", Model, Ensemble)
_log = logging.getLogger("smartsim")
T = TypeVar("T")
#: A file argument: one path, or a sequence of them.
FileArg = str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None

#: Launcher name -> "module:attribute", imported on use: an effects launcher class (constructed
#: with no arguments), or a batch scheduler's pure :class:`~smartsim.commands.scheduler.Scheduler`
#: record, which :class:`~smartsim.effects.scheduler.SchedulerLauncher` drives.
LAUNCHERS: Final[dict[str, str]] = {
    "local": "smartsim.effects.local:LocalLauncher",
    "slurm": "smartsim.effects.slurm:SlurmLauncher",
    "pbs": "smartsim.commands.pbs:SCHEDULER",
    "lsf": "smartsim.commands.lsf:SCHEDULER",
    "sge": "smartsim.commands.sge:SCHEDULER",
    "flux": "smartsim.commands.flux:SCHEDULER",
    "kubernetes": "smartsim.commands.kubernetes:SCHEDULER",
    "dragon": "smartsim.effects.dragon:DragonLauncher",
}
#: Where each launcher finds an enclosing allocation in the caller's environment.
ALLOCATION_VARIABLES: Final[dict[str, str]] = {
    "local": "SLURM_JOB_ID",
    "slurm": "SLURM_JOB_ID",
    "pbs": "PBS_JOBID",
    "lsf": "LSB_JOBID",
    "sge": "JOB_ID",
    "flux": "FLUX_JOB_ID",
}
#: How long one wait on a launcher lasts while blocking (Ctrl-C interrupts it at once).
_WAIT_SLICE: Final = 60.0
#: Seconds a released allocation is given to leave Slurm's queue (COMPLETING -> gone).
_RELEASE_WAIT: Final = 30.0
#: Poll interval of a blocking start for a launcher that cannot wait by itself.
_BLOCK_POLL: Final = 1.0
#: How often a max_parallel queue looks at a launcher that does not report exits by itself.
_QUEUE_POLL: Final = 0.05
#: How long :meth:`Experiment.stop` waits for what it stopped to be final.
STOP_TIMEOUT: Final = 60.0
#: Poll interval while waiting for stopped entities of a launcher that cannot wait by itself.
_STOP_POLL: Final = 0.2


def available_launchers() -> tuple[str, ...]:
    """The launcher names whose effects module is installed."""
    out = []
    for name, target in LAUNCHERS.items():
        module = target.split(":")[0]
        try:
            found = importlib.util.find_spec(module) is not None
        except ImportError:
            found = False
        if found:
            out.append(name)
    return tuple(out)


def _load_launcher(name: str) -> Launcher:
    target = LAUNCHERS.get(name)
    if target is None:
        raise SmartSimError(UnknownLauncher("launcher", name, tuple(LAUNCHERS)))
    module_name, attr = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        module = None
    cls = getattr(module, attr, None)
    if cls is None:
        expected = (
            f"an available launcher ({', '.join(available_launchers())}); {name!r} is known "
            f"but {target} is not in this installation"
        )
        raise SmartSimError(BadValue("launcher", name, expected))
    if isinstance(cls, Scheduler):
        from smartsim.effects.scheduler import SchedulerLauncher

        return SchedulerLauncher(cls)
    launcher: Launcher = cls()
    return launcher


def _refuse(error: ValidationError) -> NoReturn:
    raise SmartSimError(Invalid((error,)))


def _resolve_flavour(rs: RunSettings) -> RunSettings:
    """``flavour="auto"`` becomes the detected MPI flavour (probed once per run command, in the
    effects layer); the builders only ever see an explicit flavour."""
    if rs.flavour != "auto" and not any(p.flavour == "auto" for p in rs.mpmd):
        return rs
    from smartsim.effects.mpi_detect import resolve_flavour

    return _io_ok(resolve_flavour(rs))


def _raise_invalid(errors: Sequence[ValidationError]) -> None:
    if errors:
        raise SmartSimError(Invalid(tuple(errors)))


def _ok(result: Result[T, Invalid]) -> T:
    if isinstance(result, Failure):
        raise SmartSimError(result.failure())
    return result.unwrap()


def _io_ok(result: IOResult[T, EffectError]) -> T:
    if isinstance(result, IOFailure):
        raise SmartSimError(unsafe_perform_io(result.failure()))
    return unsafe_perform_io(result.unwrap())


def _smartsim_run_keywords(
    args: Sequence[str], fields: dict[str, Any]
) -> tuple[Sequence[str], dict[str, Any]]:
    """SmartSim's ``exe_args``/``env_vars`` as ``args``/``env``; ``container`` refused."""
    from smartsim import compat

    fields = dict(fields)
    compat.refuse_keywords("create_run_settings", fields)
    if "exe_args" in fields:
        exe_args = fields.pop("exe_args")
        if isinstance(exe_args, str):
            compat.refuse(
                "create_run_settings",
                "exe_args",
                "args=[...], one item per argument (SmartSim split a string on spaces)",
            )
        if args:
            _refuse(ConflictingOptions("exe_args", exe_args, "args"))
        args = () if exe_args is None else exe_args
    if "env_vars" in fields:
        env_vars = fields.pop("env_vars")
        if "env" in fields:
            _refuse(ConflictingOptions("env_vars", env_vars, "env"))
        fields["env"] = env_vars or {}
    return args, fields


def _file_paths(field: str, value: FileArg) -> tuple[str, ...]:
    """One path or a sequence of paths as absolute paths (a string is one path, never its
    characters); a wrong type is a ``TypeError`` naming the argument."""
    if value is None:
        return ()
    items: list[object]
    if isinstance(value, (str, os.PathLike)):
        items = [value]
    elif isinstance(value, (bytes, bytearray)) or not isinstance(value, Iterable):
        raise TypeError(f"{field} must be a path or a list of paths, got {value!r}")
    else:
        items = list(value)
    out: list[str] = []
    errors: list[ValidationError] = []
    for i, item in enumerate(items):
        path = os.fspath(item) if isinstance(item, (str, os.PathLike)) else item
        if not isinstance(path, str):
            raise TypeError(f"{field}[{i}] must be a str or os.PathLike path, got {item!r}")
        if not path or "\x00" in path:
            errors.append(
                EmptyValue(f"{field}[{i}]", path)
                if not path
                else BadValue(f"{field}[{i}]", path, "a path without NUL bytes")
            )
            continue
        absolute = os.path.abspath(path)
        # POSIX lets "//" be a root of its own; on Linux it is "/": spell it so.
        out.append("/" + absolute.lstrip("/") if absolute.startswith("//") else absolute)
    _raise_invalid(errors)
    return tuple(out)


def _check_cap(max_parallel: object) -> None:
    if max_parallel is not None and (
        isinstance(max_parallel, bool) or not isinstance(max_parallel, int) or max_parallel < 1
    ):
        _refuse(BadValue("max_parallel", max_parallel, "an int >= 1 (or None: the default)"))


def _members(entity: Entity) -> tuple[Model, ...]:
    return entity.members if isinstance(entity, Ensemble) else (entity,)


@final
@attrs.frozen
class AllocationInfo:
    """An allocation of an experiment as :meth:`Experiment.allocations` sees it now."""

    name: str
    job_id: str
    released: bool
    #: ``alive``, ``gone`` or ``unknown``: whether the process that obtained it still runs.
    owner: str
    #: Why ``owner`` is what it is, in words.
    detail: str
    #: Slurm's state of it (``RUNNING``...), ``None`` when Slurm no longer lists it (or it was
    #: released, so nobody asked).
    slurm_state: str | None


@attrs.define
class _Part:
    """One member of a batch launch, followed through its own step (mutable, under the lock)."""

    state: JobState
    started: float | None = None
    ended: float | None = None
    start_seen: bool = False


def _stamp(part: _Part | _Run, state: JobState, now: float, adopted: bool) -> None:
    """Apply a new state's times to ``part``: the scheduler's own start/end when it gives them,
    else the moment the change was seen -- except for another process's run (``adopted``),
    whose unseen end is not known and is never the time it was looked at."""
    if state.start is not None:
        part.started, part.start_seen = state.start, True
    elif state.status is Status.RUNNING and not part.start_seen and not adopted:
        part.started, part.start_seen = now, True
    if state.status.is_final:
        part.ended = state.end if state.end is not None else (None if adopted else now)


@attrs.define
class _Run:
    """The experiment's record of one launch (mutable; guarded by the experiment's lock)."""

    launch: Launch
    kind: str
    handle: Handle | None
    state: JobState
    run_index: int
    #: When it started running: the scheduler's own start when it reports one, else when a
    #: status first said RUNNING (at most one poll interval late), else when it was launched.
    started: float | None = None
    #: When it ended: the scheduler's own end, else when the final status was seen; ``None``
    #: when that cannot be known (a run adopted from a journal that did not record its end).
    ended: float | None = None
    error: EffectError | None = None
    #: Read back from a journal, not started by this process.
    adopted: bool = False
    #: Waiting for a slot under ``max_parallel``; not started yet (no handle, nothing journaled).
    queued: bool = False
    #: Whether ``started`` is a start that was seen (not the launch time).
    start_seen: bool = False
    #: The members of a batch launch followed one by one (their own steps), by name.
    parts: dict[str, _Part] = attrs.Factory(dict)

    @property
    def job_id(self) -> str:
        """The id the scheduler knows this run by (a Slurm step ``296.0``), else the launch's."""
        if self.state.job_id:
            return self.state.job_id
        return "" if self.handle is None else self.handle.job_id

    @property
    def done(self) -> bool:
        status = self.state.status
        return status.is_final or (self.adopted and status is Status.UNKNOWN)


@final
class Experiment:
    """A named set of entities run by one launcher, with its files under ``exp_path``.

    ``launcher`` is a name (``"local"``, ``"slurm"``, ``"pbs"``, ``"lsf"``, ``"sge"``,
    ``"flux"``, ``"kubernetes"``, or ``"auto"``: the scheduler whose job environment or client
    is present, see :mod:`smartsim.effects.detect`), checked here, or a launcher object implementing
    :class:`~smartsim.effects.launcher.Launcher`. Nothing is created on disk until
    :meth:`generate` or :meth:`start`.
    """

    def __init__(
        self,
        name: str,
        exp_path: str | os.PathLike[str] | None = None,
        launcher: str | Launcher = "local",
    ) -> None:
        if not isinstance(name, str):
            raise TypeError(f"name must be a str, got {name!r}")
        _raise_invalid(check_name("name", name))
        self.name = name
        self.exp_path = os.path.abspath(os.fspath(exp_path) if exp_path is not None else name)
        if launcher == "auto":
            from smartsim.effects.detect import detect_launcher

            launcher = detect_launcher()
        self._launcher = _load_launcher(launcher) if isinstance(launcher, str) else launcher
        self.launcher = self._launcher.name
        self._lock = threading.RLock()
        self._entities: dict[str, Entity] = {}
        self._versions: dict[str, list[Entity]] = {}
        self._owner: dict[str, str] = {}  # every entity and member name -> its entity's name
        self._runs: dict[str, _Run] = {}  # launch name -> latest run, in launch order
        self._member_run: dict[str, str] = {}  # model name -> launch name
        self._by_handle: dict[Handle, _Run] = {}
        self._early: dict[Handle, list[JobState]] = {}
        #: Allocations obtained for this experiment (by this process or, after
        #: :meth:`reconnect`, by the processes its journal names), by job id.
        self._allocations: dict[str, journal.Allocation] = {}
        self._journal = journal.Journal(journal.journal_path(self.exp_path))
        self._journal_opened = False
        #: The first error writing the journal, if any (the work goes on without it).
        self.journal_error: EffectError | None = None
        self._session = f"{os.getpid()}-{os.urandom(4).hex()}"
        #: Launches waiting under a ``max_parallel`` cap, and the threads feeding them.
        self._slots = threading.Condition(self._lock)
        self._queues: list[_Queue] = []
        self._feeders: list[threading.Thread] = []
        self._callbacks: list[StatusCallback] = []
        self._early_parts: dict[Handle, list[tuple[str, JobState]]] = {}
        if isinstance(self._launcher, Notifies):
            self._launcher.watch(self._on_state)
        if isinstance(self._launcher, NotifiesMembers):
            self._launcher.watch_members(self._on_member)

    def __repr__(self) -> str:
        return f"Experiment({self.name!r}, exp_path={self.exp_path!r}, launcher={self.launcher!r})"

    if not TYPE_CHECKING:  # SmartSim's names (smartsim.compat); invisible to the type checker

        def __getattr__(self, name: str) -> Any:
            from smartsim import compat

            compat.lookup("Experiment", name)

    # ------------------------------------------------------------------ settings

    def create_run_settings(
        self,
        exe: str,
        args: Sequence[str] = (),
        run_command: str | None = None,
        **fields: Any,
    ) -> RunSettings:
        """Validated :class:`RunSettings`; an option ``run_command`` cannot express (or an
        unknown ``run_command``) is an error here, not at launch. SmartSim's ``exe_args`` (a
        list) and ``env_vars`` mean ``args`` and ``env``; ``run_command="auto"`` is this
        launcher's own parallel launcher where the settings need one."""
        if "exe_args" in fields or "env_vars" in fields or "container" in fields:
            args, fields = _smartsim_run_keywords(args, fields)
        rs = RunSettings(exe=exe, args=args, run_command=run_command, **fields)
        rs = _resolve_flavour(self._own_run_command(rs))
        scheduler = getattr(self._launcher, "scheduler", None)
        if isinstance(scheduler, Scheduler) and scheduler.settings_problems is not None:
            # a scheduler that reads the settings itself (Kubernetes: the image in run_args)
            _raise_invalid(run_settings_problems(rs) + scheduler.settings_problems(rs))
        else:
            _raise_invalid(self._settings_problems(rs, self.launcher))
        return rs

    def _own_run_command(self, rs: RunSettings) -> RunSettings:
        """``run_command="auto"``, or none named for settings that need a parallel launcher:
        this launcher's own (``srun`` under Slurm, ``flux`` under Flux, ``jsrun`` under LSF
        with CSM); a serial program keeps its direct launch."""
        scheduler = getattr(self._launcher, "scheduler", None)
        if isinstance(scheduler, Scheduler):  # a batch scheduler's record names its own
            return resolve_run_command(rs, scheduler.parallel_launcher)
        return resolve_run_command(rs, OWN_PARALLEL_LAUNCHER.get(self.launcher))

    def create_batch_settings(self, **fields: Any) -> BatchSettings:
        """Validated :class:`BatchSettings` (the local launcher cannot run batch jobs).
        SmartSim's empty-string defaults (``time=""``, ``account=""``, ``queue=""``) mean
        unset; a ``queue`` is called ``partition`` here."""
        for key in ("time", "account", "queue"):
            if fields.get(key) == "":
                del fields[key]
        if "queue" in fields:
            from smartsim import compat

            compat.refuse_keywords("create_batch_settings", fields)
        bs = BatchSettings(**fields)
        errors = batch_problems(bs)
        if self.launcher == "local":
            errors.append(Unsupported("batch_settings", bs, "the local launcher"))
        _raise_invalid(errors)
        return bs

    @staticmethod
    def _settings_problems(rs: RunSettings, launcher: str = "local") -> list[ValidationError]:
        if launcher == "dragon":  # Dragon places the processes itself: its planner's rules
            from smartsim.commands.dragon import settings_problems

            return settings_problems(rs)
        errors = run_settings_problems(rs)
        if not errors:
            # Under Slurm an allocation id is the launcher's business (srun --jobid, or the
            # allocation's environment for mpirun/mpiexec), not the run command's.
            checked = attrs.evolve(rs, alloc=None) if launcher == "slurm" else rs
            try:
                errors += check_run_command(checked)
            except ImportError as exc:
                errors.append(BadValue("run_settings.run_command", rs.run_command, str(exc)))
        return errors

    # ------------------------------------------------------------------ entities

    def create_model(
        self,
        name: str,
        run_settings: RunSettings,
        params: Mapping[str, ParamValue] | None = None,
        path: str | os.PathLike[str] | None = None,
        batch_settings: BatchSettings | None = None,
        *,
        enable_key_prefixing: bool = False,
    ) -> Model:
        """A model in ``path`` (default ``<exp_path>/<name>``); ``{param}`` placeholders in its
        args and env are filled in from ``params`` (see :mod:`smartsim.ensemble`).
        ``enable_key_prefixing`` (SmartSim's database feature) can only be false."""
        if enable_key_prefixing:
            from smartsim import compat

            compat.refuse_keywords("create_model", {"enable_key_prefixing": True})
        if not isinstance(run_settings, RunSettings):
            raise TypeError(f"run_settings must be a RunSettings, got {run_settings!r}")
        run_settings = _resolve_flavour(self._own_run_command(run_settings))
        where = self._path(name, path)
        model = _ok(make_model(name, run_settings, where, params, batch_settings))
        self._check(model)
        self._register(model)
        return model

    def create_ensemble(
        self,
        name: str,
        run_settings: RunSettings | None = None,
        params: Mapping[str, object] | None = None,
        *,
        perm_strategy: Strategy = "all_perm",
        replicas: int | None = None,
        batch_settings: BatchSettings | None = None,
        n_models: int | None = None,
        seed: int | None = None,
        path: str | os.PathLike[str] | None = None,
    ) -> Ensemble:
        """An ensemble whose members ``<name>_<i>`` live in ``<path>/<name>_<i>``.

        ``perm_strategy`` is ``"all_perm"``, ``"step"``, ``"random"`` (``n_models`` members,
        ``seed`` for reproducibility; drawn at random when not given) or a callable;
        ``replicas=N`` repeats each parameter set N times. See :mod:`smartsim.ensemble`.
        """
        if isinstance(run_settings, Mapping) and params is None:
            from smartsim import compat

            compat.refuse(
                "create_ensemble",
                "params",
                "create_ensemble(name, run_settings, params) or keywords (SmartSim's second "
                "positional argument is params, ours is run_settings)",
            )
        if not isinstance(run_settings, RunSettings):
            _refuse(BadValue("run_settings", run_settings, "a RunSettings"))
        if isinstance(run_settings, RunSettings):
            run_settings = _resolve_flavour(self._own_run_command(run_settings))
        if perm_strategy == "random" and seed is None:
            seed = int.from_bytes(os.urandom(4), "big")
        where = self._path(name, path)
        ens = _ok(
            make_ensemble(
                name,
                run_settings,
                where,
                params,
                perm_strategy,
                n_models=n_models,
                seed=seed,
                replicas=replicas,
                batch_settings=batch_settings,
            )
        )
        self._check(ens)
        self._register(ens)
        return ens

    def attach_generator_files(
        self,
        entity: E,
        to_copy: FileArg = (),
        to_symlink: FileArg = (),
        to_configure: FileArg = (),
    ) -> E:
        """A new version of ``entity`` (every member of an ensemble) with these files added;
        :meth:`generate` places them in each directory, ``;name;`` tags in configured files
        replaced by the member's parameters. The experiment uses the new version from now on,
        even where the old value is passed.

        Each argument is one path (``str`` or :class:`os.PathLike`) or a list of them; relative
        paths are taken from the current directory. Refused with
        :class:`~smartsim.errors.UnsafePath`: ``/``, the experiment directory or an ancestor,
        the entity's own directory, an ancestor of it or anything inside it.
        """
        current = self._resolve(entity)
        added = {
            "to_copy": _file_paths("to_copy", to_copy),
            "to_symlink": _file_paths("to_symlink", to_symlink),
            "to_configure": _file_paths("to_configure", to_configure),
        }

        def add(files_: GeneratorFiles) -> GeneratorFiles:
            return GeneratorFiles(
                to_copy=files_.to_copy + added["to_copy"],
                to_symlink=files_.to_symlink + added["to_symlink"],
                to_configure=files_.to_configure + added["to_configure"],
            )

        new: Entity
        if isinstance(current, Model):
            new = attrs.evolve(current, files=add(current.files))
        else:
            members = tuple(attrs.evolve(m, files=add(m.files)) for m in current.members)
            new = attrs.evolve(current, members=members)
        self._check_files(new)
        with self._lock:
            self._entities[new.name] = new
            self._versions[new.name].append(new)
        assert isinstance(new, type(entity))
        return new

    def _check_files(self, entity: Entity) -> None:
        errors: list[ValidationError] = []
        for member in _members(entity):
            prefix = f"{member.name}." if isinstance(entity, Ensemble) else ""
            errors += generator_files_problems(member, self.exp_path, prefix)
        _raise_invalid(errors)

    def generate(
        self,
        *entities: Entity,
        overwrite: bool = False,
        tag: str = DEFAULT_TAG,
        verbose: bool = False,
    ) -> None:
        """Create the experiment directory and each entity's directories with their attached
        files, configured files and ``params.json`` (``overwrite``: remove them first).
        ``verbose`` (SmartSim's): log each operation at INFO instead of DEBUG."""
        if not tag or "\x00" in tag:
            _refuse(EmptyValue("tag", tag))
        ops: list[FileOp] = [MakeDir(self.exp_path)]
        resolved = self._resolve_all(entities)
        for entity in resolved:
            self._check_files(entity)
        for entity in resolved:
            ops.extend(generation_ops(entity, overwrite=overwrite, tag=tag))
        level = logging.INFO if verbose else logging.DEBUG
        if _log.isEnabledFor(level):
            for op in ops:
                _log.log(level, "generate: %s", op)
        _io_ok(files.apply(ops))

    # ------------------------------------------------------------------ planning

    def preview(
        self,
        *entities: Entity,
        after: Sequence[Entity] = (),
        max_parallel: int | None = None,
        **smartsim: Any,
    ) -> Plan:
        """Exactly what :meth:`start` would execute for ``entities`` now, as a value; ``str()``
        of it is shell text. Runs nothing and creates nothing. ``max_parallel`` as for
        :meth:`start` (under Slurm it may make a batch ensemble a capped job array). (SmartSim's
        ``verbosity_level``/``output_format``/``output_filename`` are typed errors naming
        what to write instead.)"""
        if smartsim:
            from smartsim import compat

            compat.refuse_keywords("preview", smartsim)
            raise TypeError(f"preview() got unexpected keyword arguments {sorted(smartsim)}")
        _check_cap(max_parallel)
        resolved = self._resolve_all(entities)
        return self._plan(resolved, self._after_ids(resolved, after), max_parallel)[1]

    def _after_ids(self, entities: Sequence[Entity], after: Sequence[Entity]) -> tuple[str, ...]:
        """The scheduler job ids of ``after`` (entities this experiment started), for batch
        ``entities`` that must wait for them to succeed (Slurm: ``--dependency=afterok:``).
        Where the wait cannot be expressed it is an error, never a dropped option."""
        if not after:
            return ()
        if not self._scheduler_waits(entities):
            self._after_runs(after)  # each must have been started (NotStarted names it)
            return ()  # start() waits for them itself
        ids: list[str] = []
        with self._lock:
            for entity in after:
                wanted = {entity.name, *(m.name for m in _members(entity))}
                found = [
                    run.handle.job_id
                    for run in self._runs.values()
                    if run.handle is not None
                    and run.handle.job_id
                    and (run.launch.name in wanted or wanted.intersection(run.launch.members))
                ]
                if not found:
                    raise SmartSimError(NotStarted(entity.name))
                ids += [i for i in found if i not in ids]
        return tuple(ids)

    def _scheduler_waits(self, entities: Sequence[Entity]) -> bool:
        """Whether the scheduler can hold ``entities`` until others succeed: Slurm batch jobs
        (``sbatch --dependency=afterok``). Otherwise :meth:`start` waits for them itself."""
        return self.launcher == "slurm" and all(e.batch_settings is not None for e in entities)

    def _after_runs(self, after: Sequence[Entity]) -> dict[str, list[_Run]]:
        """The latest runs of each entity of ``after`` (NotStarted if one was never started)."""
        out: dict[str, list[_Run]] = {}
        for entity in after:
            runs = [r for _, r in self._runs_of([entity]) if r is not None]
            if not runs:
                raise SmartSimError(NotStarted(entity.name))
            out[entity.name] = runs
        return out

    def _wait_after(self, after: Sequence[Entity]) -> list[str]:
        """Block until every entity of ``after`` has finished; the names of those that did not
        complete."""
        runs = self._after_runs(after)
        handles = [r.handle for rs in runs.values() for r in rs if r.handle is not None]
        self._wait_for(handles, interval=None, out=None)
        with self._lock:
            return [
                name
                for name, rs in runs.items()
                if any(r.state.status is not Status.COMPLETED for r in rs)
            ]

    def _skip(self, launch: Launch, kind: str, run_index: int, blockers: Sequence[str]) -> None:
        """Record ``launch`` as never started because ``blockers`` did not complete."""
        error = AfterNotCompleted(tuple(blockers))
        now = time.time()
        state = JobState(Status.CANCELLED, "not started", reason=error.message)
        with self._lock:
            self._enter(_Run(launch, kind, None, state, run_index, now, now, error), now)
            self._record(journal.status_record(now, self._session, launch.name, None, state))
            self._tell(launch.name, state)

    def _enter(self, run: _Run, now: float) -> None:
        """Make ``run`` its launch's current run (a relaunch keeps the name's place in the
        summary) and journal the launch (under the lock)."""
        launch = run.launch
        self._runs[launch.name] = run
        for member in launch.members:
            self._member_run[member] = launch.name
        self._record(
            journal.launch_record(
                t=now,
                session=self._session,
                launcher=self.launcher,
                launch=launch,
                handle=run.handle,
                run_index=run.run_index,
                error=run.error,
            )
        )

    def _world(self, entities: Sequence[Entity]) -> World:
        outputs: list[tuple[str, str]] = []
        for entity in entities:
            if isinstance(entity, Ensemble):
                outputs.append((entity.path, entity.name))
            outputs.extend((m.path, m.name) for m in _members(entity))
        variable = ALLOCATION_VARIABLES.get(self.launcher)
        index = _io_ok(files.run_index(outputs))
        with self._lock:  # a batch job still pending has written no output yet
            names = {name for _, name in outputs}
            for run in self._runs.values():
                if run.launch.name in names or names.intersection(run.launch.members):
                    index = max(index, run.run_index + 1)
        return World(
            exp_path=self.exp_path,
            alloc=os.environ.get(variable) if variable else None,
            run_index=index,
        )

    def _plan(
        self,
        entities: Sequence[Entity],
        after: tuple[str, ...] = (),
        max_parallel: int | None = None,
    ) -> tuple[World, Plan]:
        world = attrs.evolve(self._world(entities), after=after)
        launches: list[Launch] = []
        errors: list[ValidationError] = []
        # start()'s max_parallel caps what runs inside one launch: a Slurm job array's %CAP
        # (the launcher's `capped`), a batch scheduler's array (its plan's max_parallel)
        capped = getattr(self._launcher, "capped", None)
        scheduler = getattr(self._launcher, "scheduler", None)
        to_scheduler = max_parallel is not None and isinstance(scheduler, Scheduler)
        with capped(max_parallel) if callable(capped) else contextlib.nullcontext():
            planned_all = [
                self._launcher.plan(entity, world, max_parallel=max_parallel)  # type: ignore[call-arg]
                if to_scheduler
                else self._launcher.plan(entity, world)
                for entity in entities
            ]
        for planned in planned_all:
            if isinstance(planned, Failure):
                errors += planned.failure().errors
            else:
                launches += planned.unwrap()
        _raise_invalid(errors)
        return world, Plan(tuple(launches))

    def _check(self, entity: Entity) -> None:
        """What the launcher cannot run is an error when the entity is created."""
        world = World(exp_path=self.exp_path)
        planned = self._launcher.plan(entity, world)
        if isinstance(planned, Failure):
            raise SmartSimError(planned.failure())

    # ------------------------------------------------------------------ registry

    def _path(self, name: str, path: str | os.PathLike[str] | None) -> str:
        if path is None:
            return os.path.join(self.exp_path, name) if isinstance(name, str) else ""
        return os.path.abspath(os.fspath(path))

    def _register(self, entity: Entity) -> None:
        names = [entity.name] + [m.name for m in _members(entity) if m is not entity]
        with self._lock:
            for name in names:
                owner = self._owner.get(name)
                if owner is not None and owner != entity.name:
                    _refuse(BadValue("name", name, f"a name not used already (by {owner!r})"))
            if entity.name in self._entities and entity not in self._versions[entity.name]:
                _refuse(BadValue("name", entity.name, "a name no other entity here has"))
            for name in names:
                self._owner[name] = entity.name
            self._entities[entity.name] = entity
            self._versions.setdefault(entity.name, []).append(entity)

    def _resolve(self, entity: Entity) -> Entity:
        """The registered, latest version of ``entity``; an entity made by hand is registered."""
        if not isinstance(entity, (Model, Ensemble)):
            raise TypeError(f"expected a Model or an Ensemble, got {entity!r}")
        with self._lock:
            versions = self._versions.get(entity.name)
            if versions is not None and any(v is entity or v == entity for v in versions):
                return self._entities[entity.name]
        self._register(entity)
        return entity

    def _resolve_all(self, entities: Iterable[Entity]) -> list[Entity]:
        out: list[Entity] = []
        for entity in entities:
            resolved = self._resolve(entity)
            if all(resolved is not e for e in out):
                out.append(resolved)
        return out

    def _kind(self, entities: Sequence[Entity]) -> dict[str, str]:
        kinds: dict[str, str] = {}
        for entity in entities:
            if isinstance(entity, Ensemble):
                kinds[entity.name] = "Ensemble"
                for member in entity.members:
                    kinds[member.name] = f"Member of {entity.name}"
            else:
                kinds[entity.name] = "Model"
        return kinds

    # ------------------------------------------------------------------ journal

    def _record(self, record: Mapping[str, Any]) -> None:
        """Append to the journal. A journal that cannot be written must not stop the work; the
        first problem is kept in :attr:`journal_error` and shown by :meth:`summary`."""
        with self._lock:
            records = [record]
            if not self._journal_opened:
                self._journal_opened = True
                opening = journal.open_record(
                    t=time.time(),
                    session=self._session,
                    experiment=self.name,
                    launcher=self.launcher,
                    pid=os.getpid(),
                    host=os.uname().nodename,
                )
                records.insert(0, opening)
            for item in records:
                written = self._journal.append(item)
                if isinstance(written, IOFailure) and self.journal_error is None:
                    self.journal_error = unsafe_perform_io(written.failure())

    def _absorb(self, run: _Run, state: JobState) -> None:
        """A status seen for ``run`` (lock held): record a change, never un-finish."""
        if run.state == state or run.state.status.is_final:
            return
        now = time.time()
        run.state = state
        _stamp(run, state, now, run.adopted)
        if state.status.is_final and self._queues:
            self._slots.notify_all()  # a max_parallel slot is free
        if run.adopted and state.status is not Status.CANCELLED:
            return  # reading another process's journal changes nothing but our own stops
        job_id = None if run.handle is None else run.handle.job_id
        self._record(journal.status_record(now, self._session, run.launch.name, job_id, state))
        self._tell(run.launch.name, state)

    def _absorb_part(self, run: _Run, member: str, state: JobState) -> None:
        """A state seen for ``member`` of batch launch ``run`` (lock held)."""
        part = run.parts.get(member)
        if part is None:
            part = run.parts[member] = _Part(JobState(Status.PENDING, "launched"))
        if part.state == state or part.state.status.is_final:
            return
        now = time.time()
        part.state = state
        _stamp(part, state, now, run.adopted)
        if run.adopted and state.status is not Status.CANCELLED:
            return
        job_id = None if run.handle is None else run.handle.job_id
        self._record(
            journal.status_record(now, self._session, run.launch.name, job_id, state, member=member)
        )
        self._tell(member, state)

    def _tell(self, name: str, state: JobState) -> None:
        """Log a final state (INFO) and call the status callbacks (lock held)."""
        if state.status.is_final:
            _log.info("%s: %s%s", name, state.status, _state_detail(state))
        for callback in list(self._callbacks):
            callback(name, state)

    def on_status_change(self, callback: StatusCallback) -> None:
        """Call ``callback(name, state)`` on every status change of a launch of this
        experiment (PENDING, RUNNING, then a final state). It runs in the thread that saw the
        change, with the experiment's lock held: keep it short (it may read this experiment)."""
        if not callable(callback):
            raise TypeError(f"callback must be callable, got {callback!r}")
        with self._lock:
            self._callbacks.append(callback)

    def remove_status_callback(self, callback: StatusCallback) -> None:
        """Stop calling ``callback`` (registered with :meth:`on_status_change`)."""
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

    def _on_member(self, handle: Handle, member: str, state: JobState) -> None:
        with self._lock:
            run = self._by_handle.get(handle)
            if run is None:
                self._early_parts.setdefault(handle, []).append((member, state))
            else:
                self._absorb_part(run, member, state)

    def _on_state(self, handle: Handle, state: JobState) -> None:
        with self._lock:
            run = self._by_handle.get(handle)
            if run is None:  # told before start() returned the handle
                self._early.setdefault(handle, []).append(state)
            else:
                self._absorb(run, state)

    # ------------------------------------------------------------------ running

    def start(
        self,
        *entities: Entity,
        block: bool = True,
        kill_on_interrupt: bool = True,
        after: Sequence[Entity] = (),
        max_parallel: int | None = None,
        summary: bool = False,
        progress: bool | None = None,
    ) -> None:
        """Launch ``entities`` (the plan :meth:`preview` shows); with ``block``, return when all
        have finished. A program that cannot start fails its own entity and no other. Ctrl-C
        (during the launches or the wait) stops everything this experiment started, unless
        ``kill_on_interrupt`` is false, then re-raises ``KeyboardInterrupt``. ``after``:
        ``entities`` start only once these (already started) entities have completed. Slurm
        batch jobs are submitted at once with ``sbatch --dependency=afterok:<ids>``; under any
        other launcher (or for srun steps) this call first waits for them, and if one did not
        complete, ``entities`` are not started: they end CANCELLED, their error
        :class:`~smartsim.errors.AfterNotCompleted` (as ``smartsim run`` skips them).
        ``progress``: while ``block`` waits, keep one line on stderr up to date
        (``3/8 running, 4 done, 1 failed``); by default only when stderr is a terminal.

        ``max_parallel``: at most this many of these launches run at once; the rest wait
        (PENDING, "queued") and start as others finish. The default is the launcher's own
        (the local launcher: the number of CPUs this process may use; schedulers: no cap, they
        queue). With ``block=False`` the queue is fed by a background thread, so queued
        launches start only while this Python process lives (:meth:`poll` and :meth:`wait`
        wait for them)."""
        if summary:
            from smartsim import compat

            compat.refuse_keywords("start", {"summary": True})
        _check_cap(max_parallel)
        cap = max_parallel if max_parallel is not None else self._default_cap()
        resolved = self._resolve_all(entities)
        if not resolved:
            return
        with self._lock:
            busy = [
                name
                for e in resolved
                for name in [e.name, *(m.name for m in _members(e))]
                if (run := self._runs.get(self._member_run.get(name, name))) is not None
                and not run.done
            ]
        if busy:
            _refuse(BadValue("entities", busy[0], "an entity that is not running"))
        world, plan = self._plan(resolved, self._after_ids(resolved, after), max_parallel)
        kinds = self._kind(resolved)
        handles: list[Handle] = []
        try:
            if after and not self._scheduler_waits(resolved):
                blockers = self._wait_after(after)
                if blockers:
                    for launch in plan.launches:
                        kind = kinds.get(launch.name, launch.kind)
                        self._skip(launch, kind, world.run_index, blockers)
                    return
            if cap is not None and len(plan.launches) > cap:
                queue = self._enqueue(plan.launches, kinds, world.run_index, cap)
                try:
                    queue.feed(wait=False)  # what may start now starts before start() returns
                    if not block:
                        feeder = threading.Thread(
                            target=queue.feed, name="smartsim-max-parallel", daemon=True
                        )
                        self._feeders.append(feeder)
                        feeder.start()
                        return
                    queue.feed()
                except KeyboardInterrupt:
                    self._cancel_queued(queue.names)
                    raise
                handles = queue.handles
            else:
                for launch in plan.launches:
                    kind = kinds.get(launch.name, launch.kind)
                    handle = self._launch(launch, kind, world.run_index)
                    if handle is not None:
                        handles.append(handle)
            if block:
                stream = sys.stderr
                if progress is None:
                    progress = _is_tty(stream)
                if progress and handles:
                    with _Progress(self, handles, stream):
                        self._wait_for(handles, interval=None, out=None)
                else:
                    self._wait_for(handles, interval=None, out=None)
        except KeyboardInterrupt:
            if kill_on_interrupt:
                self._stop_all_quietly()
            raise

    # ------------------------------------------------------------------ max_parallel

    def _default_cap(self) -> int | None:
        cap = getattr(self._launcher, "max_parallel", None)
        return cap if isinstance(cap, int) and not isinstance(cap, bool) and cap >= 1 else None

    def _enqueue(
        self, launches: Sequence[Launch], kinds: Mapping[str, str], run_index: int, cap: int
    ) -> _Queue:
        """Register every launch as queued (PENDING) and return the queue that starts them."""
        reason = f"waiting for one of max_parallel={cap} slots"
        entries: list[tuple[Launch, str]] = []
        with self._lock:
            for launch in launches:
                kind = kinds.get(launch.name, launch.kind)
                state = JobState(Status.PENDING, "queued", reason=reason)
                self._runs[launch.name] = _Run(launch, kind, None, state, run_index, queued=True)
                for member in launch.members:
                    self._member_run[member] = launch.name
                entries.append((launch, kind))
            queue = _Queue(self, entries, run_index, cap)
            self._queues.append(queue)
        return queue

    def _cancel_queued(self, names: Iterable[str] | None = None) -> None:
        """Queued launches (of ``names``, or all) will never start: they end CANCELLED."""
        with self._lock:
            wanted = None if names is None else set(names)
            for queue in self._queues:
                queue.cancel(wanted)
            now = time.time()
            for name, run in self._runs.items():
                if run.queued and (wanted is None or name in wanted):
                    run.queued = False
                    run.state = JobState(
                        Status.CANCELLED, "not started", reason="stopped while queued"
                    )
                    run.started = run.ended = now
            self._slots.notify_all()

    def _join_feeders(self, deadline: float | None = None) -> bool:
        """Wait until every background queue has started (or cancelled) all its launches, or
        until ``deadline`` (monotonic); whether they all have."""
        for feeder in list(self._feeders):
            while feeder.is_alive():
                left = _WAIT_SLICE if deadline is None else deadline - time.monotonic()
                if left <= 0:
                    return False
                feeder.join(min(left, _WAIT_SLICE))  # in slices, so Ctrl-C is seen
        self._feeders = [f for f in self._feeders if f.is_alive()]
        return not self._feeders

    def wait(self, *entities: Entity, timeout: float | None = None) -> bool:
        """Block until every model of ``entities`` (everything launched, when none are given)
        has finished; True then, False if ``timeout`` seconds passed first. Ctrl-C is not
        caught here."""
        if timeout is not None and not timeout >= 0:  # NaN too
            _refuse(BadValue("timeout", timeout, "seconds >= 0, or None to wait for ever"))
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._join_feeders(deadline):
            return False  # queued launches still waiting to start
        if entities:
            runs = [r for _, r in self._runs_of(entities) if r is not None]
            missing = [n for n, r in self._runs_of(entities) if r is None]
            if missing:
                raise SmartSimError(NotStarted(missing[0]))
        else:
            with self._lock:
                runs = list(self._runs.values())
        with self._lock:  # queued launches have started by now: take their handles too
            runs = [self._runs.get(r.launch.name, r) for r in runs]
        handles = [r.handle for r in runs if r.handle is not None]
        return self._wait_for(handles, interval=None, out=None, deadline=deadline)

    def get_output(self, entity: Entity) -> Output | list[Output]:
        """The output files of the latest run of ``entity`` (a list, one per member, for an
        ensemble); a rerun writes ``name.1.out``, and this reads that run's files."""
        pairs = self._runs_of([entity])
        outs: list[Output] = []
        for name, run in pairs:
            if run is None:
                raise SmartSimError(NotStarted(name))
            member = next(m for m in _members(self._resolve(entity)) if m.name == name)
            stdout, stderr = output_paths(member.path, member.name, run.run_index)
            if run.launch.members == (name,) and run.launch.stdout:
                stdout, stderr = run.launch.stdout, run.launch.stderr or stderr
            outs.append(Output(name, stdout, stderr))
        return outs[0] if isinstance(entity, Model) else outs

    def _launch(self, launch: Launch, kind: str, run_index: int) -> Handle | None:
        if _log.isEnabledFor(logging.DEBUG):
            if launch.command is not None:
                _log.debug("%s: run %s", launch.name, shlex.join(launch.command.argv))
            if launch.submission is not None:
                _log.debug("%s: submit %s", launch.name, launch.submission.script_path)
        result = self._launcher.start(launch)
        now = time.time()
        with self._lock:
            if isinstance(result, IOFailure):
                error = unsafe_perform_io(result.failure())
                state = JobState(Status.FAILED, "not started", reason=error.message)
                run = _Run(launch, kind, None, state, run_index, now, now, error)
                handle = None
            else:
                handle = unsafe_perform_io(result.unwrap())
                error = None
                pending = JobState(Status.PENDING, "launched")
                run = _Run(launch, kind, handle, pending, run_index, now)
            self._enter(run, now)
            if error is not None:
                _log.info("%s: not started: %s", launch.name, error.message)
                self._tell(launch.name, run.state)
            else:
                job = "" if handle is None or not handle.job_id else f" as {handle.job_id}"
                _log.info("launched %s (%s)%s", launch.name, kind, job)
                self._tell(launch.name, run.state)
            if handle is not None:
                self._by_handle[handle] = run
                for member, part_state in self._early_parts.pop(handle, []):
                    self._absorb_part(run, member, part_state)
                for state in self._early.pop(handle, []):
                    self._absorb(run, state)
        return handle

    def _refresh(self, runs: Sequence[_Run]) -> None:
        """Ask the launcher about unfinished ``runs``; once this returns, every change seen is
        in the journal (the lock is held by a listener for the whole of a change)."""
        told = getattr(self._launcher, "tells_every_change", False) is True
        with self._lock:
            handles = [
                r.handle
                for r in runs
                if r.handle is not None and not r.done and (r.adopted or not told)
            ]
        if not handles:
            return  # (a launcher that tells every change of what it started has told it all)
        states = _io_ok(self._launcher.poll(handles))
        with self._lock:
            for handle, state in states.items():
                run = self._by_handle.get(handle)
                if run is not None:
                    self._absorb(run, state)

    def _wait_for(
        self,
        handles: Sequence[Handle],
        interval: float | None,
        out: TextIO | None,
        deadline: float | None = None,
    ) -> bool:
        """Block until every handle is done (True), reporting to ``out`` every ``interval``
        seconds; False once ``deadline`` (``time.monotonic()``) has passed first."""
        last_report = time.monotonic()
        while True:
            with self._lock:
                pending = [h for h in handles if not self._by_handle[h].done]
            if not pending:
                return True
            step = interval if interval is not None else _WAIT_SLICE
            if not isinstance(self._launcher, Notifies):
                step = min(step, _BLOCK_POLL)  # changes are recorded when a wait returns
            if self._callbacks and interval is None:
                step = min(step, _PROGRESS_SLICE)  # someone follows the changes as they come
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                step = min(step, left)
            if isinstance(self._launcher, Waits):
                result = self._launcher.wait(pending, step)
            else:
                time.sleep(min(step, _BLOCK_POLL) if interval is None else step)
                result = self._launcher.poll(pending)
            if isinstance(result, IOFailure):
                error = unsafe_perform_io(result.failure())
                if not error.transient:
                    raise SmartSimError(error)
            else:
                states = unsafe_perform_io(result.unwrap())
                with self._lock:
                    for handle, state in states.items():
                        self._absorb(self._by_handle[handle], state)
            now = time.monotonic()
            if out is not None and interval is not None and now - last_report >= interval * 0.99:
                last_report = now
                with self._lock:
                    lines = [
                        f"{r.launch.name}: {r.state.status}"
                        for r in self._runs.values()
                        if r.handle in handles and not r.done
                    ]
                for line in lines:
                    print(line, file=out, flush=True)

    def poll(
        self, interval: float = 10.0, verbose: bool = True, kill_on_interrupt: bool = True
    ) -> None:
        """Block until everything launched has finished, printing the status of what is still
        running every ``interval`` seconds (when ``verbose``). Ctrl-C stops what this
        experiment started unless ``kill_on_interrupt`` is false."""
        if interval <= 0:
            _refuse(BadValue("interval", interval, "seconds > 0"))
        try:
            self._join_feeders()
            with self._lock:
                handles = [r.handle for r in self._runs.values() if r.handle is not None]
            self._wait_for(handles, interval, sys.stdout if verbose else None)
        except KeyboardInterrupt:
            if kill_on_interrupt:
                self._stop_all_quietly()
            raise

    def _runs_of(self, entities: Sequence[Entity]) -> list[tuple[str, _Run | None]]:
        """(model name, its latest run) for every model of ``entities``."""
        out: list[tuple[str, _Run | None]] = []
        with self._lock:
            for entity in self._resolve_all(entities):
                for member in _members(entity):
                    launch_name = self._member_run.get(member.name)
                    out.append(
                        (member.name, None if launch_name is None else self._runs[launch_name])
                    )
        return out

    def get_status(self, *entities: Entity) -> list[Status]:
        """The status of every model of ``entities`` (ensembles give one per member; NEW when
        not started); with no arguments, of every launch of this experiment."""
        if not entities:
            with self._lock:
                runs = list(self._runs.values())
            self._refresh(runs)
            with self._lock:
                return [r.state.status for r in runs]
        pairs = self._runs_of(entities)
        self._refresh([r for _, r in pairs if r is not None])
        with self._lock:
            return [Status.NEW if r is None else _member_state(r, n).status for n, r in pairs]

    def finished(self, entity: Entity) -> bool:
        """Whether every model of ``entity`` has finished (completed, failed or cancelled)."""
        pairs = self._runs_of([entity])
        for name, run in pairs:
            if run is None:
                raise SmartSimError(NotStarted(name))
        runs = [r for _, r in pairs if r is not None]
        self._refresh(runs)
        with self._lock:
            return all(r.done for r in runs)

    def errors(self) -> dict[str, EffectError]:
        """Why each launch that could not start failed (name -> typed error)."""
        with self._lock:
            return {n: r.error for n, r in self._runs.items() if r.error is not None}

    def stop(self, *entities: Entity, timeout: float = STOP_TIMEOUT) -> dict[str, JobState]:
        """Stop ``entities`` (everything this experiment started when none are given) and
        return once each is final: its final state by launch name (CANCELLED, with the signal
        that ended it where that is known; one that had already ended is returned as it
        ended). What is still not final after ``timeout`` seconds is raised as a
        :class:`~smartsim.errors.StillRunning` naming it."""
        if entities:
            runs = [r for _, r in self._runs_of(entities) if r is not None]
        else:
            with self._lock:
                runs = list(self._runs.values())
        if self._queues:
            self._cancel_queued([r.launch.name for r in runs])
        runs = [r for i, r in enumerate(runs) if all(r is not o for o in runs[:i])]
        self._stop_runs(runs, timeout)
        with self._lock:
            return {r.launch.name: r.state for r in runs}

    def _await_final(self, runs: Sequence[_Run], timeout: float) -> None:
        """Wait until every one of ``runs`` is done, or raise :class:`StillRunning`."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                pending = [r for r in runs if r.handle is not None and not r.done]
            remaining = deadline - time.monotonic()
            if not pending:
                return
            if remaining <= 0:
                names = tuple(f"{r.launch.name} ({r.job_id or '?'})" for r in pending)
                raise SmartSimError(StillRunning(names, timeout))
            handles = [r.handle for r in pending if r.handle is not None]
            if isinstance(self._launcher, Waits):
                result = self._launcher.wait(handles, min(remaining, _BLOCK_POLL))
            else:
                time.sleep(min(remaining, _STOP_POLL))
                result = self._launcher.poll(handles)
            if isinstance(result, IOFailure):
                error = unsafe_perform_io(result.failure())
                if not error.transient:
                    raise SmartSimError(error)
                continue
            states = unsafe_perform_io(result.unwrap())
            with self._lock:
                for handle, state in states.items():
                    self._absorb(self._by_handle[handle], state)

    def _stop_runs(self, runs: Sequence[_Run], timeout: float = STOP_TIMEOUT) -> None:
        targets: list[_Run] = []
        with self._lock:
            for run in runs:
                if run.handle is not None and not run.done and run not in targets:
                    targets.append(run)
                    self._record(
                        journal.stop_record(
                            time.time(), self._session, run.launch.name, run.handle.job_id
                        )
                    )
        handles = [r.handle for r in targets if r.handle is not None]
        if handles:
            _io_ok(self._launcher.stop(handles))
            self._await_final(targets, timeout)

    def _stop_all_quietly(self) -> None:
        """After Ctrl-C: stop all this experiment started, including launches whose handle had
        not reached the registry yet; a further failure is not allowed to hide the interrupt."""
        self._cancel_queued()
        with self._lock:
            runs = list(self._runs.values())
            early = [h for h in self._early if h not in self._by_handle]
        try:
            self._stop_runs(runs)
            if early:
                self._launcher.stop(early)
        except SmartSimError:
            pass

    # ------------------------------------------------------------------ allocations

    def get_allocation(self, nodes: int | None = 1, *, name: str = "", **fields: Any) -> str:
        """Obtain a Slurm allocation for this experiment (the arguments of
        :func:`smartsim.slurm.get_slurm_allocation`); returns its id. It is journaled with this
        process as its owner, shown by :meth:`summary` and :meth:`allocations`, and released by
        :meth:`release_allocation` -- or, if this process dies first, by
        :meth:`release_abandoned` (``smartsim stop DIR``). ``name`` labels it."""
        from smartsim.effects.local import identity
        from smartsim.slurm import get_slurm_allocation

        if not isinstance(name, str) or "\n" in name:
            _refuse(BadValue("name", name, "a label on one line"))
        alloc_id = get_slurm_allocation(nodes, **fields)
        now, pid = time.time(), os.getpid()
        owner = identity(pid)
        record = journal.allocation_record(
            t=now, session=self._session, name=name, job_id=alloc_id, launcher="slurm",
            pid=pid, owner=owner,
        )  # fmt: skip
        with self._lock:
            self._allocations[alloc_id] = journal.Allocation(
                name=name, job_id=alloc_id, launcher="slurm", pid=pid, owner=owner, obtained=now
            )
            self._record(record)
        return alloc_id

    def release_allocation(self, alloc_id: str) -> None:
        """Release an allocation (``scancel``) and journal it; one that has already ended is not
        an error, an id Slurm never knew is (``UnknownJob``)."""
        from smartsim.slurm import release_slurm_allocation

        release_slurm_allocation(alloc_id)
        self._released(alloc_id)

    def _released(self, alloc_id: str) -> None:
        now = time.time()
        with self._lock:
            known = self._allocations.get(alloc_id)
            if known is not None and known.released is None:
                self._allocations[alloc_id] = attrs.evolve(known, released=now)
            self._record(journal.release_record(now, self._session, alloc_id))

    def allocations(self) -> list[AllocationInfo]:
        """Every allocation journaled for this experiment, whether it is released, whether the
        process that obtained it still runs, and Slurm's state of it now (one ``squeue`` for
        those not released)."""
        from smartsim.effects.allocations import owner_state, slurm_states

        with self._lock:
            known = list(self._allocations.values())
        held = [a.job_id for a in known if a.released is None]
        states = _io_ok(slurm_states(held)) if held else {}
        out = []
        for alloc in known:
            owner, why = owner_state(alloc)
            if alloc.pid == os.getpid() and owner == "alive":
                why = "held by this process"
            out.append(
                AllocationInfo(
                    name=alloc.name, job_id=alloc.job_id, released=alloc.released is not None,
                    owner=owner, detail=why, slurm_state=states.get(alloc.job_id),
                )
            )  # fmt: skip
        return out

    def release_abandoned(self) -> list[AllocationInfo]:
        """Release every journaled allocation whose owner is known to be gone (it died without
        releasing it); returns them, released. One whose owner runs, or cannot be checked
        (another host), is left alone -- :meth:`allocations` says so."""
        from smartsim.effects.allocations import wait_gone
        from smartsim.errors import Timeout, UnknownJob
        from smartsim.slurm import release_slurm_allocation

        done = []
        for info in self.allocations():
            if info.released or info.owner != "gone":
                continue
            try:
                release_slurm_allocation(info.job_id)
            except SmartSimError as exc:
                if not isinstance(exc.error, UnknownJob):
                    raise
                # Slurm has forgotten it (it ended long ago): nothing is held any more
            self._released(info.job_id)
            done.append(attrs.evolve(info, released=True, slurm_state=None))
        # released means gone: a cancelled job is COMPLETING until its nodes are clean
        holding = _io_ok(wait_gone([a.job_id for a in done], _RELEASE_WAIT)) if done else {}
        if holding:
            what = ", ".join(f"{j} ({s})" for j, s in holding.items())
            raise SmartSimError(Timeout(f"the release of {what}", _RELEASE_WAIT))
        return done

    def _allocation_lines(self) -> list[str]:
        with self._lock:
            if not self._allocations:
                return []
        lines = []
        for info in self.allocations():
            label = f"allocation {info.name + ' ' if info.name else ''}{info.job_id}"
            if info.released:
                lines.append(f"{label}: released")
                continue
            slurm = info.slurm_state or "no longer listed by Slurm"
            text = f"{label}: not released, {info.detail} (Slurm: {slurm})"
            if info.owner == "gone" and info.slurm_state is not None:
                text += f"; `smartsim stop {self.exp_path}` releases it"
            lines.append(text)
        return lines

    # ------------------------------------------------------------------ reporting

    def states(self) -> dict[str, JobState]:
        """The latest state of every launch, by name, in launch order."""
        with self._lock:
            return {name: run.state for name, run in self._runs.items()}

    def report(self) -> dict[str, dict[str, Any]]:
        """Every launch's facts by name, in launch order, as recorded (no new poll): status,
        the scheduler's words, return code, signal, the id the scheduler knows it by, and its
        start and end (Unix seconds; ``None`` when not known)."""
        with self._lock:
            return {
                name: {
                    "status": run.state.status.value,
                    "raw": run.state.raw,
                    "returncode": run.state.returncode,
                    "signal": run.state.signal,
                    "reason": run.state.reason,
                    "job_id": run.job_id or None,
                    "started": run.started,
                    "ended": run.ended,
                    **(
                        {
                            "members": {
                                member: {
                                    "status": part.state.status.value,
                                    "raw": part.state.raw,
                                    "returncode": part.state.returncode,
                                    "signal": part.state.signal,
                                    "reason": part.state.reason,
                                    "job_id": part.state.job_id or None,
                                    "started": part.started,
                                    "ended": part.ended,
                                }
                                for member, part in run.parts.items()
                            }
                        }
                        if run.parts
                        else {}
                    ),
                }
                for name, run in self._runs.items()
            }

    def summary(self, style: str = "plain") -> str:
        """A table of every launch: name, type, job id, status, return code, start and end.
        ``style="github"`` (SmartSim's default) gives a Markdown table instead of aligned
        columns."""
        if style not in ("plain", "github"):
            _refuse(BadValue("style", style, "'plain' or 'github'"))
        with self._lock:
            runs = list(self._runs.values())
        self._refresh(runs)
        header = ("name", "type", "job id", "status", "returncode", "started", "ended", "reason")
        rows = [header]
        with self._lock:
            for run in runs:
                state = run.state
                rows.append(
                    (
                        run.launch.name,
                        run.kind,
                        run.job_id or "-",
                        str(state.status),
                        _code(state),
                        _clock(run.started),
                        _clock(run.ended),
                        state.reason,
                    )
                )
                for member, part in run.parts.items():
                    rows.append(
                        (
                            f"  {member}",
                            f"Member of {run.launch.name}",
                            part.state.job_id or "-",
                            str(part.state.status),
                            _code(part.state),
                            _clock(part.started),
                            _clock(part.ended),
                            part.state.reason,
                        )
                    )
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        if style == "github":

            def cells(row: Sequence[str]) -> str:
                padded = (c.replace("|", "\\|").ljust(w) for c, w in zip(row, widths, strict=True))
                return "| " + " | ".join(padded) + " |"

            lines = [cells(rows[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
            lines += [cells(row) for row in rows[1:]]
        else:
            lines = [
                "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
                for row in rows
            ]
        title = f"Experiment {self.name} ({self.launcher}) in {self.exp_path}"
        lines += self._allocation_lines()
        if self.journal_error is not None:
            lines.append(f"journal not written: {self.journal_error}")
        return "\n".join([title, *lines])

    # ------------------------------------------------------------------ reconnect

    @classmethod
    def reconnect(
        cls, exp_path: str | os.PathLike[str], launcher: str | Launcher | None = None
    ) -> Experiment:
        """An experiment over the journal in ``exp_path``: what ran there and, checked again now,
        what is still running. :meth:`summary`, :meth:`get_status` and :meth:`poll` show it;
        :meth:`stop` stops what is still running (a local process only after its recorded start
        time proved it is the same process). Reading changes nothing on disk."""
        path = os.path.abspath(os.fspath(exp_path))
        replayed = _io_ok(journal.replay(path))
        name = replayed.experiment or os.path.basename(path)
        chosen = launcher if launcher is not None else (replayed.launcher or "local")
        exp = cls(name, path, chosen)
        with exp._lock:
            for entry in replayed.entries:
                command = Command(argv=entry.argv) if entry.argv else None
                launch = Launch(
                    name=entry.name,
                    kind=entry.kind or "Model",
                    members=entry.members,
                    cwd=entry.cwd or "",
                    stdout=entry.stdout or "",
                    stderr=entry.stderr or "",
                    command=command,
                )
                run = _Run(
                    launch,
                    entry.kind or "Model",
                    entry.handle,
                    entry.state,
                    entry.run_index,
                    entry.started,
                    entry.ended,
                    adopted=True,
                    start_seen=entry.start_seen,
                    parts={
                        member: _Part(p.state, p.started, p.ended, p.start_seen)
                        for member, p in entry.parts
                    },
                )
                exp._runs[entry.name] = run
                for member in entry.members:
                    exp._member_run[member] = entry.name
                if entry.handle is not None:
                    exp._by_handle[entry.handle] = run
            exp._allocations = {a.job_id: a for a in replayed.allocations}
        exp._refresh(list(exp._runs.values()))
        return exp


@final
class _Queue:
    """Launches waiting under a ``max_parallel`` cap. :meth:`feed` starts them in order, never
    more than ``cap`` of them unfinished at once; the experiment's lock guards everything here,
    and ``Experiment._absorb`` wakes the feeder when a launch finishes."""

    def __init__(
        self, exp: Experiment, entries: list[tuple[Launch, str]], run_index: int, cap: int
    ) -> None:
        self._exp = exp
        self._waiting = collections.deque(entries)
        self._run_index = run_index
        self._cap = cap
        self._live: list[Handle] = []
        self.handles: list[Handle] = []
        self.names = [launch.name for launch, _ in entries]
        self._cancelled: set[str] | None = set()  # None: all of them

    def cancel(self, names: set[str] | None) -> None:
        """Drop waiting launches (of ``names``, or all); lock held. One being started right now
        is stopped as soon as it has started."""
        if names is None:
            self._waiting.clear()
            self._cancelled = None
        else:
            self._waiting = collections.deque(e for e in self._waiting if e[0].name not in names)
            if self._cancelled is not None:
                self._cancelled |= names

    def _running(self) -> int:
        """How many of this queue's launches are unfinished (lock held); forgets finished ones."""
        by_handle = self._exp._by_handle
        self._live = [h for h in self._live if not by_handle[h].done]
        return len(self._live)

    def feed(self, *, wait: bool = True) -> None:
        """Start waiting launches as slots free up, until none waits; ``wait=False``: only
        those that can start now."""
        exp = self._exp
        notified = isinstance(exp._launcher, Notifies)
        try:
            while True:
                with exp._lock:
                    while self._waiting and self._running() >= self._cap:
                        if not wait:
                            return
                        if notified:
                            exp._slots.wait(_WAIT_SLICE)
                        else:  # nobody tells us: look now and then
                            exp._slots.wait(_QUEUE_POLL)
                            live = [exp._by_handle[h] for h in self._live]
                            exp._lock.release()
                            try:
                                exp._refresh(live)
                            finally:
                                exp._lock.acquire()
                    if not self._waiting:
                        return
                    launch, kind = self._waiting.popleft()
                    run = exp._runs.get(launch.name)
                    if run is None or not run.queued:
                        continue  # cancelled meanwhile
                    run.queued = False
                handle = exp._launch(launch, kind, self._run_index)
                if handle is not None:
                    with exp._lock:
                        self._live.append(handle)
                        self.handles.append(handle)
                        cancelled = self._cancelled is None or launch.name in self._cancelled
                        run = exp._by_handle[handle]
                    if cancelled:  # stopped while it was being started
                        exp._stop_runs([run], STOP_TIMEOUT)
        finally:
            with exp._lock:
                if self in exp._queues and not self._waiting:
                    exp._queues.remove(self)


#: A status callback: ``callback(launch name, state)``.
StatusCallback = Callable[[str, JobState], None]
#: How long one wait lasts while someone follows status changes.
_PROGRESS_SLICE: Final = 0.5


def _state_detail(state: JobState) -> str:
    if state.returncode is not None:
        return f" (exit {state.returncode})"
    if state.reason:
        return f" ({state.reason})"
    return ""


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@final
@attrs.frozen
class Output:
    """The output files of one run of a model."""

    name: str
    stdout_path: str
    stderr_path: str

    def stdout(self) -> str:
        """What the run wrote to stdout so far ("" when the file does not exist yet)."""
        return _read_text(self.stdout_path)

    def stderr(self) -> str:
        """What the run wrote to stderr so far ("" when the file does not exist yet)."""
        return _read_text(self.stderr_path)

    def __str__(self) -> str:
        return self.stdout()


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except FileNotFoundError:
        return ""


class _Progress:
    """One status line on a terminal, rewritten on every change while ``start`` blocks."""

    def __init__(self, exp: Experiment, handles: Sequence[Handle], stream: TextIO) -> None:
        self.exp = exp
        self.names = {exp._by_handle[h].launch.name for h in handles}
        self.stream = stream
        self.last = ""

    def __enter__(self) -> _Progress:
        self.exp.on_status_change(self.changed)
        self.draw()
        return self

    def __exit__(self, *exc: object) -> None:
        self.exp.remove_status_callback(self.changed)
        self.draw()
        self.stream.write("\n")
        self.stream.flush()

    def changed(self, name: str, state: JobState) -> None:
        if name in self.names:
            self.draw()

    def draw(self) -> None:
        with self.exp._lock:
            states = [r.state.status for n, r in self.exp._runs.items() if n in self.names]
        running = sum(s is Status.RUNNING for s in states)
        done = sum(s is Status.COMPLETED for s in states)
        failed = sum(s in (Status.FAILED, Status.CANCELLED) for s in states)
        line = f"{running}/{len(states)} running, {done} done, {failed} failed"
        pending = len(states) - running - done - failed
        if pending:
            line += f", {pending} pending"
        if line != self.last:
            self.last = line
            self.stream.write("\r\x1b[K" + line)
            self.stream.flush()


def _member_state(run: _Run, member: str) -> JobState:
    """The state of ``member`` of ``run``: its own (a batch member's step) when followed."""
    part = run.parts.get(member)
    return run.state if part is None else part.state


def _clock(t: float | None) -> str:
    if t is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) + f".{int(t % 1 * 1000):03d}"


def _code(state: JobState) -> str:
    """The return code column: ``0``, ``3``, ``-9 (SIGKILL)``, ``SIGTERM``, or ``-``."""
    if state.returncode is not None and state.signal is not None:
        return f"{state.returncode} ({_signal_label(state.signal)})"
    if state.returncode is not None:
        return str(state.returncode)
    if state.signal is not None:
        return _signal_label(state.signal)
    return "-"


def _signal_label(number: int) -> str:
    import signal

    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
