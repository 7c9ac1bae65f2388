"""The PBS Pro / OpenPBS launcher: ``qsub`` a script, ``qstat -f -F json -x`` every job in one
call, ``qdel`` them in one call. The pure seams are :mod:`smartsim.commands.pbs`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import final

from returns.result import Failure, Result, Success

from smartsim.commands import pbs
from smartsim.commands._types import Command
from smartsim.commands.plan import Launch, World
from smartsim.effects.batch import BatchLauncher
from smartsim.effects.process import Completed
from smartsim.errors import Invalid
from smartsim.status import JobState
from smartsim.values import Ensemble, Model


@final
class PbsLauncher(BatchLauncher):
    """Batch jobs on PBS Pro / OpenPBS.

    ``tools`` names the paths of ``qsub``, ``qstat`` and ``qdel`` where ``PATH`` would find
    another product's (Grid Engine and Slurm's Torque wrappers install tools of the same names).
    """

    name = "pbs"
    submit_tool = "qsub"
    tool_names = pbs.TOOLS
    script_suffix = pbs.SUFFIX

    def plan(self, entity: Model | Ensemble, world: World) -> Result[tuple[Launch, ...], Invalid]:
        return pbs.plan_pbs(entity, self.with_world(world))

    def parse_submit(self, done: Completed) -> Result[str, str]:
        parsed = pbs.parse_qsub_output(done.stdout)
        if isinstance(parsed, Failure):
            return Failure(parsed.failure())
        return Success(str(parsed.unwrap()))

    def status_command(self, job_ids: Sequence[str], tools: Mapping[str, str]) -> Command:
        return Command(argv=pbs.qstat_argv(job_ids, tool=tools["qstat"]))

    def parse_status(
        self, done: Completed, job_ids: Sequence[str]
    ) -> Result[Mapping[str, JobState], str]:
        if done.returncode != 0 and not done.stdout.strip() and not _only_unknown(done.stderr):
            return Failure("qstat output (it failed)")
        parsed = pbs.parse_qstat_json(done.stdout, job_ids)
        if isinstance(parsed, Failure):
            return Failure(parsed.failure())
        return Success(parsed.unwrap())

    def cancel_command(self, job_ids: Sequence[str], tools: Mapping[str, str]) -> Command:
        return Command(argv=pbs.qdel_argv(job_ids, tool=tools["qdel"]))

    def cancel_succeeded(self, done: Completed) -> bool:
        return pbs.qdel_succeeded(done.returncode, done.stdout, done.stderr)

    def unavailable(self, done: Completed) -> bool:
        return pbs.unavailable(done.stderr + done.stdout)

    def cancelled(self, done: Completed, job_ids: Sequence[str]) -> set[str]:
        return pbs.qdel_acted(done.stderr, job_ids)


def _only_unknown(stderr: str) -> bool:
    """qstat exits non-zero when an id is unknown (purged, or history disabled); that is an
    answer about that job, not a failure of the query."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    return all("Unknown Job Id" in line or "Job has finished" in line for line in lines)
