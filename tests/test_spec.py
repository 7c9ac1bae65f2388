"""Experiment specs (smartsim.spec): reading TOML into values, and problems named by file,
field and line."""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from returns.result import Failure, Success

from smartsim.errors import (
    BadDuration,
    ConflictingOptions,
    DuplicateOption,
    EmptyValue,
    NotPositive,
    UnknownLauncher,
    Unsupported,
)
from smartsim.spec import (
    Spec,
    SpecProblems,
    field_path,
    instantiate,
    key_lines,
    line_of,
    parse_spec,
    read_spec,
)
from smartsim.values import Duration, Memory

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples" / "specs").glob("*.toml"))
SCHEMA = json.loads((ROOT / "docs" / "spec.schema.json").read_text())

BASE = """\
[experiment]
name = "t"

[run_settings.r]
exe = "echo"

[[model]]
name = "m"
run_settings = "r"
"""


def parse(text: str) -> Spec:
    return parse_spec(text, file="t.toml", base_dir="/base").unwrap()


def problems(text: str) -> SpecProblems:
    result = parse_spec(text, file="t.toml", base_dir="/base")
    assert isinstance(result, Failure), result
    found: SpecProblems = result.failure()
    return found


def marked_line(text: str) -> int:
    """The 1-based line holding the marker ``#<``."""
    (line,) = [i for i, t in enumerate(text.splitlines(), start=1) if "#<" in t]
    return line


# ------------------------------------------------------------------ reading


def test_minimal_spec_gives_values() -> None:
    """A minimal spec gives the experiment, the run settings and the model as values."""
    spec = parse(BASE)
    assert spec.experiment.name == "t"
    assert spec.experiment.launcher == "local"
    assert spec.experiment.path == "/base/t"
    assert spec.run_settings["r"].exe == "echo"
    assert [m.name for m in spec.models] == ["m"]
    assert spec.stages() == (("m",),)


def test_every_field_is_read() -> None:
    """Every key of every table reaches its value, typed (durations, memory, bare flags)."""
    spec = parse("""
[experiment]
name = "all"
launcher = "slurm"
path = "../elsewhere"

[allocation.big]
nodes = 2
time = "1:00:00"
partition = "p"
account = "a"
constraint = "c"
exclusive = true
job_name = "j"
mem = "4G"
gpus = 1
opts = { reservation = "r", contiguous = true, requeue = false }
timeout = 12.5

[run_settings.r]
exe = "a.out"
args = ["x", "{p}"]
env = { A = "1", N = 2 }
run_command = "srun"
nodes = 2
ntasks = 4
tasks_per_node = 2
cpus_per_task = 3
gpus_per_task = 1
mem = 1024
time = 01:30:00
hostlist = "n[1-2]"
excluded_hosts = ["n3"]
alloc = "big"
run_args = { distribution = "block", label = true }
mpi = "pmix"
mpmd = ["part"]

[run_settings.part]
exe = "b.out"
run_command = "srun"
ntasks = 1

[batch_settings.b]
nodes = 1
time = 600
account = "acct"
partition = "q"
mem = "512M"
gpus = 2
batch_args = { C = "gpu" }
job_name = "bj"
array = { start = 0, stop = 9, step = 3, limit = 2 }
preamble = ["module load x"]

[[model]]
name = "m"
run_settings = "r"
params = { p = 1.5 }
path = "models/m"
files = { copy = ["in/a"], symlink = ["/abs/b"], configure = ["c.cfg"] }

[[ensemble]]
name = "e"
run_settings = "part"
params = { a = [1, 2], b = "one" }
perm_strategy = "random"
n_models = 1
seed = 3
batch_settings = "b"
after = "m"
""")
    assert spec.experiment.path == "/elsewhere"
    alloc = spec.allocations["big"]
    assert alloc.request.nodes == 2 and alloc.request.time == Duration(3600)
    assert alloc.request.mem == Memory(4096) and alloc.timeout == 12.5
    assert dict(alloc.request.add_opts) == {
        "reservation": "r",
        "contiguous": True,
        "requeue": False,
    }
    rs = spec.run_settings["r"]
    assert rs.time == Duration(5400) and rs.mem == Memory(1024)
    assert rs.env == {"A": "1", "N": "2"} and rs.hostlist == ("n[1-2]",)
    assert rs.alloc is None and spec.alloc_refs["r"] == "big"
    assert spec.mpmd_refs["r"] == ("part",)
    full = spec.resolved_run_settings("r", {"big": "77"})
    assert full.alloc == "77" and [p.exe for p in full.mpmd] == ["b.out"]
    bs = spec.batch_settings["b"]
    assert str(bs.array) == "0-9:3%2" and bs.preamble == ("module load x",)
    model = spec.models[0]
    assert model.path == "/base/models/m"
    assert model.files.to_copy == ("/base/in/a",) and model.files.to_symlink == ("/abs/b",)
    ens = spec.ensembles[0]
    assert ens.params == {"a": (1, 2), "b": ("one",)} and ens.after == ("m",)
    assert spec.stages() == (("m",), ("e",))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_examples_read(path: Path) -> None:
    """Every spec in examples/specs reads without a problem."""
    result = read_spec(path)
    assert isinstance(result, Success), str(result.failure())


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_examples_match_the_schema(path: Path) -> None:
    """Every example spec is valid under docs/spec.schema.json."""
    jsonschema = pytest.importorskip("jsonschema")
    data = tomllib.loads(path.read_text())
    jsonschema.validate(_jsonable(data), SCHEMA)


