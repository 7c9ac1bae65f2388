"""Pure planning for the Slurm launcher: entities -> launches (``srun`` steps, ``sbatch``
scripts, MPI launchers in an allocation), and pure readers of what Slurm prints (step lists,
job layouts, an ``srun`` client's exit). No I/O here; :mod:`smartsim.effects.slurm` runs it.
"""

from __future__ import annotations

import functools
import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, final

import attrs
from returns.result import Failure, Result, Success

from smartsim._checked import derived
from smartsim.commands._types import Command, Submission
from smartsim.commands.launch import (
    LaunchContext,
    check_run_command,
    launch_command,
    run_command_spec,
)
from smartsim.commands.mpi import MPICH, MPIEXEC, OPENMPI
from smartsim.commands.plan import Launch, World, model_launch, output_paths
from smartsim.commands.slurm import (
    check_srun,
    sbatch_command,
    sbatch_script,
    srun_command,
    step_shape,
    validate_sbatch,
)
from smartsim.commands.slurm_array import array_fallback, plan_array
from smartsim.errors import (
    BadValue,
    ConflictingOptions,
    EmptyValue,
    Invalid,
    Unsupported,
    ValidationError,
)
from smartsim.status import JobState, Status
from smartsim.validate import check_name, check_params, run_settings_problems
from smartsim.values import (
    BatchSettings,
    Ensemble,
    JobId,
    Model,
    RunSettings,
)


def job_id_text(jid: JobId) -> str:
    """A job id as smartsim records it: Slurm's own text, with ``;cluster`` when it has one
    (``JobId.parse`` reads it back, so ``-M`` follows the id into every later call).

    >>> job_id_text(JobId(12, cluster="cl")), job_id_text(JobId(12, step="3"))
    ('12;cl', '12.3')
    """
    return str(jid) if jid.cluster is None else f"{jid};{jid.cluster}"


@functools.lru_cache(maxsize=1 << 16)
def _parse_id(text: str) -> JobId | None:
    # Cached: a poll of K jobs reads each id several times (squeue rows, sacct rows, handles),
    # and a JobId is an immutable value, so the same text may share one.
    parsed = JobId.parse(text)
    return parsed.unwrap() if isinstance(parsed, Success) else None


TOOL: Final = "the Slurm launcher"


def _prefixed(prefix: str, errors: Iterable[ValidationError]) -> list[ValidationError]:
    return [attrs.evolve(e, field=f"{prefix}.{e.field}") for e in errors]


@derived
def _as_srun(rs: RunSettings) -> RunSettings:
    """Models under the Slurm launcher run as ``srun`` steps; ``run_command=None`` means srun."""
    if rs.run_command is None:
        return attrs.evolve(rs, run_command="srun", mpmd=tuple(_as_srun(p) for p in rs.mpmd))
    return rs


def _run_settings_problems(model: Model) -> list[ValidationError]:
    rs = _as_srun(model.run_settings)
    if _is_mpi(rs) and model.batch_settings is None:
        return _mpi_problems(model)
    if rs.run_command != "srun":
        return [
            Unsupported(
                f"{model.name}.run_settings.run_command",
                rs.run_command,
                f"{TOOL} (models run as srun steps, or as Open MPI/MPICH launchers in an "
                "allocation without batch settings)",
            )
        ]
    # validate_srun(rs), with the generic rules on the model's own settings (the srun form
    # differs only in run_command="srun", which they accept): the value the shell checked
    return _prefixed(model.name, run_settings_problems(model.run_settings) + check_srun(rs))


def _model_problems(model: Model) -> list[ValidationError]:
    errors = check_name("name", model.name)
    errors += check_params(f"{model.name}.params", model.params)
    if not model.path:
        errors.append(EmptyValue(f"{model.name}.path", model.path))
    elif "\x00" in model.path or "\n" in model.path:
        errors.append(BadValue(f"{model.name}.path", model.path, "a path on one line"))
    errors += _run_settings_problems(model)
    return errors


