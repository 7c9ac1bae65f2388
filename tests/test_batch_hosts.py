"""Host lists and excluded hosts are typed fields of BatchSettings too, rendered for every
scheduler that has them and read back by that scheduler's directive lexer (independent
oracles); where a scheduler has no such option the field is a typed Unsupported error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartsim import BatchSettings, Experiment, RunSettings, SmartSimError, Status
from smartsim.errors import BadHostName, Invalid, Unsupported
from smartsim.validate import batch_problems
from tests.oracles import flux_cli, lsf_lexer, sge_lexer
from tests.oracles.sbatch_lexer import parse_sbatch_script

HOSTS = st.lists(
    st.builds("{}{}".format, st.sampled_from(["n", "node-", "x1c0s"]), st.integers(0, 999)),
    min_size=1, max_size=3, unique=True,
)  # fmt: skip


def _script(launcher: str, bs: BatchSettings) -> str:
    exp = Experiment("x", exp_path="/tmp/hosts", launcher=launcher)
    model = exp.create_model("m", RunSettings(exe="true"), batch_settings=bs)
    submission = exp.preview(model).launches[0].submission
    assert submission is not None
    return submission.script


@given(hosts=HOSTS, excluded=HOSTS)
def test_sbatch_reads_back_nodelist_and_exclude(hosts: list[str], excluded: list[str]) -> None:
    """#SBATCH --nodelist / --exclude carry the hosts, comma-joined, as sbatch reads them."""
    script = _script("slurm", BatchSettings(nodes=1, hostlist=hosts, excluded_hosts=excluded))
    parsed = parse_sbatch_script(script)
    assert parsed.get("nodelist") == ",".join(hosts)
    assert parsed.get("exclude") == ",".join(excluded)


@given(hosts=HOSTS)
def test_bsub_reads_back_the_host_list(hosts: list[str]) -> None:
    """#BSUB -m "h1 h2" (bsub(1) -m host_name ...)."""
    options = lsf_lexer.options(_script("lsf", BatchSettings(nodes=1, hostlist=hosts)))
    assert ("-m", " ".join(hosts)) in options


@given(hosts=HOSTS)
def test_grid_engine_reads_back_the_host_list(hosts: list[str]) -> None:
    """#$ -l hostname=h1|h2 (sge_types(1): an or-list of host names)."""
    options = sge_lexer.options(_script("sge", BatchSettings(hostlist=hosts)))
    assert ("-l", "hostname=" + "|".join(hosts)) in options


@given(hosts=HOSTS, excluded=HOSTS)
def test_flux_batch_reads_back_the_constraint(hosts: list[str], excluded: list[str]) -> None:
    """flux: --requires='host:a,b -host:c' (flux-batch(1) CONSTRAINTS)."""
    script = _script("flux", BatchSettings(nodes=1, hostlist=hosts, excluded_hosts=excluded))
    words = [w for d in flux_cli.read_directives(script) for w in d]
    assert f"--requires=host:{','.join(hosts)} -host:{','.join(excluded)}" in words


@pytest.mark.parametrize(
    ("launcher", "field"),
    [
        ("pbs", "hostlist"),
        ("pbs", "excluded_hosts"),
        ("lsf", "excluded_hosts"),
        ("sge", "excluded_hosts"),
        ("kubernetes", "hostlist"),
    ],
)
def test_schedulers_without_the_option_refuse_it(launcher: str, field: str) -> None:
    """No silent drop: the field is a typed Unsupported naming it."""
    exp = Experiment("x", exp_path="/tmp/hosts", launcher=launcher)
    bs = BatchSettings(nodes=1, **{field: ["n1"]})
    with pytest.raises(SmartSimError) as info:
        exp.create_model("m", RunSettings(exe="true"), batch_settings=bs)
    assert isinstance(info.value.error, Invalid)
    assert any(
        isinstance(e, Unsupported) and e.field.endswith(field) for e in info.value.error.errors
    ), info.value.error


def test_bad_host_names_are_refused() -> None:
    """Host names follow the same grammar as the run settings' host lists."""
    errors = batch_problems(BatchSettings(hostlist=["ok", "bad host"], excluded_hosts="x;y"))
    assert [type(e) for e in errors] == [BadHostName, BadHostName]


@pytest.mark.slurm
def test_a_batch_job_runs_on_the_host_it_names(tmp_path: Path) -> None:
    """On the real cluster a batch model with hostlist=["n3"] runs on n3."""
    from tests.slurm_cluster import cluster_problem

    if cluster_problem() is not None:
        pytest.skip(cluster_problem() or "")
    exp = Experiment("hosts", exp_path=str(tmp_path), launcher="slurm")
    bs = exp.create_batch_settings(nodes=1, time="00:05:00", hostlist=["n3"])
    rs = exp.create_run_settings("sh", args=["-c", "echo $SLURMD_NODENAME"], run_command="srun")
    model = exp.create_model("where", rs, batch_settings=bs)
    exp.start(model, block=True)
    assert exp.get_status(model) == [Status.COMPLETED]
    out = exp.get_output(model)
    assert not isinstance(out, list)
    assert out.stdout().split() == ["n3"], (out.stdout(), os.listdir(tmp_path / "where"))
