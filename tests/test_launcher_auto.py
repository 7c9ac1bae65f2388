"""launcher="auto" picks the scheduler whose job environment or client is present (effects
layer only; nothing is run to find out)."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartsim import Experiment
from smartsim.effects.detect import JOB_VARIABLES, detect_launcher

CLIENTS = {
    "slurm": ["srun", "sbatch", "squeue", "scancel"],
    "flux": ["flux"],
    "lsf": ["bsub", "bjobs", "bkill"],
    "pbs": ["qsub", "qstat", "qdel", "pbsnodes"],
    "sge": ["qsub", "qstat", "qdel", "qconf"],
}


def _path_with(tmp_path: Path, names: list[str]) -> str:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name in names:
        tool = bin_dir / name
        tool.write_text("#!/bin/sh\nexit 99\n")  # must never be run
        tool.chmod(0o755)
    return str(bin_dir)


@pytest.mark.parametrize("launcher", list(CLIENTS))
def test_clients_on_path_pick_their_launcher(
    launcher: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With only that scheduler's clients on PATH (and no job environment), "auto" is it."""
    for _, names in JOB_VARIABLES:
        for name in names:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", _path_with(tmp_path, CLIENTS[launcher]))
    assert detect_launcher() == launcher
    assert Experiment("e", exp_path=tmp_path / "e", launcher="auto").launcher == launcher


@pytest.mark.parametrize(
    ("env", "launcher"),
    [
        ({"SLURM_JOB_ID": "12"}, "slurm"),
        ({"FLUX_JOB_ID": "f1", "FLUX_URI": "local:///x"}, "flux"),
        ({"LSB_JOBID": "3"}, "lsf"),
        ({"PBS_JOBID": "4.server"}, "pbs"),
        ({"SGE_ROOT": "/opt/sge", "JOB_ID": "5"}, "sge"),
        ({"JOB_ID": "5"}, "local"),  # JOB_ID alone is too common a name
        ({}, "local"),
    ],
)
def test_a_job_environment_wins(env: dict[str, str], launcher: str) -> None:
    """Inside a job its scheduler is chosen, whatever clients are on PATH."""
    on_path = {"srun", "sbatch", "squeue", "scancel"} if launcher != "local" else set()
    assert detect_launcher(env, lambda name: f"/bin/{name}" if name in on_path else None) == (
        launcher
    )


def test_nothing_found_is_local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No job environment and no client on PATH: the local launcher."""
    for _, names in JOB_VARIABLES:
        for name in names:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", _path_with(tmp_path, []))
    assert detect_launcher() == "local"
    assert Experiment("e", exp_path=tmp_path / "e", launcher="auto").launcher == "local"