def _stem(name: str, run_index: int) -> str:
    """The unique name of one run of an entity: its step name and its file stem."""
    return name if run_index == 0 else f"{name}.{run_index}"


def srun_log_path(model: Model, run_index: int) -> str:
    """Where the ``srun`` client's own messages go (not the program's output)."""
    return posixpath.join(model.path, f"{_stem(model.name, run_index)}.srun.log")


def _context(model: Model, world: World, alloc: str | None) -> LaunchContext:
    out, err = output_paths(model.path, model.name, world.run_index)
    return LaunchContext(
        # a rerun writes <name>.<run>.out but keeps its Slurm name (squeue/sacct show the
        # entity's name; only one run of an entity is ever live at a time)
        cwd=model.path, name=model.name, stdout=out, stderr=err,
        alloc=alloc,
    )  # fmt: skip


#: srun options under which steps may share CPUs: the CPU count no longer bounds them.
_SHARING: Final = frozenset({"overcommit", "O", "oversubscribe", "s", "overlap"})


def step_allocation(rs: RunSettings, alloc: str | None) -> str | None:
    """The allocation a step of ``rs`` runs in (``rs.alloc``, else ``alloc``), as the plain job
    id ``scontrol`` takes; ``None`` for none, or one of another cluster, or not a job id."""
    jid = _parse_id(rs.alloc or alloc or "")
    if jid is None or jid.step is not None or jid.cluster is not None:
        return None
    return str(jid.job)


def fit_problems(model: Model, job: str, layout: JobLayout) -> list[ValidationError]:
    """Why a step of ``model`` could never start in allocation ``job`` of this ``layout``
    (more nodes, more CPUs in all, or more CPUs per task than a node has); nothing when it
    fits, when its counts are not plain numbers, or when it lets steps share CPUs.

    >>> m = Model(name="m", path="/e/m", run_settings=RunSettings(exe="a", ntasks=16))
    >>> (error,) = fit_problems(m, "7", JobLayout("n1", (8,), (1,)))
    >>> error.field, error.value, error.expected.split(":")[0]
    ('m.run_settings.ntasks', 16, 'tasks that fit allocation 7 (8 CPUs on 1 node)')
    """
    rs = _as_srun(model.run_settings)
    parts = (rs, *rs.mpmd)
    if any(k in _SHARING for p in parts for k in p.run_args):
        return []
    shapes = [step_shape(p) for p in parts]
    known = [s for s in shapes if s is not None]
    if len(known) != len(shapes):
        return []
    nodes, cpus = len(layout.cpus_per_node), sum(layout.cpus_per_node)
    has = f"{cpus} CPU{'s' if cpus != 1 else ''} on {nodes} node{'s' if nodes != 1 else ''}"
    never = "the step could never start"
    field = f"{model.name}.run_settings"
    errors: list[ValidationError] = []
    wanted_nodes = sum(s.nodes for s in known)
    wanted_cpus = sum(s.cpus for s in known)
    widest_task = max(s.cpus_per_task for s in known)
    if wanted_nodes > nodes:
        errors.append(
            BadValue(f"{field}.nodes", wanted_nodes, f"at most allocation {job}'s {has}; {never}")
        )
    if wanted_cpus > cpus:
        tasks = sum(s.tasks for s in known)
        errors.append(
            BadValue(
                f"{field}.ntasks", tasks,
                f"tasks that fit allocation {job} ({has}): these need {wanted_cpus} CPUs; "
                f"{never}",
            )
        )  # fmt: skip
    elif widest_task > max(layout.cpus_per_node):
        most = max(layout.cpus_per_node)
        errors.append(
            BadValue(
                f"{field}.cpus_per_task", widest_task,
                f"at most {most}, the most CPUs one node of allocation {job} has; {never}",
            )
        )  # fmt: skip
    return errors


