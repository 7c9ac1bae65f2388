"""The Slurm launcher: its pure planner and outcome rules, then the real cluster.

The first half needs no Slurm: the plan of each kind of entity, the typed errors, the rule that
a step's ``srun`` evidence is never read as a completion it was not. The second half (marked
``slurm``) runs models as ``srun`` steps in an allocation and ensembles as one ``sbatch`` job on
the project's cluster, and reads back from every member's output what ran where and when.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure, Success
from returns.unsafe import unsafe_perform_io

from smartsim import BatchSettings, Ensemble, JobId, Model, RunSettings, Status
from smartsim.commands.plan import World
from smartsim.effects.launcher import Handle
from smartsim.effects.slurm import (
    SlurmLauncher,
    enclosing_allocation,
    job_id_text,
    parse_squeue_steps,
    plan_slurm,
    squeue_steps_argv,
    srun_outcome,
)
from smartsim.errors import ConflictingOptions, EffectError, Unsupported
from smartsim.status import JobState
from tests.strategies import job_ids

# =========================================================================== pure


def _model(name: str = "m", path: str = "/e/m", **fields: object) -> Model:
    rs = RunSettings(exe="echo", args=("a b",), **fields)  # type: ignore[arg-type]
    return Model(name=name, path=path, run_settings=rs)


def test_model_is_one_srun_step_in_the_worlds_allocation() -> None:
    """A model is one ``srun --jobid`` step named after its output stem, writing its files."""
    (launch,) = plan_slurm(_model(), World(exp_path="/e", alloc="42", run_index=2)).unwrap()
    assert launch.command is not None
    argv = launch.command.argv
    assert argv[:5] == ("srun", "--jobid", "42", "--job-name", "m.2")
    assert ("--output", "/e/m/m.2.out") == argv[5:7]
    assert ("--error", "/e/m/m.2.err") == argv[7:9]
    assert argv[-2:] == ("echo", "a b")
    assert launch.command.stderr == "/e/m/m.2.srun.log"
    assert launch.mkdirs == ("/e/m",)
    assert launch.submission is None


def test_run_settings_alloc_wins_over_the_world() -> None:
    """``RunSettings.alloc`` is the step's allocation even inside another one."""
    (launch,) = plan_slurm(_model(alloc="7"), World(exp_path="/e", alloc="42")).unwrap()
    assert launch.command is not None
    assert launch.command.argv[1:3] == ("--jobid", "7")


def test_without_allocation_srun_gets_its_own_job() -> None:
    """No allocation anywhere: srun makes its own job (no ``--jobid``)."""
    (launch,) = plan_slurm(_model(), World(exp_path="/e")).unwrap()
    assert launch.command is not None
    assert "--jobid" not in launch.command.argv


def test_launchers_enclosing_allocation_is_the_fallback() -> None:
    """The launcher's own ``SLURM_JOB_ID`` (read once) is used when the world has none."""
    launcher = SlurmLauncher(environ={"SLURM_JOB_ID": "99"})
    (launch,) = launcher.plan(_model(), World(exp_path="/e")).unwrap()
    assert launch.command is not None
    assert launch.command.argv[1:3] == ("--jobid", "99")
    assert enclosing_allocation({"SLURM_JOBID": "5"}) == "5"
    assert enclosing_allocation({"SLURM_JOB_ID": "not-an-id"}) is None


def test_batch_ensemble_is_one_script_with_background_members() -> None:
    """An ensemble with batch settings is ONE sbatch job; every member is a background step."""
    members = tuple(_model(f"e_{i}", f"/e/ens/e_{i}") for i in range(3))
    ens = Ensemble(
        name="ens", members=members, path="/e/ens", batch_settings=BatchSettings(nodes=2)
    )
    (launch,) = plan_slurm(ens, World(exp_path="/e", alloc="42")).unwrap()
    assert launch.members == ("e_0", "e_1", "e_2")
    assert launch.submission is not None
    assert launch.submission.submit.argv[:2] == ("sbatch", "--parsable")
    script = launch.submission.script
    assert "#SBATCH -N 2" in script
    for i in range(3):
        line = next(x for x in script.splitlines() if f"--job-name e_{i} " in x)
        assert line.endswith("&")
        assert f"--output /e/ens/e_{i}/e_{i}.out" in line
        assert "--jobid" not in line  # members run in the batch job, not the caller's
    assert script.rstrip().endswith('exit "$smartsim_rc"')


def test_after_makes_a_dependency() -> None:
    """Planning after other batch jobs adds ``--dependency=afterok`` with their ids."""
    bs = BatchSettings(nodes=1)
    model = attrs.evolve(_model(), batch_settings=bs)
    (launch,) = plan_slurm(model, World(exp_path="/e"), after=("12", "13;cl")).unwrap()
    assert launch.submission is not None
    argv = launch.submission.submit.argv
    assert argv[argv.index("--dependency") + 1] == "afterok:12:13"


def test_after_context_applies_to_batch_handles_only() -> None:
    """``launcher.after(handles)`` makes the next plans depend on those batch jobs."""
    launcher = SlurmLauncher(environ={})
    a = Handle(launcher="slurm", name="a", job_id="31", extra=(("kind", "batch"),))
    step = Handle(launcher="slurm", name="s", job_id="40", extra=(("kind", "step"),))
    model = attrs.evolve(_model(), batch_settings=BatchSettings(nodes=1))
    with launcher.after([a, step]):
        (launch,) = launcher.plan(model, World(exp_path="/e")).unwrap()
    assert launch.submission is not None
    assert "afterok:31" in launch.submission.submit.argv
    (later,) = launcher.plan(model, World(exp_path="/e")).unwrap()
    assert later.submission is not None
    assert "--dependency" not in later.submission.submit.argv


