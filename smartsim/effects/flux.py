"""Flux effects: ``flux submit``/``flux batch`` to start, one ``flux jobs --json`` per poll, one
``flux cancel`` per stop.

The planner is :func:`smartsim.commands.flux.plan_flux`; this module only runs what it planned.
A handle's ``job_id`` is the decimal job id (every Flux tool accepts it; no ``ƒ`` to mangle) and
its ``extra`` records the ``flux`` path that submitted it, so polls and stops use the same one.
"""

# ruff: noqa: PLC0414 (``x as x``: helpers moved to _tools.py stay importable here)
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final, final

from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure, Result, Success

from smartsim._frozen import FrozenMap
from smartsim.commands._types import Command
from smartsim.commands.flux import (
    TOOL,
    FluxJobId,
    flux_cancel_argv,
    flux_jobs_argv,
    parse_flux_jobs,
    parse_flux_submit,
    plan_flux,
)
from smartsim.commands.plan import Launch, World
from smartsim.effects._tools import SUBMITTED as SUBMITTED
from smartsim.effects._tools import find_tool as find_tool
from smartsim.effects._tools import prepare as prepare
from smartsim.effects._tools import run_found as run_found
from smartsim.effects._tools import scheduler_error, utc_stamp, with_tool
from smartsim.effects._tools import settle as settle
from smartsim.effects._tools import write_text as write_text
from smartsim.effects.launcher import Handle
from smartsim.effects.process import Completed, run
from smartsim.errors import (
    EffectError,
    Invalid,
    OSFailure,
    SchedulerUnavailable,
    UnparsableOutput,
)
from smartsim.status import JobState, Status
from smartsim.values import Ensemble, Model

#: ``Handle.extra`` key of the ``flux`` executable that submitted the job.
TOOL_KEY: Final = "tool"
#: How a Flux command says the instance cannot be reached (flux(1): no FLUX_URI, broker down).
_UNREACHABLE: Final = re.compile(
    r"unable to connect|connection refused|broker socket|No such file or directory.*local",
    re.IGNORECASE,
)
#: What flux-cancel(1) reports for a job that has already ended (or been purged), and what
#: flux-jobs(1) prints for an id it does not know (flux/job/list.py: "JobID <id> unknown").
_ALREADY_ENDED: Final = re.compile(
    r"job is inactive|unknown job id|JobID \S+ unknown", re.IGNORECASE
)


def _error(done: Completed) -> EffectError:
    return scheduler_error(done, _UNREACHABLE)


def _groups(handles: Sequence[Handle]) -> dict[str, list[Handle]]:
    out: dict[str, list[Handle]] = {}
    for handle in handles:
        out.setdefault(handle.get(TOOL_KEY) or TOOL, []).append(handle)
    return out