def _plan_step(model: Model, world: World, alloc: str | None) -> Launch:
    ctx = _context(model, world, alloc)
    log = srun_log_path(model, world.run_index)
    base = srun_command(_as_srun(model.run_settings), ctx)
    # -v: srun names its step in its own log before the program starts (srun(1) --verbose:
    # "launching StepId=42.3 on host n1"), so a step that ends between two polls is still
    # known by its id
    argv = (base.argv[0], "-v", *base.argv[1:])
    command = attrs.evolve(base, argv=argv, stdout=log, stderr=log)
    assert ctx.stdout is not None and ctx.stderr is not None
    return model_launch(model, command, stdout=ctx.stdout, stderr=ctx.stderr)


def _plan_batch(
    entity: Model | Ensemble, models: Sequence[Model], bs: BatchSettings, *, world: World,
    after: Sequence[str],
) -> Result[Launch, Invalid]:  # fmt: skip
    """One sbatch job running ``models`` as background steps; its files are ``entity``'s."""
    name, path = entity.name, entity.path
    stem = _stem(name, world.run_index)
    out, err = output_paths(path, name, world.run_index)
    if isinstance(entity, Model):
        # the model's own step writes <stem>.out/.err: the batch script's files are apart
        job_out, job_err = (posixpath.join(path, f"{stem}.batch.{x}") for x in ("out", "err"))
    else:
        job_out, job_err = out, err
    members = [(_as_srun(m.run_settings), _context(m, world, None)) for m in models]
    checked = validate_sbatch(members, bs, job_name=name, output=job_out, error=job_err)
    if isinstance(checked, Failure):
        return Failure(Invalid(tuple(_prefixed(name, checked.failure().errors))))
    script_path = posixpath.join(path, f"{stem}.sbatch")
    script = sbatch_script(members, bs, job_name=name, output=job_out, error=job_err)
    dependency = "afterok:" + ":".join(str(_parse_id(a) or a) for a in after) if after else None
    submit = sbatch_command(script_path, dependency=dependency, cwd=path)
    mkdirs = tuple(dict.fromkeys([path, *(m.path for m in models)]))
    return Success(
        Launch(
            name=name,
            kind=entity.kind,
            members=tuple(m.name for m in models),
            cwd=path,
            stdout=out,
            stderr=err,
            submission=Submission(script_path=script_path, script=script, submit=submit),
            mkdirs=mkdirs,
            steps=tuple(ctx.name for _, ctx in members) if isinstance(entity, Ensemble) else (),
        )
    )


def allocations_used(
    entity: Model | Ensemble, world: World, *, alloc: str | None = None
) -> tuple[str, ...]:
    """The allocations (plain job ids) the steps and MPI launchers of ``entity`` would run in
    -- those whose layout :func:`plan_slurm` can use. Batch members run in their own job."""
    where = alloc if world.alloc is None else world.alloc
    if isinstance(entity, Ensemble):
        if entity.batch_settings is not None:
            return ()
        models = entity.members
    else:
        models = (entity,)
    jobs = [step_allocation(m.run_settings, where) for m in models if m.batch_settings is None]
    return tuple(dict.fromkeys(j for j in jobs if j is not None))


