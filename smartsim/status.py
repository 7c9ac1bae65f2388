"""Job and entity statuses, and the state a scheduler reported for one job."""

from __future__ import annotations

import enum
from typing import final

import attrs


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
@attrs.frozen(slots=False)
class JobState:
    """What a scheduler said of one job: our status plus its own words.

    ``raw`` is the scheduler's state name (``TIMEOUT``, ``NODE_FAIL``, ``R``, ...), ``returncode``
    the exit code when known, ``signal`` the signal that ended it, ``reason`` any explanation.
    """

    status: Status
    raw: str = ""
    returncode: int | None = None
    signal: int | None = None
    reason: str = ""
