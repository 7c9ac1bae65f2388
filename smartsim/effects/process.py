"""The home of ``subprocess`` in :mod:`smartsim.effects`: :func:`run` an argv to completion
and capture what it said (every scheduler tool), or :func:`spawn` a long-lived process with its
output going to files and follow it as a :class:`Child` (the local launcher's programs, the
Dragon runtime). Only the Slurm launcher keeps a ``Popen`` of its own, for the ``salloc`` it
watches and interrupts (see :mod:`smartsim.effects.slurm`)."""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from typing import IO, Final, final

from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure, Result, Success

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
    return IOResult.from_result(completed(command, timeout=timeout, base_env=base_env))


def completed(
    command: Command, *, timeout: float | None = 60.0, base_env: Mapping[str, str] | None = None
) -> Result[Completed, EffectError]:
    """:func:`run`, as the plain ``Result`` an effect reads to choose its next step (squeue,
    then sacct for what squeue no longer lists). The effects modules use it inside; what they
    return to the shell is an ``IOResult`` again, so only the shell unwraps one."""
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
            return Failure(OSFailure("chdir", f"{command.cwd}: {exc.strerror}"))
        return Failure(ExecutableNotFound(command.argv[0], "not found on PATH"))
    except PermissionError:
        return Failure(ExecutableNotFound(command.argv[0], "not executable"))
    except subprocess.TimeoutExpired:
        return Failure(Timeout(" ".join(command.argv[:2]), float(timeout or 0)))
    except OSError as exc:
        return Failure(OSFailure(f"exec {command.argv[0]}", str(exc)))
    return Success(Completed(tuple(command.argv), proc.returncode, proc.stdout, proc.stderr))


def run_ok(
    command: Command, *, timeout: float | None = 60.0, base_env: Mapping[str, str] | None = None
) -> IOResult[Completed, EffectError]:
    """Like :func:`run`, but a non-zero exit is a :class:`NonZeroExit` failure."""

    def check(done: Completed) -> IOResult[Completed, EffectError]:
        if done.returncode != 0:
            return IOFailure(NonZeroExit(done.argv, done.returncode, done.stderr, done.stdout))
        return IOSuccess(done)

    return run(command, timeout=timeout, base_env=base_env).bind(check)


@final
class Child:
    """A process started by :func:`spawn`: this process's child until :meth:`wait` or
    :meth:`poll` has reaped it (until then its pid, which is also its process group's id,
    cannot be reused)."""

    __slots__ = ("_popen",)

    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        self._popen = popen

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def returncode(self) -> int | None:
        """Its exit status once reaped (negative: killed by that signal), else ``None``."""
        return self._popen.returncode

    def poll(self) -> int | None:
        """Reap it if it has exited: its exit status, or ``None`` while it runs."""
        return self._popen.poll()

    def wait(self) -> int:
        """Block until it has exited, reap it: its exit status."""
        return self._popen.wait()

    def wait_for(self, seconds: float) -> int | None:
        """:meth:`wait`, for at most ``seconds``: ``None`` if it still runs then."""
        try:
            return self._popen.wait(seconds)
        except subprocess.TimeoutExpired:
            return None

    def send_signal(self, sig: int) -> None:
        """Signal it (not its group); nothing once it has been reaped (its pid may be reused)."""
        self._popen.send_signal(sig)

    def kill(self) -> None:
        self._popen.kill()

    @property
    def stderr_pipe(self) -> IO[bytes] | None:
        """The read end of its stderr when it was spawned with ``stderr=PIPE``."""
        return self._popen.stderr


#: ``spawn``'s ``stderr=PIPE``: a pipe this process reads (:attr:`Child.stderr_pipe`).
PIPE: Final = subprocess.PIPE
#: ``spawn``'s ``stdout``/``stderr`` to ``/dev/null``.
DEVNULL: Final = subprocess.DEVNULL


def spawn(
    argv: Sequence[str],
    *,
    stdout: int,
    stderr: int,
    stdin: int | None = None,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
    new_session: bool = False,
) -> Result[Child, OSError]:
    """Start ``argv`` in a process group of its own (and a session of its own when
    ``new_session``), with its output going to the open file descriptors ``stdout`` and
    ``stderr`` and its input from ``stdin`` (default: ``/dev/null``); ``env`` replaces this
    process's environment (default: inherit it). Returns at once; the caller reaps the child.

    The error is the ``OSError`` of the exec (its ``filename`` names what was missing), for the
    caller to say what it means for what it was starting.
    """
    try:
        popen = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL if stdin is None else stdin,
            stdout=stdout,
            stderr=stderr,
            cwd=cwd,
            env=env,
            start_new_session=new_session,
            process_group=None if new_session else 0,
        )
    except OSError as exc:
        return Failure(exc)
    return Success(Child(popen))


__all__ = [
    "DEVNULL",
    "PIPE",
    "Child",
    "Completed",
    "completed",
    "environment",
    "run",
    "run_ok",
    "spawn",
]
