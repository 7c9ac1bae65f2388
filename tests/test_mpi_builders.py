"""Properties of the MPI and vendor launcher builders, written once and applied to every launcher.

Each row of :data:`CASES` pairs a run-command spec with an *independent* reader of that tool's
command line (``tests/oracles``, written from the tools' documentation). The expectations are
stated from the meaning of ``RunSettings`` (not from the builders' tables): every program of the
launch must get its own program and arguments, task counts, hosts, working directory, time limit
and environment — with the entity's values even where the caller's environment says otherwise.
"""

from __future__ import annotations

import functools
import itertools
import shlex
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from returns.io import IOSuccess
from returns.unsafe import unsafe_perform_io

from smartsim.commands._types import Command
from smartsim.commands.aprun import APRUN
from smartsim.commands.jsrun import JSRUN
from smartsim.commands.launch import (
    LaunchContext,
    RunCommandSpec,
    check_run_command,
    launch_command,
)
from smartsim.commands.mpi import MPICH, MPIEXEC, OPENMPI
from smartsim.effects.mpi_detect import clear_cache, detect_flavour, resolve_flavour
from smartsim.errors import (
    BadValue,
    ConflictingOptions,
    DuplicateOption,
    ExecutableNotFound,
    UnparsableOutput,
    Unsupported,
    ValidationError,
)
from smartsim.validate import run_settings_problems
from smartsim.values import Duration, RunSettings
from tests.oracles.mpi_cli import AppView, UnknownOption, read_mpich, read_openmpi, read_pals
from tests.oracles.vendor_cli import read_aprun, read_jsrun

CTX = LaunchContext(
    cwd="/w/exp/model",
    name="model",
    stdout="/w/exp/model/model.out",
    stderr="/w/exp/model/model.err",
)


# --------------------------------------------------------------------------- the launcher table


@dataclass(frozen=True)
class Case:
    """One launcher: its spec, the oracle that reads its command, and what it can express."""

    id: str
    spec: RunCommandSpec
    run_command: str
    read: Callable[[Command, Mapping[str, str]], list[AppView]]
    fields: frozenset[str]
    shared: frozenset[str] = frozenset()
    #: The tool's env option applies to all programs (a part's own variables use env(1)).
    global_env: bool = False
    flavour: str | None = None
    colon: bool = True
    #: jsrun: MPMD goes through an ERF (ranks counts only, plain words).
    erf_mpmd: bool = False
    hosts: st.SearchStrategy[str] = field(
        default_factory=lambda: st.builds(
            "{}{}".format, st.sampled_from(["n", "node-", "x3001c0s"]), st.integers(0, 999)
        )
    )
    first_run_args: st.SearchStrategy[dict[str, str | None]] = field(
        default_factory=lambda: st.just({})
    )
    part_run_args: st.SearchStrategy[dict[str, str | None]] = field(
        default_factory=lambda: st.just({})
    )

    @functools.cached_property
    def host_lists(self) -> st.SearchStrategy[tuple[str, ...]]:
        return st.lists(self.hosts, max_size=3).map(tuple)


def _opts(
    flags: Sequence[str], valued: Mapping[str, Sequence[str]]
) -> st.SearchStrategy[dict[str, str | None]]:
    """run_args drawn from options the tool documents (none that a typed field renders)."""
    items: list[st.SearchStrategy[tuple[str, str | None]]] = [
        st.tuples(st.just(f), st.none()) for f in flags
    ]
    items += [st.tuples(st.just(k), st.sampled_from(list(v))) for k, v in valued.items()]
    return st.lists(st.one_of(items), max_size=3, unique_by=lambda kv: kv[0]).map(dict)


def _read_colon(
    reader: Callable[[Sequence[str], Mapping[str, str]], list[AppView]],
) -> Callable[[Command, Mapping[str, str]], list[AppView]]:
    return lambda cmd, env: reader(cmd.argv, env)


