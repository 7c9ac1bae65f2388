"""Slurm builders: the seed example, and properties checked through independent parsers.

The oracles (``tests/oracles``) model Slurm's own readers -- getopt_long as salloc/srun/sbatch
apply it, sbatch's ``#SBATCH`` lexer -- from the man pages and Slurm's source; they import nothing
from smartsim. Batch scripts are also run by real ``bash`` against a fake ``srun``, and their
directives read by the real ``sbatch`` 22.05 lexer when it is installed.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import subprocess
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import attrs
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from smartsim import AllocationRequest, BatchSettings, Duration, JobId, Memory, RunSettings
from smartsim.commands._types import Command
from smartsim.commands.launch import LaunchContext, launch_command
from smartsim.commands.slurm import (
    sacct_argv,
    salloc_argv,
    sbatch_command,
    sbatch_script,
    scancel_argv,
    squeue_argv,
    srun_command,
)
from tests.oracles.sbatch_lexer import lex_sbatch_script, parse_sbatch_script
from tests.oracles.slurm_cli import (
    Component,
    expand_filename_pattern,
    parse_argv,
    parse_array,
    parse_time,
)
from tests.strategies import (
    POOLS,
    job_ids,
    single_line_text,
    valid_allocation_requests,
    valid_batch_settings,
    valid_launch_contexts,
    valid_run_settings,
)

SEED = AllocationRequest(
    nodes=5, add_opts={"C": "haswell", "partition": "debug", "time": "10:00:00", "exclusive": None}
)


def _contains_run(argv: Sequence[str], run: Sequence[str]) -> bool:
    return any(tuple(argv[i : i + len(run)]) == tuple(run) for i in range(len(argv)))


# --------------------------------------------------------------------------- the seed


def test_seed_example_exactly() -> None:
    """The seed's request gives salloc ... -N 5 -C haswell --partition debug --time 10:00:00
    --exclusive, in that order and contiguous, plus --no-shell and a job name."""
    argv = salloc_argv(SEED)
    assert argv[0] == "salloc"
    seed_run = ["-N", "5", "-C", "haswell", "--partition", "debug", "--time", "10:00:00",
                "--exclusive"]  # fmt: skip
    assert _contains_run(argv, seed_run)
    assert argv == (
        "salloc", "--no-shell", "--job-name", "smartsim", *seed_run,
    )  # fmt: skip


def test_seed_example_as_salloc_reads_it() -> None:
    """salloc's getopt (oracle) reads the seed argv as the seed's options, once each."""
    parsed = parse_argv(salloc_argv(SEED), allow_abbrev=False)
    assert parsed.components[0].as_dict() == {
        "no-shell": None, "job-name": "smartsim", "nodes": "5", "constraint": "haswell",
        "partition": "debug", "time": "10:00:00", "exclusive": None,
    }  # fmt: skip
    assert parsed.program == ()


@pytest.mark.parametrize(
    ("tool_opts", "words"),
    [
        ({"exclusive": "user"}, ["--exclusive=user"]),
        ({"I": 5}, ["-I5"]),
        ({"immediate": 30}, ["--immediate=30"]),
        ({"nice": 0}, ["--nice=0"]),
        ({"k": "off"}, ["-koff"]),
        ({"exclusive": True}, ["--exclusive"]),
        ({"exclusive": False}, []),
        ({"C": "a b"}, ["-C", "a b"]),
        ({"gres": 0}, ["--gres", "0"]),
    ],
)
def test_salloc_option_forms(tool_opts: dict[str, object], words: list[str]) -> None:
    """Optional-argument options take their value attached; others as a separate word; True
    and None are bare flags; False leaves the option out; 0 is a value."""
    argv = salloc_argv(AllocationRequest(add_opts=tool_opts))
    assert list(argv[4:]) == words


def test_srun_and_sbatch_option_forms() -> None:
    """srun -K1/--propagate=... are attached; sbatch --requeue is a bare flag."""
    rs = RunSettings(exe="a", run_command="srun", run_args={"K": 1, "propagate": "STACK"})
    argv = srun_command(rs, LaunchContext(cwd="/w", name="m")).argv
    assert "-K1" in argv and "--propagate=STACK" in argv
    script = sbatch_script([], BatchSettings(batch_args={"requeue": None, "nice": 5}))
    assert "#SBATCH --requeue\n" in script and "#SBATCH --nice=5\n" in script


def test_a_one_letter_batch_option_and_its_value_share_one_line() -> None:
    """#SBATCH -C gpu is one directive line (SmartSim wrote -C and gpu on two lines)."""
    script = sbatch_script([], BatchSettings(batch_args={"C": "gpu"}))
    assert "#SBATCH -C gpu\n" in script


