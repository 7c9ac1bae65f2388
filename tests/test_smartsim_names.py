"""Every keyword, setter and method of SmartSim 0.8's Experiment, RunSettings (and SrunSettings,
MpirunSettings), SbatchSettings, QsubBatchSettings, BsubBatchSettings, Ensemble and Model either
works with the same meaning here or fails with a typed SmartSimName error naming what to write.

The lists of SmartSim names below are written from SmartSim 0.8's API (shared notes,
smartsim.md §1.2-1.5), not from our table, so a name missing from both is caught."""

from __future__ import annotations

from collections.abc import Callable

import attrs
import pytest

from smartsim import BatchSettings, Ensemble, Experiment, Model, RunSettings, SmartSimError
from smartsim import settings as ss
from smartsim.compat import KEYWORDS, REPLACEMENTS
from smartsim.errors import Invalid, SmartSimName

#: SmartSim 0.8's public names per class (RunSettings includes Srun/Mpirun's; BatchSettings
#: includes Sbatch/Qsub/Bsub's).
SMARTSIM: dict[str, tuple[str, ...]] = {
    "RunSettings": (
        "exe", "exe_args", "run_args", "env_vars", "run_command", "container",
        "colocated_db_settings", "in_batch", "mpmd", "set_nodes", "set_tasks",
        "set_tasks_per_node", "set_cpus_per_task", "set_hostlist", "set_hostlist_from_file",
        "set_excluded_hosts", "set_cpu_bindings", "set_memory_per_node", "set_verbose_launch",
        "set_quiet_launch", "set_broadcast", "set_time", "set_walltime", "set_binding",
        "set_mpmd_preamble", "make_mpmd", "set_node_feature", "set", "update_env",
        "add_exe_args", "format_run_args", "format_env_vars", "set_het_group",
        "format_comma_sep_env_vars", "check_env_vars", "set_task_map", "set_cpu_binding_type",
    ),
    "BatchSettings": (
        "batch_cmd", "batch_args", "preamble", "add_preamble", "set_nodes", "set_hostlist",
        "set_queue", "set_walltime", "set_account", "set_batch_command", "format_batch_args",
        "set_partition", "set_cpus_per_task", "set_ncpus", "set_resource", "resources",
        "set_project", "set_tasks", "set_smts", "set_expert_mode_req", "project", "walltime",
        "queue",
    ),
    "Model": (
        "name", "params", "path", "run_settings", "batch_settings", "attach_generator_files",
        "colocate_db", "colocate_db_tcp", "colocate_db_uds", "enable_key_prefixing",
        "query_key_prefixing", "register_incoming_entity", "add_ml_model", "add_script",
        "add_function", "params_to_args", "print_attached_files", "type", "files",
    ),
    "Ensemble": (
        "name", "params", "path", "run_settings", "batch_settings", "models", "entities",
        "add_model", "attach_generator_files", "enable_key_prefixing", "query_key_prefixing",
        "register_incoming_entity", "add_ml_model", "add_script", "add_function", "type",
    ),
    "Experiment": (
        "name", "exp_path", "launcher", "create_model", "create_ensemble",
        "create_run_settings", "create_batch_settings", "create_database", "start", "stop",
        "poll", "finished", "get_status", "generate", "summary", "preview",
        "reconnect_orchestrator", "telemetry",
    ),
}  # fmt: skip


def _objects(tmp: str) -> dict[str, object]:
    exp = Experiment("e", exp_path=tmp)
    rs = RunSettings(exe="a.out")
    model = exp.create_model("m", rs)
    return {
        "RunSettings": rs,
        "BatchSettings": BatchSettings(nodes=1),
        "Model": model,
        "Ensemble": exp.create_ensemble("ens", rs, replicas=2),
        "Experiment": exp,
    }


CASES = [(owner, name) for owner, names in SMARTSIM.items() for name in names]


@pytest.mark.parametrize(("owner", "name"), CASES, ids=[f"{o}.{n}" for o, n in CASES])
def test_each_smartsim_name_works_or_names_its_replacement(
    owner: str, name: str, tmp_path: object
) -> None:
    """The attribute exists (same meaning: checked in the tests below) or reading it raises
    SmartSimError carrying a SmartSimName whose replacement is the table's."""
    obj = _objects(str(tmp_path))[owner]
    replacement = REPLACEMENTS.get((owner, name))
    if replacement is None:
        getattr(obj, name)  # works: no error
        return
    with pytest.raises(SmartSimError) as info:
        getattr(obj, name)
    assert isinstance(info.value.error, Invalid)
    (error,) = info.value.error.errors
    assert isinstance(error, SmartSimName)
    assert error.field == f"{owner}.{name}" and error.replacement == replacement
    assert replacement in error.message


