"""smartsim: frozen descriptions of HPC work in, exact workload-manager commands out.

The builders in :mod:`smartsim.commands` are pure; :mod:`smartsim.effects` runs what they build;
:class:`Experiment` is the small imperative shell over both.

Public names load on first use (PEP 562), so ``import smartsim`` costs almost nothing and a
script pays only for what it touches: values need ``attrs``; ``Experiment`` also loads the
effects layer (subprocess, threads), which builders-only users never pay for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: The release (the distribution ``smartsim-wlm``; a test keeps it equal to pyproject.toml).
__version__ = "0.1.0"

if TYPE_CHECKING:
    from smartsim._frozen import FrozenMap
    from smartsim.errors import Invalid, SmartSimError
    from smartsim.experiment import Experiment
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

#: public name -> the module that defines it
_HOME = {
    "AllocationRequest": "smartsim.values",
    "ArraySpec": "smartsim.values",
    "BatchSettings": "smartsim.values",
    "Duration": "smartsim.values",
    "Ensemble": "smartsim.values",
    "Experiment": "smartsim.experiment",
    "FrozenMap": "smartsim._frozen",
    "Invalid": "smartsim.errors",
    "JobId": "smartsim.values",
    "JobState": "smartsim.status",
    "Memory": "smartsim.values",
    "Model": "smartsim.values",
    "RunSettings": "smartsim.values",
    "SmartSimError": "smartsim.errors",
    "Status": "smartsim.status",
}

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
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'smartsim' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