def plan_slurm(
    entity: Model | Ensemble,
    world: World,
    *,
    alloc: str | None = None,
    after: Sequence[str] = (),
    layouts: Mapping[str, JobLayout] | None = None,
    max_parallel: int | None = None,
) -> Result[tuple[Launch, ...], Invalid]:
    """Every launch that runs ``entity`` under Slurm, or every reason it cannot. Pure.

    * a model without batch settings is one ``srun`` step (in ``run_settings.alloc``, else
      ``world.alloc``, else ``alloc`` -- the launcher's enclosing allocation -- else its own job);
    * a model, or an ensemble, with batch settings is ONE ``sbatch`` script whose members are
      background ``srun`` steps; ``after`` (job ids; default ``world.after``) makes it wait
      for them to succeed (``sbatch --dependency=afterok:...``);
    * an ensemble with batch settings whose members share one shape, with at least
      :data:`~smartsim.commands.slurm_array.ARRAY_MIN_MEMBERS` members or a ``max_parallel``
      cap, is ONE job array instead (``sbatch --array=0-(N-1)[%max_parallel]``, task ``k``
      runs member ``k``: :func:`~smartsim.commands.slurm_array.plan_array`);
    * an ensemble without batch settings is one step per member (members with their own batch
      settings are one batch job each), whatever its size: steps run where the user put them
      (an allocation), which an array -- a batch job of its own -- cannot.

    ``layouts`` (job id -> :class:`JobLayout`, read by the launcher) are the known shapes of the
    allocations steps run in: a step that could never fit its allocation is an error here
    (:func:`fit_problems`), and an MPI launcher gets its allocation's layout in its
    environment (:func:`allocation_env`), so that the plan is exactly what runs.

    >>> from smartsim.values import RunSettings
    >>> m = Model(name="m", path="/e/m", run_settings=RunSettings(exe="echo", args=("a b",)))
    >>> (launch,) = plan_slurm(m, World(exp_path="/e", alloc="42")).unwrap()
    >>> launch.command.argv[:5], launch.stdout
    (('srun', '-v', '--jobid', '42', '--job-name'), '/e/m/m.out')
    """
    errors: list[ValidationError] = []
    where = alloc if world.alloc is None else world.alloc
    after = tuple(after) or world.after
    if isinstance(entity, Ensemble):
        errors += check_name("name", entity.name)
        if not entity.members:
            errors.append(EmptyValue(f"{entity.name}.members", ()))
        if entity.batch_settings is not None:
            for m in entity.members:
                if m.batch_settings is not None and m.batch_settings != entity.batch_settings:
                    errors.append(
                        ConflictingOptions(
                            f"{m.name}.batch_settings", m.batch_settings,
                            f"{entity.name}.batch_settings (the ensemble is one batch job)",
                        )
                    )  # fmt: skip
        models = entity.members
    else:
        models = (entity,)
    for model in models:
        errors += _model_problems(model)
    if errors:
        return Failure(Invalid(tuple(errors)))
    launches: list[Launch] = []
    if isinstance(entity, Ensemble) and entity.batch_settings is not None:
        why = array_fallback(entity, max_parallel)
        if why is None:
            arrayed = plan_array(entity, world, max_parallel=max_parallel, after=after)
            return arrayed.map(lambda launch: (launch,))
        if max_parallel is not None:
            # the one-job plan starts every member at once: the cap would be dropped
            return Failure(
                Invalid((
                    BadValue(
                        "max_parallel", max_parallel,
                        f"no cap for {entity.name!r}: it cannot be a job array ({why}), and "
                        "its one batch job runs every member at once",
                    ),
                ))
            )  # fmt: skip
        planned = _plan_batch(
            entity, entity.members, entity.batch_settings, world=world, after=after
        )
        return planned.map(lambda launch: (launch,))
    for model in models:
        if model.batch_settings is not None:
            planned = _plan_batch(model, [model], model.batch_settings, world=world, after=after)
            if isinstance(planned, Failure):
                errors += planned.failure().errors
            else:
                launches.append(planned.unwrap())
        elif _is_mpi(model.run_settings):
            mpi = _plan_mpi(model, world, where, layouts or {})
            if isinstance(mpi, Launch):
                launches.append(mpi)
            else:
                errors.append(mpi)
        else:
            job = step_allocation(model.run_settings, where)
            layout = (layouts or {}).get(job) if job is not None else None
            if job is not None and layout is not None:
                errors += fit_problems(model, job, layout)
            launches.append(_plan_step(model, world, where))
    if errors:
        return Failure(Invalid(tuple(errors)))
    return Success(tuple(launches))