def test_durations_are_rendered_for_slurm() -> None:
    """25 h is 1-01:00:00 on salloc, srun and sbatch; never '1 day, ...' and never 0."""
    day = Duration(25 * 3600)
    assert _contains_run(salloc_argv(AllocationRequest(time=day)), ["--time", "1-01:00:00"])
    rs = RunSettings(exe="a", run_command="srun", time=day)
    assert _contains_run(srun_command(rs, LaunchContext(cwd="/", name="m")).argv,
                         ["--time", "1-01:00:00"])  # fmt: skip
    assert "#SBATCH --time 1-01:00:00\n" in sbatch_script([], BatchSettings(time=day))


# --------------------------------------------------------------------------- oracle helpers

_CANONICAL = {
    tool: {**{spec[0]: spec[0] for spec in pool}, **{spec[1]: spec[0] for spec in pool if spec[1]}}
    for tool, pool in POOLS.items()
}
_KIND = {tool: {spec[0]: spec[2] for spec in pool} for tool, pool in POOLS.items()}


def _expected_raw(tool: str, options: Mapping[str, object]) -> dict[str, str | None]:
    """What the tool must read for raw options: canonical name -> value (None: a flag)."""
    out: dict[str, str | None] = {}
    for key, value in options.items():
        if value is False:
            continue
        name = _CANONICAL[tool][key]
        out[name] = None if value is None or value is True else str(value)
    return out


def _no_repeats(component: Component) -> None:
    names = [o.name for o in component.options]
    assert len(names) == len(set(names)), names


def _assert_options(
    component: Component,
    expected: Mapping[str, str | None],
    *,
    array_index: int | None = None,
    verbatim: Collection[str] = (),
) -> None:
    """Every expected option is there with its value; ``output``/``error`` the builder made are
    compared as the file Slurm opens (a filename pattern: ``%%`` is ``%``, ``%a`` the index);
    names in ``verbatim`` (the user's own raw options) are compared as written."""
    got = component.as_dict()
    for name, value in expected.items():
        assert name in got, (name, got)
        have = got[name]
        if name in ("output", "error") and name not in verbatim and have is not None:
            have = expand_filename_pattern(have, array_index=array_index)
        assert have == value, (name, have, value)


def _array_file(path: str, index: int) -> str:
    """The documented per-task file of an array job: the index before the extension."""
    head, dot, ext = path.rpartition(".")
    if "\\" in path:
        return path
    return f"{head}.{index}.{ext}" if dot and "/" not in ext else f"{path}.{index}"


# --------------------------------------------------------------------------- salloc


