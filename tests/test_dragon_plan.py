"""Properties of the pure Dragon plan (smartsim.commands.dragon): any valid entity gives a
request the driver reads back exactly, placed as asked, sent to one runtime per start; what
Dragon cannot honour is refused, naming the field. No Dragon runtime needed."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from returns.result import Failure, Success

import smartsim._dragon_driver as driver
from smartsim.commands.dragon import (
    DRIVER_MODULE,
    dragon_run_settings,
    plan_dragon,
    request_path,
    runtime_for,
)
from smartsim.commands.plan import World
from smartsim.errors import Unsupported
from smartsim.values import Duration, Ensemble, Model, RunSettings
from tests.strategies import arguments, names, paths, program_names, valid_env

TOOLS = {"dragon": "/v/bin/dragon", "python": "/v/bin/python3"}


@st.composite
def placements(draw: st.DrawFn) -> dict[str, Any]:
    """DragonRunSettings knobs a single-node runtime can honour."""
    tpn = draw(st.none() | st.integers(1, 8))
    host = draw(st.sampled_from([(), ("localhost",), ("n1",)]))
    nodes = draw(st.sampled_from([None, 1]))
    ntasks = tpn if tpn is not None else draw(st.none() | st.integers(1, 16))
    return {
        "ntasks": draw(st.sampled_from([None, ntasks])),
        "tasks_per_node": tpn,
        "hostlist": host,
        "nodes": nodes,
        "cpu_affinity": draw(st.lists(st.integers(0, 255), max_size=4)),
        "gpu_affinity": draw(st.lists(st.integers(0, 15), max_size=2)),
        "time": draw(st.none() | st.integers(1, 10**6).map(Duration)),
    }


@st.composite
def models(draw: st.DrawFn, name: str | None = None) -> Model:
    knobs = draw(placements())
    ntasks = knobs.pop("ntasks")
    rs = dragon_run_settings(
        draw(program_names()),
        draw(st.lists(arguments(), max_size=6)),
        env=draw(valid_env()),
        **knobs,
    )
    rs = attrs.evolve(rs, ntasks=ntasks)
    member = name or draw(names())
    return Model(name=member, run_settings=rs, path=draw(paths()) + "/" + member)


def one_node() -> list[str]:
    """The node names of a one-node runtime (its node: ``n1``), for the driver's placement."""
    return ["n1"]


def expected_ntasks(rs: RunSettings) -> int:
    return rs.ntasks or (rs.tasks_per_node or 1) * (len(rs.hostlist) or rs.nodes or 1)


@given(models(), st.integers(0, 5), paths())
def test_any_valid_model_gives_a_request_the_driver_reads_back_exactly(
    model: Model, run_index: int, exp_path: str
) -> None:
    world = World(exp_path=exp_path, run_index=run_index, tools=TOOLS)
    planned = plan_dragon(model, world)
    assert isinstance(planned, Success), planned
    (launch,) = planned.unwrap()
    text = launch.files[request_path(model, world)]
    assert text.isascii()
    request = json.loads(text)
    rs = model.run_settings
    # the arguments, environment and files round-trip exactly
    assert request["exe"] == rs.exe
    assert request["args"] == list(rs.args)
    assert request["env"] == dict(rs.env.items())
    assert request["cwd"] == model.path
    assert (request["stdout"], request["stderr"]) == (launch.stdout, launch.stderr)
    assert request["name"] == model.name
    assert request["walltime"] == (rs.time.seconds if isinstance(rs.time, Duration) else None)
    # placed as asked: the driver's own placement of the request
    assert request["ntasks"] == expected_ntasks(rs)
    hosts = driver.Driver.hosts(request, one_node)
    assert len(hosts) == request["ntasks"]
    if rs.hostlist or rs.nodes:  # "localhost" (this machine) is the one node, n1
        assert set(hosts) == {"n1"}
    else:
        assert set(hosts) == {None}
    assert request["cpu_affinity"] == [
        int(c) for c in rs.run_args.get("cpu-affinity", "").split(",") if c
    ]
    assert request["gpu_affinity"] == [
        int(g) for g in rs.run_args.get("gpu-affinity", "").split(",") if g
    ]
    # the runtime command is the planned one, and the preview's shell line is that argv
    runtime = runtime_for(world)
    assert launch.command == runtime.command
    assert launch.command is not None
    argv = launch.command.argv
    assert argv[:5] == (TOOLS["dragon"], "--single-node-override", TOOLS["python"], "-m",
                        DRIVER_MODULE)  # fmt: skip
    assert (argv[5], argv[6]) == (runtime.socket, runtime.state_dir)
    shown = launch.shell()
    assert text.rstrip("\n") in shown  # the request, verbatim, in its here-document
    line = shown.split("\n")[-1]  # the command comes last (paths hold no newline)
    words = shlex.split(line)
    assert words[0] == "cd" and words[2] == "&&"
    assert tuple(words[3 : 3 + len(argv)]) == argv  # after "cd DIR &&"