CASES = [
    Case(
        id="openmpi",
        spec=OPENMPI,
        run_command="mpirun",
        read=_read_colon(read_openmpi),
        fields=frozenset(
            {"ntasks", "nodes", "tasks_per_node", "cpus_per_task", "hostlist", "time"}
        ),
        shared=frozenset({"tasks_per_node", "cpus_per_task", "time"}),
        first_run_args=_opts(
            ["oversubscribe", "report-bindings", "tag-output"],
            {"bind-to": ["none", "core", "socket"], "rank-by": ["slot", "node"]},
        ),
        part_run_args=_opts([], {"hostfile": ["/etc/hosts.mpi", "hf 2"]}),
    ),
    Case(
        id="mpich",
        spec=MPICH,
        run_command="mpiexec.mpich",
        read=_read_colon(read_mpich),
        fields=frozenset(
            {
                "ntasks",
                "nodes",
                "tasks_per_node",
                "cpus_per_task",
                "gpus_per_task",
                "hostlist",
                "time",
            }
        ),
        shared=frozenset({"tasks_per_node", "cpus_per_task", "gpus_per_task", "hostlist", "time"}),
        first_run_args=_opts(
            ["verbose", "prepend-rank", "print-all-exitcodes"],
            {"f": ["hostfile", "/tmp/h f"], "iface": ["lo", "ib0"], "launcher": ["fork", "ssh"]},
        ),
        part_run_args=_opts(["envall"], {"envlist": ["PATH", "PATH,HOME"]}),
    ),
    Case(
        id="pals",
        spec=MPIEXEC,
        run_command="mpiexec",
        flavour="pals",
        read=_read_colon(read_pals),
        fields=frozenset({"ntasks", "nodes", "tasks_per_node", "cpus_per_task", "hostlist"}),
        shared=frozenset({"tasks_per_node", "cpus_per_task", "hostlist"}),
        global_env=True,
        first_run_args=_opts(
            ["label", "line-buffer", "exclusive"],
            {"cpu-bind": ["depth", "none", "list:0,8"], "pmi": ["cray", "pmix"]},
        ),
        part_run_args=_opts([], {"umask": ["022", "077"]}),
    ),
    Case(
        id="aprun",
        spec=APRUN,
        run_command="aprun",
        read=_read_colon(read_aprun),
        fields=frozenset(
            {"ntasks", "nodes", "tasks_per_node", "cpus_per_task", "hostlist", "excluded_hosts"}
        ),
        global_env=True,
        hosts=st.builds(
            lambda a, n: str(a) if n == 0 else f"{a}-{a + n}",
            st.integers(0, 9999),
            st.integers(0, 64),
        ),
        first_run_args=_opts(["ss", "q"], {"cc": ["cpu", "depth", "0,1"], "m": ["2000", "4G"]}),
        part_run_args=_opts(["ss"], {"cc": ["none", "numa_node"], "j": ["1", "2"], "t": ["3600"]}),
    ),
    Case(
        id="jsrun",
        spec=JSRUN,
        run_command="jsrun",
        read=lambda cmd, env: read_jsrun(cmd.argv, env, cmd.files),
        fields=frozenset({"ntasks", "nodes", "tasks_per_node", "cpus_per_task", "gpus_per_task"}),
        global_env=True,
        colon=False,
        erf_mpmd=True,
        first_run_args=_opts(
            [],
            {
                "smpiargs": ["-gpu", "none"],
                "launch_distribution": ["packed", "cyclic", "plane:2"],
                "latency_priority": ["gpu-cpu", "cpu-mem"],
                "stdio_mode": ["collected", "prepended"],
            },
        ),
    ),
]
IDS = [c.id for c in CASES]


# --------------------------------------------------------------------------- strategies

_TEXT_CHARS = st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")
_SPECIAL_ARGS = [
    "",
    "--",
    "-n",
    "-x",
    "a b",
    "'",
    '"',
    "$HOME",
    "ü ß ✓",
    "*",
    ";",
    "=",
    "x:y",
    "\n",
]
_PLAIN = string.ascii_letters + string.digits + "-_./=,+%@"


@functools.cache
def _args(colon: bool, plain: bool) -> st.SearchStrategy[tuple[str, ...]]:
    if plain:
        word = st.text(_PLAIN, min_size=1, max_size=8)
    else:
        word = st.one_of(st.sampled_from(_SPECIAL_ARGS), st.text(_TEXT_CHARS, max_size=10))
        if colon:
            word = word.filter(lambda w: w != ":")
    return st.lists(word, max_size=4).map(tuple)


@functools.cache
def _exe(plain: bool) -> st.SearchStrategy[str]:
    if plain:
        return st.text(_PLAIN, min_size=1, max_size=8).filter(
            lambda w: w[0] != "-" and "=" not in w
        )
    chars = st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00\n\r")
    return st.one_of(
        st.sampled_from(["./a.out", "python3", "/bin/true", "my prog", "ü"]),
        # a lone ":" is the MPMD separator of the colon launchers, '=' would be read as an
        # assignment by env(1) where it starts a part with its own variables (both refused)
        st.text(chars, min_size=1, max_size=10).filter(
            lambda w: w[0] != "-" and w != ":" and "=" not in w and w != "env"
        ),
    )


