"""scripts/slurm-cluster, checked against the cluster it started (marked ``slurm``)."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from tests.slurm_cluster import SCRIPT, SlurmCluster, cluster_dir

pytestmark = pytest.mark.slurm


def _run(
    *argv: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv), capture_output=True, text=True, timeout=timeout, check=False, env=env
    )


def test_env_file_points_at_the_projects_own_directory(slurm_cluster: SlurmCluster) -> None:
    """Clients find the cluster through SLURM_CONF inside its own directory, not /etc/slurm."""
    conf = slurm_cluster.conf
    assert conf.is_relative_to(cluster_dir()), conf
    assert not conf.is_relative_to("/etc/slurm")
    assert os.environ["SLURM_CONF"] == str(conf)
    text = conf.read_text()
    assert f"StateSaveLocation={cluster_dir()}/" in text
    assert f"AuthInfo=socket={cluster_dir()}/" in text


def test_sinfo_shows_four_haswell_nodes(slurm_cluster: SlurmCluster) -> None:
    """n1..n4, idle or busy, each with feature haswell and 8 CPUs, in partition debug."""
    done = _run("sinfo", "-h", "-N", "-o", "%N %t %f %c %P")
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines()}
    assert sorted(rows) == ["n1", "n2", "n3", "n4"]
    assert slurm_cluster.nodes == ("n1", "n2", "n3", "n4")
    for name, (state, features, cpus, partition) in rows.items():
        assert state in {"idle", "mix", "alloc", "comp"}, (name, state)
        assert "haswell" in features.split(","), (name, features)
        assert int(cpus) == slurm_cluster.cpus_per_node == 8
        assert partition.rstrip("*") == slurm_cluster.partition == "debug"


def test_status_exits_zero_when_up() -> None:
    done = _run(str(SCRIPT), "status")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "status: UP" in done.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="`up` needs root")
def test_up_again_is_a_quick_no_op(slurm_cluster: SlurmCluster) -> None:
    """`up` on a running cluster with the same settings starts and stops nothing."""
    before = (cluster_dir() / "pids").read_text()
    started = time.monotonic()
    # the cluster's own settings (its env file), so that `up` has nothing to change
    done = _run(str(SCRIPT), "up", env={**os.environ, **slurm_cluster.env})
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert "READY" in done.stdout
    assert "already up" in done.stderr, done.stderr
    assert (cluster_dir() / "pids").read_text() == before
    assert took < 10, took