# =========================================================================== MPI in an allocation
#
# A model whose run_command is Open MPI's mpirun/mpiexec/orterun or MPICH's Hydra mpiexec runs
# that launcher as a local process (its own session; stdout/stderr to the model's .out/.err)
# whose environment is the one ``salloc`` gives its shell: Open MPI's ras/plm slurm components
# and Hydra's slurm RMK/bootstrap then take the nodes from it and start their daemons with
# ``srun`` inside the allocation (*verified* on 22.05 with Open MPI 4.1.4 and MPICH 4.0.2: ranks
# on both nodes of ``-N 2``, one step per launch). Neither launcher can be pointed at an
# allocation from outside and Slurm has no "salloc --jobid", so the allocation's environment
# is what designates it. The plan carries ``SLURM_JOB_ID``/``SLURM_JOBID`` and the layout
# (node list, CPUs and tasks per node), read once per allocation by the launcher when it plans
# (one ``scontrol show job -d``) and added as values -- so preview shows them and start runs
# exactly that. With no allocation at all the plan is a typed error: an MPI launcher outside
# an allocation would start every rank on this host.


def _is_mpi(rs: RunSettings) -> bool:
    """Whether ``rs`` runs Open MPI's or MPICH's launcher (``mpiexec`` by its flavour)."""
    spec = run_command_spec(rs.run_command) if rs.run_command is not None else None
    if spec is OPENMPI or spec is MPICH:
        return True
    return spec is MPIEXEC and rs.flavour in ("openmpi", "mpich", "auto", None)


def _mpi_problems(model: Model) -> list[ValidationError]:
    rs = model.run_settings
    # RunSettings.alloc is the launcher's business here (the MPI builders cannot render it)
    return _prefixed(model.name, check_run_command(attrs.evolve(rs, alloc=None)))


def _plan_mpi(
    model: Model, world: World, alloc: str | None, layouts: Mapping[str, JobLayout]
) -> Launch | ValidationError:
    rs = model.run_settings
    where = rs.alloc or alloc
    field = f"{model.name}.run_settings.alloc"
    if where is None:
        return BadValue(
            field, None,
            f"an allocation for run_command={rs.run_command!r} under {TOOL}: RunSettings.alloc, "
            "World.alloc or this process's SLURM_JOB_ID (e.g. smartsim.slurm.slurm_allocation)"
            "; the MPI launcher starts its daemons with srun inside it",
        )  # fmt: skip
    jid = _parse_id(where)
    if jid is None or jid.step is not None or jid.cluster is not None:
        return BadValue(field, where, "a job id of the default cluster, such as '1234'")
    ctx = _context(model, world, None)
    command = launch_command(attrs.evolve(rs, alloc=None), ctx)
    command = command.with_env({"SLURM_JOB_ID": str(jid.job), "SLURM_JOBID": str(jid.job)})
    layout = layouts.get(str(jid.job))
    if layout is not None:  # what salloc's shell would see, as values (see allocation_env)
        command = command.with_env(allocation_env(str(jid.job), layout))
    assert ctx.stdout is not None and ctx.stderr is not None
    return model_launch(model, command, stdout=ctx.stdout, stderr=ctx.stderr)


def _is_mpi_launch(command: Command) -> bool:
    return command.argv[:1] != ("srun",) and "SLURM_JOB_ID" in command.env


@final
@attrs.frozen
class JobLayout:
    """Where an allocation's tasks go, as ``salloc`` tells its shell."""

    nodelist: str
    cpus_per_node: tuple[int, ...]
    tasks_per_node: tuple[int, ...]


def _count_hosts(expr: str) -> int:
    """How many host names a Slurm hostlist expression names (``n[1-3,5],m1`` is 5)."""
    total, depth, item = 0, 0, ""
    for char in expr + ",":
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            count = 1
            for group in re.findall(r"\[([^\]]*)\]", item):
                count *= _count_ranges(group)
            total += count if item else 0
            item = ""
        else:
            item += char
    return total


def _count_ranges(text: str) -> int:
    """``0,2-4`` is 4 (CPU ids, or the inside of a hostlist's brackets)."""
    count = 0
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        count += int(hi) - int(lo) + 1 if hi else 1
    return count