@given(valid_allocation_requests(), st.one_of(st.none(), st.integers(1, 3600)))
def test_salloc_argv_round_trips_through_salloc_getopt(
    req: AllocationRequest, immediate: int | None
) -> None:
    """salloc (oracle) reads back every typed field and raw option once, with its value whole,
    plus --no-shell and a job name; there is no command and no empty value."""
    argv = salloc_argv(req, immediate=immediate)
    assert argv == salloc_argv(req, immediate=immediate)  # deterministic
    parsed = parse_argv(argv, allow_abbrev=False)
    assert len(parsed.components) == 1 and parsed.program == ()
    assert parsed.empty_values == ()
    comp = parsed.components[0]
    _no_repeats(comp)
    raw = _expected_raw("salloc", req.add_opts)
    expected: dict[str, str | None] = {"no-shell": None, **raw}
    if req.nodes is not None:
        expected["nodes"] = str(req.nodes)
    for name in ("partition", "account", "constraint"):
        if getattr(req, name) is not None:
            expected[name] = getattr(req, name)
    if req.exclusive:
        expected["exclusive"] = None
    if req.gpus is not None:
        expected["gpus"] = str(req.gpus)
    if "job-name" not in raw:
        expected["job-name"] = req.job_name if req.job_name is not None else "smartsim"
    if immediate is not None and "immediate" not in raw:
        expected["immediate"] = str(immediate)
    _assert_options(comp, expected, verbatim=set(raw))
    if isinstance(req.time, Duration):
        time_text = comp.get("time")
        assert time_text is not None and parse_time(time_text) == req.time.seconds
    if isinstance(req.mem, Memory):
        mem_text = comp.get("mem")
        assert mem_text is not None and Memory.parse(mem_text).unwrap() == req.mem


# --------------------------------------------------------------------------- srun


def _effective_env(
    caller: Mapping[str, str], command: Command, assignments: Sequence[str]
) -> dict[str, str]:
    """The environment a part's program gets: the caller's, then Command.env (the srun process
    environment, which srun's default --export=ALL passes on), then the ``K=V`` words env(1)
    applies before running the part's program."""
    env = {**caller, **command.env}
    for word in assignments:
        name, _, value = word.partition("=")
        env[name] = value
    return env


def _shared(parts: Sequence[RunSettings]) -> dict[str, str]:
    return {k: v for k, v in parts[0].env.items() if all(p.env.get(k) == v for p in parts)}


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(valid_run_settings(), valid_launch_contexts())
def test_srun_command_round_trips_through_srun_getopt(rs: RunSettings, ctx: LaunchContext) -> None:
    """srun (oracle) reads one component per MPMD part, each with its typed fields and raw
    options once and whole, its program and arguments unchanged, and the entity's environment
    winning over the caller's."""
    cmd = srun_command(rs, ctx)
    assert cmd == srun_command(rs, ctx)  # deterministic
    assert launch_command(rs, ctx) == cmd  # the registry dispatches "srun" here
    assert cmd.cwd == ctx.cwd
    parsed = parse_argv(cmd.argv, allow_abbrev=False)
    assert parsed.empty_values == ()
    parts = rs.parts
    assert len(parsed.components) == len(parts)
    alloc = rs.alloc if rs.alloc is not None else ctx.alloc
    caller = {name: f"caller-{name}" for p in parts for name in p.env}
    shared = _shared(parts) if len(parts) > 1 else dict(rs.env)
    assert dict(cmd.env) == shared
    for part, comp in zip(parts, parsed.components, strict=True):
        _no_repeats(comp)
        own = [f"{k}={v}" for k, v in part.env.items() if k not in shared]
        prefix = ("env", *own) if own else ()
        assert comp.program == (*prefix, part.exe, *part.args)
        env = _effective_env(caller, cmd, own)
        assert {k: env[k] for k in part.env} == dict(part.env)
        raw = _expected_raw("srun", part.run_args)
        expected: dict[str, str | None] = dict(raw)
        for name, value in (
            ("nodes", part.nodes), ("ntasks", part.ntasks),
            ("ntasks-per-node", part.tasks_per_node), ("cpus-per-task", part.cpus_per_task),
            ("gpus-per-task", part.gpus_per_task),
        ):  # fmt: skip
            if value is not None:
                expected[name] = str(value)
        if part.hostlist:
            expected["nodelist"] = ",".join(part.hostlist)
        if part.excluded_hosts:
            expected["exclude"] = ",".join(part.excluded_hosts)
        if part.mpi is not None:
            expected["mpi"] = part.mpi
        if part.het_group:
            expected["het-group"] = ",".join(map(str, part.het_group))
        if alloc is not None:
            expected["jobid"] = alloc
        expected.setdefault("job-name", ctx.name)
        if ctx.stdout is not None:
            expected.setdefault("output", ctx.stdout)
        if ctx.stderr is not None:
            expected.setdefault("error", ctx.stderr)
        if "exact" not in part.run_args and "exclusive" not in raw:
            expected["exact"] = None
        if isinstance(part.mem, Memory):
            mem_text = comp.get("mem")
            assert mem_text is not None and Memory.parse(mem_text).unwrap() == part.mem
        elif alloc is not None:
            expected["mem"] = "0"  # steps share the job's memory instead of taking it all
        if isinstance(part.time, Duration):
            time_text = comp.get("time")
            assert time_text is not None and parse_time(time_text) == part.time.seconds
        _assert_options(comp, expected, verbatim=set(raw))


