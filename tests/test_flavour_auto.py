"""``flavour="auto"`` is resolved once, in the shell, to the MPI that ``run_command`` really is."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartsim import Experiment, RunSettings


@pytest.mark.mpi
def test_auto_flavour_of_debian_mpiexec_is_open_mpi(tmp_path: Path) -> None:
    """On Debian, `mpiexec` is Open MPI: create_run_settings turns "auto" into "openmpi"."""
    exp = Experiment("auto", exp_path=str(tmp_path), launcher="local")
    rs = exp.create_run_settings("hostname", run_command="mpiexec", flavour="auto", ntasks=2)
    assert rs.flavour == "openmpi"


@pytest.mark.mpi
def test_auto_flavour_reaches_models_and_mpmd_parts(tmp_path: Path) -> None:
    """A model built from settings with "auto" (MPMD part included) holds the detected flavour."""
    exp = Experiment("auto", exp_path=str(tmp_path), launcher="local")
    part = RunSettings(exe="true", ntasks=1, run_command="mpiexec.mpich", flavour="auto")
    rs = RunSettings(
        exe="true", ntasks=1, run_command="mpiexec.mpich", flavour="auto", mpmd=(part,)
    )
    model = exp.create_model("m", rs)
    assert model.run_settings.flavour == "mpich"
    assert [p.flavour for p in model.run_settings.mpmd] == ["mpich"]
