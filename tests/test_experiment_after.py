"""``Experiment.start(..., after=[...])``: batch entities wait for others to succeed, through
the scheduler (Slurm: ``sbatch --dependency=afterok:<ids>``); where that cannot be expressed the
shell waits for them itself in ``start``, as ``smartsim run`` does for a spec's ``after``."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartsim import BatchSettings, Experiment, RunSettings, SmartSimError, Status
from smartsim.errors import AfterNotCompleted, NotStarted
from tests.test_slurm_launcher import read_report, report_settings


def test_after_waits_locally_then_starts(tmp_path: Path) -> None:
    """Under the local launcher start(after=[a]) waits for a, then starts b, which sees a's
    output (the same as a spec's `after` under `smartsim run`)."""
    exp = Experiment("a", exp_path=str(tmp_path))
    out = tmp_path / "a.txt"
    first = exp.create_model(
        "first", RunSettings(exe="sh", args=("-c", f"sleep 0.5; echo done > {out}"))
    )
    second = exp.create_model("second", RunSettings(exe="cat", args=(str(out),)))
    exp.start(first, block=False)
    exp.start(second, after=[first])
    assert exp.get_status(first, second) == [Status.COMPLETED, Status.COMPLETED]
    assert (tmp_path / "second" / "second.out").read_text() == "done\n"


def test_after_a_failure_does_not_start(tmp_path: Path) -> None:
    """When an entity waited for fails, the entity is not started: CANCELLED, with a typed
    AfterNotCompleted error naming the blocker; no process ran."""
    exp = Experiment("a", exp_path=str(tmp_path))
    first = exp.create_model("first", RunSettings(exe="false"))
    marker = tmp_path / "ran"
    second = exp.create_model("second", RunSettings(exe="touch", args=(str(marker),)))
    exp.start(first, block=False)
    exp.start(second, after=[first])
    assert exp.get_status(first, second) == [Status.FAILED, Status.CANCELLED]
    assert exp.errors()["second"] == AfterNotCompleted(("first",))
    assert not marker.exists()


def test_after_an_entity_never_started_is_an_error_locally(tmp_path: Path) -> None:
    """Waiting for an entity this experiment has not started names it (NotStarted)."""
    exp = Experiment("a", exp_path=str(tmp_path))
    first = exp.create_model("first", RunSettings(exe="true"))
    second = exp.create_model("second", RunSettings(exe="true"))
    with pytest.raises(SmartSimError) as info:
        exp.start(second, after=[first])
    assert info.value.error == NotStarted("first")


@pytest.mark.slurm
def test_after_on_an_srun_step_waits_in_the_shell(tmp_path: Path) -> None:
    """An srun step cannot wait for another job in Slurm: the preview shows the step without a
    dependency (start() waits for `first` itself), never a silently ignored `after`."""
    exp = Experiment("a", exp_path=str(tmp_path), launcher="slurm")
    bs = BatchSettings(nodes=1, time="00:05:00")
    first = exp.create_model("first", report_settings(), batch_settings=bs)
    step = exp.create_model("step", RunSettings(exe="true", run_command="srun"))
    with pytest.raises(SmartSimError) as info:
        exp.preview(step, after=[first])
    assert info.value.error == NotStarted("first")


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
