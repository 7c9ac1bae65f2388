"""The Grid Engine launcher: ``qsub -terse`` a script; poll with one ``qstat -xml`` and, for the
jobs it no longer lists, one ``qacct -j`` over the accounting file; ``qdel`` in one call. The
pure seams are :mod:`smartsim.commands.sge`."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from typing import final

from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure, Result, Success

from smartsim.commands import sge
from smartsim.commands._types import Command
from smartsim.commands.plan import Launch, World
from smartsim.effects.batch import BatchLauncher, submitted_at
from smartsim.effects.launcher import Handle
from smartsim.effects.process import Completed
from smartsim.errors import EffectError, Invalid, UnparsableOutput
from smartsim.status import JobState, Status
from smartsim.values import Ensemble, Model


def _job(job_id: str) -> sge.SgeJobId:
    parsed = sge.SgeJobId.parse(job_id)
    return parsed.unwrap() if isinstance(parsed, Success) else sge.SgeJobId(-1)


def _begin(handles: Sequence[Handle]) -> str | None:
    """qacct's ``-b``: a minute before the earliest submission, in local time (qacct reads
    ``[[CC]YY]MMDDhhmm`` as local time); ``None`` when a handle does not record it."""
    times = [submitted_at(h) for h in handles]
    if not times or any(t is None for t in times):
        return None
    earliest = min(t for t in times if t is not None)
    return (earliest - _dt.timedelta(minutes=1)).astimezone().strftime("%Y%m%d%H%M")


@final
class SgeLauncher(BatchLauncher):
    """Batch jobs on Grid Engine.

    ``pe`` names the parallel environment asked for slots when a job needs more than one
    (sites name their own; ``None`` makes such jobs an error). ``tools`` names the paths of
    ``qsub``, ``qstat``, ``qdel`` and ``qacct`` (Grid Engine's ``qsub`` shares its name with
    PBS's and Slurm's Torque wrappers).
    """

    name = "sge"
    submit_tool = "qsub"
    tool_names = sge.TOOLS
    script_suffix = sge.SUFFIX

    def __init__(
        self,
        *,
        tools: Mapping[str, str] | None = None,
        timeout: float = 60.0,
        pe: str | None = sge.DEFAULT_PE,
    ) -> None:
        super().__init__(tools=tools, timeout=timeout)
        self.pe = pe

    def plan(self, entity: Model | Ensemble, world: World) -> Result[tuple[Launch, ...], Invalid]:
        return sge.plan_sge(entity, self.with_world(world), pe=self.pe)

    def parse_submit(self, done: Completed) -> Result[str, str]:
        parsed = sge.parse_qsub_output(done.stdout)
        if isinstance(parsed, Failure):
            return Failure(parsed.failure())
        return Success(str(parsed.unwrap()))

    def status_command(self, job_ids: Sequence[str], tools: Mapping[str, str]) -> Command:
        return Command(argv=sge.qstat_argv(tool=tools["qstat"]))

    def parse_status(
        self, done: Completed, job_ids: Sequence[str]
    ) -> Result[Mapping[str, JobState], str]:
        parsed = sge.parse_qstat_xml(done.stdout)
        if isinstance(parsed, Failure) or done.returncode != 0:
            return Failure("qstat -xml output")
        states = parsed.unwrap()
        return Success({j: states[_job(j).job] for j in job_ids if _job(j).job in states})

    def query(
        self, handles: Sequence[Handle], tools: Mapping[str, str]
    ) -> IOResult[Mapping[str, JobState], EffectError]:
        """``qstat -xml`` for pending and running jobs; one ``qacct -j`` for the others."""
        return (
            super()
            .query(handles, tools)
            .bind(lambda found: self._accounting(handles, tools, found))
        )

    def _accounting(
        self, handles: Sequence[Handle], tools: Mapping[str, str], found: Mapping[str, JobState]
    ) -> IOResult[Mapping[str, JobState], EffectError]:
        missing = [h for h in handles if h.job_id not in found]
        if not missing:
            return IOSuccess(found)
        command = Command(argv=sge.qacct_argv(begin=_begin(missing), tool=tools["qacct"]))

        def read(done: Completed) -> IOResult[Mapping[str, JobState], EffectError]:
            if done.returncode != 0 and not done.stdout.strip():
                if "not found" in done.stderr:  # an empty accounting file
                    return IOSuccess(found)
                return IOFailure(self.failure(done))
            parsed = sge.parse_qacct(done.stdout)
            if isinstance(parsed, Failure):
                return IOFailure(UnparsableOutput("qacct", done.stdout, parsed.failure()))
            records = parsed.unwrap()
            out = dict(found)
            for handle in missing:
                job = _job(handle.job_id)
                state = sge.accounting_state(records.get(job.job, {}), job)
                if state is not None:
                    out[handle.job_id] = state
                elif job.job in records:
                    out[handle.job_id] = JobState(
                        Status.RUNNING, raw="", reason="some array tasks have no record yet"
                    )
            return IOSuccess(out)

        return self.run_tool(command).bind(read)

    def cancel_command(self, job_ids: Sequence[str], tools: Mapping[str, str]) -> Command:
        numbers = list(dict.fromkeys(_job(j).job for j in job_ids))
        return Command(argv=sge.qdel_argv(numbers, tool=tools["qdel"]))

    def cancel_succeeded(self, done: Completed) -> bool:
        return sge.qdel_succeeded(done.returncode, done.stdout, done.stderr)

    def unavailable(self, done: Completed) -> bool:
        return sge.unavailable(done.stderr + done.stdout)

    def cancelled(self, done: Completed, job_ids: Sequence[str]) -> set[str]:
        acted = sge.qdel_acted(done.stdout + "\n" + done.stderr)
        return {j for j in job_ids if _job(j).job in acted}
