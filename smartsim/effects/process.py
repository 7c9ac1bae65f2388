"""Run an argv to completion and capture what it said. The one home of ``subprocess`` for
scheduler tools (the local launcher spawns and signals long-lived processes itself, and the
Slurm launcher keeps its own ``Popen`` for the ``salloc`` it watches and interrupts)."""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
from collections.abc import Mapping

from returns.io import IOFailure, IOResult, IOSuccess

from smartsim.commands._types import Command, Completed
from smartsim.errors import EffectError, ExecutableNotFound, NonZeroExit, OSFailure, Timeout

#: The library's logger: DEBUG for every command run (nothing is printed by the library).
_log = logging.getLogger("smartsim")


def environment(
    changes: Mapping[str, str], base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The child's environment: ``base`` (default: this process's) with ``changes`` applied."""
    env = dict(os.environ if base is None else base)
    env.update(changes)
    return env


def run(
    command: Command, *, timeout: float | None = 60.0, base_env: Mapping[str, str] | None = None
) -> IOResult[Completed, EffectError]:
    """Run ``command`` to completion (stdin from ``command.stdin``), capturing stdout/stderr.

    A non-zero exit is *not* a failure here (see :func:`run_ok`): callers such as status
    parsers need the text either way.
    """
    if _log.isEnabledFor(logging.DEBUG):
        _log.debug("run %s", shlex.join(command.argv))
    try:
        proc = subprocess.run(
            list(command.argv),
            input=command.stdin if command.stdin is not None else None,
            stdin=None if command.stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            cwd=command.cwd,
            env=environment(command.env, base_env),
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        if command.cwd is not None and not os.path.isdir(command.cwd):
            return IOFailure(OSFailure("chdir", f"{command.cwd}: {exc.strerror}"))
        return IOFailure(ExecutableNotFound(command.argv[0], "not found on PATH"))
    except PermissionError:
        return IOFailure(ExecutableNotFound(command.argv[0], "not executable"))
    except subprocess.TimeoutExpired:
        return IOFailure(Timeout(" ".join(command.argv[:2]), float(timeout or 0)))
    except OSError as exc:
        return IOFailure(OSFailure(f"exec {command.argv[0]}", str(exc)))
    return IOSuccess(Completed(tuple(command.argv), proc.returncode, proc.stdout, proc.stderr))


def run_ok(
    command: Command, *, timeout: float | None = 60.0, base_env: Mapping[str, str] | None = None
) -> IOResult[Completed, EffectError]:
    """Like :func:`run`, but a non-zero exit is a :class:`NonZeroExit` failure."""

    def check(done: Completed) -> IOResult[Completed, EffectError]:
        if done.returncode != 0:
            return IOFailure(NonZeroExit(done.argv, done.returncode, done.stderr, done.stdout))
        return IOSuccess(done)

    return run(command, timeout=timeout, base_env=base_env).bind(check)


__all__ = ["Completed", "environment", "run", "run_ok"]