def test_entity_env_wins_and_mpmd_parts_get_their_own_values() -> None:
    """Shared variables travel in the srun process environment; a part's own ones as env K=V
    before its program; no --export pairs (with ALL the caller's value would win)."""
    a = RunSettings(exe="a.out", env={"S": "shared", "A": "1"}, run_command="srun")
    b = RunSettings(exe="b.out", env={"S": "shared", "A": "2", "B": "x,y"})
    cmd = srun_command(a.with_mpmd(b), LaunchContext(cwd="/w", name="m", alloc="7"))
    assert dict(cmd.env) == {"S": "shared"}
    assert not any(w.startswith("--export") for w in cmd.argv)
    comps = parse_argv(cmd.argv).components
    assert comps[0].program == ("env", "A=1", "a.out")
    assert comps[1].program == ("env", "A=2", "B=x,y", "b.out")


def test_concurrent_steps_ask_only_for_their_own_resources() -> None:
    """Steps carry --exact (and, bound to an allocation without a memory request, --mem=0) so
    that steps of one allocation run side by side; run_args can opt out."""
    ctx = LaunchContext(cwd="/w", name="m", alloc="12")
    argv = srun_command(RunSettings(exe="a", run_command="srun"), ctx).argv
    assert "--exact" in argv and "--mem=0" in argv
    opted_out = RunSettings(exe="a", run_command="srun", run_args={"exact": False}, mem="1G")
    argv = srun_command(opted_out, ctx).argv
    assert "--exact" not in argv and "--mem=0" not in argv and _contains_run(argv, ["--mem", "1G"])
    unbound = srun_command(
        RunSettings(exe="a", run_command="srun"), LaunchContext(cwd="/", name="m")
    )
    assert "--mem=0" not in unbound.argv  # a new job would take whole nodes' memory


def test_user_spelled_defaults_replace_smartsims() -> None:
    """run_args J/output/error replace the context's job name and files instead of repeating."""
    rs = RunSettings(exe="a", run_command="srun", run_args={"J": "mine", "output": "%t.out"})
    comp = parse_argv(
        srun_command(rs, LaunchContext(cwd="/w", name="m", stdout="f")).argv
    ).components[0]
    assert comp.values("job-name") == ("mine",) and comp.values("output") == ("%t.out",)


# --------------------------------------------------------------------------- sbatch


