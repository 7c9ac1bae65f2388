"""Detect which MPI an ``mpiexec`` (or ``mpirun``) is, once, when the user asks for ``"auto"``.

The pure builders never probe: ``RunSettings(run_command="mpiexec", flavour="auto")`` is turned
into settings with a concrete flavour here, *before* they are checked and built. The detection
runs ``<run_command> --version`` (parsed by :func:`smartsim.commands.mpi.parse_mpi_version`); if
the text names no flavour, a launcher installed under a ``pals`` directory (HPE installs PALS as
``/opt/cray/pals/<version>/bin/mpiexec``) is PALS. Results are cached per resolved executable
path for the life of the process; failures are not cached.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Mapping

import attrs
from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Success

from smartsim.commands.mpi import parse_mpi_version, version_command
from smartsim.effects.process import Completed, run
from smartsim.errors import EffectError, ExecutableNotFound, UnparsableOutput
from smartsim.values import RunSettings

__all__ = ["clear_cache", "detect_flavour", "resolve_flavour"]

_cache: dict[str, str] = {}
_lock = threading.Lock()


def clear_cache() -> None:
    """Forget every detected flavour (tests; a changed PATH)."""
    with _lock:
        _cache.clear()


def _flavour_of(done: Completed, path: str) -> IOResult[str, EffectError]:
    text = done.stdout + done.stderr
    parsed = parse_mpi_version(text)
    if isinstance(parsed, Success):
        return IOSuccess(parsed.unwrap())
    if "pals" in os.path.realpath(path).lower().split(os.sep):
        return IOSuccess("pals")
    return IOFailure(
        UnparsableOutput(
            tool=f"{path} --version",
            text=text,
            expected="Open MPI, MPICH (Hydra) or Cray PALS version text",
        )
    )


def detect_flavour(
    run_command: str,
    *,
    timeout: float = 30.0,
    base_env: Mapping[str, str] | None = None,
) -> IOResult[str, EffectError]:
    """``"openmpi"``, ``"mpich"`` or ``"pals"`` for the launcher ``run_command`` (cached)."""
    path = shutil.which(run_command, path=None if base_env is None else base_env.get("PATH"))
    if path is None:
        return IOFailure(ExecutableNotFound(run_command, "not found on PATH"))
    with _lock:
        known = _cache.get(path)
    if known is not None:
        return IOSuccess(known)
    command = attrs.evolve(version_command(run_command), argv=(path, "--version"))
    return (
        run(command, timeout=timeout, base_env=base_env)
        .bind(lambda done: _flavour_of(done, path))
        .map(lambda flavour: _remember(path, flavour))
    )


def _remember(path: str, flavour: str) -> str:
    with _lock:
        _cache[path] = flavour
    return flavour


def resolve_flavour(
    rs: RunSettings,
    *,
    timeout: float = 30.0,
    base_env: Mapping[str, str] | None = None,
) -> IOResult[RunSettings, EffectError]:
    """``rs`` with every ``flavour="auto"`` (MPMD parts included) replaced by the detected
    flavour of ``rs.run_command``; settings without ``"auto"`` come back unchanged, unprobed."""
    needs = rs.flavour == "auto" or any(p.flavour == "auto" for p in rs.mpmd)
    if not needs or rs.run_command is None:
        return IOSuccess(rs)

    def apply(flavour: str) -> RunSettings:
        parts = tuple(
            attrs.evolve(p, flavour=flavour) if p.flavour == "auto" else p for p in rs.mpmd
        )
        return attrs.evolve(rs, flavour=flavour if rs.flavour == "auto" else rs.flavour, mpmd=parts)

    return detect_flavour(rs.run_command, timeout=timeout, base_env=base_env).map(apply)