def test_the_table_names_only_real_smartsim_names() -> None:
    """Every entry of the replacement table is one of SmartSim's names (no invented ones)."""
    listed = {(o, n) for o, names in SMARTSIM.items() for n in names}
    assert set(REPLACEMENTS) <= listed | {("Experiment", "get_db_address"),
                                          ("Experiment", "enable_key_prefixing")}  # fmt: skip


def test_a_name_nobody_has_is_still_an_attribute_error() -> None:
    """An unknown attribute is the usual AttributeError (hasattr and copy keep working)."""
    rs = RunSettings(exe="a")
    assert not hasattr(rs, "no_such_thing")
    with pytest.raises(AttributeError):
        Experiment("e", exp_path="/tmp/e").no_such_thing  # type: ignore[attr-defined]  # noqa: B018


# --------------------------------------------------------------------------- works, same meaning


def test_create_run_settings_takes_exe_args_env_vars_and_run_args() -> None:
    """exe_args (a list), env_vars and run_args mean args, env and run_args."""
    exp = Experiment("e", exp_path="/tmp/e")
    rs = exp.create_run_settings(
        "a.out", exe_args=["-n", "1"], env_vars={"A": "1"}, run_command="mpirun",
        run_args={"oversubscribe": None},
    )  # fmt: skip
    assert rs.args == ("-n", "1") and dict(rs.env) == {"A": "1"}
    assert dict(rs.run_args) == {"oversubscribe": None}
    assert rs.exe_args == ["-n", "1"] and rs.env_vars == {"A": "1"}


def test_exe_args_as_one_string_names_the_replacement() -> None:
    """exe_args="a b" (SmartSim split it on spaces) is a typed error asking for a list."""
    exp = Experiment("e", exp_path="/tmp/e")
    with pytest.raises(SmartSimError) as info:
        exp.create_run_settings("a.out", exe_args="-n 1")
    assert isinstance(info.value.error, Invalid)
    (error,) = info.value.error.errors
    assert isinstance(error, SmartSimName) and "args=[...]" in error.replacement


def test_create_batch_settings_smartsim_defaults_and_queue(tmp_path: object) -> None:
    """nodes/time/account/batch_args work (SmartSim's "" defaults mean unset); queue names
    partition."""
    exp = Experiment("e", exp_path=str(tmp_path), launcher="slurm")
    bs = exp.create_batch_settings(nodes=2, time="1:00:00", account="", queue="",
                                   batch_args={"exclusive": None})  # fmt: skip
    assert bs.nodes == 2 and bs.account is None and dict(bs.batch_args) == {"exclusive": None}
    with pytest.raises(SmartSimError) as info:
        exp.create_batch_settings(nodes=1, queue="debug")
    assert isinstance(info.value.error, Invalid)
    (error,) = info.value.error.errors
    assert isinstance(error, SmartSimName) and "partition" in error.message
    assert error.field == "create_batch_settings.queue"


def test_ensemble_models_and_entities_are_its_members(tmp_path: object) -> None:
    """ens.models / ens.entities list the members, as in SmartSim."""
    exp = Experiment("e", exp_path=str(tmp_path))
    ens = exp.create_ensemble("ens", RunSettings(exe="true"), replicas=3)
    assert ens.models == list(ens.members) == ens.entities
    assert isinstance(ens, Ensemble)


def test_summary_github_style_is_a_markdown_table(tmp_path: object) -> None:
    """summary(style="github") is a Markdown table with a header rule; other styles refused."""
    exp = Experiment("e", exp_path=str(tmp_path))
    model = exp.create_model("m", RunSettings(exe="true"))
    exp.start(model)
    lines = exp.summary(style="github").splitlines()
    assert lines[1].startswith("| name") and set(lines[2]) <= {"|", "-"}
    assert lines[3].startswith("| m ") and "COMPLETED" in lines[3]
    with pytest.raises(SmartSimError):
        exp.summary(style="fancy_grid")