def _members() -> st.SearchStrategy[list[tuple[RunSettings, LaunchContext]]]:
    return st.lists(
        st.tuples(valid_run_settings(alloc=False, max_mpmd=1), valid_launch_contexts(alloc=False)),
        max_size=2,
    )


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(valid_batch_settings(), _members(), st.data())
def test_sbatch_directives_read_back_through_sbatchs_lexer(
    bs: BatchSettings, members: list[tuple[RunSettings, LaunchContext]], data: st.DataObject
) -> None:
    """sbatch's #SBATCH lexer and getopt (oracle) read back every batch option once and whole;
    directives come before the first command; the members' lines follow the preamble."""
    output = data.draw(st.one_of(st.none(), single_line_text()))
    error = data.draw(st.one_of(st.none(), single_line_text()))
    text = sbatch_script(members, bs, job_name="job", output=output, error=error)
    assert text == sbatch_script(members, bs, job_name="job", output=output, error=error)
    parsed = parse_sbatch_script(text, allow_abbrev=False)
    assert len(parsed.components) == 1 and parsed.empty_values == ()
    comp = parsed.components[0]
    _no_repeats(comp)
    raw = _expected_raw("sbatch", bs.batch_args)
    expected: dict[str, str | None] = dict(raw)
    expected.setdefault("job-name", bs.job_name if bs.job_name is not None else "job")
    index = None if bs.array is None else bs.array.start
    raw_files = {"output", "error", "o", "e"} & set(bs.batch_args)
    if output is not None and not raw_files & {"output", "o"}:
        expected["output"] = output if index is None else _array_file(output, index)
    if error is not None and not raw_files & {"error", "e"}:
        expected["error"] = error if index is None else _array_file(error, index)
    for name in ("account", "partition"):
        if getattr(bs, name) is not None:
            expected[name] = getattr(bs, name)
    if bs.nodes is not None:
        expected["nodes"] = str(bs.nodes)
    if bs.gpus is not None:
        expected["gpus"] = str(bs.gpus)
    _assert_options(comp, expected, array_index=index, verbatim=set(raw))
    if isinstance(bs.time, Duration):
        assert parse_time(comp.get("time") or "") == bs.time.seconds
    if isinstance(bs.mem, Memory):
        assert Memory.parse(comp.get("mem") or "").unwrap() == bs.mem
    if bs.array is not None:
        spec = parse_array(comp.get("array") or "")
        assert spec.indices == tuple(bs.array.indices) and spec.max_running == bs.array.limit
    lines = text.split("\n")
    directive_rows = [i for i, line in enumerate(lines) if line.startswith("#SBATCH")]
    last = directive_rows[-1] if directive_rows else 0
    assert directive_rows == list(range(1, last + 1))  # right after the shebang, together
    assert lines[last + 1 : last + 1 + len(bs.preamble)] == list(bs.preamble)
    stopped = lex_sbatch_script(text).stopped_at
    assert stopped is not None and stopped > last + 1  # the scan ends after every directive


# --------------------------------------------------------------------------- bash + fake srun

_FAKE_SRUN = r"""#!/bin/bash
# Records its argv (NUL-separated), environment and directory, one file set per call.
# Its own variables are SSX_*, a prefix the entities' variables never use here.
SSX_F="$SSX_RECORD_DIR/call.$$.$RANDOM"
: > "$SSX_F.argv"
for SSX_A in "$@"; do printf '%s\0' "$SSX_A" >> "$SSX_F.argv"; done
env -0 > "$SSX_F.env"
printf '%s' "$PWD" > "$SSX_F.cwd"
exit "${SSX_RC:-0}"
"""
_HARNESS_NAMES = {
    "PATH", "IFS", "ENV", "HOME", "PWD", "OLDPWD", "SHLVL", "_", "PS4", "LANG", "LC_ALL",
    "LC_CTYPE", "POSIXLY_CORRECT", "TMPDIR", "SHELLOPTS", "BASHOPTS", "CDPATH", "GLOBIGNORE",
}  # fmt: skip


def _harness_safe(name: str) -> bool:
    return name not in _HARNESS_NAMES and not name.startswith(("BASH", "LD_", "SSX_", "SMARTSIM"))