@given(st.lists(names(), min_size=1, max_size=5, unique=True), st.integers(0, 3), paths())
def test_every_member_of_one_start_names_the_same_runtime(
    members: list[str], run_index: int, exp_path: str
) -> None:
    rs = RunSettings(exe="/bin/true")
    ens = Ensemble(
        name="ens",
        members=tuple(Model(name=m, run_settings=rs, path=f"{exp_path}/{m}") for m in members),
        path=exp_path,
    )
    world = World(exp_path=exp_path, run_index=run_index, tools=TOOLS)
    launches = plan_dragon(ens, world).unwrap()
    assert [la.name for la in launches] == members
    assert len({la.command for la in launches}) == 1
    other = plan_dragon(ens, World(exp_path=exp_path, run_index=run_index + 1, tools=TOOLS))
    assert {la.command for la in other.unwrap()}.isdisjoint({la.command for la in launches})


REFUSED = [
    ("run_command", {"run_command": "srun"}),
    ("cpus_per_task", {"cpus_per_task": 2}),
    ("gpus_per_task", {"gpus_per_task": 1}),
    ("mem", {"mem": "1G"}),
    ("excluded_hosts", {"excluded_hosts": ("n9",)}),
    ("nodes", {"nodes": 2}),
    ("hostlist", {"hostlist": ("n1", "n2")}),
    ("run_args.exclusive", {"run_args": {"exclusive": True}}),
    ("run_args.cpu-affinity", {"run_args": {"cpu-affinity": "0,x"}}),
    ("mpmd", {"mpmd": (RunSettings(exe="b"),)}),
]


@pytest.mark.parametrize(("field", "fields"), REFUSED, ids=[f for f, _ in REFUSED])
def test_what_dragon_cannot_honour_is_refused_naming_the_field(
    field: str, fields: dict[str, Any]
) -> None:
    model = Model(name="m", run_settings=RunSettings(exe="a", **fields), path="/e/m")
    planned = plan_dragon(model, World(exp_path="/e", tools=TOOLS))
    assert isinstance(planned, Failure)
    named = [e.field for e in planned.failure().errors]
    assert f"m.run_settings.{field}" in named, named


def test_batch_settings_are_refused() -> None:
    from smartsim.values import BatchSettings

    model = Model(name="m", run_settings=RunSettings(exe="a"), path="/e/m",
                  batch_settings=BatchSettings(nodes=1))  # fmt: skip
    errors = plan_dragon(model, World(exp_path="/e")).failure().errors
    assert [(type(e), e.field) for e in errors] == [(Unsupported, "m.batch_settings")]


def test_the_driver_refuses_a_host_that_is_not_a_node() -> None:
    request = {"ntasks": 1, "hosts": ["elsewhere"], "nodes": None, "tasks_per_node": None}
    with pytest.raises(ValueError, match="'elsewhere' is not a node of this runtime"):
        driver.Driver.hosts(request, one_node)
    with pytest.raises(ValueError, match="2 nodes asked for; this runtime has 1"):
        driver.Driver.hosts({**request, "hosts": [], "nodes": 2}, one_node)


def test_the_driver_and_its_supervisor_compile() -> None:
    """The fixed driver is a plain script Dragon runs (python -m), importing no smartsim."""
    source = Path(driver.__file__).read_text()
    compile(source, driver.__file__, "exec")
    assert "import smartsim" not in source and "from smartsim" not in source