def _cyclic(tasks: int, bounds: Sequence[int]) -> tuple[int, ...]:
    """Tasks per node as Slurm lays them out by default (block: counts of a cyclic pass,
    each node up to its CPUs, then beyond if the tasks outnumber them)."""
    got = [0] * len(bounds)
    left = tasks
    while left > 0:
        room = [i for i, b in enumerate(bounds) if got[i] < b] or list(range(len(bounds)))
        for i in room:
            if left == 0:
                break
            got[i] += 1
            left -= 1
    return tuple(got)


def parse_job_layout(text: str) -> Result[JobLayout, str]:
    """The layout of a running job from ``scontrol show job -d`` output; never raises.

    >>> text = ("NumNodes=2 NumCPUs=3 NumTasks=3 CPUs/Task=1 ReqB:S:C:T=0:0:*:*\\n"
    ...         "   NodeList=n[1-2]\\n     Nodes=n1 CPU_IDs=2-3 Mem=0 GRES=\\n"
    ...         "     Nodes=n2 CPU_IDs=2 Mem=0 GRES=\\n")
    >>> parse_job_layout(text).unwrap()
    JobLayout(nodelist='n[1-2]', cpus_per_node=(2, 1), tasks_per_node=(2, 1))
    """
    try:
        nodelist = re.search(r"(?:^|\s)NodeList=(\S+)", text)
        groups = re.findall(r"(?:^|\s)Nodes=(\S+) CPU_IDs=(\S+)", text)
        if nodelist is None or nodelist[1] == "(null)" or not groups:
            return Failure("a running job: NodeList=... and Nodes=... CPU_IDs=... lines")
        cpus: list[int] = []
        for hosts, ids in groups:
            cpus += [_count_ranges(ids)] * _count_hosts(hosts)
        per_task = re.search(r"CPUs/Task=(\d+)", text)
        cpt = int(per_task[1]) if per_task else 1
        ntasks = re.search(r"NumTasks=(\d+)", text)
        bounds = [max(1, c // max(cpt, 1)) for c in cpus]
        tasks = int(ntasks[1]) if ntasks else sum(bounds)
        return Success(JobLayout(nodelist[1], tuple(cpus), _cyclic(tasks, bounds)))
    except ValueError as exc:
        return Failure(f"unreadable scontrol output: {exc}")


def _compressed(counts: Sequence[int]) -> str:
    """Slurm's per-node count notation: ``2(x2),1``."""
    runs: list[list[int]] = []
    for c in counts:
        if runs and runs[-1][0] == c:
            runs[-1][1] += 1
        else:
            runs.append([c, 1])
    return ",".join(f"{c}(x{n})" if n > 1 else str(c) for c, n in runs)


def allocation_env(job: str, layout: JobLayout) -> dict[str, str]:
    """The variables ``salloc`` sets for its shell (salloc(1) OUTPUT ENVIRONMENT VARIABLES),
    which Open MPI and Hydra read to find the allocation.

    >>> allocation_env("7", JobLayout("n[1-2]", (2, 2), (2, 2)))["SLURM_TASKS_PER_NODE"]
    '2(x2)'
    """
    nodes = str(len(layout.cpus_per_node))
    ntasks = str(sum(layout.tasks_per_node))
    return {
        "SLURM_JOB_ID": job,
        "SLURM_JOBID": job,
        "SLURM_JOB_NODELIST": layout.nodelist,
        "SLURM_NODELIST": layout.nodelist,
        "SLURM_JOB_NUM_NODES": nodes,
        "SLURM_NNODES": nodes,
        "SLURM_JOB_CPUS_PER_NODE": _compressed(layout.cpus_per_node),
        "SLURM_TASKS_PER_NODE": _compressed(layout.tasks_per_node),
        "SLURM_NTASKS": ntasks,
        "SLURM_NPROCS": ntasks,
    }


# =========================================================================== step outcomes

#: slurmstepd's banner when it ends a step or job (written to the step's stderr, and relayed by
#: srun): ``*** STEP 12.0 ON n1 CANCELLED AT 2026-11-24T21:30:00 DUE TO TIME LIMIT ***``.
_BANNER: Final = re.compile(
    r"\*\*\* (?:STEP|JOB) (?P<id>\S+) ON \S+ CANCELLED AT \S+(?: DUE TO (?P<why>[A-Z_ ]+?))?"
    r"(?: \*\*\*|$)",
    re.MULTILINE,
)
_OOM: Final = re.compile(r"oom-kill|Out Of Memory|OUT_OF_MEMORY|Exceeded (?:job|step) memory limit")


#: srun(1)'s words when slurmctld told it that its step is complete before the tasks ended
#: (``SRUN_JOB_COMPLETE``: slurmctld sends it when a step or its job is cancelled, before it
#: signals the tasks -- src/slurmctld/step_mgr.c ``_step_signal``; srun prints this in
#: src/api/step_launch.c ``slurm_step_launch_wait_finish``).
_ABORTED: Final = "srun: Job step aborted"
#: srun's words when it ends its own step (``--kill-on-bad-exit``, ``--wait``, a launch that
#: failed): then "Job step aborted" is srun's doing, not a cancel (launch_slurm.c).
_SELF_ABORT: Final = re.compile(r"srun: Terminating |srun: error: .*(?:Aborting|launch)")
#: srun's report of a task that exited by itself (so an exit status above 128 is not a signal).
_EXITED: Final = re.compile(r"task \d+: Exited with exit code (\d+)")


#: srun -v's words when it launches its step (src/srun, launch_slurm.c ``launch_p_step_launch``).
LAUNCHING: Final = re.compile(r"^srun: launching StepId=(\S+) on host", re.MULTILINE)

#: srun's words when its step was ended while it was still being launched.
_EARLY: Final = "aborted before step completely launched"


def _controller_ended(messages: str) -> bool:
    """Whether srun says slurmctld ended its step (and srun did not end it itself)."""
    return _ABORTED in messages and not _SELF_ABORT.search(messages)


def _signalled(returncode: int, messages: str) -> int | None:
    """The signal that ended a step whose srun exited ``returncode`` (128 + N), unless srun said
    a task exited with that code itself."""
    if returncode <= 128 or any(int(m[1]) == returncode for m in _EXITED.finditer(messages)):
        return None
    return returncode - 128


def srun_outcome(
    returncode: int, messages: str, *, stopped: bool = False, step: str | None = None
) -> JobState:
    """The final state of a step from what its ``srun`` client showed: its exit status and the
    messages of srun (its own log, complete when it exits) and of slurmstepd (the step's error
    file). ``stopped``: smartsim cancelled it. A step ended by signal N has returncode -N.

    How a cancel is told from a failure without accounting (*verified* on 22.05):

    * slurmstepd's banner ``*** STEP 9.0 ON n1 CANCELLED AT ... ***`` says who ended the step --
      but only once slurmstepd's stderr is the step's error file: a cancel in the first ~0.1 s
      of a step is logged to slurmd's log alone (src/slurmd/slurmstepd/mgr.c
      ``_slurmd_job_log_init``), so its absence proves nothing;
    * srun's ``Job step aborted`` says slurmctld ended the step (a cancel, of the step or its
      job), unless srun says it terminated the step itself;
    * otherwise a task killed by a signal was killed by someone other than Slurm (srun then
      says ``Force Terminated``): FAILED with that signal.

    >>> srun_outcome(0, "").status, srun_outcome(3, "srun: error: n1: task 0: Exited").returncode
    (<Status.COMPLETED: 'COMPLETED'>, 3)
    >>> banner = "*** STEP 9.0 ON n1 CANCELLED AT 2026-01-01T00:00:00{} ***"
    >>> timeout, cancel = banner.format(" DUE TO TIME LIMIT"), banner.format("")
    >>> srun_outcome(143, timeout).raw, srun_outcome(143, cancel).raw
    ('TIMEOUT', 'CANCELLED')
    >>> aborted = "srun: Job step aborted: Waiting up to 7 seconds for job step to finish."
    >>> state = srun_outcome(137, aborted + "\\nsrun: error: n1: task 0: Killed")
    >>> state.status, state.returncode, state.signal
    (<Status.CANCELLED: 'CANCELLED'>, -9, 9)
    """
    if returncode == 0:
        if not (_BANNER.search(messages) or _EARLY in messages or _controller_ended(messages)):
            return JobState(Status.COMPLETED, "COMPLETED", 0)
        # srun also exits 0 when its step was ended before the tasks had started (*verified*:
        # "launch_p_step_launch: StepId=25.2 aborted before step completely launched."): no
        # task reported, so there is no exit status to give
        state = srun_outcome(128 + 9, messages, stopped=stopped, step=step)
        if state.status is Status.FAILED and state.raw == "FAILED":
            state = attrs.evolve(state, status=Status.CANCELLED, raw="CANCELLED")
        return attrs.evolve(
            state, returncode=None, signal=None,
            reason=f"{state.reason}; ended before its tasks had started: no exit status",
        )  # fmt: skip
    sig = _signalled(returncode, messages)
    code = -sig if sig is not None else returncode
    banners = [
        m
        for m in _BANNER.finditer(messages)
        if step is None or m["id"] in (step, step.split(".")[0])
    ]
    if banners:
        why = (banners[-1]["why"] or "").strip()
        reason = banners[-1][0].strip("* ")
        if why == "TIME LIMIT":
            return JobState(Status.FAILED, "TIMEOUT", code, sig, reason)
        if why == "PREEMPTION":
            return JobState(Status.FAILED, "PREEMPTED", code, sig, reason)
        if why == "NODE FAILURE":
            return JobState(Status.FAILED, "NODE_FAIL", code, sig, reason)
        if not why:
            return JobState(Status.CANCELLED, "CANCELLED", code, sig, reason)
        return JobState(Status.FAILED, why.replace(" ", "_"), code, sig, reason)
    if _OOM.search(messages):
        return JobState(Status.FAILED, "OUT_OF_MEMORY", code, sig, "out of memory")
    if stopped:
        return JobState(Status.CANCELLED, "CANCELLED", code, sig, "cancelled by smartsim")
    if _controller_ended(messages):
        return JobState(
            Status.CANCELLED,
            "CANCELLED",
            code,
            sig,
            "cancelled, as far as can be told: srun says slurmctld ended the step "
            '("Job step aborted"); slurmstepd\'s banner did not reach the error file',
        )
    errors = [line for line in messages.splitlines() if "error:" in line]
    reason = errors[-1].strip() if errors else f"srun exited {returncode}"
    return JobState(Status.FAILED, "FAILED", code, sig, reason)


#: squeue's step listing: id, then the name (last: free text).
_STEP_FORMAT: Final = "%i|%j"


def squeue_steps_argv(clusters: str | None = None) -> tuple[str, ...]:
    """``squeue -s`` argv listing every step of the user's jobs, ``id|name`` per line.

    (A step builder the pure module does not have yet; ``-o`` overrides ``SQUEUE_FORMAT``, and
    ``%T`` is invalid for steps in 22.05 -- a listed step is a running one.)

    >>> squeue_steps_argv("cl")
    ('squeue', '-M', 'cl', '-h', '-s', '--me', '-o', '%i|%j')
    """
    cluster = ("-M", clusters) if clusters else ()
    return ("squeue", *cluster, "-h", "-s", "--me", "-o", _STEP_FORMAT)


def parse_squeue_steps(text: str) -> Result[tuple[tuple[JobId, str], ...], str]:
    """``(step id, name)`` pairs from :func:`squeue_steps_argv`'s output.

    >>> [(str(j), name) for j, name in parse_squeue_steps("12.0|sim_0\\n12.1|a|b\\n").unwrap()]
    [('12.0', 'sim_0'), ('12.1', 'a|b')]
    """
    out: list[tuple[JobId, str]] = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("CLUSTER: "):
            continue
        fields = line.split("|", 1)
        jid = _parse_id(fields[0]) if len(fields) == 2 else None
        if jid is None:
            return Failure(f"unexpected squeue -s line: {line!r}")
        out.append((jid, fields[1]))
    return Success(tuple(out))