def _install_fake_srun(root: Path) -> tuple[Path, Path]:
    bin_dir, record = root / "bin", root / "calls"
    bin_dir.mkdir(parents=True, exist_ok=True)
    record.mkdir(exist_ok=True)
    for old in record.iterdir():
        old.unlink()
    srun = bin_dir / "srun"
    srun.write_text(_FAKE_SRUN)
    srun.chmod(0o755)
    return bin_dir, record


class _Call(NamedTuple):
    argv: tuple[str, ...]
    env: dict[str, str]
    cwd: str


def _run_script(root: Path, text: str, caller_env: Mapping[str, str]) -> tuple[int, list[_Call]]:
    """Run ``text`` with bash, a fake srun first on PATH and ``caller_env`` exported; return the
    exit status and what each srun call saw."""
    bin_dir, record = _install_fake_srun(root)
    script = root / "job.sh"
    script.write_text(text, encoding="utf-8")
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "SSX_RECORD_DIR": str(record), **caller_env}
    proc = subprocess.run(["bash", str(script)], env=env, cwd=root, timeout=60, check=False)
    calls = []
    for argv_file in sorted(record.glob("*.argv")):
        stem = str(argv_file)[: -len(".argv")]
        environ: dict[str, str] = {}
        for item in Path(stem + ".env").read_bytes().split(b"\0"):
            if item:
                name, _, value = item.decode("utf-8", "surrogateescape").partition("=")
                environ[name] = value
        words = argv_file.read_bytes().split(b"\0")[:-1]
        calls.append(
            _Call(
                tuple(w.decode("utf-8", "surrogateescape") for w in words),
                environ,
                Path(stem + ".cwd").read_text(encoding="utf-8", errors="surrogateescape"),
            )
        )
    return proc.returncode, calls


def _dir_name() -> st.SearchStrategy[str]:
    return single_line_text(max_size=6).filter(
        lambda s: "/" not in s and s not in (".", "..") and len(s.encode()) < 200
    )


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.lists(
        st.tuples(valid_run_settings(alloc=False, max_mpmd=1), _dir_name()), min_size=1, max_size=3
    ),
    valid_batch_settings(),
)
def test_bash_hands_every_argument_and_env_value_to_srun(
    tmp_path_factory: pytest.TempPathFactory,
    members: list[tuple[RunSettings, str]],
    bs: BatchSettings,
) -> None:
    """The generated script, run by bash against a fake srun, starts each member's srun with
    exactly the built argv, in its directory, with the entity's environment values winning over
    the same names set by the submitting environment."""
    names = {k for rs, _ in members for part in rs.parts for k in part.env}
    assume(all(_harness_safe(k) for k in names))
    root = tmp_path_factory.mktemp("job")
    pairs = []
    for i, (rs, dirname) in enumerate(members):
        cwd = root / f"m{i}" / dirname
        cwd.mkdir(parents=True, exist_ok=True)
        pairs.append((rs, LaunchContext(cwd=str(cwd), name=f"m{i}")))
    text = sbatch_script(pairs, bs, job_name="job")
    caller = {k: f"caller-{k}" for k in names}
    rc, calls = _run_script(root, text, caller)
    assert rc == 0
    expected = [srun_command(rs, ctx, in_batch=True) for rs, ctx in pairs]
    assert sorted(c.argv for c in calls) == sorted(cmd.argv[1:] for cmd in expected)
    unmatched = list(calls)
    for cmd in expected:
        # members may build the same argv; each must still run in its own directory
        call = next(
            c
            for c in unmatched
            if c.argv == cmd.argv[1:] and os.path.realpath(c.cwd) == os.path.realpath(cmd.cwd or "")
        )
        unmatched.remove(call)
        assert {k: call.env.get(k) for k in cmd.env} == dict(cmd.env)