_ENV_NAMES = st.sampled_from(
    ["A", "B", "X_1", "_U", "OMP_NUM_THREADS", "PATH", "LANG", "SMARTSIM_V"]
)
_ENV_VALUES = st.one_of(
    st.sampled_from(["", "1", "a b", "x=y", "a,b", "'q'", '"d"', "ü", "l1\nl2", "-v"]),
    st.text(_TEXT_CHARS, max_size=10),
)


_ENV = st.dictionaries(_ENV_NAMES, _ENV_VALUES, max_size=3)
#: Values that fit in one word of a jsrun ERF app line.
_ENV_PLAIN = st.dictionaries(_ENV_NAMES, st.text(_PLAIN, max_size=6), max_size=3)


@functools.cache
def _opt_int(lo: int, hi: int) -> st.SearchStrategy[int | None]:
    return st.one_of(st.none(), st.integers(lo, hi))


@st.composite
def _part(draw: st.DrawFn, case: Case, first: RunSettings | None, mpmd: bool) -> RunSettings:
    erf = case.erf_mpmd and mpmd
    kw: dict[str, object] = {"exe": draw(_exe(erf)), "args": draw(_args(case.colon, erf))}
    env = _ENV_PLAIN if erf else _ENV
    if case.colon:  # a lone ':' is refused there (the MPMD separator)
        env = env.map(lambda e: {k: v for k, v in e.items() if v != ":"})
    if first is not None and draw(st.booleans()):
        kw["env"] = {**first.env, **draw(env)} if draw(st.booleans()) else dict(first.env)
    else:
        kw["env"] = draw(env)

    def shared_or(name: str, own: st.SearchStrategy[object]) -> object:
        if first is not None and name in case.shared:
            return getattr(first, name) if draw(st.booleans()) else None
        return draw(own)

    kw["ntasks"] = draw(st.integers(1, 64)) if erf else draw(_opt_int(1, 64))
    if not erf:
        if "tasks_per_node" in case.fields:
            kw["tasks_per_node"] = shared_or("tasks_per_node", _opt_int(1, 8))
            if kw["tasks_per_node"] is not None and draw(st.booleans()):
                nodes = draw(st.integers(1, 4))
                kw["nodes"] = nodes
                if kw["ntasks"] is not None:
                    kw["ntasks"] = nodes * int(str(kw["tasks_per_node"]))
        for name in ("cpus_per_task", "gpus_per_task"):
            if name in case.fields:
                kw[name] = shared_or(name, _opt_int(1, 8))
        if "hostlist" in case.fields:
            kw["hostlist"] = shared_or("hostlist", case.host_lists)
        if "excluded_hosts" in case.fields:
            kw["excluded_hosts"] = draw(case.host_lists)
    if "time" in case.fields:
        if first is None:
            kw["time"] = draw(_opt_int(1, 200_000))
        else:
            kw["time"] = first.time if draw(st.booleans()) else None
    if first is None:
        kw["run_command"] = case.run_command
        kw["flavour"] = case.flavour
        kw["run_args"] = draw(case.first_run_args)
    else:
        kw["run_command"] = case.run_command if draw(st.booleans()) else None
        kw["run_args"] = {} if erf else draw(case.part_run_args)
    return RunSettings(**kw)  # type: ignore[arg-type]


@st.composite
def valid_settings(draw: st.DrawFn, case: Case, mpmd: bool | None = None) -> RunSettings:
    """Settings ``case`` can express (MPMD parts: ``mpmd`` True forces 1-2, False none)."""
    count = st.integers(0, 2) if mpmd is None else st.integers(1, 2) if mpmd else st.just(0)
    n = draw(count)
    first = draw(_part(case, None, n > 0))
    parts = [draw(_part(case, first, True)) for _ in range(n)]
    rs = first.with_mpmd(*parts)
    errors = run_settings_problems(rs) + case.spec.check(rs)
    assert errors == [], errors
    return rs


def _caller_env(rs: RunSettings) -> dict[str, str]:
    """A caller whose environment sets every name the entity sets, to other values."""
    env = {k: f"caller<{v}>" for p in rs.parts for k, v in p.env.items()}
    env["UNRELATED_CALLER_VAR"] = "kept"
    return env


def _views(case: Case, rs: RunSettings) -> tuple[Command, dict[str, str], list[AppView]]:
    cmd = case.spec.build(rs, CTX)
    caller = _caller_env(rs)
    launcher_env = {**caller, **cmd.env}
    return cmd, caller, case.read(cmd, launcher_env)


def _expected_tasks(part: RunSettings) -> int | None:
    if part.ntasks is not None:
        return part.ntasks
    if part.nodes is not None and part.tasks_per_node is not None:
        return part.nodes * part.tasks_per_node
    return None


