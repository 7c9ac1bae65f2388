"""Job and entity statuses, and the state a scheduler reported for one job."""

from __future__ import annotations

import enum
from typing import final

import attrs

from smartsim._frozen import fieldwise


@final
class Status(enum.Enum):
    """Where an entity is in its life. The last four are final."""

    NEW = "NEW"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    UNKNOWN = "UNKNOWN"

    @property
    def is_final(self) -> bool:
        return self in _FINAL

    def __str__(self) -> str:
        return self.value


_FINAL = frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELLED})


@final
@fieldwise
@attrs.frozen(repr=False, eq=False, slots=False)
class JobState:
    """What a scheduler said of one job: our status plus its own words.

    ``raw`` is the scheduler's state name (``TIMEOUT``, ``NODE_FAIL``, ``R``, ...), ``returncode``
    the exit code when known -- for an end by a signal, minus the signal number (the convention
    of :attr:`subprocess.Popen.returncode`, on every launcher) -- ``signal`` the signal that
    ended it, ``reason`` any explanation. ``job_id`` is the id the scheduler knows this run by
    once it is known (a Slurm step ``296.0``, srun's own job); ``start``/``end`` are the
    scheduler's own times (Unix seconds, e.g. sacct's ``Start``/``End``) when it reports them.
    """

    status: Status
    raw: str = ""
    returncode: int | None = None
    signal: int | None = None
    reason: str = ""
    job_id: str = ""
    start: float | None = None
    end: float | None = None

    def __repr__(self) -> str:
        # the optional facts only when present, so a state reads as the scheduler said it
        shown = [f"status={self.status!r}", f"raw={self.raw!r}"]
        shown += [f"returncode={self.returncode!r}", f"signal={self.signal!r}"]
        shown.append(f"reason={self.reason!r}")
        if self.job_id:
            shown.append(f"job_id={self.job_id!r}")
        if self.start is not None:
            shown.append(f"start={self.start!r}")
        if self.end is not None:
            shown.append(f"end={self.end!r}")
        return f"JobState({', '.join(shown)})"
