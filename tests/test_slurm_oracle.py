"""Real Slurm as the oracle for what the Slurm launcher generates.

1. Every batch script the planner writes for valid settings is accepted by ``sbatch
   --test-only`` (Slurm parses every ``#SBATCH`` line and plans the job without running it)
   and by ``bash -n``.
2. Steps and batch scripts run for real carry every argument, every environment value and the
   job's comment to the program unchanged -- spaces, quotes, ``#``, ``$``, ``,``, unicode,
   newlines -- including variables the caller's environment already sets to something else.

The settings are drawn valid *for this cluster* (its partition, feature, node count, memory),
with nasty text wherever Slurm lets text through.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartsim import BatchSettings, Duration, Memory, Model, RunSettings, Status
from smartsim.commands.plan import World
from smartsim.effects.slurm import SlurmLauncher, plan_slurm
from tests.slurm_cluster import cluster_problem
from tests.strategies import (
    any_text,
    arguments,
    names,
    single_line_text,
    valid_run_settings,
)
from tests.test_slurm_launcher import REPORT, read_report, start, wait

#: ``ci`` (1000 examples per property elsewhere) runs the oracles longer than ``dev``.
_CI = getattr(settings.default, "max_examples", 100) >= 1000
#: ``sbatch --test-only`` costs ~10 ms: many examples.
TEST_ONLY_EXAMPLES = 200 if _CI else 40
#: Each example is two real jobs.
REAL_EXAMPLES = 50 if _CI else 8

_SLOW = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large]
_counter = itertools.count()


def _maybe(strategy: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.one_of(st.none(), strategy)


def _comments() -> st.SearchStrategy[str]:
    """Free text for ``--comment``: what sbatch's directive lexer must carry whole. (Leading
    and trailing blanks are trimmed by Slurm itself, so they are left out.)"""
    return single_line_text(max_size=12).filter(lambda s: s == s.strip() and s != "")


@st.composite
def cluster_batch_settings(draw: st.DrawFn) -> BatchSettings:
    """Batch settings this 4-node, 8-CPU, 4000 MB, ``debug``/``haswell`` cluster can run."""
    nodes = draw(st.integers(1, 4))
    per_node = draw(st.integers(1, 4))
    cpus = draw(st.integers(1, 2))
    batch_args: dict[str, object] = {
        "ntasks-per-node": per_node,
        "cpus-per-task": cpus,
    }
    extra = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "comment": _comments(),
                "C": st.just("haswell"),
                "exclusive": st.none(),
                "nice": st.integers(0, 100),
                "requeue": st.none(),
                "open-mode": st.sampled_from(["append", "truncate"]),
                "signal": st.sampled_from(["USR1@60", "B:TERM@30"]),
                "mail-type": st.sampled_from(["NONE", "END", "FAIL"]),
                "hold": st.just(False),
                "no-kill": st.none(),
            },
        )
    )
    batch_args.update(extra)
    return BatchSettings(
        nodes=nodes,
        time=draw(_maybe(st.integers(1, 600).map(lambda m: Duration(m * 60)))),
        partition=draw(st.sampled_from([None, "debug"])),
        mem=draw(_maybe(st.integers(1, 4000).map(Memory))),
        job_name=draw(_maybe(names())),
        batch_args=batch_args,
        preamble=draw(st.lists(st.sampled_from(["true", "set -u", "# note"]), max_size=2)),
    )


@given(
    bs=cluster_batch_settings(),
    members=st.lists(valid_run_settings(alloc=False, max_mpmd=1), min_size=1, max_size=3),
)
@settings(max_examples=TEST_ONLY_EXAMPLES, deadline=None, suppress_health_check=_SLOW)
@pytest.mark.slurm
def test_sbatch_accepts_every_generated_script(
    bs: BatchSettings, members: list[RunSettings], tmp_path: Path
) -> None:
    """``sbatch --test-only`` and ``bash -n`` accept every script the planner writes (one
    whose members ask for GPUs is refused for them: the cluster has none)."""
    path = tmp_path / f"ex{next(_counter)}"
    models = tuple(
        Model(name=f"m{i}", path=str(path / f"m{i}"), run_settings=rs)
        for i, rs in enumerate(members)
    )
    from smartsim import Ensemble

    ens = Ensemble(name="ens", members=models, path=str(path), batch_settings=bs)
    if bs.nodes is not None:  # a member wider than the job is refused when planned
        from hypothesis import assume

        from smartsim.commands.slurm import step_shape

        for rs in members:
            shapes = [step_shape(p) for p in (rs, *rs.mpmd)]
            assume(sum(s.nodes for s in shapes if s is not None) <= bs.nodes)
    (launch,) = plan_slurm(ens, World(exp_path=str(path))).unwrap()
    assert launch.submission is not None
    path.mkdir(parents=True)
    script = path / "ens.sbatch"
    script.write_text(launch.submission.script, encoding="utf-8")
    syntax = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True,
                            check=False)  # fmt: skip
    assert syntax.returncode == 0, syntax.stderr
    argv = [*launch.submission.submit.argv[:-1], "--test-only", str(script)]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=str(path), check=False)
    if "#SBATCH --gpus " in launch.submission.script:
        # members asking for GPUs size the job's --gpus; this cluster has none (no GRES), so
        # sbatch refuses the job at submission instead of running members that must fail
        assert done.returncode != 0 and "gres" in done.stderr.lower(), done.stderr
        return
    assert done.returncode == 0, (done.stderr, launch.submission.script)
    assert "to start at" in done.stderr, done.stderr


# =========================================================================== real runs


@pytest.fixture(scope="module")
def alloc() -> Iterator[str]:
    if cluster_problem() is not None:
        pytest.skip(cluster_problem() or "")
    from smartsim import slurm

    with slurm.slurm_allocation(
        nodes=1, add_opts={"ntasks-per-node": 2}, time="00:30:00", job_name="smartsim-oracle",
        timeout=120,
    ) as alloc_id:  # fmt: skip
        yield alloc_id


def _env_names() -> st.SearchStrategy[str]:
    # a prefix of our own: nothing Slurm, bash or Python sets or changes
    return st.from_regex(r"SSX_[A-Za-z0-9_]{0,6}", fullmatch=True)


@st.composite
def _payload(draw: st.DrawFn) -> tuple[list[str], dict[str, str], dict[str, str]]:
    """(arguments, the entity's environment, what the caller's environment already sets)."""
    args = draw(st.lists(arguments(), max_size=4))
    env = draw(
        st.dictionaries(
            _env_names(), any_text().filter(lambda s: "\r\n" not in s), min_size=1, max_size=3
        )
    )
    clash = draw(st.lists(st.sampled_from(sorted(env)), unique=True))
    caller = {name: f"caller's {name}" for name in clash}
    caller["SSX_CALLER_ONLY"] = "from the caller"
    return args, env, caller


@given(payload=_payload(), comment=_comments())
@settings(max_examples=REAL_EXAMPLES, deadline=None, suppress_health_check=_SLOW)
@pytest.mark.slurm
def test_values_reach_the_program_unchanged(
    payload: tuple[list[str], dict[str, str], dict[str, str]],
    comment: str,
    alloc: str,
    tmp_path: Path,
) -> None:
    """An srun step and a batch script, run for real: the program sees exactly the arguments
    and environment it was given (the entity's values over the caller's), and Slurm records
    exactly the comment."""
    args, env, caller = payload
    path = tmp_path / f"ex{next(_counter)}"
    rs = RunSettings(
        exe=sys.executable, args=("-c", REPORT, *args), env=env, nodes=1, ntasks=1,
        run_command="srun",
    )  # fmt: skip
    step = Model(name="step", path=str(path / "step"),
                 run_settings=attrs.evolve(rs, alloc=alloc))  # fmt: skip
    bs = BatchSettings(nodes=1, time="00:05:00", batch_args={"comment": comment})
    batch = Model(name="batch", path=str(path / "batch"), run_settings=rs, batch_settings=bs)
    launcher = SlurmLauncher(environ={})
    with pytest.MonkeyPatch.context() as mp:
        for name, value in caller.items():
            mp.setenv(name, value)
        handles = start(launcher, step, World(exp_path=str(path)))
        handles += start(launcher, batch, World(exp_path=str(path)))
    recorded = subprocess.run(
        ["squeue", "-h", "-t", "all", "-o", "%k", f"--jobs={handles[1].job_id}"],
        capture_output=True, text=True, check=False,
    ).stdout  # fmt: skip
    assert recorded == comment + "\n"
    states = wait(launcher, handles)
    expected_env = {**{k: v for k, v in caller.items() if k not in env}, **env}
    for handle, name in zip(handles, ("step", "batch"), strict=True):
        assert states[handle].status is Status.COMPLETED, (name, states[handle])
        report = read_report(str(path / name / f"{name}.out"))
        assert report["argv"] == args, name
        assert report["env"] == expected_env, name


def test_report_program_prints_one_json_line(tmp_path: Path) -> None:
    """The oracle's program itself: one JSON line with its arguments and SSX_ variables."""
    done = subprocess.run(
        [sys.executable, "-c", REPORT, "a b", "$x", "é"],
        env={**os.environ, "SSX_A": "1\n2"}, capture_output=True, text=True, check=True,
    )  # fmt: skip
    report = json.loads(done.stdout)
    assert report["argv"] == ["a b", "$x", "é"]
    assert report["env"]["SSX_A"] == "1\n2"
