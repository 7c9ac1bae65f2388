"""What tests need from the machine: the project's Slurm cluster, Open MPI, MPICH.

Markers (registered in pyproject.toml), enforced by :func:`check_item` from ``conftest.py``:

``@pytest.mark.slurm``
    needs the project's cluster (``sudo scripts/slurm-cluster up``). Runs whatever the
    cluster's accounting setting is. ``@pytest.mark.slurm(accounting=True)`` also needs
    accounting on (real ``sacct``).
``@pytest.mark.slurm_no_accounting``
    runs only against the cluster started with accounting off (``scripts/test`` runs these in
    its second phase, after ``scripts/slurm-cluster up --no-accounting``); skipped while the
    cluster has accounting on.
``@pytest.mark.mpi`` / ``@pytest.mark.mpi("openmpi")`` / ``@pytest.mark.mpi("mpich")``
    needs ``mpirun`` (Open MPI) and/or ``mpiexec.mpich`` (MPICH).

When what a test needs is missing, the test is SKIPPED with the reason and the command that
provides it — except when ``CI`` is set in the environment: there it FAILS, because a
skipped integration test in CI is a defect, not a pass.

Tests that want facts about the cluster take the ``slurm_cluster`` fixture (a
:class:`SlurmCluster`); marking them ``slurm`` is still what decides skip or fail.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

DEFAULT_DIR = Path("/var/tmp/smartsim-slurm")
ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "slurm-cluster"
_FALSE = {"", "0", "false", "no", "off"}


def in_ci() -> bool:
    """True when ``CI`` is set (to anything but an explicit false)."""
    return os.environ.get("CI", "").strip().lower() not in _FALSE


def cluster_dir() -> Path:
    """The directory the project's cluster lives in (``$SMARTSIM_SLURM_DIR``)."""
    return Path(os.environ.get("SMARTSIM_SLURM_DIR") or DEFAULT_DIR)


def env_file() -> Path:
    """The env file ``scripts/slurm-cluster up`` writes once the cluster is READY."""
    return cluster_dir() / "env"


def start_hint() -> str:
    return f"run `sudo scripts/slurm-cluster up` and `source {env_file()}`"


def read_env_file(path: Path) -> dict[str, str]:
    """The ``export NAME=VALUE`` lines of an env file, unquoted."""
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        words = shlex.split(line, comments=True)
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            name, _, value = words[1].partition("=")
            values[name] = value
    return values


def load_env_file() -> bool:
    """Export the cluster's env file into this process when ``SLURM_CONF`` is not set.

    A developer who ran ``sudo scripts/slurm-cluster up`` but did not ``source`` the env file
    still gets the cluster; an explicit ``SLURM_CONF`` (another cluster) is left alone.
    """
    path = env_file()
    if os.environ.get("SLURM_CONF") or not path.is_file():
        return False
    try:
        values = read_env_file(path)
    except (OSError, ValueError):
        return False
    for name, value in values.items():
        os.environ.setdefault(name, value)
    return True


@dataclass(frozen=True)
class SlurmCluster:
    """Facts about the running project cluster (from its env file and ``scontrol``)."""

    conf: Path
    nodes: tuple[str, ...]
    nodelist: str
    cpus_per_node: int
    partition: str
    feature: str
    accounting: bool
    env: Mapping[str, str]


def _run(argv: list[str], timeout: float = 20) -> tuple[int, str]:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 1, str(exc)
    return done.returncode, done.stdout + done.stderr


