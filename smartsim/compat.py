"""SmartSim 0.8's names, each either working with the same meaning or refused with a typed
error that names what to write here (docs/migrating-from-smartsim.md).

SmartSim's settings and entities are mutable objects changed by setters (``rs.set_tasks(4)``);
ours are frozen values, so a setter cannot work in place, and one that returned a changed copy
would be silently dropped by a script written for SmartSim. Each such name is therefore an
error, :class:`~smartsim.errors.SmartSimName`, saying what to write. Names whose meaning is the
same (``exe_args``, ``env_vars``, ``run_args``, ``batch_args``, ``models``...) simply work.

:data:`REPLACEMENTS` is the table: ``(owner, name) -> what to write here``. The values and the
experiment look a missing attribute up in it (``__getattr__``), so this module is imported only
when a SmartSim name is used.
"""

from __future__ import annotations

from typing import Final, NoReturn

from smartsim.errors import Invalid, SmartSimError, SmartSimName

_FROZEN_RS = "RunSettings is frozen: pass it to create_run_settings or attrs.evolve(rs, {})"
_FROZEN_BS = "BatchSettings is frozen: pass it to create_batch_settings or attrs.evolve(bs, {})"
_NO_DB = "not part of smartsim (no orchestrator, database or SmartRedis here)"

#: (SmartSim class, name) -> what to write in smartsim instead.
REPLACEMENTS: Final[dict[tuple[str, str], str]] = {
    # ---------------------------------------------------------------- RunSettings & subclasses
    **{
        ("RunSettings", setter): _FROZEN_RS.format(field)
        for setter, field in {
            "set_nodes": "nodes=2",
            "set_tasks": "ntasks=4",
            "set_tasks_per_node": "tasks_per_node=2",
            "set_cpus_per_task": "cpus_per_task=2",
            "set_hostlist": "hostlist=['n1', 'n2']",
            "set_excluded_hosts": "excluded_hosts=['n3']",
            "set_memory_per_node": "mem='4G'",
            "set_walltime": "time='1:00:00'",
            "set_time": "time=datetime.timedelta(hours=1)",
            "set_het_group": "het_group=(0, 1)",
            "set_verbose_launch": "run_args={'verbose': None}",
            "set_quiet_launch": "run_args={'quiet': None}",
            "set_broadcast": "run_args={'bcast': None} (srun)",
            "set_node_feature": "run_args={'constraint': 'a,b'} (srun)",
            "set_cpu_bindings": "run_args={'cpu-bind': 'map_cpu:0,2'} (srun)",
            "set_cpu_binding_type": "run_args={'bind-to': 'core'} (mpirun)",
            "set_task_map": "run_args={'map-by': 'node'} (mpirun)",
            "set_binding": "run_args={'bind': 'rs'} (jsrun)",
            "set_hostlist_from_file": "run_args={'nodefile': path} (srun) / {'hostfile': path}",
            "set": "run_args={'name': value} (None or True for a bare flag)",
            "update_env": "env={...}",
            "add_exe_args": "args=(...)",
            "set_mpmd_preamble": "an ERF built from with_mpmd parts (jsrun)",
        }.items()
    },
    ("RunSettings", "make_mpmd"): "rs.with_mpmd(other), which returns a new RunSettings",
    ("RunSettings", "format_run_args"): "smartsim.commands.launch.launch_command(rs, ctx).argv",
    ("RunSettings", "format_env_vars"): "rs.env (a mapping); the argv from launch_command",
    ("RunSettings", "format_comma_sep_env_vars"): "rs.env; smartsim renders --export itself",
    ("RunSettings", "check_env_vars"): "nothing: smartsim reports env problems as errors",
    ("RunSettings", "in_batch"): "batch_settings= on the model or ensemble",
    ("RunSettings", "colocated_db_settings"): _NO_DB,
    ("RunSettings", "container"): "exe='apptainer' (or singularity) with args=['exec', ...]",
    # ---------------------------------------------------------------- BatchSettings & subclasses
    **{
        ("BatchSettings", setter): _FROZEN_BS.format(field)
        for setter, field in {
            "set_nodes": "nodes=2",
            "set_walltime": "time='1:00:00'",
            "set_account": "account='proj'",
            "set_project": "account='proj' (LSF -P)",
            "set_partition": "partition='debug'",
            "set_queue": "partition='debug' (queue is called partition here)",
            "set_cpus_per_task": "batch_args={'cpus-per-task': 2} (sbatch)",
            "set_hostlist": "hostlist=['n1', 'n2']",
            "set_tasks": "batch_args={'n': 4} (bsub)",
            "set_ncpus": "batch_args / select resources (qsub)",
            "set_resource": "batch_args={'l': 'name=value'} (qsub)",
            "set_smts": "batch_args={'alloc_flags': 'smt4'} (bsub)",
            "set_expert_mode_req": "batch_args={'csm': 'y', 'R': '...'} (bsub)",
            "add_preamble": "preamble=('module load x',)",
            "set_batch_command": "the launcher (Experiment(launcher=...))",
        }.items()
    },
    ("BatchSettings", "queue"): "partition (queue is called partition here)",
    ("BatchSettings", "format_batch_args"): "smartsim.commands.batch (the script text)",
    ("BatchSettings", "batch_cmd"): "the launcher (Experiment(launcher=...))",
    ("BatchSettings", "resources"): "batch_args={'l': 'name=value'} (qsub)",
    ("BatchSettings", "walltime"): "time (a Duration)",
    ("BatchSettings", "project"): "account (bsub -P)",
    # ---------------------------------------------------------------- Model / Ensemble
    ("Model", "attach_generator_files"): (
        "exp.attach_generator_files(model, to_copy=..., to_symlink=..., to_configure=...)"
    ),
    ("Model", "print_attached_files"): "model.files",
    ("Model", "params_to_args"): "'{name}' placeholders in args (see smartsim.ensemble)",
    ("Model", "enable_key_prefixing"): _NO_DB,
    ("Model", "query_key_prefixing"): _NO_DB,
    ("Model", "register_incoming_entity"): _NO_DB,
    ("Model", "colocate_db"): _NO_DB,
    ("Model", "colocate_db_tcp"): _NO_DB,
    ("Model", "colocate_db_uds"): _NO_DB,
    ("Model", "add_ml_model"): _NO_DB,
    ("Model", "add_script"): _NO_DB,
    ("Model", "add_function"): _NO_DB,
    ("Model", "type"): "model.kind",
    ("Ensemble", "attach_generator_files"): (
        "exp.attach_generator_files(ensemble, to_copy=..., to_symlink=..., to_configure=...)"
    ),
    ("Ensemble", "add_model"): (
        "Ensemble is frozen: create_ensemble(...), or attrs.evolve(ens, members=(*ens.members, m))"
    ),
    ("Ensemble", "enable_key_prefixing"): _NO_DB,
    ("Ensemble", "query_key_prefixing"): _NO_DB,
    ("Ensemble", "register_incoming_entity"): _NO_DB,
    ("Ensemble", "add_ml_model"): _NO_DB,
    ("Ensemble", "add_script"): _NO_DB,
    ("Ensemble", "add_function"): _NO_DB,
    ("Ensemble", "type"): "ensemble.kind",
    ("Ensemble", "params"): "each member's params (ensemble.members[i].params)",
    ("Ensemble", "run_settings"): "each member's run_settings (ensemble.members[i].run_settings)",
    # ---------------------------------------------------------------- Experiment
    ("Experiment", "create_database"): _NO_DB,
    ("Experiment", "reconnect_orchestrator"): "Experiment.reconnect(exp_path) (no orchestrator)",
    ("Experiment", "get_db_address"): _NO_DB,
    ("Experiment", "telemetry"): "exp.states(), the status callback and <exp_path>/journal.jsonl",
    ("Experiment", "enable_key_prefixing"): _NO_DB,
}

