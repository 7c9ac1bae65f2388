"""Plans: exactly what ``Experiment.start`` will execute, as values (the dry run).

A planner is a pure function ``(entity, world) -> Result[tuple[Launch, ...], Invalid]``. Whatever
the plan needs from the world (the caller's allocation id, the next free output index, ...) is read
once by the shell and passed in as a :class:`World`; the builders stay pure, and ``start`` executes
the very plan ``preview`` shows, so the two cannot drift.
"""

from __future__ import annotations

import shlex
from typing import final

import attrs

from smartsim._frozen import FrozenMap, frozen_map
from smartsim.commands._types import Command, Submission, heredoc


@final
@attrs.frozen(kw_only=True)
class World:
    """Facts about the outside read once by the shell (never by builders)."""

    exp_path: str
    #: An enclosing allocation, e.g. ``SLURM_JOB_ID`` of the calling process.
    alloc: str | None = None
    #: Index for this run's output files (the history scheme: earlier output is never truncated).
    run_index: int = 0
    #: Tool paths named by the user (``{"qsub": "/opt/pbs/bin/qsub"}``).
    tools: FrozenMap[str, str] = attrs.field(factory=FrozenMap, converter=frozen_map)


@final
@attrs.frozen(kw_only=True)
class Launch:
    """One unit the effects layer starts and tracks: a process (``command``) or a batch job
    (``submission``). ``members`` names the models it runs (a batch ensemble runs several)."""

    name: str
    kind: str
    members: tuple[str, ...]
    cwd: str
    stdout: str
    stderr: str
    command: Command | None = None
    submission: Submission | None = None
    #: Files the effects layer writes before starting (path -> text), e.g. an ERF or hostfile.
    files: FrozenMap[str, str] = attrs.field(factory=FrozenMap, converter=frozen_map)

    def shell(self) -> str:
        """Shell text a person can paste to do the same thing."""
        lines = [f"# {self.kind} {self.name}"]
        for path, text in self.files.items():
            lines.append(f"cat > {shlex.quote(path)} {heredoc(text)}")
        if self.submission is not None:
            lines.append(self.submission.shell())
        if self.command is not None:
            lines.append(self.command.shell())
        return "\n".join(lines)


@final
@attrs.frozen
class Plan:
    """Every launch, in order. ``str()`` is shell text a person can paste."""

    launches: tuple[Launch, ...]

    def __str__(self) -> str:
        return "\n\n".join(launch.shell() for launch in self.launches)