def test_schema_is_a_valid_schema() -> None:
    """docs/spec.schema.json is itself a valid JSON Schema (draft 2020-12)."""
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def _jsonable(value: Any) -> Any:
    """TOML values as JSON sees them (a TOML time becomes its text)."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


# ------------------------------------------------------------------ problems, by field and line

CASES: list[tuple[str, str, str, type | None]] = [
    # (id, spec text with "#<" on the expected line, expected field, typed error class)
    ("toml syntax", BASE + "nodes = #<\n", "", None),
    ("unknown key", BASE.replace('exe = "echo"', 'exe = "echo"\nnodez = 2 #<'),
     "run_settings.r.nodez", None),
    ("wrong type", BASE.replace('exe = "echo"', 'exe = "echo"\nnodes = "2" #<'),
     "run_settings.r.nodes", None),
    ("not positive", BASE.replace('exe = "echo"', 'exe = "echo"\nnodes = 0 #<'),
     "run_settings.r.nodes", NotPositive),
    ("bad duration", BASE.replace('exe = "echo"', 'exe = "echo"\ntime = "1 day" #<'),
     "run_settings.r.time", BadDuration),
    ("missing exe", BASE.replace('[run_settings.r] \n', "").replace(
        '[run_settings.r]\nexe = "echo"', "[run_settings.r] #<\nargs = []"),
     "run_settings.r", None),
    ("unknown run_command", BASE.replace('exe = "echo"', 'exe = "echo"\nrun_command = "qrun" #<'),
     "run_settings.r.run_command", UnknownLauncher),
    ("srun duplicate", BASE.replace(
        'exe = "echo"', 'exe = "echo"\nrun_command = "srun"\nntasks = 2\nrun_args = { n = 4 } #<'),
     "run_settings.r.run_args['n']", DuplicateOption),
    ("unknown run_settings", BASE.replace('run_settings = "r"', 'run_settings = "q" #<'),
     "model[0].run_settings", None),
    ("unknown mpmd part", BASE.replace('exe = "echo"', 'exe = "echo"\nmpmd = ["x"] #<'),
     "run_settings.r.mpmd[0]", None),
    ("unknown alloc", BASE.replace('exe = "echo"', 'exe = "echo"\nalloc = "big" #<'),
     "run_settings.r.alloc", None),
    ("unused allocation", BASE + "[allocation.a] #<\nnodes = 1\n", "allocation.a", None),
    ("salloc -Q", BASE.replace('exe = "echo"', 'exe = "echo"\nalloc = "a"')
     + "[allocation.a]\nnodes = 1\nopts = { Q = true } #<\n",
     "allocation.a.opts['Q']", ConflictingOptions),
    ("random without seed", BASE + '[[ensemble]]\nname = "e"\nrun_settings = "r"\n'
     'params = { a = [1, 2] }\nperm_strategy = "random" #<\n', "ensemble[0].perm_strategy", None),
    ("empty parameter list", BASE + '[[ensemble]]\nname = "e"\nrun_settings = "r"\n'
     "params = { a = [] } #<\n", "ensemble[0].params.a", EmptyValue),
    ("member name taken", BASE.replace('name = "m"', 'name = "e_0" #<')
     + '[[ensemble]]\nname = "e"\nrun_settings = "r"\nreplicas = 2\n', "model[0].name", None),
    ("after unknown", BASE + 'after = ["nobody"] #<\n', "model[0].after[0]", None),
    ("array stop < start", BASE.replace('run_settings = "r"', 'run_settings = "r"\n'
     'batch_settings = "b"') + "[batch_settings.b]\narray = { start = 5, stop = 1 } #<\n",
     "batch_settings.b.array.stop", None),
    ("env bool", BASE.replace('exe = "echo"', 'exe = "echo"\nenv = { A = true } #<'),
     "run_settings.r.env.A", None),
    ("second model", BASE + '[[model]] \nname = "n"\nrun_settings = "r"\nparams = [1] #<\n',
     "model[1].params", None),
    ("bad table name", BASE + "[run_settings.2x] #<\nexe = 'a'\n", "run_settings.2x", None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "field", "kind"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_problem_names_file_field_and_line(text: str, field: str, kind: type | None) -> None:
    """A bad spec gives a problem naming the file, the field and the line it is written on."""
    found = problems(text).problems
    match = [p for p in found if p.field == field]
    assert match, [(p.field, str(p)) for p in found]
    problem = match[0]
    assert problem.file == "t.toml"
    assert problem.line == marked_line(text), str(problem)
    assert str(problem).startswith(f"t.toml:{problem.line}: ")
    if field:
        assert field.split("[", maxsplit=1)[0] in problem.message
    if kind is not None:
        assert isinstance(problem.error, kind), problem


def test_missing_experiment_and_nothing_to_run() -> None:
    """A spec without [experiment], or without models and ensembles, says so."""
    found = problems('[run_settings.r]\nexe = "a"\n').problems
    messages = " / ".join(p.message for p in found)
    assert "[experiment]" in messages and "nothing to run" in messages


def test_cycle_in_after_is_reported() -> None:
    """Entities that wait for each other are a problem, not a hang."""
    text = (
        BASE
        + 'after = ["e"]\n[[ensemble]]\nname = "e"\nrun_settings = "r"\nreplicas = 1\n'
        + 'after = ["m"]\n'
    )
    assert any("cycle" in p.message for p in problems(text).problems)


def test_problems_are_sorted_by_line() -> None:
    """Problems come in file order."""
    text = BASE.replace('exe = "echo"', 'exe = "echo"\nnodes = 0\nntasks = -1')
    text += "[[model]]\nname = 'bad name'\nrun_settings = 'r'\n"
    lines = [p.line for p in problems(text).problems]
    assert lines == sorted(lines, key=lambda x: (x is None, x or 0)) and len(lines) == 3


def test_unreadable_file_is_a_problem(tmp_path: Path) -> None:
    """A missing or non-UTF-8 spec file is a problem naming the file, not an exception."""
    missing = read_spec(tmp_path / "nope.toml")
    assert "cannot read" in str(missing.failure())
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe")
    assert "not UTF-8" in str(read_spec(binary).failure())


def test_relative_paths_are_from_the_spec_directory(tmp_path: Path) -> None:
    """Relative paths in a spec are taken from the spec file's directory, not the cwd."""
    (tmp_path / "sub").mkdir()
    spec_file = tmp_path / "sub" / "s.toml"
    spec_file.write_text(BASE.replace('name = "t"', 'name = "t"\npath = "out"'))
    spec = read_spec(spec_file).unwrap()
    assert spec.experiment.path == str(tmp_path / "sub" / "out")


