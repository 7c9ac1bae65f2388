"""The Dragon planner: entities in, a Dragon launch program out. Pure.

A Dragon launch has two parts, both values here:

* the **runtime**: the ``dragon`` command that starts HPE's Dragon runtime with smartsim's fixed
  driver as its head process (``dragon --single-node-override PYTHON -m smartsim._dragon_driver
  SOCKET STATE_DIR``). Its identity (the socket name, the state directory) follows from the
  experiment directory and the run index alone, so every member of one ``start`` names the same
  runtime: it is started once per start (or attached to while it runs);
* one **request** per model (each ensemble member): a JSON file the driver reads and places with
  Dragon's native process API — executable, arguments, working directory, environment
  *changes*, stdout/stderr files (the history scheme of
  :func:`~smartsim.commands.plan.output_paths`), the number of processes, their hosts and
  CPU/GPU affinity, a wall-time limit.

SmartSim's ``DragonRunSettings`` knobs map to typed fields: ``set_nodes`` -> ``nodes``,
``set_tasks_per_node`` -> ``tasks_per_node``, ``set_hostlist`` -> ``hostlist``,
``set_cpu_affinity`` / ``set_gpu_affinity`` -> ``run_args["cpu-affinity"]`` /
``run_args["gpu-affinity"]`` (comma-separated device numbers, as SmartSim stores them);
:func:`dragon_run_settings` builds such a ``RunSettings``. Everything Dragon cannot honour is a
typed refusal naming the field (never a dropped option). This runtime is single-node
(``--single-node-override``), so ``nodes > 1`` is refused.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Iterable, Sequence
from typing import Any, Final, final

import attrs
from returns.result import Failure, Result, Success

from smartsim._frozen import FrozenMap, frozen_map
from smartsim.commands._types import Command
from smartsim.commands.plan import (
    Launch,
    World,
    member_problems,
    model_launch,
    output_paths,
    plan_each_member,
)
from smartsim.errors import (
    BadValue,
    EmptyValue,
    InconsistentTasks,
    Invalid,
    Unsupported,
    ValidationError,
)
from smartsim.validate import run_settings_problems
from smartsim.values import Duration, Ensemble, Model, RunSettings

#: How errors name this launcher.
TOOL: Final = "the Dragon launcher"
#: The module ``dragon`` runs as its head process (shipped with smartsim, never generated).
DRIVER_MODULE: Final = "smartsim._dragon_driver"
#: Version of the request format the driver reads.
REQUEST_VERSION: Final = 1
#: run_args keys this launcher understands (SmartSim's DragonRunSettings names).
AFFINITY_KEYS: Final = ("cpu-affinity", "gpu-affinity")


def _ints(value: Iterable[int]) -> tuple[int, ...]:
    return tuple(int(v) for v in value)


def _strs(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


@final
@attrs.frozen(kw_only=True)
class DragonPlacement:
    """Where a member's processes go: ``ntasks`` processes, on ``hosts`` (by name) or on the
    first ``nodes`` nodes of the runtime (``tasks_per_node`` on each), else wherever Dragon's
    default policy puts them; each bound to ``cpu_affinity`` / ``gpu_affinity`` devices."""

    ntasks: int = 1
    nodes: int | None = None
    tasks_per_node: int | None = None
    hosts: tuple[str, ...] = attrs.field(default=(), converter=_strs)
    cpu_affinity: tuple[int, ...] = attrs.field(default=(), converter=_ints)
    gpu_affinity: tuple[int, ...] = attrs.field(default=(), converter=_ints)


@final
@attrs.frozen(kw_only=True)
class DragonRequest:
    """One member as the driver receives it (:meth:`to_json` is the file's exact text)."""

    name: str
    exe: str
    args: tuple[str, ...] = attrs.field(converter=_strs)
    cwd: str
    env: FrozenMap[str, str] = attrs.field(factory=FrozenMap, converter=frozen_map)
    stdout: str
    stderr: str
    placement: DragonPlacement = attrs.field(factory=DragonPlacement)
    #: Seconds after which the driver stops the member (it then ends FAILED, "time limit").
    walltime: int | None = None

    def to_dict(self) -> dict[str, Any]:
        p = self.placement
        return {
            "smartsim_dragon": REQUEST_VERSION,
            "name": self.name,
            "exe": self.exe,
            "args": list(self.args),
            "cwd": self.cwd,
            "env": dict(self.env.items()),
            "stdout": self.stdout,
            "stderr": self.stderr,
            "ntasks": p.ntasks,
            "nodes": p.nodes,
            "tasks_per_node": p.tasks_per_node,
            "hosts": list(p.hosts),
            "cpu_affinity": list(p.cpu_affinity),
            "gpu_affinity": list(p.gpu_affinity),
            "walltime": self.walltime,
        }

    def to_json(self) -> str:
        """ASCII JSON (every other character escaped), so any argument survives exactly."""
        return json.dumps(self.to_dict(), indent=1, ensure_ascii=True) + "\n"


@final
@attrs.frozen(kw_only=True)
class DragonRuntime:
    """The runtime one ``start`` uses: its socket name, state directory and ``dragon`` argv."""

    socket: str
    state_dir: str
    command: Command


def runtime_for(world: World) -> DragonRuntime:
    """The runtime of the start described by ``world`` (``tools``: ``dragon``, ``python``).

    >>> rt = runtime_for(World(exp_path="/e", run_index=2,
    ...                        tools={"dragon": "/v/bin/dragon", "python": "/v/bin/python3"}))
    >>> rt.command.argv[:5]
    ('/v/bin/dragon', '--single-node-override', '/v/bin/python3', '-m', 'smartsim._dragon_driver')
    >>> rt.state_dir.startswith("/e/.dragon/")
    True
    """
    digest = hashlib.sha256(f"{world.exp_path}\0{world.run_index}".encode()).hexdigest()[:16]
    socket = f"smartsim-dragon-{digest}"
    state_dir = posixpath.join(world.exp_path, ".dragon", digest)
    argv = (
        world.tools.get("dragon", "dragon"),
        "--single-node-override",
        world.tools.get("python", "python3"),
        "-m",
        DRIVER_MODULE,
        socket,
        state_dir,
    )
    command = Command(
        argv=argv,
        cwd=world.exp_path,
        stdout=posixpath.join(state_dir, "runtime.out"),
        stderr=posixpath.join(state_dir, "runtime.err"),
    )
    return DragonRuntime(socket=socket, state_dir=state_dir, command=command)


def _affinity(rs: RunSettings, key: str, field: str) -> tuple[list[int], list[ValidationError]]:
    value = rs.run_args.get(key)
    if value is None:
        return [], []
    text = str(value) if not isinstance(value, bool) else ""
    items = [t.strip() for t in text.split(",")]
    if not text or not all(t.isdigit() and t.isascii() for t in items):
        return [], [BadValue(f"{field}.run_args.{key}", value, "device numbers: '0,1,2'")]
    return [int(t) for t in items], []


def placement_of(rs: RunSettings, field: str = "run_settings") -> Result[DragonPlacement, Invalid]:
    """The typed placement of ``rs``, or why Dragon cannot place it.

    >>> placement_of(RunSettings(exe="a", tasks_per_node=2, hostlist=("n1",),
    ...              run_args={"cpu-affinity": "0,1"})).unwrap()  # doctest: +NORMALIZE_WHITESPACE
    DragonPlacement(ntasks=2, nodes=None, tasks_per_node=2, hosts=('n1',),
                    cpu_affinity=(0, 1), gpu_affinity=())
    """
    errors: list[ValidationError] = []
    cpu, bad = _affinity(rs, "cpu-affinity", field)
    errors += bad
    gpu, bad = _affinity(rs, "gpu-affinity", field)
    errors += bad
    for key in rs.run_args:
        if key not in AFFINITY_KEYS:
            errors.append(
                Unsupported(
                    f"{field}.run_args.{key}",
                    rs.run_args[key],
                    f"{TOOL} ({TOOL} understands {', '.join(AFFINITY_KEYS)})",
                )
            )
    hosts = rs.hostlist
    nodes = rs.nodes
    tpn = rs.tasks_per_node
    if nodes is not None and hosts and nodes != len(hosts):
        errors.append(BadValue(f"{field}.nodes", nodes, f"{len(hosts)}, the hosts in hostlist"))
    spread = len(hosts) or nodes or 1
    if rs.ntasks is not None:
        ntasks = rs.ntasks
        if tpn is not None and ntasks != tpn * spread:
            errors.append(InconsistentTasks(f"{field}.ntasks", ntasks))
    else:
        ntasks = (tpn or 1) * spread
    if nodes is not None and nodes > 1 and not hosts:
        errors.append(
            Unsupported(
                f"{field}.nodes", nodes, "a single-node Dragon runtime (one node only)"
            )
        )
    if len(hosts) > 1:
        errors.append(
            Unsupported(
                f"{field}.hostlist", hosts, "a single-node Dragon runtime (one host only)"
            )
        )
    if errors:
        return Failure(Invalid(tuple(errors)))
    return Success(
        DragonPlacement(
            ntasks=ntasks,
            nodes=nodes,
            tasks_per_node=tpn,
            hosts=hosts,
            cpu_affinity=cpu,
            gpu_affinity=gpu,
        )
    )


def _refusals(rs: RunSettings, field: str) -> list[ValidationError]:
    """What in ``rs`` Dragon cannot honour (each named), besides placement."""
    errors: list[ValidationError] = []
    unsupported: Sequence[tuple[str, object]] = (
        ("run_command", rs.run_command),
        ("cpus_per_task", rs.cpus_per_task),
        ("gpus_per_task", rs.gpus_per_task),
        ("mem", rs.mem),
        ("alloc", rs.alloc),
        ("flavour", rs.flavour),
        ("mpi", rs.mpi),
    )
    for name, value in unsupported:
        if value is not None:
            errors.append(Unsupported(f"{field}.{name}", value, TOOL))
    for name, seq in (("excluded_hosts", rs.excluded_hosts), ("het_group", rs.het_group),
                      ("mpmd", rs.mpmd)):  # fmt: skip
        if seq:
            errors.append(Unsupported(f"{field}.{name}", seq, TOOL))
    if isinstance(rs.time, str):
        errors.append(BadValue(f"{field}.time", rs.time, "a duration"))
    for name, text in (("exe", rs.exe), *((f"args[{i}]", a) for i, a in enumerate(rs.args))):
        if "\x00" in text:
            errors.append(BadValue(f"{field}.{name}", text, "text without NUL"))
    return errors


def settings_problems(rs: RunSettings, field: str = "run_settings") -> list[ValidationError]:
    """Everything in ``rs`` the Dragon launcher cannot honour (what ``create_run_settings``
    checks under ``launcher="dragon"``: Dragon places the processes itself).

    >>> [e.field for e in settings_problems(RunSettings(exe="a", tasks_per_node=2, mem="1G"))]
    ['run_settings.mem']
    """
    errors = run_settings_problems(rs, field)
    if not rs.exe:
        errors.append(EmptyValue(f"{field}.exe", rs.exe))
    errors += _refusals(rs, field)
    placed = placement_of(rs, field)
    if isinstance(placed, Failure):
        errors += placed.failure().errors
    return errors


def model_problems(model: Model) -> list[ValidationError]:
    """Everything about ``model`` the Dragon launcher cannot run, each field named after it."""
    return member_problems(
        model,
        tool=TOOL,
        settings=lambda rs, prefix: settings_problems(rs, f"{prefix}.run_settings"),
        absolute_path=True,
    )


def request_for(model: Model, world: World) -> DragonRequest:
    """The request of a valid model (see :func:`model_problems`).

    >>> m = Model(name="m", run_settings=RunSettings(exe="echo", args=("a b",), env={"X": "1"}),
    ...           path="/e/m")
    >>> r = request_for(m, World(exp_path="/e"))
    >>> r.exe, r.args, dict(r.env), r.stdout, r.placement.ntasks
    ('echo', ('a b',), {'X': '1'}, '/e/m/m.out', 1)
    """
    rs = model.run_settings
    out, err = output_paths(model.path, model.name, world.run_index)
    walltime = rs.time.seconds if isinstance(rs.time, Duration) else None
    return DragonRequest(
        name=model.name,
        exe=rs.exe,
        args=rs.args,
        cwd=model.path,
        env=rs.env,
        stdout=out,
        stderr=err,
        placement=placement_of(rs).unwrap(),
        walltime=walltime,
    )


def request_path(model: Model, world: World) -> str:
    """Where the request of ``model`` is written: beside its output, same history index."""
    out, _ = output_paths(model.path, model.name, world.run_index)
    return out[: -len(".out")] + ".dragon.json"


def plan_model(model: Model, world: World) -> Launch:
    """The launch of a valid model: its request file, and the runtime command it is sent to.

    >>> m = Model(name="m", run_settings=RunSettings(exe="echo"), path="/e/m")
    >>> launch = plan_model(m, World(exp_path="/e", tools={"dragon": "dragon", "python": "py"}))
    >>> list(launch.files), launch.command.argv[0], launch.stdout
    (['/e/m/m.dragon.json'], 'dragon', '/e/m/m.out')
    """
    request = request_for(model, world)
    runtime = runtime_for(world)
    return model_launch(
        model,
        runtime.command,
        stdout=request.stdout,
        stderr=request.stderr,
        files={request_path(model, world): request.to_json()},
        mkdirs=(model.path, runtime.state_dir),
    )


def plan_dragon(entity: Model | Ensemble, world: World) -> Result[tuple[Launch, ...], Invalid]:
    """Every member of ``entity`` as a Dragon launch, or every reason it cannot run.

    >>> bad = Model(name="m", run_settings=RunSettings(exe="x", run_command="srun", nodes=2),
    ...             path="/e/m")
    >>> errors = plan_dragon(bad, World(exp_path="/e")).failure().errors
    >>> [(type(e).__name__, e.field) for e in errors]
    [('Unsupported', 'm.run_settings.run_command'), ('Unsupported', 'm.run_settings.nodes')]
    """
    return plan_each_member(entity, world, tool=TOOL, problems=model_problems, plan=plan_model)


def dragon_run_settings(
    exe: str,
    args: Sequence[str] = (),
    *,
    env: dict[str, str] | None = None,
    nodes: int | None = None,
    tasks_per_node: int | None = None,
    hostlist: Sequence[str] = (),
    cpu_affinity: Sequence[int] = (),
    gpu_affinity: Sequence[int] = (),
    time: Duration | str | None = None,
) -> RunSettings:
    """SmartSim's ``DragonRunSettings`` as a :class:`RunSettings` (``set_nodes``,
    ``set_tasks_per_node``, ``set_hostlist``, ``set_cpu_affinity``, ``set_gpu_affinity``).

    >>> dragon_run_settings("a", cpu_affinity=[0, 2]).run_args["cpu-affinity"]
    '0,2'
    """
    run_args: dict[str, str] = {}
    if cpu_affinity:
        run_args["cpu-affinity"] = ",".join(str(int(c)) for c in cpu_affinity)
    if gpu_affinity:
        run_args["gpu-affinity"] = ",".join(str(int(g)) for g in gpu_affinity)
    return RunSettings(
        exe=exe,
        args=tuple(args),
        env=env or {},
        nodes=nodes,
        tasks_per_node=tasks_per_node,
        hostlist=tuple(hostlist),
        run_args=run_args,
        time=time,
    )


__all__ = [
    "DRIVER_MODULE",
    "DragonPlacement",
    "DragonRequest",
    "DragonRuntime",
    "dragon_run_settings",
    "model_problems",
    "placement_of",
    "plan_dragon",
    "plan_model",
    "request_for",
    "request_path",
    "runtime_for",
    "settings_problems",
]
