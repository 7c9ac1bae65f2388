"""smartsim: frozen descriptions of HPC work in, exact workload-manager commands out.

The builders in :mod:`smartsim.commands` are pure; :mod:`smartsim.effects` runs what they build;
:class:`Experiment` is the small imperative shell over both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from smartsim._frozen import FrozenMap
from smartsim.errors import Invalid, SmartSimError
from smartsim.status import JobState, Status
from smartsim.values import (
    AllocationRequest,
    ArraySpec,
    BatchSettings,
    Duration,
    Ensemble,
    JobId,
    Memory,
    Model,
    RunSettings,
)

if TYPE_CHECKING:
    from smartsim.experiment import Experiment

__all__ = [
    "AllocationRequest",
    "ArraySpec",
    "BatchSettings",
    "Duration",
    "Ensemble",
    "Experiment",
    "FrozenMap",
    "Invalid",
    "JobId",
    "JobState",
    "Memory",
    "Model",
    "RunSettings",
    "SmartSimError",
    "Status",
]


def __getattr__(name: str) -> Any:
    # Experiment pulls in the effects layer (subprocess, threads); builders-only users never pay.
    if name == "Experiment":
        from smartsim.experiment import Experiment

        return Experiment
    raise AttributeError(f"module 'smartsim' has no attribute {name!r}")