def test_other_run_commands_are_refused() -> None:
    """A model under the Slurm launcher runs as an srun step: mpirun is a typed error."""
    bad = _model(run_command="mpirun")
    errors = plan_slurm(bad, World(exp_path="/e")).failure().errors
    assert [type(e) for e in errors] == [Unsupported]
    assert errors[0].field == "m.run_settings.run_command"


def test_conflicting_member_batch_settings() -> None:
    """A member's own batch settings cannot differ from its batch ensemble's."""
    m = attrs.evolve(_model("e_0", "/e/ens/e_0"), batch_settings=BatchSettings(nodes=3))
    ens = Ensemble(name="ens", members=(m,), path="/e/ens", batch_settings=BatchSettings(nodes=2))
    errors = plan_slurm(ens, World(exp_path="/e")).failure().errors
    assert any(isinstance(e, ConflictingOptions) for e in errors)


def test_invalid_srun_settings_are_all_reported() -> None:
    """Every srun problem comes back, each named after the model."""
    bad = _model(nodes=0, run_args={"N": 2, "chdir": "/x"})
    errors = plan_slurm(bad, World(exp_path="/e")).failure().errors
    fields = {e.field for e in errors}
    assert "m.run_settings.nodes" in fields
    assert any(f.startswith("m.run_settings.run_args") for f in fields)


def test_planning_is_pure(monkeypatch: pytest.MonkeyPatch) -> None:
    """Planning runs nothing and reads no clock, environment or file."""

    def boom(*_: object, **__: object) -> None:
        raise AssertionError("planning touched the world")

    monkeypatch.setattr(subprocess, "Popen", boom)
    monkeypatch.setattr(subprocess, "run", boom)
    monkeypatch.setattr(time, "time", boom)
    monkeypatch.setattr(time, "monotonic", boom)
    monkeypatch.setattr(os, "getenv", boom)
    monkeypatch.setattr("builtins.open", boom)
    members = tuple(_model(f"e_{i}", f"/e/ens/e_{i}") for i in range(2))
    ens = Ensemble(name="ens", members=members, path="/e/ens", batch_settings=BatchSettings())
    assert isinstance(plan_slurm(ens, World(exp_path="/e")), Success)
    assert isinstance(plan_slurm(members[0], World(exp_path="/e")), Success)


_BANNER = "slurmstepd: error: *** STEP 9.0 ON n1 CANCELLED AT 2026-01-01T00:00:00{} ***"


@pytest.mark.parametrize(
    ("returncode", "messages", "stopped", "status", "raw"),
    [
        (0, "", False, Status.COMPLETED, "COMPLETED"),
        (3, "srun: error: n1: task 0: Exited with exit code 3", False, Status.FAILED, "FAILED"),
        (143, _BANNER.format(" DUE TO TIME LIMIT"), False, Status.FAILED, "TIMEOUT"),
        (143, _BANNER.format(""), False, Status.CANCELLED, "CANCELLED"),
        (143, _BANNER.format(" DUE TO PREEMPTION"), False, Status.FAILED, "PREEMPTED"),
        (137, "slurmstepd: error: Detected 1 oom-kill event(s)", False, Status.FAILED,
         "OUT_OF_MEMORY"),
        (143, "srun: Job step aborted", True, Status.CANCELLED, "CANCELLED"),
        (1, "srun: error: Unable to create step for job 2: More processors requested than "
            "permitted", False, Status.FAILED, "FAILED"),
    ],
)  # fmt: skip
def test_srun_outcome_table(
    returncode: int, messages: str, stopped: bool, status: Status, raw: str
) -> None:
    """srun's exit status and Slurm's messages give the step's final state."""
    state = srun_outcome(returncode, messages, stopped=stopped)
    assert (state.status, state.raw, state.returncode) == (status, raw, returncode)


@given(st.integers(1, 255), st.text(), st.booleans())
def test_srun_outcome_never_invents_a_completion(code: int, messages: str, stopped: bool) -> None:
    """A non-zero srun exit is never COMPLETED, whatever was printed."""
    state = srun_outcome(code, messages, stopped=stopped)
    assert state.status in (Status.FAILED, Status.CANCELLED)
    assert state.returncode == code


@given(job_ids())
def test_job_id_text_round_trips(jid: JobId) -> None:
    """The recorded id text parses back to the same id, cluster included."""
    assert JobId.parse(job_id_text(jid)).unwrap() == jid


@given(st.text())
def test_parse_squeue_steps_never_raises(text: str) -> None:
    """The step listing parser returns a Result on any text."""
    assert isinstance(parse_squeue_steps(text), (Success, Failure))


@given(st.lists(st.tuples(st.integers(1, 10**6), st.integers(0, 99), st.text(
    alphabet=st.characters(exclude_characters="\n\r\x00\x85\x0b\x0c\x1c\x1d\x1e\u2028\u2029"),
    max_size=10))))
def test_parse_squeue_steps_reads_every_line(rows: list[tuple[int, int, str]]) -> None:
    """Every ``id|name`` line comes back as (step id, name), names with ``|`` included."""
    text = "".join(f"{job}.{step}|{name}\n" for job, step, name in rows)
    parsed = parse_squeue_steps(text).unwrap()
    assert [(j.job, j.step, n) for j, n in parsed] == [(a, str(b), c) for a, b, c in rows]


def test_squeue_steps_argv_carries_the_cluster() -> None:
    """``-M`` goes on the step listing too."""
    assert squeue_steps_argv() == ("squeue", "-h", "-s", "--me", "-o", "%i|%j")
    assert squeue_steps_argv("c2")[1:3] == ("-M", "c2")
