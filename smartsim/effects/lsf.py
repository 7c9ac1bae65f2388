"""The IBM Spectrum LSF launcher: ``bsub`` with the script on standard input, ``bjobs -o ...
-json -a`` for every job in one call, ``bkill`` them in one call. The pure seams are
:mod:`smartsim.commands.lsf`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import final

from returns.result import Failure, Result, Success

from smartsim.commands import lsf
from smartsim.commands._types import Command
from smartsim.commands.plan import Launch, World
from smartsim.effects.batch import BatchLauncher
from smartsim.effects.process import Completed
from smartsim.errors import Invalid
from smartsim.status import JobState
from smartsim.values import Ensemble, Model


@final
class LsfLauncher(BatchLauncher):
    """Batch jobs on IBM Spectrum LSF.

    ``csm=True`` asks for nodes with ``-nnodes`` (CSM systems such as Summit) instead of
    ``-n``/``span[ptile=...]``. ``tools`` names the paths of ``bsub``, ``bjobs`` and ``bkill``.
    """

    name = "lsf"
    submit_tool = "bsub"
    tool_names = lsf.TOOLS
    script_suffix = lsf.SUFFIX

    def __init__(
        self, *, tools: Mapping[str, str] | None = None, timeout: float = 60.0, csm: bool = False
    ) -> None:
        super().__init__(tools=tools, timeout=timeout)
        self.csm = csm

    def plan(self, entity: Model | Ensemble, world: World) -> Result[tuple[Launch, ...], Invalid]:
        return lsf.plan_lsf(entity, self.with_world(world), csm=self.csm)

    def parse_submit(self, done: Completed) -> Result[str, str]:
        parsed = lsf.parse_bsub_output(done.stdout + "\n" + done.stderr)
        if isinstance(parsed, Failure):
            return Failure(parsed.failure())
        return Success(str(parsed.unwrap()))

    def status_command(self, job_ids: Sequence[str], tools: Mapping[str, str]) -> Command:
        return Command(argv=lsf.bjobs_argv(job_ids, tool=tools["bjobs"]))

    def parse_status(
        self, done: Completed, job_ids: Sequence[str]
    ) -> Result[Mapping[str, JobState], str]:
        # bjobs exits non-zero when an id is unknown; the JSON still says which.
        parsed = lsf.parse_bjobs_json(done.stdout, job_ids)
        if isinstance(parsed, Failure):
            return Failure(parsed.failure())
        if done.returncode != 0 and not done.stdout.strip():
            return Failure("bjobs output (it failed)")
        return Success(parsed.unwrap())

    def cancel_command(self, job_ids: Sequence[str], tools: Mapping[str, str]) -> Command:
        return Command(argv=lsf.bkill_argv(job_ids, tool=tools["bkill"]))

    def cancel_succeeded(self, done: Completed) -> bool:
        return lsf.bkill_succeeded(done.returncode, done.stdout, done.stderr)

    def unavailable(self, done: Completed) -> bool:
        return lsf.unavailable(done.stderr + done.stdout)

    def cancelled(self, done: Completed, job_ids: Sequence[str]) -> set[str]:
        acted = lsf.bkill_acted(done.stdout + "\n" + done.stderr)
        return {j for j in job_ids if j.split("[", 1)[0] in acted}