# ------------------------------------------------------------------ instantiate


def test_instantiate_local_refuses_batch_settings() -> None:
    """What the launcher cannot run is a problem named by the entity's spec field."""
    text = (
        BASE.replace('run_settings = "r"', 'run_settings = "r"\nbatch_settings = "b" #<')
        + "[batch_settings.b]\nnodes = 1\n"
    )
    spec = parse(text)
    made = instantiate(spec)
    assert isinstance(made, Failure)
    (problem,) = made.failure().problems
    assert problem.field == "model[0].batch_settings"
    assert problem.line == marked_line(text)
    assert isinstance(problem.error, Unsupported)


def test_instantiate_maps_launcher_errors_to_run_settings() -> None:
    """A direct launch cannot take nodes=2: the problem names the run_settings table."""
    text = BASE.replace('exe = "echo"', 'exe = "echo"\nnodes = 2 #<')
    made = instantiate(parse(text))
    problem = made.failure().problems[0]
    assert problem.field == "run_settings.r.nodes" and problem.line == marked_line(text)


def test_instantiate_slurm_uses_allocation_ids() -> None:
    """Allocation names become the ids given; the plan binds the step to that job."""
    text = BASE.replace('exe = "echo"', 'exe = "echo"\nalloc = "a"') + "[allocation.a]\nnodes=1\n"
    inst = instantiate(parse(text), launcher="slurm", exp_path="/x", allocs={"a": "4321"}).unwrap()
    (launch,) = inst.experiment.preview(inst.entities["m"]).launches
    assert launch.command is not None
    argv = launch.command.argv
    assert argv[argv.index("--jobid") + 1] == "4321"