# --------------------------------------------------------------------------- properties


@pytest.mark.parametrize("case", CASES, ids=IDS)
@given(data=st.data())
def test_round_trip_through_the_tools_reader(case: Case, data: st.DataObject) -> None:
    """The tool's own reading of the command gives back every setting of every program."""
    rs = data.draw(valid_settings(case))
    cmd, _caller, views = _views(case, rs)
    parts = rs.parts
    first = parts[0]
    assert len(views) == len(parts)
    for part, view in zip(parts, views, strict=True):
        assert (view.program, view.args) == (part.exe, part.args)
        assert view.ntasks == _expected_tasks(part)
        for name in ("tasks_per_node", "cpus_per_task", "gpus_per_task"):
            if name in case.fields and not (case.erf_mpmd and rs.mpmd):
                want = getattr(first if name in case.shared else part, name)
                assert getattr(view, name) == want, name
        if "hostlist" in case.fields:
            want_hosts = (first if "hostlist" in case.shared else part).hostlist
            assert view.hosts == want_hosts
        if "excluded_hosts" in case.fields:
            assert view.excluded_hosts == part.excluded_hosts
        assert (view.wdir or cmd.cwd) == CTX.cwd
        if "time" in case.fields:
            assert view.time == (first.time.seconds if isinstance(first.time, Duration) else None)
        extra = [(name, values) for name, values in view.extra]
        for key, value in part.run_args.items():
            assert (key, () if value is None else (value,)) in extra, (key, value)


@pytest.mark.parametrize("case", CASES, ids=IDS)
@given(data=st.data())
def test_environment_reaches_every_mpmd_part(case: Case, data: st.DataObject) -> None:
    """Every program's ranks see its own variables with the entity's values, over the caller's
    values, and never another program's variables."""
    rs = data.draw(valid_settings(case, mpmd=True))
    _cmd, caller, views = _views(case, rs)
    for i, (part, view) in enumerate(zip(rs.parts, views, strict=True)):
        for key, value in part.env.items():
            assert view.env.get(key) == value, (i, key)
        others = {k for p in rs.parts for k in p.env} - set(part.env)
        for key in others:
            assert view.env.get(key) == caller.get(key), (i, key)
        assert view.env.get("UNRELATED_CALLER_VAR") == "kept"


@pytest.mark.parametrize("case", CASES, ids=IDS)
@given(data=st.data())
def test_each_user_value_is_a_whole_token(case: Case, data: st.DataObject) -> None:
    """Programs, arguments, option values, host names and variables appear as whole words."""
    rs = data.draw(valid_settings(case))
    cmd = case.spec.build(rs, CTX)
    words = list(cmd.argv)
    for text in cmd.files.values():
        words += [w for line in text.splitlines() for w in line.split()]
    host_words = {h for w in words for h in w.split(",")}
    for part in rs.parts:
        for value in (part.exe, *part.args):
            assert value in words, value
        for option in part.run_args.values():
            if isinstance(option, str):
                assert option in words, option
        for host in (*part.hostlist, *part.excluded_hosts):
            assert host in host_words, host
        for key, value in part.env.items():
            pairs = set(itertools.pairwise(words))
            assert f"{key}={value}" in words or (key, value) in pairs, key
            assert cmd.env.get(key, value) == value


@pytest.mark.parametrize("case", CASES, ids=IDS)
@given(data=st.data())
def test_program_argv_ends_each_part_unchanged(case: Case, data: st.DataObject) -> None:
    """Each program and its arguments close their part of the command, word for word."""
    rs = data.draw(valid_settings(case))
    cmd = case.spec.build(rs, CTX)
    if case.erf_mpmd and rs.mpmd:
        (text,) = cmd.files.values()
        lines = [line for line in text.splitlines() if line.startswith("app ")]
        for i, part in enumerate(rs.parts):
            head, _, line = lines[i].partition(": ")
            tail = [part.exe, *part.args]
            assert head == f"app {i}" and line.split()[-len(tail) :] == tail
        return
    segments: list[list[str]] = [[]]
    for word in cmd.argv[1:]:
        if case.colon and word == ":":
            segments.append([])
        else:
            segments[-1].append(word)
    assert len(segments) == len(rs.parts)
    for part, segment in zip(rs.parts, segments, strict=True):
        tail = [part.exe, *part.args]
        assert segment[len(segment) - len(tail) :] == tail