#: Keyword arguments of SmartSim calls that are refused, (call, keyword) -> replacement.
KEYWORDS: Final[dict[tuple[str, str], str]] = {
    ("create_batch_settings", "queue"): "partition='debug' (queue is called partition here)",
    ("create_run_settings", "container"): REPLACEMENTS[("RunSettings", "container")],
    ("create_model", "enable_key_prefixing"): _NO_DB,
    ("start", "summary"): "print(exp.summary()) after start (the library prints nothing)",
    ("preview", "verbosity_level"): "print(exp.preview(...)): it returns the exact plan",
    ("preview", "output_format"): "print(exp.preview(...)) or smartsim render --format json",
    ("preview", "output_filename"): "open(path, 'w').write(str(exp.preview(...)))",
    ("QsubBatchSettings", "ncpus"): "batch_args / select resources (qsub)",
    ("QsubBatchSettings", "resources"): "batch_args={'l': 'name=value'} (qsub)",
    ("BsubBatchSettings", "smts"): "batch_args={'alloc_flags': 'smt4'} (bsub)",
}


def refuse(owner: str, name: str, replacement: str) -> NoReturn:
    """Raise the typed error for SmartSim's ``owner.name``."""
    raise SmartSimError(Invalid((SmartSimName(f"{owner}.{name}", name, replacement),)))


def lookup(owner: str, name: str) -> NoReturn:
    """``__getattr__`` of the values and the experiment: a SmartSim name is a typed error
    naming its replacement; any other missing name is the usual ``AttributeError``."""
    replacement = REPLACEMENTS.get((owner, name))
    if replacement is None:
        raise AttributeError(f"{owner!r} object has no attribute {name!r}")
    refuse(owner, name, replacement)


def refuse_keywords(call: str, given: dict[str, object]) -> None:
    """A typed error for the first refused SmartSim keyword in ``given``."""
    for key in given:
        replacement = KEYWORDS.get((call, key))
        if replacement is not None:
            refuse(call, key, replacement)
