"""The seam every launcher's effects implement (local, slurm, pbs, lsf, sge, flux, kubernetes).

An effects launcher pairs a pure *planner* (entity + world -> launches) with three effects:
``start`` one launch, ``poll`` many handles with a constant number of scheduler calls, and
``stop`` many handles. ``Experiment`` drives it and never knows which scheduler is underneath.

Two optional abilities make a launcher event-driven rather than polled; ``Experiment`` uses them
when present (``isinstance(launcher, Waits)``):

* :class:`Waits` — ``wait(handles, timeout)`` returns as soon as every handle is final (or at the
  timeout) instead of the shell sleeping between polls; :func:`wait_by_polling` implements it
  from ``poll`` for a launcher that has nothing better.
* :class:`Notifies` — ``watch(callback)``: the launcher calls ``callback(handle, state)`` (from any
  thread) whenever it learns of a status change, so the journal records exits as they happen.

A launcher is constructed with no arguments (``Experiment`` looks it up by name).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol, runtime_checkable

from returns.io import IOResult, IOSuccess
from returns.result import Result

from smartsim.commands._types import Handle
from smartsim.commands.plan import Launch, World
from smartsim.errors import EffectError, Invalid
from smartsim.status import JobState
from smartsim.values import Ensemble, Model


class Launcher(Protocol):
    """What ``Experiment`` needs of a launcher."""

    name: str

    def plan(self, entity: Model | Ensemble, world: World) -> Result[tuple[Launch, ...], Invalid]:
        """Pure: the launches that would run ``entity``."""
        ...

    def start(self, launch: Launch) -> IOResult[Handle, EffectError]:
        """Start one launch (write its files, create its directories, submit or spawn)."""
        ...

    def poll(self, handles: Sequence[Handle]) -> IOResult[Mapping[Handle, JobState], EffectError]:
        """Statuses for all ``handles`` with a constant number of scheduler calls. Handles may
        come from the journal of an earlier process (``Experiment.reconnect``)."""
        ...

    def stop(self, handles: Sequence[Handle]) -> IOResult[None, EffectError]:
        """Stop every handle (one scheduler call where the tool allows it); returns once they
        have been asked to stop — the local launcher returns once they are gone."""
        ...


@runtime_checkable
class Waits(Protocol):
    """A launcher that can block until its handles are final, without a fixed polling tick."""

    def wait(
        self, handles: Sequence[Handle], timeout: float
    ) -> IOResult[Mapping[Handle, JobState], EffectError]:
        """Statuses of ``handles`` once all are final, or when ``timeout`` seconds have passed."""
        ...


@runtime_checkable
class Notifies(Protocol):
    """A launcher that reports status changes as it sees them."""

    def watch(self, callback: Callable[[Handle, JobState], None]) -> None:
        """Call ``callback(handle, state)`` on every status change (from any thread; the
        callback must be quick and must not call back into the launcher)."""
        ...


@runtime_checkable
class NotifiesMembers(Protocol):
    """A launcher that follows the members of one batch launch one by one (each member's own
    step inside the job) and reports their changes as it sees them."""

    def watch_members(self, callback: Callable[[Handle, str, JobState], None]) -> None:
        """Call ``callback(handle, member, state)`` on every change of a member of the batch
        launch ``handle`` (from any thread; quick, no calls back into the launcher)."""
        ...

    def member_states(self, handle: Handle) -> Mapping[str, JobState]:
        """The members' states of batch launch ``handle`` as of the last poll, by name."""
        ...


def wait_by_polling(
    launcher: Launcher, handles: Sequence[Handle], timeout: float, interval: float
) -> IOResult[Mapping[Handle, JobState], EffectError]:
    """:meth:`Waits.wait` from ``poll``: poll every ``interval`` seconds until every handle is
    final or ``timeout`` has passed. A transient error is retried until the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = launcher.poll(handles)
        remaining = deadline - time.monotonic()
        # Poll again while time is left and the answer is not final: some state is not final
        # yet, or the scheduler could not be asked for now (a transient error).
        again = result.map(
            lambda states: not all(s.status.is_final for s in states.values())
        ).lash(lambda error: IOSuccess(error.transient))
        if remaining <= 0 or again != IOSuccess(True):
            return result
        time.sleep(min(interval, remaining))


__all__ = [
    "Handle",
    "Launcher",
    "Notifies",
    "NotifiesMembers",
    "Waits",
    "wait_by_polling",
]