@functools.cache
def _probe() -> SlurmCluster | str:
    """The cluster, or why it cannot be used. Probed once per test session."""
    path = env_file()
    if not path.is_file():
        return f"Slurm cluster not running (no {path}): {start_hint()}"
    values = read_env_file(path)
    conf = values.get("SLURM_CONF", "")
    current = os.environ.get("SLURM_CONF", "")
    if not current:
        return f"Slurm cluster not running: SLURM_CONF is not set: {start_hint()}"
    if current != conf:
        return (
            f"Slurm cluster not running: SLURM_CONF={current} is not the project's cluster "
            f"({conf}): {start_hint()}"
        )
    if shutil.which("scontrol") is None:
        return f"Slurm cluster not running: no `scontrol` on PATH: {start_hint()}"
    code, out = _run(["scontrol", "ping"], timeout=15)
    if code != 0 or "is UP" not in out:
        return f"Slurm cluster not running (`scontrol ping`: {out.strip()!r}): {start_hint()}"
    code, config = _run(["scontrol", "show", "config"])
    if code != 0:
        return f"Slurm cluster not answering (`scontrol show config`: {config.strip()!r})"
    match = re.search(r"^AccountingStorageType\s*=\s*(\S+)", config, re.MULTILINE)
    accounting = match is not None and match.group(1).endswith("slurmdbd")
    names = tuple(values.get("SMARTSIM_SLURM_NODE_NAMES", "").split())
    return SlurmCluster(
        conf=Path(conf),
        nodes=names,
        nodelist=values.get("SMARTSIM_SLURM_NODELIST", ""),
        cpus_per_node=int(values.get("SMARTSIM_SLURM_CPUS_PER_NODE", "0")),
        partition=values.get("SMARTSIM_SLURM_PARTITION", ""),
        feature=values.get("SMARTSIM_SLURM_FEATURE", ""),
        accounting=accounting,
        env=values,
    )


def cluster_is_up() -> bool:
    """True when the project's cluster answers (``SLURM_CONF`` is ours and slurmctld is UP)."""
    return isinstance(_probe(), SlurmCluster)


def get_cluster() -> SlurmCluster | None:
    probe = _probe()
    return probe if isinstance(probe, SlurmCluster) else None


def cluster_problem() -> str | None:
    """Why the cluster cannot be used, or None when it can."""
    probe = _probe()
    return None if isinstance(probe, SlurmCluster) else probe


_MPI = {
    "openmpi": ("mpirun", "Open MPI (`mpirun`)", "openmpi-bin"),
    "mpich": ("mpiexec.mpich", "MPICH (`mpiexec.mpich`)", "mpich"),
}


def _mpi_problem(kinds: tuple[str, ...]) -> str | None:
    missing = [k for k in kinds or tuple(_MPI) if shutil.which(_MPI[k][0]) is None]
    if not missing:
        return None
    what = " and ".join(_MPI[k][1] for k in missing)
    pkgs = " ".join(_MPI[k][2] for k in missing)
    return f"{what} not installed: `sudo apt-get install {pkgs}` (scripts/test does it as root)"


def _unavailable(reason: str, *, defect_in_ci: bool = True) -> None:
    if defect_in_ci and in_ci():
        pytest.fail(f"{reason} [CI is set: a skipped integration test in CI is a defect]")
    pytest.skip(reason)


def check_item(item: pytest.Item) -> None:
    """Skip (or, in CI, fail) ``item`` when the machine lacks what its markers ask for."""
    slurm = item.get_closest_marker("slurm")
    no_accounting = item.get_closest_marker("slurm_no_accounting")
    if slurm is not None or no_accounting is not None:
        problem = cluster_problem()
        if problem is not None:
            _unavailable(problem)
        cluster = get_cluster()
        assert cluster is not None
        if no_accounting is not None and cluster.accounting:
            # not a defect: scripts/test runs these in a phase of their own
            _unavailable(
                "runs only against the cluster with accounting off "
                "(`sudo scripts/slurm-cluster up --no-accounting`; scripts/test does it)",
                defect_in_ci=False,
            )
        wants_accounting = slurm is not None and bool(slurm.kwargs.get("accounting", False))
        if wants_accounting and not cluster.accounting:
            _unavailable(
                "needs Slurm accounting (sacct), but the cluster runs without it: "
                "`sudo scripts/slurm-cluster up --accounting`"
            )
    if item.get_closest_marker("dragon") is not None:
        from smartsim.effects.dragon import INSTALL, dragon_installed

        if not dragon_installed():
            _unavailable(f"needs the Dragon runtime: {INSTALL}")
    mpi = item.get_closest_marker("mpi")
    if mpi is not None:
        kinds = tuple(str(a) for a in mpi.args)
        unknown = [k for k in kinds if k not in _MPI]
        if unknown:
            pytest.fail(f"@pytest.mark.mpi: unknown MPI {unknown}; known: {sorted(_MPI)}")
        problem = _mpi_problem(kinds)
        if problem is not None:
            _unavailable(problem)


@pytest.fixture
def slurm_cluster() -> SlurmCluster:
    """The running project cluster; skips (fails in CI) when there is none."""
    problem = cluster_problem()
    if problem is not None:
        _unavailable(problem)
    cluster = get_cluster()
    assert cluster is not None
    return cluster
