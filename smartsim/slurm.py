"""The seed's allocation API: obtain and release Slurm allocations from a script.

    >>> from smartsim import slurm
    >>> alloc = slurm.get_slurm_allocation(nodes=2, add_opts={           # doctest: +SKIP
    ...     "C": "haswell", "partition": "debug", "time": "00:10:00", "exclusive": None})
    >>> slurm.release_slurm_allocation(alloc)                            # doctest: +SKIP
    >>> with slurm.slurm_allocation(nodes=1, time="00:05:00") as alloc:  # doctest: +SKIP
    ...     ...  # RunSettings(..., alloc=alloc); released on the way out, whatever happens

This is a shell module: it validates, calls the effects (:mod:`smartsim.effects.slurm`, whose
``allocate``/``release`` return values instead of raising) and raises
:class:`~smartsim.errors.SmartSimError` carrying the typed error -- ``Invalid`` for a request
``salloc`` cannot express, ``NonZeroExit`` with Slurm's own message when Slurm refuses it
(``invalid partition specified: nosuch``), ``Timeout`` when it is still pending after
``timeout`` seconds (or ``--immediate`` ran out), ``SchedulerUnavailable`` when slurmctld does not
answer. A request that times out or is interrupted is cancelled in Slurm: nothing stays queued.
Ctrl-C while waiting re-raises ``KeyboardInterrupt`` (its ``__cause__`` is the
``SmartSimError``), so a script's ``except SmartSimError`` never swallows an interrupt.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, ParamSpec, cast

from returns.io import IOFailure
from returns.unsafe import unsafe_perform_io

from smartsim.errors import BadValue, Interrupted, Invalid, SmartSimError
from smartsim.values import AllocationRequest, JobId

if TYPE_CHECKING:
    import datetime as _dt

    from smartsim.values import Duration, Memory, OptionValue

__all__ = ["get_slurm_allocation", "release_slurm_allocation", "slurm_allocation"]

P = ParamSpec("P")

#: Seconds ``get_slurm_allocation`` waits for a pending request by default.
DEFAULT_TIMEOUT = 300.0


def get_slurm_allocation(
    nodes: int | None = 1,
    add_opts: Mapping[str, OptionValue] | None = None,
    *,
    time: Duration | _dt.timedelta | int | float | str | None = None,
    partition: str | None = None,
    account: str | None = None,
    constraint: str | None = None,
    exclusive: bool | None = None,
    job_name: str | None = None,
    mem: Memory | int | str | None = None,
    gpus: int | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    exp_path: str | os.PathLike[str] | None = None,
) -> str:
    """Obtain an allocation with ``salloc --no-shell``; returns its id (``"1234"``).

    ``add_opts`` are salloc options in the seed's vocabulary (``{"C": "haswell"}`` is
    ``-C haswell``, ``{"exclusive": None}`` is ``--exclusive``, ``False`` leaves an option out);
    the keyword fields are the common options, typed. ``nodes`` means whole nodes unless the
    request sizes tasks or CPUs itself or ``exclusive=False`` (``exclusive=None``, the
    default; see :class:`~smartsim.values.AllocationRequest`). The same option given twice
    (``nodes`` and ``N``, ``time`` and ``t``) is an error. ``timeout`` (seconds, ``None``: as
    long as Slurm takes) bounds the wait for a pending request; ``add_opts={"immediate": S}``
    makes Slurm give up itself after ``S`` seconds.

    ``exp_path``: the experiment directory this allocation serves. It is then recorded in that
    experiment's journal with its id and this process, so ``smartsim status DIR`` shows it and
    ``smartsim stop DIR`` releases it if this process dies without releasing it.
    """
    from smartsim.effects.slurm import allocate

    req = AllocationRequest(
        nodes=nodes,
        add_opts=add_opts,
        time=time,
        partition=partition,
        account=account,
        constraint=constraint,
        exclusive=exclusive,
        job_name=job_name,
        mem=mem,
        gpus=gpus,
    )
    result = allocate(req, timeout=timeout)
    if isinstance(result, IOFailure):
        error = unsafe_perform_io(result.failure())
        if isinstance(error, Interrupted):
            raise KeyboardInterrupt from SmartSimError(error)
        raise SmartSimError(error)
    jid = unsafe_perform_io(result.unwrap())
    alloc_id = str(jid) if jid.cluster is None else f"{jid};{jid.cluster}"
    if exp_path is not None:
        from smartsim.effects.allocations import record_allocation

        recorded = record_allocation(os.path.abspath(exp_path), job_name or "", alloc_id)
        if isinstance(recorded, IOFailure):
            warnings.warn(
                f"allocation {alloc_id} is not in the journal of {exp_path}: "
                f"{unsafe_perform_io(recorded.failure())}",
                stacklevel=2,
            )
    return alloc_id


def release_slurm_allocation(
    alloc_id: str | int, *, exp_path: str | os.PathLike[str] | None = None
) -> None:
    """Release an allocation (``scancel``). Releasing one that has already ended is not an
    error; an id that is not a Slurm job id is, and so is one Slurm has never known
    (``UnknownJob``, with Slurm's message). ``exp_path``: the experiment directory whose
    journal recorded the allocation (the release is recorded there too)."""
    from smartsim.effects.slurm import release_allocation

    if not isinstance(alloc_id, (str, int)) or isinstance(alloc_id, bool):
        raise SmartSimError(Invalid((BadValue("alloc_id", alloc_id, "a Slurm job id"),)))
    jid = JobId.parse(str(alloc_id)).value_or(None)
    if jid is None or not str(alloc_id).strip():
        raise SmartSimError(Invalid((BadValue("alloc_id", alloc_id, "a Slurm job id"),)))
    result = release_allocation(jid)
    if isinstance(result, IOFailure):
        raise SmartSimError(unsafe_perform_io(result.failure()))
    if exp_path is not None:
        from smartsim.effects.allocations import record_release

        recorded = record_release(os.path.abspath(exp_path), str(alloc_id).strip())
        if isinstance(recorded, IOFailure):
            warnings.warn(
                f"the release of {alloc_id} is not in the journal of {exp_path}: "
                f"{unsafe_perform_io(recorded.failure())}",
                stacklevel=2,
            )


def _released_at_exit(get: Callable[P, str]) -> Callable[P, AbstractContextManager[str]]:
    """``get`` (the arguments and the allocation of :func:`get_slurm_allocation`) as a context
    manager that releases the allocation when the block ends."""

    @contextlib.contextmanager
    def allocation(*args: P.args, **kwargs: P.kwargs) -> Iterator[str]:
        exp_path = cast("str | os.PathLike[str] | None", kwargs.get("exp_path"))
        alloc_id = get(*args, **kwargs)
        try:
            yield alloc_id
        except BaseException as exc:
            try:
                release_slurm_allocation(alloc_id, exp_path=exp_path)
            except SmartSimError as failed:
                exc.add_note(f"releasing allocation {alloc_id} failed too: {failed}")
            raise
        release_slurm_allocation(alloc_id, exp_path=exp_path)

    # help() and the API page show get's parameters, not (*args, **kwargs).
    signature = inspect.signature(get).replace(return_annotation="Iterator[str]")
    setattr(allocation, "__signature__", signature)  # noqa: B010 (not an attribute mypy knows)
    return allocation


slurm_allocation = _released_at_exit(get_slurm_allocation)
slurm_allocation.__name__ = slurm_allocation.__qualname__ = "slurm_allocation"
slurm_allocation.__doc__ = (
    ":func:`get_slurm_allocation` as a context manager: the allocation is released when the\n"
    "block ends, however it ends (an exception, Ctrl-C). A release that fails while another\n"
    "exception is already on its way out is added to that exception as a note, not raised.\n"
    "``exp_path`` journals it as :func:`get_slurm_allocation` does."
)