@pytest.mark.parametrize("case", CASES, ids=IDS)
@given(data=st.data())
def test_deterministic(case: Case, data: st.DataObject) -> None:
    """Equal settings give equal commands, every time, without processes, PATH or clock."""
    rs = data.draw(valid_settings(case))
    again = attrs.evolve(rs, env=dict(rs.env), run_args=dict(rs.run_args))
    impure = AssertionError("a pure builder touched the world")
    with (
        mock.patch("subprocess.Popen", side_effect=impure),
        mock.patch("shutil.which", side_effect=impure),
        mock.patch("os.getcwd", side_effect=impure),
        mock.patch("time.time", side_effect=impure),
    ):
        first = case.spec.build(rs, CTX)
        assert case.spec.check(rs) == []
        assert first == case.spec.build(again, CTX) == case.spec.build(rs, CTX)


# --------------------------------------------------------------------------- anything at all

_ANY_RUN_ARGS = st.dictionaries(
    st.sampled_from(
        [
            "n",
            "np",
            "N",
            "ppn",
            "wdir",
            "map-by",
            "host",
            "hosts",
            "d",
            "L",
            "E",
            "nrs",
            "chdir",
            "erf_input",
            "timeout",
            "bind-to",
            "oversubscribe",
            "depth",
            "cc",
            "tasks_per_rs",
        ]
    ),
    st.one_of(st.none(), st.just("2"), st.just(False)),
    max_size=3,
)


_ANY_PART: dict[str, st.SearchStrategy[Any]] = {
    "exe": st.sampled_from(["a.out", "-a", "b c", "", ":"]),
    "args": st.lists(st.sampled_from(["x", ":", "", "a b"]), max_size=3),
    "env": st.dictionaries(st.sampled_from(["A", "B", "MPIEXEC_TIMEOUT"]), st.just("1")),
    "nodes": _opt_int(0, 3),
    "ntasks": _opt_int(0, 8),
    "tasks_per_node": _opt_int(1, 4),
    "cpus_per_task": _opt_int(1, 4),
    "gpus_per_task": _opt_int(1, 2),
    "mem": st.sampled_from([None, 1024]),
    "time": st.sampled_from([None, 60, 120]),
    "hostlist": st.sampled_from([(), ("n1",), ("n[1-2]",), ("12",)]),
    "excluded_hosts": st.sampled_from([(), ("n3",), ("40-47",)]),
    "alloc": st.sampled_from([None, "123"]),
    "run_args": _ANY_RUN_ARGS,
    "flavour": st.sampled_from([None, "openmpi", "mpich", "pals", "auto"]),
    "mpi": st.sampled_from([None, "pmix"]),
}


@st.composite
def any_settings(draw: st.DrawFn, run_command: str) -> RunSettings:
    """Settings of every kind, most of them something the launcher cannot express."""
    first = RunSettings(run_command=run_command, **{k: draw(v) for k, v in _ANY_PART.items()})
    parts = [
        RunSettings(
            run_command=draw(st.sampled_from([None, "srun"])),
            **{k: draw(v) for k, v in _ANY_PART.items()},
        )
        for _ in range(draw(st.integers(0, 2)))
    ]
    return first.with_mpmd(*parts)


_REGISTRY_NAMES = [
    "mpirun",
    "orterun",
    "mpiexec.openmpi",
    "mpiexec",
    "mpiexec.mpich",
    "mpiexec.hydra",
    "aprun",
    "jsrun",
]
_READERS: dict[str, Callable[[Command, Mapping[str, str]], list[AppView]]] = {
    "openmpi": _read_colon(read_openmpi),
    "mpich": _read_colon(read_mpich),
    "pals": _read_colon(read_pals),
}


@pytest.mark.parametrize("run_command", _REGISTRY_NAMES)
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_settings_are_refused_with_types_or_build_a_readable_command(
    run_command: str, data: st.DataObject
) -> None:
    """Checks never raise; whatever passes them builds a command the tool reads as meant."""
    rs = data.draw(any_settings(run_command))
    errors = check_run_command(rs)
    assert all(isinstance(e, ValidationError) for e in errors)
    if errors or run_settings_problems(rs):
        return
    cmd = launch_command(rs, CTX)
    flavour = rs.flavour or (
        "mpich" if run_command in ("mpiexec.mpich", "mpiexec.hydra") else "openmpi"
    )
    try:
        if run_command == "aprun":
            views = read_aprun(cmd.argv, dict(cmd.env))
        elif run_command == "jsrun":
            views = read_jsrun(cmd.argv, dict(cmd.env), cmd.files)
        else:
            views = _READERS[flavour](cmd, dict(cmd.env))
    except UnknownOption:
        return  # a raw option this tool does not have: it stops with an error, loudly
    assert [(v.program, v.args) for v in views] == [(p.exe, p.args) for p in rs.parts]