def test_instantiate_reports_missing_files(tmp_path: Path) -> None:
    """A file to copy or configure that does not exist is a problem naming its field."""
    (tmp_path / "here.cfg").write_text("x\n")
    text = BASE + 'files = { copy = ["nope.txt"], configure = ["here.cfg"] } #<\n'
    spec = parse_spec(text, file="t.toml", base_dir=str(tmp_path)).unwrap()
    (problem,) = instantiate(spec).failure().problems
    assert problem.field == "model[0].files.copy[0]" and problem.line == marked_line(text)
    assert "does not exist" in problem.message


def test_instantiate_unknown_launcher_override() -> None:
    """An unknown --launcher override is a problem naming --launcher."""
    made = instantiate(parse(BASE), launcher="nosuch")
    (problem,) = made.failure().problems
    assert problem.field == "--launcher" and isinstance(problem.error, UnknownLauncher)


# ------------------------------------------------------------------ line scanner


def test_field_path_round_trip() -> None:
    """Field names parse into paths the line index uses."""
    assert field_path("ensemble[1].params.a[0]") == ("ensemble", 1, "params", "a", 0)
    assert field_path('run_settings.r.env["A.B"]') == ("run_settings", "r", "env", "A.B")
    assert line_of({("a",): 3}, "a.b.c") == 3 and line_of({}, "a") is None


_keys = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)


@given(
    tables=st.lists(
        st.tuples(_keys, st.booleans(), st.lists(_keys, min_size=1, max_size=4, unique=True)),
        min_size=1,
        max_size=6,
    ),
    blank=st.lists(st.booleans(), min_size=30, max_size=30),
)
def test_key_lines_finds_every_key(
    tables: list[tuple[str, bool, list[str]]], blank: list[bool]
) -> None:
    """The line scanner gives the line of every table header and key of a generated document
    (named tables and arrays of tables, blank lines and comments between)."""
    lines: list[str] = []
    expected: dict[tuple[str | int, ...], int] = {}
    arrays: dict[str, int] = {}
    named: set[str] = set()
    for i, (name, is_array, keys) in enumerate(tables):
        if is_array:
            if name in named:
                continue
            index = arrays.get(name, 0)
            arrays[name] = index + 1
            lines.append(f"[[{name}]]")
            base: tuple[str | int, ...] = (name, index)
        else:
            if name in arrays or name in named:
                continue
            named.add(name)
            lines.append(f'[ "tbl" . {name} ]  # a comment')
            base = ("tbl", name)
        expected[base] = len(lines)
        for j, key in enumerate(keys):
            if blank[(i + j) % len(blank)]:
                lines.append("# key = 1 (a comment)")
            if j == 1:
                lines += [f'{key} = """multi', 'line = 2 """']
                expected[(*base, key)] = len(lines) - 1
            else:
                lines.append(f"{key} = {j}")
                expected[(*base, key)] = len(lines)
    text = "\n".join(lines) + "\n"
    tomllib.loads(text)  # the generator makes valid TOML
    found = key_lines(text)
    for path, line in expected.items():
        assert found.get(path) == line, (path, text)


# ------------------------------------------------------------------ generated specs

