"""``Experiment.start(..., after=[...])``: batch entities wait for others to succeed, through
the scheduler (Slurm: ``sbatch --dependency=afterok:<ids>``); where that cannot be expressed the
request is refused, never dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartsim import BatchSettings, Experiment, RunSettings, SmartSimError, Status
from smartsim.errors import Invalid, NotStarted, Unsupported
from tests.test_slurm_launcher import read_report, report_settings


def test_local_launcher_refuses_after(tmp_path: Path) -> None:
    """The local launcher has no job dependencies: `after` is a typed Unsupported error."""
    exp = Experiment("a", exp_path=str(tmp_path))
    first = exp.create_model("first", RunSettings(exe="true"))
    second = exp.create_model("second", RunSettings(exe="true"))
    exp.start(first)
    with pytest.raises(SmartSimError) as info:
        exp.start(second, after=[first])
    assert isinstance(info.value.error, Invalid)
    assert isinstance(info.value.error.errors[0], Unsupported)


@pytest.mark.slurm
def test_after_on_an_srun_step_is_refused(tmp_path: Path) -> None:
    """An srun step cannot wait for another job: a typed error, not a silently ignored `after`."""
    exp = Experiment("a", exp_path=str(tmp_path), launcher="slurm")
    bs = BatchSettings(nodes=1, time="00:05:00")
    first = exp.create_model("first", report_settings(), batch_settings=bs)
    step = exp.create_model("step", RunSettings(exe="true", run_command="srun"))
    with pytest.raises(SmartSimError) as info:
        exp.preview(step, after=[first])
    assert isinstance(info.value.error, Invalid)
    assert isinstance(info.value.error.errors[0], Unsupported)


@pytest.mark.slurm
def test_after_an_entity_never_started_is_an_error(tmp_path: Path) -> None:
    """Waiting for an entity this experiment has not started names it (NotStarted)."""
    exp = Experiment("a", exp_path=str(tmp_path), launcher="slurm")
    bs = BatchSettings(nodes=1, time="00:05:00")
    first = exp.create_model("first", report_settings(), batch_settings=bs)
    second = exp.create_model("second", report_settings(), batch_settings=bs)
    with pytest.raises(SmartSimError) as info:
        exp.preview(second, after=[first])
    assert info.value.error == NotStarted("first")


@pytest.mark.slurm
def test_batch_model_waits_for_a_batch_ensemble_on_real_slurm(tmp_path: Path) -> None:
    """The second batch job is submitted with --dependency=afterok on the first's id, stays
    pending until the ensemble's job ends, and starts only after it."""
    exp = Experiment("after", exp_path=str(tmp_path), launcher="slurm")
    bs = BatchSettings(nodes=1, time="00:05:00")
    ens = exp.create_ensemble(
        "ens", report_settings(sleep=2.0, ntasks=1), replicas=2, batch_settings=bs
    )
    post = exp.create_model("post", report_settings(ntasks=1), batch_settings=bs)
    exp.start(ens, block=False)
    plan = exp.preview(post, after=[ens])
    submit = plan.launches[0].submission
    assert submit is not None
    dependency = [w for w in submit.submit.argv if w.startswith("afterok:")]
    assert len(dependency) == 1 and dependency[0].removeprefix("afterok:").isdigit()
    exp.start(post, after=[ens], block=True)
    exp.poll(interval=1, verbose=False)
    # one status per ensemble member, then the model
    assert exp.get_status(ens, post) == [Status.COMPLETED] * 3
    ends = [_stamp(tmp_path / "ens" / f"ens_{i}" / f"ens_{i}.out", "t1") for i in range(2)]
    begin = _stamp(tmp_path / "post" / "post.out", "t0")
    assert begin >= max(ends)


def _stamp(path: Path, key: str) -> float:
    value = read_report(str(path))[key]
    assert isinstance(value, (int, float, str))
    return float(value)
