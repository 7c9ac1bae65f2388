"""Validation: valid strategies pass, each invalid kind fails with that kind, nothing raises."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, assert_never

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from returns.result import Failure, Result, Success

from smartsim import AllocationRequest, BatchSettings, Experiment, Invalid, RunSettings
from smartsim.commands._options import check_env
from smartsim.commands.launch import check_run_command
from smartsim.commands.slurm import (
    check_allocation,
    check_batch,
    check_sbatch,
    step_shape,
    validate_salloc,
    validate_sbatch,
    validate_srun,
)
from smartsim.errors import (
    BadOptionName,
    BadValue,
    ConflictingOptions,
    DuplicateOption,
    EmptyValue,
    ForbiddenCharacter,
    InconsistentTasks,
    NotPositive,
    SmartSimError,
    ValidationError,
)
from smartsim.validate import (
    allocation_problems,
    batch_problems,
    run_settings_problems,
    validate_allocation,
    validate_batch_settings,
    validate_run_settings,
)
from tests.strategies import (
    INVALID,
    Settings,
    valid_allocation_requests,
    valid_batch_settings,
    valid_launch_contexts,
    valid_run_settings,
)


def problems(value: Settings) -> list[ValidationError]:
    """Every problem of ``value``: the generic rules plus its tool's (srun/run_command, salloc,
    sbatch)."""
    match value:
        case RunSettings():
            return run_settings_problems(value) + check_run_command(value)
        case AllocationRequest():
            return allocation_problems(value) + check_allocation(value)
        case BatchSettings():
            return batch_problems(value) + check_batch(value)
        case _:
            assert_never(value)


def validated(value: Settings) -> Result[Settings, Invalid]:
    errors = problems(value)
    return Failure(Invalid(tuple(errors))) if errors else Success(value)


# --------------------------------------------------------------------------- valid strategies


@given(valid_run_settings())
def test_valid_run_settings_pass_every_check(rs: RunSettings) -> None:
    """Generated srun settings pass the generic rules and srun's."""
    assert validate_srun(rs) == Success(rs)
    assert validated(rs) == Success(rs)


@given(valid_allocation_requests())
def test_valid_allocation_requests_pass_every_check(req: AllocationRequest) -> None:
    """Generated allocation requests pass the generic rules and salloc's."""
    assert validate_salloc(req) == Success(req)


