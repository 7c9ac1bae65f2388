"""The seam every launcher's effects implement (local, slurm, pbs, lsf, sge, flux, kubernetes).

An effects launcher pairs a pure *planner* (entity + world -> launches) with three effects:
``start`` one launch, ``poll`` many handles with a constant number of scheduler calls, and
``stop`` one handle. ``Experiment`` drives it and never knows which scheduler is underneath.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import attrs
from returns.io import IOResult
from returns.result import Result

from smartsim.commands.plan import Launch, World
from smartsim.errors import EffectError, Invalid
from smartsim.status import JobState
from smartsim.values import Ensemble, Model


@attrs.frozen(kw_only=True)
class Handle:
    """What identifies a started launch: the scheduler's job id (or pid and start time for a
    local process) — enough to poll or stop it, and to write in the journal."""

    launcher: str
    name: str
    job_id: str
    #: Extra identity, e.g. a local process's start time (so a reused PID is never signalled).
    extra: tuple[tuple[str, str], ...] = ()


class Launcher(Protocol):
    """What ``Experiment`` needs of a launcher."""

    name: str

    def plan(self, entity: Model | Ensemble, world: World) -> Result[tuple[Launch, ...], Invalid]:
        """Pure: the launches that would run ``entity``."""
        ...

    def start(self, launch: Launch) -> IOResult[Handle, EffectError]: ...

    def poll(self, handles: Sequence[Handle]) -> IOResult[Mapping[Handle, JobState], EffectError]:
        """Statuses for all ``handles`` with a constant number of scheduler calls."""
        ...

    def stop(self, handle: Handle) -> IOResult[None, EffectError]: ...