@pytest.mark.parametrize(
    ("call", "kwargs"),
    [
        ("start", {"summary": True}),
        ("preview", {"verbosity_level": "debug"}),
        ("preview", {"output_format": "plain_text"}),
        ("preview", {"output_filename": "x"}),
        ("create_model", {"enable_key_prefixing": True}),
        ("create_run_settings", {"container": object()}),
    ],
)
def test_smartsim_keywords_we_do_not_take_name_their_replacement(
    call: str, kwargs: dict[str, object], tmp_path: object
) -> None:
    """Each such keyword is a SmartSimName error naming what to write, before anything runs."""
    exp = Experiment("e", exp_path=str(tmp_path))
    model = exp.create_model("m", RunSettings(exe="true"))
    args: tuple[object, ...] = {
        "start": (model,), "preview": (model,), "create_model": ("m2", RunSettings(exe="x")),
        "create_run_settings": ("a.out",),
    }[call]  # fmt: skip
    with pytest.raises(SmartSimError) as info:
        getattr(exp, call)(*args, **kwargs)
    assert isinstance(info.value.error, Invalid)
    (error,) = info.value.error.errors
    assert isinstance(error, SmartSimName)
    assert error.replacement == KEYWORDS[(call, next(iter(kwargs)))]
    assert exp.states() == {}


def test_generate_takes_verbose(tmp_path: object) -> None:
    """generate(..., verbose=True) works (it logs each file operation at INFO)."""
    exp = Experiment("e", exp_path=str(tmp_path))
    model = exp.create_model("m", RunSettings(exe="true"))
    exp.generate(model, overwrite=True, verbose=True)


def test_create_ensemble_with_params_second_names_the_order(tmp_path: object) -> None:
    """create_ensemble("e", {"x": [1]}) (SmartSim's positional params) says how to call ours."""
    exp = Experiment("e", exp_path=str(tmp_path))
    with pytest.raises(SmartSimError) as info:
        exp.create_ensemble("ens", {"x": [1, 2]})  # type: ignore[arg-type]
    assert isinstance(info.value.error, Invalid)
    assert isinstance(info.value.error.errors[0], SmartSimName)


# --------------------------------------------------------------------------- settings classes


def test_srun_and_mpirun_settings_are_run_settings_with_their_launcher() -> None:
    """SrunSettings/MpirunSettings/MpiexecSettings/OrterunSettings build our RunSettings."""
    srun = ss.SrunSettings("a.out", exe_args=["x"], run_args={"nodes": 2}, alloc="77")
    assert (srun.run_command, srun.args, srun.alloc) == ("srun", ("x",), "77")
    assert ss.MpirunSettings("a.out").run_command == "mpirun"
    assert ss.OrterunSettings("a.out").run_command == "orterun"
    assert ss.MpiexecSettings("a.out").flavour == "auto"
    assert ss.RunSettings("a.out", run_command="").run_command is None


def test_batch_settings_classes_map_to_batch_settings() -> None:
    """Sbatch/Qsub/Bsub settings map queue -> partition and project -> account; SmartSim-only
    knobs (ncpus, resources, smts) are typed errors."""
    assert ss.SbatchSettings(nodes=2, time="", account="p") == BatchSettings(nodes=2, account="p")
    assert ss.QsubBatchSettings(nodes=1, queue="q").partition == "q"
    assert ss.BsubBatchSettings(nodes=1, project="p").account == "p"
    builds: list[Callable[[], object]] = [
        lambda: ss.QsubBatchSettings(nodes=1, ncpus=4),
        lambda: ss.QsubBatchSettings(resources={"mem": "1G"}),
        lambda: ss.BsubBatchSettings(smts=4),
    ]
    for build in builds:
        with pytest.raises(SmartSimError) as info:
            build()
        assert isinstance(info.value.error, Invalid)
        assert isinstance(info.value.error.errors[0], SmartSimName)


def test_setters_are_refused_not_silently_dropped() -> None:
    """rs.set_tasks(4) would do nothing on a frozen value: it is a typed error whose
    replacement says how to get ntasks=4, and the value is unchanged."""
    rs = RunSettings(exe="a.out")
    with pytest.raises(SmartSimError) as info:
        rs.set_tasks(4)  # type: ignore[attr-defined]
    assert "ntasks=4" in str(info.value)
    assert attrs.evolve(rs, ntasks=4).ntasks == 4 and rs.ntasks is None
    with pytest.raises(SmartSimError, match="partition"):
        BatchSettings().set_queue("debug")  # type: ignore[attr-defined]
    with pytest.raises(SmartSimError, match=r"exp\.attach_generator_files"):
        Model(name="m", run_settings=rs, path="/m").attach_generator_files(to_copy=["x"])  # type: ignore[attr-defined]