# --------------------------------------------------------------------------- typed refusals

_UNSUPPORTED: list[tuple[str, dict[str, object], str]] = [
    ("openmpi", {"gpus_per_task": 1}, "gpus_per_task"),
    ("openmpi", {"mem": 1024}, "mem"),
    ("openmpi", {"excluded_hosts": ("n3",)}, "excluded_hosts"),
    ("openmpi", {"alloc": "42"}, "alloc"),
    ("openmpi", {"mpi": "pmix"}, "mpi"),
    ("openmpi", {"het_group": (0,)}, "het_group"),
    ("openmpi", {"nodes": 2}, "nodes"),
    ("openmpi", {"hostlist": ("n[1-4]",)}, "hostlist"),
    ("mpich", {"mem": 1024}, "mem"),
    ("mpich", {"excluded_hosts": ("n3",)}, "excluded_hosts"),
    ("mpich", {"nodes": 2}, "nodes"),
    ("pals", {"time": 60}, "time"),
    ("pals", {"gpus_per_task": 1}, "gpus_per_task"),
    ("pals", {"mem": 1024}, "mem"),
    ("pals", {"excluded_hosts": ("n3",)}, "excluded_hosts"),
    ("aprun", {"time": 3600}, "time"),
    ("aprun", {"gpus_per_task": 1}, "gpus_per_task"),
    ("aprun", {"mem": 1024}, "mem"),
    ("aprun", {"flavour": "mpich"}, "flavour"),
    ("jsrun", {"time": 60}, "time"),
    ("jsrun", {"hostlist": ("h1",)}, "hostlist"),
    ("jsrun", {"mem": 1024}, "mem"),
]
_BY_ID = {c.id: c for c in CASES}


@pytest.mark.parametrize(
    ("case_id", "kwargs", "name"),
    _UNSUPPORTED,
    ids=[f"{c}({', '.join(f'{k}={v!r}' for k, v in kw.items())})" for c, kw, _ in _UNSUPPORTED],
)
def test_unsupported_settings_are_typed_errors(
    case_id: str, kwargs: dict[str, object], name: str
) -> None:
    """A setting the tool cannot express is an Unsupported error naming the field."""
    case = _BY_ID[case_id]
    base: dict[str, object] = {"run_command": case.run_command, "flavour": case.flavour}
    rs = RunSettings(exe="a.out", **{**base, **kwargs})
    errors = case.spec.check(rs)
    assert any(isinstance(e, Unsupported) and e.field == f"run_settings.{name}" for e in errors), (
        errors
    )