@final
class FluxLauncher:
    """The Flux launcher (``Experiment(name, launcher="flux")``).

    ``tools={"flux": "/opt/flux/bin/flux"}`` names the executable (``World.tools`` wins).
    """

    name = "flux"

    def __init__(self, *, tools: Mapping[str, str] | None = None, timeout: float = 60.0) -> None:
        self.tools: FrozenMap[str, str] = FrozenMap(dict(tools or {}))
        self.timeout = timeout
        self._stopped: set[tuple[str, str]] = set()

    def plan(self, entity: Model | Ensemble, world: World) -> Result[tuple[Launch, ...], Invalid]:
        """Pure: :func:`~smartsim.commands.flux.plan_flux` with this launcher's tool paths."""
        return plan_flux(entity, with_tool(world, self.tools, TOOL))

    # ------------------------------------------------------------------ start

    def start(self, launch: Launch) -> IOResult[Handle, EffectError]:
        """Create directories, write files, then run the planned ``flux submit`` or
        ``flux batch``; the handle carries the decimal job id it printed."""
        command = launch.submission.submit if launch.submission is not None else launch.command
        if command is None:
            return IOFailure(OSFailure("submit", f"{launch.name!r} has nothing to submit"))
        tool = command.argv[0]
        return (
            find_tool(tool)
            .bind(lambda _: prepare(launch))
            .bind(lambda _: run(command, timeout=self.timeout))
            .bind(lambda done: self._submitted(launch, done, tool))
        )

    def _submitted(
        self, launch: Launch, done: Completed, tool: str
    ) -> IOResult[Handle, EffectError]:
        if done.returncode != 0:
            return IOFailure(_error(done))
        parsed = parse_flux_submit(done.stdout)
        if isinstance(parsed, Failure):
            return IOFailure(UnparsableOutput("flux", done.stdout, "a job id"))
        job = parsed.unwrap()
        return IOSuccess(
            Handle(
                launcher=self.name,
                name=launch.name,
                job_id=job.dec(),
                extra=((TOOL_KEY, tool), (SUBMITTED, utc_stamp())),
            )
        )

    # ------------------------------------------------------------------ poll

    def _query(
        self, tool: str, ids: Sequence[FluxJobId]
    ) -> IOResult[dict[FluxJobId, JobState], EffectError]:
        command = Command(argv=flux_jobs_argv(ids, tool=tool))

        def read(done: Completed) -> IOResult[dict[FluxJobId, JobState], EffectError]:
            parsed = parse_flux_jobs(done.stdout)
            if isinstance(parsed, Success):
                return IOSuccess(parsed.unwrap())
            if done.returncode != 0 and not done.stdout.strip():
                if _UNREACHABLE.search(done.stderr):
                    return IOFailure(SchedulerUnavailable(done.argv, done.stderr))
                if _only_ended(done.stderr):
                    return IOSuccess({})  # every listed id is unknown to Flux
                return IOFailure(_error(done))
            return IOFailure(UnparsableOutput("flux jobs", done.stdout, "flux jobs --json"))

        return run(command, timeout=self.timeout).bind(read)

    def poll(self, handles: Sequence[Handle]) -> IOResult[Mapping[Handle, JobState], EffectError]:
        """One ``flux jobs --json`` per ``flux`` executable (normally one) for every handle."""
        out: dict[Handle, JobState] = {}
        for tool, group in _groups(handles).items():
            ids: dict[Handle, FluxJobId] = {}
            for handle in group:
                parsed = FluxJobId.parse(handle.job_id)
                if isinstance(parsed, Success):
                    ids[handle] = parsed.unwrap()
                else:
                    out[handle] = JobState(Status.UNKNOWN, reason="not a Flux job id")
            if not ids:
                continue
            query: IOResult[dict[FluxJobId, JobState], EffectError] = self._query(
                tool, list(dict.fromkeys(ids.values()))
            )
            result = settle(query)
            if isinstance(result, Failure):
                return IOFailure(result.failure())
            states = result.unwrap()
            for handle, job in ids.items():
                state = states.get(job)
                if state is None:
                    if (tool, handle.job_id) in self._stopped:
                        state = JobState(Status.CANCELLED, reason="cancelled by smartsim")
                    else:
                        state = JobState(Status.UNKNOWN, reason="flux does not report this job")
                out[handle] = state
        return IOSuccess(out)

    # ------------------------------------------------------------------ stop

    def stop(self, handles: Sequence[Handle]) -> IOResult[None, EffectError]:
        """One ``flux cancel`` per ``flux`` executable; a job that already ended is fine."""
        for tool, group in _groups(handles).items():
            ids = []
            for handle in group:
                parsed = FluxJobId.parse(handle.job_id)
                if isinstance(parsed, Success):
                    ids.append(parsed.unwrap())
            if not ids:
                continue
            command = Command(argv=flux_cancel_argv(dict.fromkeys(ids), tool=tool))
            ran: IOResult[Completed, EffectError] = run_found(command, self.timeout)
            result = settle(ran)
            if isinstance(result, Failure):
                return IOFailure(result.failure())
            done = result.unwrap()
            if done.returncode != 0 and not _only_ended(done.stderr):
                return IOFailure(_error(done))
            self._stopped.update((tool, h.job_id) for h in group)
        return IOSuccess(None)


def _only_ended(stderr: str) -> bool:
    """Whether every error flux-cancel printed says the job had already ended."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    return bool(lines) and all(_ALREADY_ENDED.search(line) for line in lines)