_NAMES = st.sampled_from(["a", "b", "c", "sim", "post", "x y", "2a", ""])
_SCALAR = st.one_of(
    st.integers(-3, 5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.sampled_from(["", "1:00:00", "10:00", "4G", "x", "a b", "srun", "mpirun", "\n", "{p}"]),
)
_VALUE = st.one_of(_SCALAR, st.lists(_SCALAR, max_size=3), st.dictionaries(_NAMES, _SCALAR,
                                                                          max_size=3))  # fmt: skip


def _table(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(keys), _VALUE, max_size=len(keys))


_RUN_KEYS = ["exe", "args", "env", "run_command", "nodes", "ntasks", "time", "mem", "alloc",
             "run_args", "hostlist", "mpmd", "het_group", "flavour", "bogus"]  # fmt: skip


_VALID_SCALAR = st.one_of(st.integers(0, 9), st.sampled_from([0.5, 1.0, "x", "a b", True]))
_MUTABLE_KEYS = {
    "experiment": ["name", "launcher", "path", "bogus"],
    "run_settings": [*_RUN_KEYS],
    "batch_settings": ["nodes", "time", "batch_args", "array", "preamble", "bogus"],
    "model": ["name", "run_settings", "params", "batch_settings", "after", "files", "bogus"],
    "ensemble": ["name", "run_settings", "params", "perm_strategy", "replicas", "seed",
                 "n_models", "after", "bogus"],
}  # fmt: skip


@st.composite
def spec_documents(draw: st.DrawFn) -> dict[str, Any]:
    """Valid spec documents with zero, one or two random changes (a key set to a random value
    of a random type, or removed)."""
    rs_names = draw(st.lists(st.sampled_from(["a", "b", "sim"]), min_size=1, max_size=3,
                             unique=True))  # fmt: skip
    runs: dict[str, dict[str, Any]] = {}
    for name in rs_names:
        table: dict[str, Any] = {"exe": draw(st.sampled_from(["echo", "true", "python3"]))}
        if draw(st.booleans()):
            table["args"] = draw(st.lists(st.sampled_from(["x", "{p}", "a b", "--n=1"]),
                                          max_size=3))  # fmt: skip
        if draw(st.booleans()):
            table["env"] = {"A": draw(st.sampled_from(["1", "{p}", "x y"]))}
        if draw(st.booleans()):
            table["run_command"] = draw(st.sampled_from(["srun", "mpirun", "mpiexec.mpich"]))
            table["ntasks"] = draw(st.integers(1, 4))
        runs[name] = table
    doc: dict[str, Any] = {
        "experiment": {"name": draw(st.sampled_from(["e", "exp-1"]))},
        "run_settings": runs,
    }
    ensembles: list[dict[str, Any]] = []
    for i in range(draw(st.integers(0, 2))):
        entry: dict[str, Any] = {
            "name": f"e{i}",
            "run_settings": draw(st.sampled_from(rs_names)),
            "params": {"p": draw(st.lists(_VALID_SCALAR, min_size=1, max_size=3))},
        }
        if draw(st.booleans()):
            entry["replicas"] = draw(st.integers(1, 3))
        ensembles.append(entry)
    models: list[dict[str, Any]] = []
    for i in range(draw(st.integers(0 if ensembles else 1, 2))):
        model: dict[str, Any] = {
            "name": f"m{i}",
            "run_settings": draw(st.sampled_from(rs_names)),
            "params": {"p": draw(_VALID_SCALAR)},
        }
        wait = draw(st.booleans())
        if ensembles and wait:
            model["after"] = [ensembles[0]["name"]]  # waits for the first ensemble
        models.append(model)
    if models:
        doc["model"] = models
    if ensembles:
        doc["ensemble"] = ensembles
    if draw(st.booleans()):
        doc["batch_settings"] = {"b": {"nodes": draw(st.integers(1, 3))}}
    tables: list[tuple[str, dict[str, Any]]] = [("experiment", doc["experiment"])]
    tables += [("run_settings", t) for t in runs.values()]
    tables += [("model", m) for m in models] + [("ensemble", e) for e in ensembles]
    tables += [("batch_settings", t) for t in doc.get("batch_settings", {}).values()]
    for _ in range(draw(st.integers(0, 2))):
        kind, table = draw(st.sampled_from(tables))
        key = draw(st.sampled_from(_MUTABLE_KEYS[kind]))
        if draw(st.integers(0, 4)) == 0:
            table.pop(key, None)
        else:
            table[key] = draw(_VALUE)
    return doc


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"


def toml_text(doc: dict[str, Any]) -> str:
    """A small TOML writer for generated documents (tables, named tables, arrays of tables)."""
    lines: list[str] = []
    if "experiment" in doc:
        lines.append("[experiment]")
        lines += [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in doc["experiment"].items()]
    for kind in ("allocation", "run_settings", "batch_settings"):
        for name, table in doc.get(kind, {}).items():
            lines.append(f"[{kind}.{json.dumps(name)}]")
            lines += [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in table.items()]
    for kind in ("model", "ensemble"):
        for table in doc.get(kind, []):
            lines.append(f"[[{kind}]]")
            lines += [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(doc=spec_documents())
def test_generated_specs_never_raise(doc: dict[str, Any]) -> None:
    """Any spec-shaped document gives a Spec or problems (each with the file and a line inside
    the file or none) -- never an exception; a Spec instantiates (local and Slurm launchers) to
    an experiment whose preview works, or to problems; what the parser accepts the JSON schema
    accepts too."""
    text = toml_text(doc)
    result = parse_spec(text, file="g.toml", base_dir="/g")
    count = len(text.splitlines())
    if isinstance(result, Failure):
        for problem in result.failure().problems:
            assert problem.file == "g.toml"
            assert problem.line is None or 1 <= problem.line <= count
            assert problem.message
        return
    spec = result.unwrap()
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(_jsonable(tomllib.loads(text)), SCHEMA)
    for launcher in ("local", "slurm"):
        made = instantiate(spec, launcher=launcher, allocs={a: "1" for a in spec.allocations})
        if isinstance(made, Success):
            inst = made.unwrap()
            for stage in inst.stages:
                inst.experiment.preview(*inst.stage_entities(stage))
        else:
            for problem in made.failure().problems:
                assert problem.line is None or 1 <= problem.line <= count


@settings(max_examples=200)
@given(st.text())
def test_arbitrary_text_never_raises(text: str) -> None:
    """Any text gives a Spec or problems, never an exception."""
    result = parse_spec(text, file="x.toml", base_dir="/")
    assert isinstance(result, (Success, Failure))


# --------------------------------------------------------------------------- one pass, JSON


def test_one_pass_reports_type_and_domain_problems_of_the_same_table() -> None:
    """A table with a wrongly typed field still has its other fields checked: every problem
    of the spec is reported at once, each with its path and line."""
    text = (
        BASE.replace('exe = "echo"', 'exe = "echo"\nnodes = "2"\ntime = "1 day"\nntasks = 0')
        + '\n[batch_settings.b]\nnodes = "x"\ntime = "never"\n'
    )
    found = {(p.field, p.line) for p in problems(text).problems}
    assert found >= {
        ("run_settings.r.nodes", 6),
        ("run_settings.r.time", 7),
        ("run_settings.r.ntasks", 8),
        ("batch_settings.b.nodes", 15),
        ("batch_settings.b.time", 16),
    }, found


def test_a_toml_syntax_error_gives_line_and_column() -> None:
    """A TOML syntax error names its line and its column."""
    (problem,) = problems('[experiment]\nname = "t"\nx = = 3\n').problems
    assert problem.line == 3 and "column 5" in problem.message
    assert str(problem).startswith("t.toml:3: not TOML")


def test_a_json_spec_reads_like_toml_and_names_paths() -> None:
    """A .json spec is read like its TOML twin; problems name the same paths."""
    doc: dict[str, Any] = {
        "experiment": {"name": "t"},
        "run_settings": {"r": {"exe": "echo", "nodes": "2", "ntasks": 0}},
        "model": [{"name": "m", "run_settings": "r", "bogus": 1}],
    }
    result = parse_spec(json.dumps(doc), file="t.json", base_dir="/base")
    assert isinstance(result, Failure)
    fields = [p.field for p in result.failure().problems]
    assert set(fields) >= {"run_settings.r.nodes", "run_settings.r.ntasks", "model[0].bogus"}
    good = {**doc, "run_settings": {"r": {"exe": "echo", "nodes": 2}}, "model": [doc["model"][0]]}
    del good["model"][0]["bogus"]
    spec = parse_spec(json.dumps(good), file="t.json", base_dir="/base").unwrap()
    assert spec.run_settings["r"].nodes == 2


def test_a_json_syntax_error_gives_line_and_column() -> None:
    """A JSON syntax error names its line and its column."""
    result = parse_spec('{"experiment":\n {"name": "t",}}', file="t.json", base_dir="/b")
    assert isinstance(result, Failure)
    (problem,) = result.failure().problems
    assert problem.line == 2 and "column" in problem.message and "not JSON" in problem.message