_REFUSED: list[tuple[str, RunSettings, type[ValidationError], str]] = [
    # a bare flag for an option that takes a value would make the tool eat the program name
    ("openmpi", RunSettings(exe="a", run_args={"n": None}), BadValue, "run_settings.run_args['n']"),
    ("mpich", RunSettings(exe="a", run_args={"f": True}), BadValue, "run_settings.run_args['f']"),
    ("aprun", RunSettings(exe="a", run_args={"cc": None}), BadValue, "run_settings.run_args['cc']"),
    # ... and a value for a flag would be read as the program
    (
        "openmpi",
        RunSettings(exe="a", run_args={"oversubscribe": "2"}),
        BadValue,
        "run_settings.run_args['oversubscribe']",
    ),
    (
        "pals",
        RunSettings(exe="a", run_args={"label": "x"}),
        BadValue,
        "run_settings.run_args['label']",
    ),
    (
        "openmpi",
        RunSettings(exe="a", run_args={"mca": "btl self"}),
        BadValue,
        "run_settings.run_args['mca']",
    ),
    (
        "openmpi",
        RunSettings(exe="a", ntasks=2, run_args={"np": 2}),
        DuplicateOption,
        "run_settings.run_args['np']",
    ),
    (
        "openmpi",
        RunSettings(exe="a", run_args={"wdir": "/tmp"}),
        DuplicateOption,
        "run_settings.run_args['wdir']",
    ),
    (
        "openmpi",
        RunSettings(exe="a", run_args={"n": 2, "np": 3}),
        DuplicateOption,
        "run_settings.run_args['np']",
    ),
    ("openmpi", RunSettings(exe="a", args=("x", ":", "y")), BadValue, "run_settings.args[1]"),
    ("openmpi", RunSettings(exe="-a"), BadValue, "run_settings.exe"),
    (
        "openmpi",
        RunSettings(exe="a", time=60).with_mpmd(RunSettings(exe="b", time=30)),
        ConflictingOptions,
        "run_settings.mpmd[0].time",
    ),
    (
        "openmpi",
        RunSettings(exe="a").with_mpmd(RunSettings(exe="b", tasks_per_node=2)),
        ConflictingOptions,
        "run_settings.mpmd[0].tasks_per_node",
    ),
    (
        "openmpi",
        RunSettings(exe="a").with_mpmd(RunSettings(exe="b", run_command="srun")),
        ConflictingOptions,
        "run_settings.mpmd[0].run_command",
    ),
    (
        "mpich",
        RunSettings(exe="a", hostlist=("h1",)).with_mpmd(RunSettings(exe="b", hostlist=("h2",))),
        ConflictingOptions,
        "run_settings.mpmd[0].hostlist",
    ),
    (
        "mpich",
        RunSettings(exe="a", time=5, env={"MPIEXEC_TIMEOUT": "9"}),
        ConflictingOptions,
        "run_settings.env['MPIEXEC_TIMEOUT']",
    ),
    (
        "mpich",
        RunSettings(exe="a", tasks_per_node=2, run_args={"ppn": 4}),
        DuplicateOption,
        "run_settings.run_args['ppn']",
    ),
    (
        "pals",
        RunSettings(exe="x=y", env={"A": "1"}).with_mpmd(RunSettings(exe="b")),
        BadValue,
        "run_settings.exe",
    ),
    ("aprun", RunSettings(exe="a", hostlist=("nid00012",)), BadValue, "run_settings.hostlist"),
    (
        "jsrun",
        RunSettings(exe="a", ntasks=1, env={"A": "x y"}).with_mpmd(RunSettings(exe="b", ntasks=1)),
        Unsupported,
        "run_settings.env['A']",
    ),
    (
        "jsrun",
        RunSettings(exe="a", ntasks=1).with_mpmd(RunSettings(exe="b")),
        BadValue,
        "run_settings.mpmd[0].ntasks",
    ),
    (
        "jsrun",
        RunSettings(exe="a", ntasks=1, args=("x y",)).with_mpmd(RunSettings(exe="b", ntasks=1)),
        Unsupported,
        "run_settings.args[0]",
    ),
    (
        "jsrun",
        RunSettings(exe="a", ntasks=1, cpus_per_task=2).with_mpmd(RunSettings(exe="b", ntasks=1)),
        Unsupported,
        "run_settings.cpus_per_task",
    ),
    (
        "jsrun",
        RunSettings(exe="a", run_args={"chdir": "/x"}),
        DuplicateOption,
        "run_settings.run_args['chdir']",
    ),
]


@pytest.mark.parametrize(
    ("case_id", "rs", "kind", "name"), _REFUSED, ids=[f"{r[0]}:{r[3]}" for r in _REFUSED]
)
def test_refusals_are_typed(
    case_id: str, rs: RunSettings, kind: type[ValidationError], name: str
) -> None:
    """What a launcher would misread is refused with a typed error naming the field."""
    case = _BY_ID[case_id]
    rs = attrs.evolve(rs, run_command=case.run_command, flavour=case.flavour)
    errors = case.spec.check(rs)
    assert any(type(e) is kind and e.field == name for e in errors), errors


# --------------------------------------------------------------------------- flavours


def test_mpiexec_without_a_flavour_asks_for_one() -> None:
    """run_command="mpiexec" names three tools, so a missing flavour is a typed error."""
    (error,) = check_run_command(RunSettings(exe="a", run_command="mpiexec"))
    assert isinstance(error, BadValue) and error.field == "run_settings.flavour"
    assert "auto" in error.expected


def test_auto_must_be_resolved_before_building() -> None:
    """flavour="auto" is refused by the pure check until the effects layer resolved it."""
    (error,) = check_run_command(RunSettings(exe="a", run_command="mpiexec", flavour="auto"))
    assert isinstance(error, BadValue) and "resolve_flavour" in error.expected


@pytest.mark.parametrize(
    ("run_command", "flavour"),
    [
        ("mpiexec.mpich", "openmpi"),
        ("orterun", "mpich"),
        ("mpiexec.openmpi", "pals"),
        ("mpirun", "pals"),
        ("mpiexec.hydra", "openmpi"),
    ],
)
def test_a_flavour_the_program_is_not_conflicts(run_command: str, flavour: str) -> None:
    """A flavour the named program cannot be is a ConflictingOptions error."""
    errors = check_run_command(RunSettings(exe="a", run_command=run_command, flavour=flavour))
    assert [type(e) for e in errors] == [ConflictingOptions]


