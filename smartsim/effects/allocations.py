"""Allocations in an experiment's journal: record that one was obtained (by which process) or
released, tell whether the process that obtained it is still alive, and ask Slurm whether it is
still there -- so ``smartsim status DIR`` shows every allocation and ``smartsim stop DIR``
releases the ones whose owner died (a ``kill -9`` of ``smartsim run`` no longer leaks one).

The owner is a process of this machine named by its pid and its identity (``/proc/PID/stat``
start time, boot id, host; see :func:`smartsim.effects.local.identity`), so a reused pid is
never taken for the owner.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Final, Literal

from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Success

from smartsim.commands._types import Completed
from smartsim.effects import journal
from smartsim.effects.launcher import Handle
from smartsim.errors import EffectError
from smartsim.values import JobId

#: ``alive``: the owning process runs; ``gone``: it does not (it exited, the machine rebooted);
#: ``unknown``: it ran on another host, or its identity was not recorded.
Owner = Literal["alive", "gone", "unknown"]

_SESSION: Final = f"{os.getpid()}-alloc"


def _append(exp_path: str, records: Sequence[dict[str, object]]) -> IOResult[None, EffectError]:
    writer = journal.Journal(journal.journal_path(exp_path))
    try:
        for record in records:
            written = writer.append(record)
            if isinstance(written, IOFailure):
                return written
    finally:
        writer.close()
    return IOSuccess(None)


def record_allocation(
    exp_path: str, name: str, job_id: str, *, launcher: str = "slurm", session: str = _SESSION
) -> IOResult[None, EffectError]:
    """Journal that this process obtained allocation ``job_id`` for the experiment in
    ``exp_path`` (an ``open`` record first, so the journal names its launcher)."""
    from smartsim.effects.local import identity

    now = time.time()
    pid = os.getpid()
    opening = journal.open_record(
        t=now, session=session, experiment=os.path.basename(exp_path.rstrip("/")),
        launcher=launcher, pid=pid, host=os.uname().nodename,
    )  # fmt: skip
    record = journal.allocation_record(
        t=now, session=session, name=name, job_id=job_id, launcher=launcher, pid=pid,
        owner=identity(pid),
    )  # fmt: skip
    return _append(exp_path, [opening, record])


def record_release(
    exp_path: str, job_id: str, *, session: str = _SESSION
) -> IOResult[None, EffectError]:
    """Journal that allocation ``job_id`` of the experiment in ``exp_path`` was released."""
    return _append(exp_path, [journal.release_record(time.time(), session, job_id)])


def owner_state(alloc: journal.Allocation) -> tuple[Owner, str]:
    """Whether the process that obtained ``alloc`` is alive, and why that is known."""
    from smartsim.effects.local import same_process

    if alloc.pid is None or not alloc.owner_get("start"):
        return "unknown", "the journal does not identify the process that obtained it"
    handle = Handle(launcher="local", name=alloc.name, job_id=str(alloc.pid), extra=alloc.owner)
    host = alloc.owner_get("host")
    if host not in (None, os.uname().nodename):
        return "unknown", f"obtained by pid {alloc.pid} on host {host}, this is another host"
    checked = same_process(handle)
    if isinstance(checked, Success):
        return "alive", f"held by pid {alloc.pid}, which is running"
    return "gone", f"its owner, pid {alloc.pid}, is gone ({checked.failure()})"


def slurm_states(job_ids: Sequence[str]) -> IOResult[dict[str, str], EffectError]:
    """Slurm's state of each allocation (``RUNNING``, ``PENDING``, ``COMPLETED``...; absent
    when squeue no longer lists it), one ``squeue`` for all of the default cluster's."""
    from smartsim.commands.slurm import parse_squeue, squeue_argv
    from smartsim.effects.slurm import _client

    ids = [j for j in (JobId.parse(i).value_or(None) for i in job_ids) if j is not None]
    if not ids:
        return IOSuccess({})

    def states(done: Completed) -> dict[str, str]:
        if done.returncode != 0:  # squeue of ids none of which it knows: "Invalid job id"
            return {}
        rows = parse_squeue(done.stdout).value_or({})
        return {key: state.raw for key, state in rows.items() if key in job_ids}

    return _client(squeue_argv(ids)).map(states)


#: squeue states of a job that still holds (or is giving back) its nodes.
_HOLDING: Final = frozenset(
    {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "REQUEUED", "RESIZING",
     "SIGNALING", "STAGE_OUT", "STOPPED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD"}
)  # fmt: skip


def wait_gone(job_ids: Sequence[str], timeout: float) -> IOResult[dict[str, str], EffectError]:
    """Wait (at most ``timeout`` seconds) until Slurm lists none of ``job_ids`` as holding
    nodes (a cancelled job is ``COMPLETING`` until its nodes are clean); returns the ones still
    holding, with their state (empty when all are gone)."""
    deadline = time.monotonic() + timeout

    def holding(states: dict[str, str]) -> dict[str, str]:
        return {j: s for j, s in states.items() if s in _HOLDING}

    while True:
        got = slurm_states(job_ids).map(holding)
        if got.map(bool) != IOSuccess(True) or time.monotonic() >= deadline:
            return got  # a failure, none left holding, or out of time
        time.sleep(0.1)  # squeue has no way to wait for a state change