def test_the_batch_script_fails_when_a_member_fails(tmp_path: Path) -> None:
    """The script waits for every member and exits with a failing member's status."""
    ctx = LaunchContext(cwd=str(tmp_path), name="m")
    ok = RunSettings(exe="true", run_command="srun")
    bad = RunSettings(exe="false", run_command="srun", env={"SSX_RC": "3"})
    rc, calls = _run_script(
        tmp_path, sbatch_script([(ok, ctx), (bad, ctx), (ok, ctx)], BatchSettings()), {}
    )
    assert rc == 3 and len(calls) == 3
    rc, calls = _run_script(tmp_path, sbatch_script([(ok, ctx), (ok, ctx)], BatchSettings()), {})
    assert rc == 0 and len(calls) == 2


# --------------------------------------------------------------------------- the real sbatch lexer

_PROBE_CONF = """ClusterName=probe
SlurmctldHost=localhost
SlurmctldPort=1
AuthType=auth/none
NodeName=n1 CPUs=1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES
"""
_FOUND = 'sbatch: debug2: Found in script, argument "'


def _real_sbatch_words(root: Path, text: str) -> list[str]:
    """The directive words the installed sbatch collects from ``text`` (``sbatch -vvv`` logs
    each one). A dummy configuration points at a port where nothing listens, and sbatch is
    stopped as soon as it has listed its options: nothing is ever submitted."""
    conf = root / "slurm.conf"
    conf.write_text(_PROBE_CONF)
    script = root / "probe.sh"
    script.write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SBATCH_", "SLURM_"))}
    env["SLURM_CONF"] = str(conf)
    proc = subprocess.Popen(
        ["sbatch", "-vvv", str(script)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env=env, cwd=root, start_new_session=True,
    )  # fmt: skip
    words: list[str] = []
    try:
        assert proc.stderr is not None
        for raw in proc.stderr:
            line = raw.decode("utf-8", "surrogateescape").rstrip("\n")
            if line.startswith(_FOUND) and line.endswith('"'):
                words.append(line[len(_FOUND) : -1])
            if "end of defined options" in line or line.startswith(
                ("sbatch: fatal:", "sbatch: error:")
            ):
                break
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return words


#: The sbatch options whose argument is a filename pattern.
_FILE_FLAGS = ("--output", "-o", "--error", "-e")

needs_sbatch = pytest.mark.skipif(shutil.which("sbatch") is None, reason="sbatch not installed")


@needs_sbatch
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(valid_batch_settings(), single_line_text(), single_line_text())
def test_the_real_sbatch_reads_back_every_directive_word(
    tmp_path_factory: pytest.TempPathFactory, bs: BatchSettings, output: str, error: str
) -> None:
    """Slurm's own sbatch (22.05, -vvv) collects exactly the words the builder meant: the same
    words the lexer model reads."""
    text = sbatch_script([], bs, job_name="job", output=output, error=error)
    root = tmp_path_factory.mktemp("probe")
    real = _real_sbatch_words(root, text)
    assert real == list(lex_sbatch_script(text).words)
    keys = set(bs.batch_args)
    index = None if bs.array is None else bs.array.start

    def opened(path: str) -> str:
        return path if index is None else _array_file(path, index)

    # only the words that name files are filename patterns (a partition may well be '%a')
    named = [w for flag, w in itertools.pairwise(real) if flag in _FILE_FLAGS]
    files = [expand_filename_pattern(w, array_index=index) for w in named]
    assert keys & {"o", "output"} or opened(output) in files
    assert keys & {"e", "error"} or opened(error) in files
    for value in bs.batch_args.values():
        if isinstance(value, str):
            assert any(w == value or w.endswith("=" + value) or w[2:] == value for w in real)


# --------------------------------------------------------------------------- submit, query, cancel


@given(
    st.one_of(st.none(), single_line_text()),
    st.one_of(st.none(), st.from_regex(r"[a-z][a-z0-9]{0,5}", fullmatch=True)),
    st.booleans(),
    st.booleans(),
)
def test_sbatch_command_round_trips(
    dependency: str | None, clusters: str | None, parsable: bool, test_only: bool
) -> None:
    """sbatch (oracle) reads the submit argv's options and the script path as the script."""
    assume(dependency != ":")
    cmd = sbatch_command("/w/job.sh", parsable=parsable, dependency=dependency,
                         clusters=clusters, test_only=test_only)  # fmt: skip
    parsed = parse_argv(cmd.argv, allow_abbrev=False)
    comp = parsed.components[0]
    assert parsed.program == ("/w/job.sh",)
    assert comp.has("parsable") == parsable and comp.has("test-only") == test_only
    assert comp.get("dependency") == dependency and comp.get("clusters") == clusters


def test_a_script_path_with_a_leading_dash_is_not_an_option() -> None:
    """sbatch_command writes ./-job.sh so that getopt does not read the path as options."""
    assert parse_argv(sbatch_command("-job.sh").argv).program == ("./-job.sh",)


def _job_level(jid: JobId) -> str:
    return f"{jid.job}_{jid.array_task}" if jid.array_task is not None else str(jid.job)


@given(st.lists(job_ids(), min_size=1, max_size=5))
def test_status_and_cancel_argv_name_each_job_once(ids: list[JobId]) -> None:
    """squeue/sacct (oracle) select each job once by its job-level id, in a fixed machine
    format, with -M from the ids' clusters; scancel gets each id as given."""
    clusters = list(dict.fromkeys(j.cluster for j in ids if j.cluster))
    job_level = list(dict.fromkeys(_job_level(j) for j in ids))
    for argv in (squeue_argv(ids), sacct_argv(ids)):
        comp = parse_argv(argv, allow_abbrev=False).components[0]
        assert comp.get("jobs") == ",".join(job_level)
        assert comp.get("clusters") == (",".join(clusters) if clusters else None)
        _no_repeats(comp)
    squeue = parse_argv(squeue_argv(ids)).components[0]
    assert squeue.get("format") == "%i|%T|%r" and squeue.has("noheader")
    assert squeue.get("states") == "all"
    sacct = parse_argv(sacct_argv(ids)).components[0]
    assert sacct.get("format") == "JobID,State,ExitCode,Reason,Start,End,JobName"
    assert sacct.has("parsable2") and sacct.has("noheader") and not sacct.has("allocations")
    cancel = parse_argv(scancel_argv(ids, signal="TERM")).components[0]
    assert cancel.get("signal") == "TERM"
    assert cancel.program == tuple(str(j.job) if j.array_range is not None else str(j) for j in ids)


def test_squeue_without_ids_asks_for_the_users_jobs() -> None:
    """With no ids, squeue lists the caller's jobs (--me), never every user's."""
    assert parse_argv(squeue_argv([])).components[0].has("me")


def test_explicit_clusters_override_the_ids() -> None:
    """clusters= replaces the -M derived from the ids."""
    argv = scancel_argv([JobId(1, cluster="a")], clusters="b")
    assert parse_argv(argv).components[0].get("clusters") == "b"


def test_srun_binds_to_a_cluster_allocation() -> None:
    """An allocation id with a cluster gives --jobid N and -M cluster."""
    cmd = srun_command(
        RunSettings(exe="a", run_command="srun", alloc="5;cl"), LaunchContext(cwd="/", name="m")
    )
    comp = parse_argv(cmd.argv).components[0]
    assert comp.get("jobid") == "5" and comp.get("clusters") == "cl"


def test_builders_are_values_in_values_out() -> None:
    """Building twice from equal values gives equal results; building changes no input."""
    rs = RunSettings(exe="a", run_command="srun", env={"A": "1"}, run_args={"exclusive": None})
    before = attrs.evolve(rs)
    ctx = LaunchContext(cwd="/w", name="m")
    assert srun_command(rs, ctx) == srun_command(before, ctx)
    assert rs == before
    assert json.dumps(list(salloc_argv(SEED)))  # plain strings only