@pytest.mark.parametrize(
    ("run_command", "flavour", "marker"),
    [
        ("mpirun", None, "--wdir"),
        ("mpirun", "mpich", "-wdir"),
        ("orterun", None, "--wdir"),
        ("mpiexec.openmpi", "openmpi", "--wdir"),
        ("mpiexec", "openmpi", "--wdir"),
        ("mpiexec", "mpich", "-wdir"),
        ("mpiexec.mpich", None, "-wdir"),
        ("mpiexec.hydra", None, "-wdir"),
        ("mpiexec", "pals", "--np"),
    ],
)
def test_registry_names_render_their_flavour(
    run_command: str, flavour: str | None, marker: str
) -> None:
    """Each registered name builds the syntax of the flavour it means, under its own name."""
    rs = RunSettings(exe="a", ntasks=2, run_command=run_command, flavour=flavour)
    assert check_run_command(rs) == []
    cmd = launch_command(rs, CTX)
    assert cmd.argv[0] == run_command
    assert marker in cmd.argv


def test_parts_may_not_switch_flavour() -> None:
    """Every MPMD part runs under the first part's launcher flavour."""
    rs = RunSettings(exe="a", run_command="mpiexec", flavour="mpich").with_mpmd(
        RunSettings(exe="b", flavour="openmpi")
    )
    assert any(e.field == "run_settings.mpmd[0].flavour" for e in check_run_command(rs))


# --------------------------------------------------------------------------- flavour detection


def _fake_launcher(directory: Path, text: str) -> str:
    directory.mkdir(parents=True)
    path = directory / "mpiexec"
    path.write_text(f"#!/bin/sh\nprintf '%s\\n' {shlex.quote(text)}\n", encoding="utf-8")
    path.chmod(0o755)
    return str(path)


@pytest.mark.parametrize(
    ("text", "flavour"),
    [
        ("mpiexec (OpenRTE) 4.1.4", "openmpi"),
        ("mpirun (Open MPI) 5.0.3", "openmpi"),
        ("HYDRA build details:\n    Version: 4.0.2", "mpich"),
        ("Intel(R) MPI Library for Linux* OS, Version 2021.10", "mpich"),
    ],
)
def test_detect_flavour_reads_the_version_text(text: str, flavour: str, tmp_path: Path) -> None:
    """The effects layer names the flavour from `<launcher> --version` and caches it."""
    clear_cache()
    path = _fake_launcher(tmp_path / "bin", text)
    assert detect_flavour(path) == IOSuccess(flavour)
    Path(path).write_text("#!/bin/sh\nexit 3\n", encoding="utf-8")
    assert detect_flavour(path) == IOSuccess(flavour)  # cached: not run again


def test_detect_flavour_knows_pals_by_its_install_directory(tmp_path: Path) -> None:
    """A launcher under a ``pals`` directory whose version text names nothing is PALS."""
    clear_cache()
    path = _fake_launcher(tmp_path / "opt" / "cray" / "pals" / "1.2" / "bin", "mpiexec 1.2.12")
    assert detect_flavour(path) == IOSuccess("pals")


def test_detect_flavour_unknown_text_is_a_typed_failure(tmp_path: Path) -> None:
    """Version text naming no known MPI is an UnparsableOutput failure, and is not cached."""
    clear_cache()
    path = _fake_launcher(tmp_path / "bin", "mpiexec.slurm: no version")
    failure = unsafe_perform_io(detect_flavour(path).failure())
    assert isinstance(failure, UnparsableOutput)
    assert isinstance(
        unsafe_perform_io(detect_flavour("no-such-mpiexec").failure()), ExecutableNotFound
    )


def test_resolve_flavour_leaves_explicit_settings_unprobed() -> None:
    """Settings without flavour="auto" come back unchanged without running anything."""
    rs = RunSettings(exe="a", run_command="/nonexistent/mpiexec", flavour="mpich")
    assert resolve_flavour(rs) == IOSuccess(rs)


def test_resolve_flavour_fills_every_auto_part(tmp_path: Path) -> None:
    """Every "auto" of an MPMD launch becomes the detected flavour, which then checks clean."""
    clear_cache()
    path = _fake_launcher(tmp_path / "bin", "HYDRA build details:")
    rs = RunSettings(exe="a", ntasks=1, run_command=path, flavour="auto").with_mpmd(
        RunSettings(exe="b", ntasks=1, flavour="auto")
    )
    resolved = unsafe_perform_io(resolve_flavour(rs).unwrap())
    assert [p.flavour for p in resolved.parts] == ["mpich", "mpich"]
    assert MPIEXEC.check(resolved) == []
    assert MPIEXEC.build(resolved, CTX).argv[0] == path
