"""SmartSim 0.8's settings classes (``smartsim.settings``) as constructors of our frozen values.

``SrunSettings("a.out", exe_args=["x"], run_args={"nodes": 2})`` is
``RunSettings(exe="a.out", args=("x",), run_command="srun", run_args={"nodes": 2})``: the same
meaning, one frozen value instead of a mutable object. Its setters are typed errors naming what
to write (see :mod:`smartsim.compat`). A keyword SmartSim had and we render differently is a
typed :class:`~smartsim.errors.SmartSimName` error, never silently dropped.

>>> rs = SrunSettings("a.out", exe_args=["-v"], run_args={"nodes": 2}, env_vars={"A": "1"})
>>> rs.run_command, rs.args, dict(rs.run_args), dict(rs.env)
('srun', ('-v',), {'nodes': 2}, {'A': '1'})
>>> bs = QsubBatchSettings(nodes=2, time="1:00:00", queue="debug", account="proj")
>>> bs.partition, bs.account, bs.time.hms()
('debug', 'proj', '1:00:00')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from smartsim import values
from smartsim.values import BatchSettings, OptionValue

__all__ = [
    "BsubBatchSettings",
    "MpiexecSettings",
    "MpirunSettings",
    "OrterunSettings",
    "QsubBatchSettings",
    "RunSettings",
    "SbatchSettings",
    "SrunSettings",
]


def _args(call: str, exe_args: str | Sequence[str] | None) -> tuple[str, ...]:
    if exe_args is None:
        return ()
    if isinstance(exe_args, str):
        from smartsim import compat

        compat.refuse(call, "exe_args", "exe_args=[...], one item per argument (SmartSim split a "
                      "string on spaces)")  # fmt: skip
    return tuple(exe_args)


def _refuse_extra(call: str, kwargs: Mapping[str, Any]) -> None:
    if kwargs:
        from smartsim import compat

        compat.refuse_keywords(call, dict(kwargs))
        raise TypeError(f"{call}() got unexpected keyword arguments {sorted(kwargs)}")


def RunSettings(  # noqa: PLR0917 (SmartSim's positional signature)
    exe: str,
    exe_args: str | Sequence[str] | None = None,
    run_command: str = "",
    run_args: Mapping[str, OptionValue] | None = None,
    env_vars: Mapping[str, str] | None = None,
    container: object = None,
    **kwargs: Any,
) -> values.RunSettings:
    """SmartSim's ``RunSettings``: ``run_command=""`` runs the program itself."""
    if container is not None:
        _refuse_extra("create_run_settings", {"container": container})
    _refuse_extra("RunSettings", kwargs)
    return values.RunSettings(
        exe=exe,
        args=_args("RunSettings", exe_args),
        run_command=run_command or None,
        run_args=run_args or {},
        env=env_vars or {},
    )


def _launcher_settings(
    call: str, run_command: str, *, exe: str, exe_args: str | Sequence[str] | None,
    run_args: Mapping[str, OptionValue] | None, env_vars: Mapping[str, str] | None,
    kwargs: Mapping[str, Any], **fields: Any,
) -> values.RunSettings:  # fmt: skip
    _refuse_extra(call, kwargs)
    return values.RunSettings(
        exe=exe,
        args=_args(call, exe_args),
        run_command=run_command,
        run_args=run_args or {},
        env=env_vars or {},
        **fields,
    )


def SrunSettings(
    exe: str,
    exe_args: str | Sequence[str] | None = None,
    run_args: Mapping[str, OptionValue] | None = None,
    env_vars: Mapping[str, str] | None = None,
    alloc: str | None = None,
    **kwargs: Any,
) -> values.RunSettings:
    """SmartSim's ``SrunSettings``: an ``srun`` step (``alloc``: the allocation's job id)."""
    return _launcher_settings(
        "SrunSettings",
        "srun",
        exe=exe,
        exe_args=exe_args,
        run_args=run_args,
        env_vars=env_vars,
        kwargs=kwargs,
        alloc=alloc,
    )


class _MpiSettings:
    """SmartSim's settings class of one MPI launcher, as a constructor: called as the class was
    (``MpirunSettings(exe, exe_args, run_args, env_vars)``), it makes our frozen RunSettings."""

    def __init__(self, call: str, run_command: str, doc: str, **fields: Any) -> None:
        self.__name__ = self.__qualname__ = call
        self.__doc__ = doc
        self._run_command = run_command
        self._fields = fields

    def __repr__(self) -> str:
        return f"<smartsim.settings.{self.__name__}>"

    def __call__(
        self,
        exe: str,
        exe_args: str | Sequence[str] | None = None,
        run_args: Mapping[str, OptionValue] | None = None,
        env_vars: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> values.RunSettings:
        return _launcher_settings(
            self.__name__, self._run_command, exe=exe, exe_args=exe_args, run_args=run_args,
            env_vars=env_vars, kwargs=kwargs, **self._fields,
        )  # fmt: skip


MpirunSettings = _MpiSettings(
    "MpirunSettings", "mpirun", "SmartSim's ``MpirunSettings``: Open MPI's ``mpirun``."
)
OrterunSettings = _MpiSettings(
    "OrterunSettings", "orterun", "SmartSim's ``OrterunSettings``: Open MPI's ``orterun``."
)
MpiexecSettings = _MpiSettings(
    "MpiexecSettings",
    "mpiexec",
    "SmartSim's ``MpiexecSettings``: ``mpiexec``, its flavour detected once at launch\n"
    "(SmartSim ran ``mpiexec --help`` when the object was made).",
    flavour="auto",
)


def SbatchSettings(
    nodes: int | None = None,
    time: str = "",
    account: str | None = None,
    batch_args: Mapping[str, OptionValue] | None = None,
    **kwargs: Any,
) -> BatchSettings:
    """SmartSim's ``SbatchSettings`` (``time=""``: no limit given)."""
    _refuse_extra("SbatchSettings", kwargs)
    return BatchSettings(
        nodes=nodes, time=time or None, account=account or None, batch_args=batch_args or {}
    )


def QsubBatchSettings(  # noqa: PLR0917 (SmartSim's positional signature)
    nodes: int | None = None,
    ncpus: int | None = None,
    time: str | None = None,
    queue: str | None = None,
    account: str | None = None,
    resources: Mapping[str, object] | None = None,
    batch_args: Mapping[str, OptionValue] | None = None,
    **kwargs: Any,
) -> BatchSettings:
    """SmartSim's PBS ``QsubBatchSettings``; ``queue`` is our ``partition``. ``ncpus`` and
    ``resources`` are typed errors naming the batch_args to write."""
    refused = {k: v for k, v in (("ncpus", ncpus), ("resources", resources)) if v}
    _refuse_extra("QsubBatchSettings", {**refused, **kwargs})
    return BatchSettings(
        nodes=nodes,
        time=time or None,
        partition=queue or None,
        account=account or None,
        batch_args=batch_args or {},
    )


def BsubBatchSettings(
    nodes: int | None = None,
    time: str | None = None,
    project: str | None = None,
    batch_args: Mapping[str, OptionValue] | None = None,
    smts: int = 0,
    **kwargs: Any,
) -> BatchSettings:
    """SmartSim's LSF ``BsubBatchSettings``; ``project`` is our ``account`` (``bsub -P``)."""
    _refuse_extra("BsubBatchSettings", {**({"smts": smts} if smts else {}), **kwargs})
    return BatchSettings(
        nodes=nodes, time=time or None, account=project or None, batch_args=batch_args or {}
    )
