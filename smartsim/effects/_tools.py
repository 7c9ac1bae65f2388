"""Small effects shared by the scheduler launchers (batch schedulers, Flux, Kubernetes): find a
tool, write a file, run a found tool, read an effect's outcome, stamp a submission, and tell an
unreachable scheduler from a failed command. Nothing here raises for an expected failure.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import shutil
from collections.abc import Iterable, Mapping
from typing import Final, TypeVar

import attrs
from returns.io import IOFailure, IOResult, IOSuccess
from returns.pipeline import is_successful
from returns.result import Failure, Result, Success
from returns.unsafe import unsafe_perform_io

from smartsim.commands._types import Command
from smartsim.commands.plan import Launch, World
from smartsim.commands.scheduler import SUBMITTED as _SUBMITTED
from smartsim.effects.process import Completed, run
from smartsim.errors import (
    EffectError,
    ExecutableNotFound,
    NonZeroExit,
    OSFailure,
    SchedulerUnavailable,
)

#: Key of the submission time (UTC, ISO 8601) in ``Handle.extra``.
SUBMITTED: Final = _SUBMITTED

_T = TypeVar("_T")


def _not_found(path: str) -> ExecutableNotFound | None:
    if shutil.which(path) is None:
        reason = "not executable" if os.path.exists(path) else "not found on PATH"
        return ExecutableNotFound(path, reason)
    return None


def find_tool(path: str) -> IOResult[str, EffectError]:
    """``path`` itself when it names an executable (on ``PATH`` or as a file path), else a
    typed :class:`ExecutableNotFound` naming it."""
    missing = _not_found(path)
    return IOSuccess(path) if missing is None else IOFailure(missing)


def find_tools(paths: Iterable[str]) -> IOResult[None, EffectError]:
    """Success when every path names an executable (on ``PATH`` or as a file path); else an
    :class:`ExecutableNotFound` naming the first one that does not."""
    for path in paths:
        missing = _not_found(path)
        if missing is not None:
            return IOFailure(missing)
    return IOSuccess(None)


def write_text(path: str, text: str) -> IOResult[None, EffectError]:
    """Write ``text`` at ``path`` (creating parent directories)."""
    try:
        parent = os.path.dirname(path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        return IOFailure(OSFailure(f"write {path}", exc.strerror or str(exc)))
    return IOSuccess(None)


def prepare(launch: Launch) -> IOResult[None, EffectError]:
    """Create the launch's directories and write its files (and batch script)."""
    try:
        for directory in launch.mkdirs:
            os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        return IOFailure(OSFailure("mkdir", exc.strerror or str(exc)))
    files = list(launch.files.items())
    if launch.submission is not None:
        files.append((launch.submission.script_path, launch.submission.script))
        files += list(launch.submission.submit.files.items())
    if launch.command is not None:
        files += list(launch.command.files.items())
    for path, text in files:
        written: IOResult[None, EffectError] = write_text(path, text)
        if not is_successful(written):
            return written
    return IOSuccess(None)


def settle(result: IOResult[_T, EffectError]) -> Result[_T, EffectError]:
    """The outcome of an effect that has already run (the effects layer reads its own results
    to decide the next step; only the shell unwraps for the user)."""
    if is_successful(result):
        return Success(unsafe_perform_io(result.unwrap()))
    return Failure(unsafe_perform_io(result.failure()))


def run_found(command: Command, timeout: float) -> IOResult[Completed, EffectError]:
    """Run ``command`` once its program is known to exist (a typed ExecutableNotFound else)."""
    found: IOResult[str, EffectError] = find_tool(command.argv[0])
    return found.bind(lambda _: run(command, timeout=timeout))


def utc_stamp() -> str:
    """Now, in UTC to the second, as ISO 8601 (a handle's :data:`SUBMITTED`)."""
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()


def scheduler_error(done: Completed, unreachable: re.Pattern[str]) -> EffectError:
    """A failed tool run: :class:`SchedulerUnavailable` when its standard error matches
    ``unreachable``, else :class:`NonZeroExit`."""
    if unreachable.search(done.stderr):
        return SchedulerUnavailable(done.argv, done.stderr)
    return NonZeroExit(done.argv, done.returncode, done.stderr, done.stdout)


def with_tool(world: World, tools: Mapping[str, str], name: str) -> World:
    """``world`` naming ``tools[name]`` as tool ``name`` when ``world`` names none."""
    if name in tools and name not in world.tools:
        return attrs.evolve(world, tools=world.tools.merged({name: tools[name]}))
    return world
