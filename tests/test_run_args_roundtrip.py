"""Run arguments say what they mean: for every launcher, a ``run_args`` dict whose values are
ints, strings, ``None`` or ``True`` renders an argv that the tool's own option grammar (the
independent oracles in ``tests/oracles``, written from the man pages) reads back to the same
options. Only ``None``/``True`` are bare flags; ``1`` is a value; a value given to an option
that takes none is refused rather than left for the tool to read as the program."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from smartsim import BatchSettings, Experiment, SmartSimError
from smartsim.commands._types import Command
from smartsim.commands.launch import LaunchContext, check_run_command, launch_command
from smartsim.errors import BadValue, Invalid
from smartsim.values import RunSettings
from tests.oracles import flux_cli, lsf_lexer, pbs_lexer, sge_lexer, slurm_cli
from tests.oracles.mpi_cli import MPICH, OPENMPI, PALS, OptionTable, parse_colon_argv
from tests.oracles.sbatch_lexer import parse_sbatch_script
from tests.oracles.vendor_cli import APRUN, JSRUN

CTX = LaunchContext(cwd="/w/exp/m", name="m", stdout="/w/exp/m/m.out", stderr="/w/exp/m/m.err")

#: What the oracle reads: canonical option name -> every value it was given (None: a flag).
Read = dict[str, list[str | None]]


def _grammar(table: OptionTable, *, equals: bool) -> Callable[[Command], tuple[Read, str]]:
    """The first program's options as the tool's option table reads them (raw words: no
    interpretation of counts or hosts)."""

    def read(cmd: Command) -> tuple[Read, str]:
        app = parse_colon_argv(cmd.argv, table, equals=equals)[0]
        out: Read = {}
        for name, values in app.options:
            out.setdefault(name, []).append(values[0] if values else None)
        return out, app.program

    return read


def _srun(cmd: Command) -> tuple[Read, str]:
    parsed = slurm_cli.parse_argv(cmd.argv, allow_abbrev=False)
    out: Read = {}
    for opt in parsed.components[0].options:
        out.setdefault(opt.name, []).append(opt.value)
    return out, parsed.components[0].program[0]


def _flux(cmd: Command) -> tuple[Read, str]:
    request = flux_cli.parse_flux_argv(cmd.argv)
    out: Read = {}
    for name, value in request.options:
        out.setdefault(name, []).append(value)
    return out, request.command[0]


@dataclass(frozen=True)
class Tool:
    """A launcher, the options drawn for it (run_args key -> oracle name) and its reader."""

    id: str
    run_command: str
    valued: Mapping[str, str]
    flags: Mapping[str, str]
    read: Callable[[Command], tuple[Read, str]]
    flavour: str | None = None


TOOLS = [
    Tool(
        "openmpi",
        "mpirun",
        {"np": "np", "n": "np", "bind-to": "bind-to", "rank-by": "rank-by", "hostfile": "hostfile"},
        {"oversubscribe": "oversubscribe", "report-bindings": "report-bindings",
         "tag-output": "tag-output", "display-map": "display-map"},
        _grammar(OPENMPI, equals=False),
    ),
    Tool(
        "mpich",
        "mpiexec",
        {"np": "n", "bind-to": "bind-to", "map-by": "map-by", "iface": "iface", "ppn": "ppn"},
        {"prepend-rank": "prepend-rank", "verbose": "verbose", "l": "l"},
        _grammar(MPICH, equals=False),
        flavour="mpich",
    ),
    Tool(
        "pals",
        "mpiexec",
        {"np": "np", "depth": "depth", "cpu-bind": "cpu-bind", "mem-bind": "mem-bind",
         "umask": "umask"},
        {"label": "label", "line-buffer": "line-buffer", "exclusive": "exclusive"},
        _grammar(PALS, equals=False),
        flavour="pals",
    ),
    Tool(
        "srun",
        "srun",
        {"C": "constraint", "partition": "partition", "reservation": "reservation",
         "distribution": "distribution", "mem-bind": "mem-bind", "p": "partition"},
        {"label": "label", "l": "label", "unbuffered": "unbuffered", "overcommit": "overcommit",
         "contiguous": "contiguous"},
        _srun,
    ),
    Tool(
        "aprun",
        "aprun",
        {"n": "n", "cc": "cc", "j": "j", "sl": "sl", "r": "r"},
        {"b": "b", "q": "q", "ss": "ss"},
        _grammar(APRUN, equals=False),
    ),
    Tool(
        "jsrun",
        "jsrun",
        {"nrs": "nrs", "n": "nrs", "a": "tasks_per_rs", "launch_distribution":
         "launch_distribution", "bind": "bind", "smpiargs": "smpiargs"},
        {},
        _grammar(JSRUN, equals=True),
    ),
    Tool(
        "flux",
        "flux",
        {"setopt": "setopt", "o": "setopt", "queue": "queue", "taskmap": "taskmap",
         "urgency": "urgency", "requires": "requires"},
        {"unbuffered": "unbuffered", "label-io": "label-io", "verbose": "verbose",
         "debug": "debug"},
        _flux,
    ),
]  # fmt: skip

#: Values that mean a value: ints (0 and 1 among them) and words; flags: None or True.
_INTS = st.integers(min_value=0, max_value=10**6) | st.sampled_from([0, 1])
_WORDS = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\x00\n\r:"), min_size=1, max_size=6
).filter(lambda s: not s.startswith("-") and s.strip() == s and s != "")
_VALUE = _INTS | _WORDS
_FLAG = st.sampled_from([None, True])


def _drawn(tool: Tool, *, kinds_match: bool) -> st.SearchStrategy[dict[str, object]]:
    """A run_args dict over the tool's options (each canonical option once); with
    ``kinds_match`` every valued option gets a value and every flag None/True, otherwise the
    kinds are drawn freely."""
    keys = list(tool.valued) + list(tool.flags)
    canonical = {**tool.valued, **tool.flags}

    def value_for(key: str) -> st.SearchStrategy[object]:
        if not kinds_match:
            return _VALUE | _FLAG
        return _VALUE if key in tool.valued else _FLAG

    chosen = st.lists(st.sampled_from(keys), max_size=4, unique_by=lambda k: canonical[k])
    return chosen.flatmap(
        lambda ks: st.fixed_dictionaries({k: value_for(k) for k in ks}) if ks else st.just({})
    )


def _settings(tool: Tool, run_args: dict[str, object]) -> RunSettings:
    return RunSettings(
        exe="a.out", args=("x",), run_command=tool.run_command, run_args=run_args,
        flavour=tool.flavour,
    )  # fmt: skip


@pytest.mark.parametrize("tool", TOOLS, ids=lambda t: t.id)
@given(data=st.data())
def test_run_args_parse_back_to_the_same_options(tool: Tool, data: st.DataObject) -> None:
    """Values (int or str) and flags (None/True) of the right kind are accepted and the tool's
    grammar reads each back unchanged, with a.out still the program."""
    run_args = data.draw(_drawn(tool, kinds_match=True), label="run_args")
    rs = _settings(tool, run_args)
    assert check_run_command(rs) == []
    read, program = tool.read(launch_command(rs, CTX))
    assert program == "a.out"
    canonical = {**tool.valued, **tool.flags}
    for key, value in run_args.items():
        want = None if value is None or value is True else str(value)
        assert read.get(canonical[key]) == [want], (key, value, read)
    event(f"{len(run_args)} options")


@pytest.mark.parametrize("tool", TOOLS, ids=lambda t: t.id)
@given(data=st.data())
def test_a_value_of_the_wrong_kind_is_refused_naming_the_option(
    tool: Tool, data: st.DataObject
) -> None:
    """Exactly the options given the wrong kind (a value to a flag, a flag to an option that
    takes a value) are refused, each by a BadValue naming it; nothing becomes the program."""
    run_args = data.draw(_drawn(tool, kinds_match=False), label="run_args")
    wrong = {
        key
        for key, value in run_args.items()
        if (key in tool.flags) != (value is None or value is True)
    }
    errors = check_run_command(_settings(tool, run_args))
    named = {e.field.split("[", 1)[1].rstrip("]").strip("'") for e in errors}
    assert all(isinstance(e, BadValue) for e in errors), errors
    assert named == wrong, (run_args, errors)
    event("refused" if wrong else "accepted")


@pytest.mark.parametrize(
    ("run_command", "run_args", "flavour", "expect"),
    [
        ("mpirun", {"np": 1}, None, ["--np", "1"]),
        ("mpirun", {"oversubscribe": True}, None, ["--oversubscribe"]),
        ("mpirun", {"oversubscribe": None}, None, ["--oversubscribe"]),
        ("srun", {"nice": 1}, None, ["--nice=1"]),
    ],
)
def test_the_issues_examples(
    run_command: str, run_args: dict[str, object], flavour: str | None, expect: list[str]
) -> None:
    """{'np': 1} is '--np 1'; oversubscribe as a flag is the bare flag."""
    rs = RunSettings(exe="a.out", run_command=run_command, run_args=run_args, flavour=flavour)
    assert check_run_command(rs) == []
    argv = list(launch_command(rs, CTX).argv)
    i = argv.index(expect[0])
    assert argv[i : i + len(expect)] == expect and argv[i + len(expect)] != "1"


def test_oversubscribe_1_is_refused() -> None:
    """{'oversubscribe': 1} would make mpirun run a program named 1: refused, naming the key."""
    rs = RunSettings(exe="a.out", run_command="mpirun", run_args={"oversubscribe": 1})
    (error,) = check_run_command(rs)
    assert isinstance(error, BadValue) and "oversubscribe" in error.field and error.value == 1


# --------------------------------------------------------------------------- batch arguments


@dataclass(frozen=True)
class BatchTool:
    """A batch scheduler, the raw options drawn for it and its directive reader."""

    id: str
    launcher: str
    valued: tuple[str, ...]
    flags: tuple[str, ...]
    read: Callable[[str], list[tuple[str, str | None]]]


def _sbatch_read(script: str) -> list[tuple[str, str | None]]:
    parsed = parse_sbatch_script(script)
    return [(f"--{o.name}", o.value) for o in parsed.options]


BATCH_TOOLS = [
    BatchTool("pbs", "pbs", ("p", "m", "M", "r", "a"), ("V", "h"), pbs_lexer.options),
    BatchTool("lsf", "lsf", ("G", "sp", "u", "L", "app"), ("x", "N", "B"), lsf_lexer.options),
    BatchTool("sge", "sge", ("p", "m", "M", "r", "ckpt"), ("notify",), sge_lexer.options),
    BatchTool(
        "sbatch", "slurm", ("comment", "qos", "priority", "wckey", "mincpus"),
        ("requeue", "overcommit", "contiguous"), _sbatch_read,
    ),
]  # fmt: skip
_BATCH_WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=6)


@pytest.mark.parametrize("tool", BATCH_TOOLS, ids=lambda t: t.id)
@given(data=st.data())
def test_batch_args_parse_back_from_the_script(tool: BatchTool, data: st.DataObject) -> None:
    """batch_args with int/str values and None/True flags are accepted when each has the
    option's kind, and the scheduler's directive lexer reads each back unchanged; a value for
    a flag or a bare valued option is refused naming it."""
    keys = data.draw(
        st.lists(st.sampled_from(tool.valued + tool.flags), max_size=4, unique=True), label="keys"
    )
    values = {k: data.draw(_INTS | _BATCH_WORDS | _FLAG, label=k) for k in keys}
    wrong = {k for k, v in values.items() if (k in tool.flags) != (v is None or v is True)}
    exp = Experiment("b", exp_path="/tmp/b", launcher=tool.launcher)
    bs = BatchSettings(nodes=1, batch_args=values)
    try:
        model = exp.create_model("m", RunSettings(exe="true"), batch_settings=bs)
    except SmartSimError as exc:
        assert isinstance(exc.error, Invalid)
        named = {e.field.split("[", 1)[1].rstrip("]").strip("'") for e in exc.error.errors}
        assert named == wrong and all(isinstance(e, BadValue) for e in exc.error.errors)
        event("refused")
        return
    assert not wrong, (values, "accepted")
    submission = exp.preview(model).launches[0].submission
    assert submission is not None
    read = tool.read(submission.script)
    for key, value in values.items():
        flag = f"--{key}" if tool.id == "sbatch" else f"-{key}"
        want = None if value is None or value is True else str(value)
        assert (flag, want) in read, (key, value, read)
    event("accepted")