@given(
    valid_batch_settings(),
    st.lists(
        st.tuples(valid_run_settings(alloc=False, max_mpmd=1), valid_launch_contexts()), max_size=2
    ),
)
def test_valid_batch_jobs_pass_every_check(
    bs: BatchSettings, members: list[tuple[RunSettings, object]]
) -> None:
    """Generated batch settings with generated srun members pass the generic and sbatch rules
    (a member never asks for more nodes than the job has: that one could never start)."""
    typed_members = [(rs, ctx) for rs, ctx in members]
    if bs.nodes is not None:
        for rs, _ctx in typed_members:
            shapes = [step_shape(part) for part in (rs, *rs.mpmd)]
            assume(sum(s.nodes for s in shapes if s is not None) <= bs.nodes)
    assert validate_sbatch(typed_members, bs, job_name="job") == Success(bs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- invalid strategies


@pytest.mark.parametrize("kind", list(INVALID), ids=lambda k: k.__name__)
@given(data=st.data())
def test_each_invalid_strategy_fails_with_its_kind(
    kind: type[ValidationError], data: st.DataObject
) -> None:
    """Every invalid_* value comes back as a Failure that contains its ValidationError kind."""
    value = data.draw(INVALID[kind]())
    result = validated(value)
    assert isinstance(result, Failure), value
    kinds = {type(e) for e in result.failure().errors}
    assert kind in kinds, (value, result.failure())


@given(
    st.one_of(
        valid_run_settings(), valid_allocation_requests(), valid_batch_settings(),
        *(strategy() for strategy in INVALID.values()),
    )
)  # fmt: skip
def test_errors_name_a_field_and_never_raise(value: Settings) -> None:
    """Checking any value returns ValidationError values naming a field; nothing raises."""
    for error in problems(value):
        assert isinstance(error, ValidationError)
        assert isinstance(error.field, str) and error.field
        assert isinstance(error.message, str) and error.message


# --------------------------------------------------------------------------- examples


def test_every_problem_is_reported_not_only_the_first() -> None:
    """A value with several faults gets one error per fault, in one Failure."""
    rs = RunSettings(
        exe="",
        nodes=0,
        ntasks=5,
        tasks_per_node=2,
        run_command="srun",
        run_args={"-x": 1, "comment": "", "n": 3},
        env={"OK": "a\x00b"},
    )
    kinds = {type(e) for e in validate_srun(rs).failure().errors}
    assert {EmptyValue, NotPositive, BadOptionName, ForbiddenCharacter, DuplicateOption} <= kinds
    rs2 = RunSettings(exe="a", nodes=2, tasks_per_node=2, ntasks=5)
    assert {type(e) for e in validate_run_settings(rs2).failure().errors} == {InconsistentTasks}


@pytest.mark.parametrize(
    ("req", "kind"),
    [
        (AllocationRequest(nodes=5, add_opts={"N": 5}), DuplicateOption),
        (AllocationRequest(nodes=5, add_opts={"nodes": 5}), DuplicateOption),
        (AllocationRequest(time=60, add_opts={"t": "10"}), DuplicateOption),
        (AllocationRequest(add_opts={"time": "1:00:00", "t": "2:00:00"}), DuplicateOption),
        (AllocationRequest(partition="a", add_opts={"p": "b"}), DuplicateOption),
        (AllocationRequest(account="a", add_opts={"A": "b"}), DuplicateOption),
        (AllocationRequest(constraint="a", add_opts={"C": "b"}), DuplicateOption),
        (AllocationRequest(job_name="a", add_opts={"job-name": "b"}), DuplicateOption),
        (AllocationRequest(mem=10, add_opts={"mem": "1G"}), DuplicateOption),
        (AllocationRequest(gpus=1, add_opts={"gpus": 2}), DuplicateOption),
        (AllocationRequest(exclusive=True, add_opts={"exclusive": "user"}), DuplicateOption),
        (AllocationRequest(add_opts={"partition": ""}), EmptyValue),
        (AllocationRequest(add_opts={"no-shell": False}), ConflictingOptions),
        (AllocationRequest(add_opts={"Q": True}), ConflictingOptions),
    ],
    ids=lambda v: repr(v) if not isinstance(v, AllocationRequest) else repr(dict(v.add_opts)),
)
def test_salloc_rules(req: AllocationRequest, kind: type[ValidationError]) -> None:
    """The same salloc option twice, an empty value, or a key that breaks salloc is refused."""
    assert kind in {type(e) for e in validate_salloc(req).failure().errors}


def test_aliases_are_duplicates_too() -> None:
    """Slurm's alias spellings (--tasks-per-node, --pack-group) repeat the typed option."""
    rs = RunSettings(exe="a", run_command="srun", tasks_per_node=2, run_args={"tasks-per-node": 2})
    assert DuplicateOption in {type(e) for e in validate_srun(rs).failure().errors}
    rs = RunSettings(exe="a", run_command="srun", het_group=(1,), run_args={"pack-group": 0})
    assert DuplicateOption in {type(e) for e in validate_srun(rs).failure().errors}


def test_false_is_not_a_duplicate_and_zero_is_a_value() -> None:
    """A False raw option renders nothing, so it repeats nothing; 0 is an ordinary value."""
    assert validate_salloc(AllocationRequest(nodes=2, add_opts={"N": False})) == Success(
        AllocationRequest(nodes=2, add_opts={"N": False})
    )
    assert isinstance(validate_salloc(AllocationRequest(add_opts={"nice": 0})), Success)
    assert isinstance(validate_salloc(AllocationRequest(add_opts={"no-shell": None})), Success)


def test_sbatch_members_must_be_srun_steps_of_the_batch_job() -> None:
    """A batch member with another launcher, an allocation id, or an env lost to
    --export=NONE is refused."""
    from smartsim.commands.launch import LaunchContext

    ctx = LaunchContext(cwd="/w", name="m")
    bs = BatchSettings(batch_args={"export": "NONE"})
    members = [
        (RunSettings(exe="a", run_command="mpirun"), ctx),
        (RunSettings(exe="a", run_command="srun", alloc="12"), ctx),
        (RunSettings(exe="a", run_command="srun", env={"A": "1"}), ctx),
    ]
    errors = check_sbatch(members, bs)
    fields = {e.field for e in errors}
    assert {
        "members[0].run_command",
        "members[1].alloc",
        "batch_settings.batch_args['export']",
    } <= fields
    assert isinstance(validate_sbatch([], BatchSettings(), job_name="bad name"), Failure)
    assert isinstance(validate_sbatch([], BatchSettings(), error="a\nb"), Failure)


def test_generic_validators_return_the_value_itself() -> None:
    """validate_* gives back the very value on success."""
    bs = BatchSettings(nodes=1)
    assert validate_batch_settings(bs) == Success(bs)
    req = AllocationRequest(nodes=1)
    assert validate_allocation(req) == Success(req)


# --------------------------------------------------------------------------- validation once


@pytest.mark.parametrize(
    "launcher", ["local", "slurm", "pbs", "lsf", "sge", "flux", "kubernetes", "dragon"]
)
def test_a_start_validates_each_settings_value_once(
    launcher: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """create_run_settings, create_model and start (here preview, start's planning without the
    effects) each refuse bad input, yet one settings value is walked by the generic check once:
    the checks remember the frozen values that passed (smartsim._checked.once)."""
    walked: list[str] = []
    real = check_env

    def counting(field: str, env: Mapping[str, str]) -> list[ValidationError]:
        walked.append(field)
        return real(field, env)

    monkeypatch.setattr("smartsim.validate.check_env", counting)
    exp = Experiment("once", exp_path=str(tmp_path), launcher=launcher)
    image: dict[str, Any] = {"run_args": {"image": "debian:12"}}
    image = image if launcher == "kubernetes" else {}
    rs = exp.create_run_settings("/bin/true", env={"A": "1"}, **image)
    model = exp.create_model("m", rs)
    exp.preview(model)
    exp.preview(model)
    assert len(walked) == 1 and walked[0].endswith("run_settings.env"), walked
    # ... and a value that did not pass is checked (and refused) at every door
    with pytest.raises(SmartSimError):
        exp.create_model("bad", RunSettings(exe="/bin/true", env={"A B": "1"}, **image))
    with pytest.raises(SmartSimError):
        exp.create_model("bad2", RunSettings(exe="/bin/true", env={"A B": "1"}, **image))
    assert len(walked) == 3


def test_once_checks_a_value_it_has_not_seen_in_full() -> None:
    """An equal value made apart is checked on its own (identity, not equality), and a value
    that failed keeps failing."""
    good = RunSettings(exe="a", env={"A": "1"})
    assert run_settings_problems(good) == []
    assert run_settings_problems(RunSettings(exe="a", env={"A": "1"})) == []
    bad = RunSettings(exe="a", ntasks=0)
    assert run_settings_problems(bad) and run_settings_problems(bad)
    # settings compare by value and True == 1, but a bare flag is not a value: the record
    # of the first must not pass the second
    flag = RunSettings(exe="a", run_command="mpirun", run_args={"oversubscribe": True})
    valued = RunSettings(exe="a", run_command="mpirun", run_args={"oversubscribe": 1})
    assert flag == valued
    assert check_run_command(flag) == []
    assert [type(e) for e in check_run_command(valued)] == [BadValue]
