"""Golden rows for the launchers this machine cannot run (Cray PALS ``mpiexec``, ALPS ``aprun``,
LSF ``jsrun``), each taken from the tool's documentation or a published job script that names
the source beside it, plus the vendor-specific rules (ERF files, NIDs, stdio files).

Each row is checked twice: our argv is pinned exactly, and the documented command and ours are
read by the independent oracle (``tests/oracles``) into the same meaning — so a row cannot pass by
rendering the builder's own idea of the tool.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import pytest

from smartsim.commands._types import Command
from smartsim.commands.aprun import APRUN
from smartsim.commands.jsrun import JSRUN, erf_path, jsrun_erf
from smartsim.commands.launch import LaunchContext, RunCommandSpec
from smartsim.commands.mpi import MPIEXEC
from smartsim.values import RunSettings
from tests.oracles.mpi_cli import AppView, CliError, read_pals
from tests.oracles.vendor_cli import parse_erf, read_aprun, read_jsrun

CTX = LaunchContext(cwd="/w", name="model")


@dataclass(frozen=True)
class Golden:
    id: str
    source: str
    #: The command as the source writes it (shell variables substituted as stated in ``id``).
    doc_argv: tuple[str, ...]
    settings: RunSettings
    #: Our rendering, pinned.
    argv: tuple[str, ...]


def _pals(**kw: object) -> RunSettings:
    return RunSettings(run_command="mpiexec", flavour="pals", **kw)  # type: ignore[arg-type]


GOLDEN_PALS = [
    Golden(
        id="polaris-guide-4-nodes-8-ranks-depth-8",
        source=(
            "ALCF Polaris user guide, 'Running MPI+OpenMP Applications' "
            "(https://docs.alcf.anl.gov/polaris/running-jobs/; argonne-lcf/user-guides "
            "docs/polaris/running-jobs/index.md): NNODES=4, NRANKS=8, NDEPTH=8, NTHREADS=8"
        ),
        doc_argv=(
            "mpiexec",
            "--np",
            "32",
            "-ppn",
            "8",
            "-d",
            "8",
            "--cpu-bind",
            "depth",
            "-env",
            "OMP_NUM_THREADS=8",
            "./hello_affinity",
        ),
        settings=_pals(
            exe="./hello_affinity",
            nodes=4,
            tasks_per_node=8,
            cpus_per_task=8,
            env={"OMP_NUM_THREADS": "8"},
            run_args={"cpu-bind": "depth"},
        ),
        argv=(
            "mpiexec",
            "--ppn",
            "8",
            "--depth",
            "8",
            "--env",
            "OMP_NUM_THREADS=8",
            "--np",
            "32",
            "--cpu-bind",
            "depth",
            "./hello_affinity",
        ),
    ),
    Golden(
        id="gettingstarted-affinity-omp-1-node-16-ranks",
        source=(
            "argonne-lcf/GettingStarted Examples/Polaris/affinity_omp/submit.sh "
            "(#PBS -l select=1: NNODES=1; NRANKS_PER_NODE=16, NDEPTH=4, NTHREADS=4)"
        ),
        doc_argv=(
            "mpiexec",
            "-n",
            "16",
            "--ppn",
            "16",
            "--depth=4",
            "--cpu-bind",
            "depth",
            "--env",
            "OMP_NUM_THREADS=4",
            "--env",
            "OMP_PROC_BIND=spread",
            "--env",
            "OMP_PLACES=cores",
            "./hello_affinity",
        ),
        settings=_pals(
            exe="./hello_affinity",
            ntasks=16,
            tasks_per_node=16,
            cpus_per_task=4,
            env={"OMP_NUM_THREADS": "4", "OMP_PROC_BIND": "spread", "OMP_PLACES": "cores"},
            run_args={"cpu-bind": "depth"},
        ),
        argv=(
            "mpiexec",
            "--ppn",
            "16",
            "--depth",
            "4",
            "--env",
            "OMP_NUM_THREADS=4",
            "--env",
            "OMP_PROC_BIND=spread",
            "--env",
            "OMP_PLACES=cores",
            "--np",
            "16",
            "--cpu-bind",
            "depth",
            "./hello_affinity",
        ),
    ),
    Golden(
        id="crux-pals-1.7-hosts",
        source=(
            "mlcommons/storage#549 (PALS 1.7.1 on ALCF Crux): 'mpiexec -n 8 --ppn 4 --hosts "
            "host1,host2 --cpu-bind none' (the program, elided there, is ./a.out here)"
        ),
        doc_argv=(
            "mpiexec",
            "-n",
            "8",
            "--ppn",
            "4",
            "--hosts",
            "host1,host2",
            "--cpu-bind",
            "none",
            "./a.out",
        ),
        settings=_pals(
            exe="./a.out",
            ntasks=8,
            tasks_per_node=4,
            hostlist=("host1", "host2"),
            run_args={"cpu-bind": "none"},
        ),
        argv=(
            "mpiexec",
            "--ppn",
            "4",
            "--hosts",
            "host1,host2",
            "--np",
            "8",
            "--cpu-bind",
            "none",
            "./a.out",
        ),
    ),
    Golden(
        id="pals-help-mpmd-synopsis",
        source=(
            "PALS mpiexec --help as quoted in CrayLabs/SmartSim#354: 'Usage: mpiexec "
            "[global_options] [command_options] cmd1 [: [command_options] cmd2 [: ...] ]' "
            "(--ppn and --env global; -n per command)"
        ),
        doc_argv=(
            "mpiexec",
            "--ppn",
            "4",
            "--env",
            "A=1",
            "-n",
            "4",
            "./ocean",
            ":",
            "-n",
            "8",
            "./air",
        ),
        settings=_pals(exe="./ocean", ntasks=4, tasks_per_node=4, env={"A": "1"}).with_mpmd(
            RunSettings(exe="./air", ntasks=8, env={"A": "1"})
        ),
        argv=(
            "mpiexec",
            "--ppn",
            "4",
            "--env",
            "A=1",
            "--np",
            "4",
            "./ocean",
            ":",
            "--np",
            "8",
            "./air",
        ),
    ),
]

GOLDEN_APRUN = [
    Golden(
        id="nersc-edison-384-pes",
        source=(
            "NERSC Edison, 'Job Launch Command: aprun', typical usage "
            "(http://www.nersc.gov/users/computational-systems/edison/running-jobs/aprun/)"
        ),
        doc_argv=("aprun", "-n", "384", "./a.out", "arg1", "arg2"),
        settings=RunSettings(exe="./a.out", args=("arg1", "arg2"), ntasks=384, run_command="aprun"),
        argv=("aprun", "-n", "384", "./a.out", "arg1", "arg2"),
    ),
    Golden(
        id="bluewaters-depth-2",
        source=(
            "Blue Waters, 'Using aprun', task placement: 'aprun -n 8 -d 2 ...' "
            "(https://bluewaters.ncsa.illinois.edu/using-aprun; program elided there)"
        ),
        doc_argv=("aprun", "-n", "8", "-d", "2", "./a.out"),
        settings=RunSettings(exe="./a.out", ntasks=8, cpus_per_task=2, run_command="aprun"),
        argv=("aprun", "-n", "8", "-d", "2", "./a.out"),
    ),
    Golden(
        id="bluewaters-job-4x32",
        source="pjmaechling/mmpi bw/4x32/run4x32.sh (Blue Waters, #PBS -l nodes=4:ppn=32:xe)",
        doc_argv=("aprun", "-n", "128", "-N", "32", "./mmpi"),
        settings=RunSettings(exe="./mmpi", nodes=4, tasks_per_node=32, run_command="aprun"),
        argv=("aprun", "-n", "128", "-N", "32", "./mmpi"),
    ),
    Golden(
        id="hpe-mpmd-with-environment",
        source=(
            "HPE, 'Run Applications Using the aprun Command' (CLE 7.0): 'aprun [global_options] "
            "[command_options] cmd1 [: [command_options] cmd2 [: ...] ]'; '-e | "
            "--environment-override env ... Must use format VARNAME=value' (global)"
        ),
        doc_argv=(
            "aprun",
            "-e",
            "OMP_NUM_THREADS=4",
            "-n",
            "4",
            "-d",
            "4",
            "./a",
            ":",
            "-n",
            "8",
            "./b",
        ),
        settings=RunSettings(
            exe="./a", ntasks=4, cpus_per_task=4, env={"OMP_NUM_THREADS": "4"}, run_command="aprun"
        ).with_mpmd(RunSettings(exe="./b", ntasks=8, env={"OMP_NUM_THREADS": "4"})),
        argv=(
            "aprun",
            "-e",
            "OMP_NUM_THREADS=4",
            "-n",
            "4",
            "-d",
            "4",
            "./a",
            ":",
            "-n",
            "8",
            "./b",
        ),
    ),
    Golden(
        id="cray-node-lists",
        source=(
            "Cray CLE aprun(1) synopsis (docs.cray.com S-2496, 'Using the aprun Command'): "
            "-L node_list '(such as -L 32,33,40)', '-L 41-87'; -E excludes nodes"
        ),
        doc_argv=("aprun", "-n", "4", "-L", "32,33,40", "-E", "41-87", "./a.out"),
        settings=RunSettings(
            exe="./a.out",
            ntasks=4,
            hostlist=("32", "33", "40"),
            excluded_hosts=("41-87",),
            run_command="aprun",
        ),
        argv=("aprun", "-n", "4", "-L", "32,33,40", "-E", "41-87", "./a.out"),
    ),
]

GOLDEN_JSRUN = [
    Golden(
        id="summit-disruptcnn-6-gpus",
        source=(
            "rkube/disruptcnn run.sh (Summit, #BSUB -nnodes 1): 'jsrun --nrs 6 --rs_per_host 6 "
            "--tasks_per_rs 1 --cpu_per_rs 6 --gpu_per_rs 1 python -u disruptcnn/main.py ...'"
        ),
        doc_argv=(
            "jsrun", "--nrs", "6", "--rs_per_host", "6", "--tasks_per_rs", "1", "--cpu_per_rs",
            "6", "--gpu_per_rs", "1", "python", "-u", "disruptcnn/main.py", "--backend", "nccl",
        ),
        settings=RunSettings(
            exe="python",
            args=("-u", "disruptcnn/main.py", "--backend", "nccl"),
            ntasks=6,
            tasks_per_node=6,
            cpus_per_task=6,
            gpus_per_task=1,
            run_command="jsrun",
        ),
        argv=(
            "jsrun", "--chdir", "/w", "--nrs", "6", "--tasks_per_rs", "1", "--cpu_per_rs", "6",
            "--gpu_per_rs", "1", "--rs_per_host", "6", "python", "-u", "disruptcnn/main.py",
            "--backend", "nccl",
        ),
    ),
    Golden(
        id="cardioid-one-rank-six-gpus",
        source=(
            "LLNL/cardioid tools/Volta_diffusion/jsrun_script/jsrun1.sh (nodes=1, ppn=1): "
            "'jsrun --smpiargs -gpu --rs_per_host 1 --tasks_per_rs 1 --cpu_per_rs 44 "
            "--gpu_per_rs 6 --nrs 1 -d plane:1 ./help_1rank.sh ...'"
        ),
        doc_argv=(
            "jsrun", "--smpiargs", "-gpu", "--rs_per_host", "1", "--tasks_per_rs", "1",
            "--cpu_per_rs", "44", "--gpu_per_rs", "6", "--nrs", "1", "-d", "plane:1",
            "./help_1rank.sh", "/usr/local/cuda/bin/nvprof", "./diff.x",
        ),
        settings=RunSettings(
            exe="./help_1rank.sh",
            args=("/usr/local/cuda/bin/nvprof", "./diff.x"),
            ntasks=1,
            tasks_per_node=1,
            cpus_per_task=44,
            gpus_per_task=6,
            run_args={"smpiargs": "-gpu", "d": "plane:1"},
            run_command="jsrun",
        ),
        argv=(
            "jsrun", "--chdir", "/w", "--nrs", "1", "--tasks_per_rs", "1", "--cpu_per_rs", "44",
            "--gpu_per_rs", "6", "--rs_per_host", "1", "--smpiargs", "-gpu", "-d", "plane:1",
            "./help_1rank.sh", "/usr/local/cuda/bin/nvprof", "./diff.x",
        ),
    ),
]  # fmt: skip


def _reader(
    spec: RunCommandSpec,
) -> Callable[[Sequence[str], Mapping[str, str], Mapping[str, str]], list[AppView]]:
    if spec is MPIEXEC:
        return lambda argv, env, files: read_pals(argv, env)
    if spec is APRUN:
        return lambda argv, env, files: read_aprun(argv, env)
    return read_jsrun


ROWS = [(MPIEXEC, g) for g in GOLDEN_PALS]
ROWS += [(APRUN, g) for g in GOLDEN_APRUN]
ROWS += [(JSRUN, g) for g in GOLDEN_JSRUN]


def _meaning(views: list[AppView]) -> list[AppView]:
    """Views compared between the documented command and ours: option order is free, and the
    launch directory travels as the process's cwd (documented commands run in it)."""
    return [replace(v, wdir=None, extra=tuple(sorted(v.extra)), env=dict(v.env)) for v in views]


@pytest.mark.parametrize(("spec", "row"), ROWS, ids=[g.id for _, g in ROWS])
def test_golden_argv(spec: RunCommandSpec, row: Golden) -> None:
    """The builder renders the documented example exactly as pinned."""
    assert spec.check(row.settings) == []
    assert spec.build(row.settings, CTX).argv == row.argv


@pytest.mark.parametrize(("spec", "row"), ROWS, ids=[g.id for _, g in ROWS])
def test_golden_means_what_the_documentation_means(spec: RunCommandSpec, row: Golden) -> None:
    """The tool's reader gives the documented command and ours the same meaning."""
    read = _reader(spec)
    cmd = spec.build(row.settings, CTX)
    caller = {"HOME": "/home/u"}
    ours = read(cmd.argv, {**caller, **cmd.env}, cmd.files)
    # The documented command runs with the entity's variables already in place.
    doc = read(row.doc_argv, {**caller, **row.settings.env}, {})
    assert _meaning(ours) == _meaning(doc)
    assert cmd.cwd == CTX.cwd


# --------------------------------------------------------------------------- jsrun ERF


def test_jsrun_mpmd_erf_lists_every_program_first_included() -> None:
    """The ERF names every program (the first too) and each program's rank count."""
    a = RunSettings(exe="./a.out", args=("in.txt",), ntasks=2, env={"A": "1"}, run_command="jsrun")
    rs = a.with_mpmd(RunSettings(exe="./b.out", ntasks=4, env={"A": "1"}))
    assert JSRUN.check(rs) == []
    cmd = JSRUN.build(rs, CTX)
    path = erf_path(CTX)
    assert cmd.argv == ("jsrun", "--chdir", "/w", "-E", "A=1", "--erf_input", path)
    assert dict(cmd.files) == {path: jsrun_erf(rs)}
    erf = parse_erf(cmd.files[path])
    assert erf.apps == {0: ("./a.out", "in.txt"), 1: ("./b.out",)}
    assert [(n, app) for n, _rs, app in erf.ranks] == [(2, 0), (4, 1)]
    assert erf.preamble == {"launch_distribution": "packed"}
    views = read_jsrun(cmd.argv, {**cmd.env}, cmd.files)
    assert [(v.program, v.args, v.ntasks, v.env["A"]) for v in views] == [
        ("./a.out", ("in.txt",), 2, "1"),
        ("./b.out", (), 4, "1"),
    ]


def test_jsrun_mpmd_shell_text_writes_the_erf_before_jsrun() -> None:
    """A command's shell text writes its files first, so a pasted preview is complete."""
    rs = RunSettings(exe="./a", ntasks=1, run_command="jsrun").with_mpmd(
        RunSettings(exe="./b", ntasks=1)
    )
    text = JSRUN.build(rs, CTX).shell()
    assert text.index("cat > /w/model.erf") < text.index("jsrun --chdir")
    assert "app 1: ./b" in text


def test_erf_oracle_reads_the_documented_rank_form() -> None:
    """The ERF reader accepts the rank-range form of published Summit ERFs (ADIOS2 SST tests)."""
    text = (
        "app 0: ./heatTransfer_write_adios2 heat_insitumpi.xml heat 2 2 64 64 20 20\n"
        "app 1: ./heatTransfer_read heat_insitumpi.xml heat heat.sst.out 1 1\n"
        "\n"
        "cpu_index_using: physical\n"
        "overlapping_rs: warn\n"
        "launch_distribution: packed\n"
        "rank: 0: { host: 1; cpu: {0-3} } : app 0\n"
        "rank: 1: { host: 1; cpu: {4-7} } : app 1\n"
    )
    erf = parse_erf(text)
    assert erf.apps[1][0] == "./heatTransfer_read"
    assert [who for who, _rs, _app in erf.ranks] == ["0", "1"]
    with pytest.raises(CliError):
        parse_erf(text + "2: { host: *; cpu: * } : app 0\n")  # one rank format per ERF


def test_jsrun_stdio_files_are_written_by_jsrun_not_the_caller() -> None:
    """jsrun's --stdio_stdout/--stdio_stderr name the output files; the Command opens none."""
    ctx = LaunchContext(cwd="/w", name="m", stdout="/w/m.out", stderr="/w/m.err")
    cmd = JSRUN.build(RunSettings(exe="./a", ntasks=2, run_command="jsrun"), ctx)
    assert cmd.argv[:7] == (
        "jsrun", "--chdir", "/w", "--stdio_stdout", "/w/m.out", "--stdio_stderr", "/w/m.err"
    )  # fmt: skip
    assert (cmd.stdout, cmd.stderr) == (None, None)
    views = read_jsrun(cmd.argv, {}, {})
    assert views[0].ntasks == 2


def test_jsrun_spmd_has_no_files() -> None:
    """A single-program jsrun names its program on the command line; no ERF is written."""
    cmd = JSRUN.build(RunSettings(exe="./a", args=("x y",), run_command="jsrun"), CTX)
    assert cmd.files == {} and cmd.argv[-2:] == ("./a", "x y")


# --------------------------------------------------------------------------- aprun specifics


def test_aprun_run_args_use_aprun_spelling() -> None:
    """Short aprun options (-cc, -ss) keep one dash; long ones take two."""
    rs = RunSettings(exe="./a", run_args={"cc": "depth", "ss": None, "cpu-binding": "none"},
                     run_command="aprun")  # fmt: skip
    argv = APRUN.build(rs, CTX).argv
    assert argv == ("aprun", "-cc", "depth", "-ss", "--cpu-binding", "none", "./a")
    (view,) = read_aprun(argv, {})
    assert ("cc", ("depth",)) in view.extra and ("ss", ()) in view.extra


def test_aprun_cpu_time_limit_is_a_raw_option_not_the_walltime() -> None:
    """aprun -t is per-PE CPU seconds: it is passed only when asked for as a raw option."""
    rs = RunSettings(exe="./a", run_args={"t": 3600}, run_command="aprun")
    assert APRUN.check(rs) == []
    assert APRUN.build(rs, CTX).argv == ("aprun", "-t", "3600", "./a")


def test_aprun_forwards_environment_in_both_places() -> None:
    """The entity's variables are in aprun's own environment and in -e, over the caller's."""
    rs = RunSettings(exe="./a", env={"X": "entity"}, run_command="aprun")
    cmd = APRUN.build(rs, CTX)
    assert dict(cmd.env) == {"X": "entity"}
    (view,) = read_aprun(cmd.argv, {"X": "caller", **cmd.env})
    assert view.env["X"] == "entity"


# --------------------------------------------------------------------------- PALS specifics


def test_pals_command_options_only_after_the_separator() -> None:
    """Global options come once, before the first program; later programs carry -n only."""
    rs = _pals(exe="./a", ntasks=2, cpus_per_task=4, hostlist=("x1",)).with_mpmd(
        RunSettings(exe="./b", ntasks=3, cpus_per_task=4, hostlist=("x1",))
    )
    assert MPIEXEC.check(rs) == []
    argv = MPIEXEC.build(rs, CTX).argv
    assert argv[argv.index(":") :] == (":", "--np", "3", "./b")
    views = read_pals(argv, {})
    assert [(v.ntasks, v.cpus_per_task, v.hosts) for v in views] == [
        (2, 4, ("x1",)),
        (3, 4, ("x1",)),
    ]


def test_pals_has_no_time_limit() -> None:
    """A run walltime cannot be expressed by PALS mpiexec and is refused, not dropped."""
    errors = MPIEXEC.check(_pals(exe="./a", time=60))
    assert [e.field for e in errors] == ["run_settings.time"]


def test_commands_are_values() -> None:
    """Built commands compare and hash by value, their files included."""
    rs = RunSettings(exe="./a", ntasks=1, run_command="jsrun").with_mpmd(
        RunSettings(exe="./b", ntasks=1)
    )
    one, two = JSRUN.build(rs, CTX), JSRUN.build(rs, CTX)
    assert one == two and hash(one) == hash(two)
    assert isinstance(one, Command)


# --------------------------------------------------------------------------- per-program env


def test_a_programs_own_variables_start_it_with_env_where_env_flags_are_global() -> None:
    """PALS --env, aprun -e and jsrun -E set every program's environment, so a program's own
    variables go before it as `env NAME=value` and shared ones stay global."""
    a = {"exe": "./a", "ntasks": 1, "env": {"G": "1", "R": "a"}}
    b = RunSettings(exe="./b", ntasks=1, env={"G": "1"})
    pals = MPIEXEC.build(_pals(**a).with_mpmd(b), CTX)
    assert pals.argv == (
        "mpiexec", "--env", "G=1", "--np", "1", "env", "R=a", "./a", ":", "--np", "1", "./b"
    )  # fmt: skip
    aprun = APRUN.build(RunSettings(run_command="aprun", **a).with_mpmd(b), CTX)  # type: ignore[arg-type]
    assert aprun.argv == (
        "aprun", "-e", "G=1", "-n", "1", "env", "R=a", "./a", ":", "-n", "1", "./b"
    )  # fmt: skip
    jsrun = JSRUN.build(RunSettings(run_command="jsrun", **a).with_mpmd(b), CTX)  # type: ignore[arg-type]
    assert "app 0: env R=a ./a\napp 1: ./b\n" in jsrun.files[erf_path(CTX)]
    for cmd, views in [
        (pals, read_pals(pals.argv, {"R": "caller", **pals.env})),
        (aprun, read_aprun(aprun.argv, {"R": "caller", **aprun.env})),
        (jsrun, read_jsrun(jsrun.argv, {"R": "caller", **jsrun.env}, jsrun.files)),
    ]:
        assert dict(cmd.env) == {"G": "1"}
        assert [(v.program, v.env["G"], v.env["R"]) for v in views] == [
            ("./a", "1", "a"),
            ("./b", "1", "caller"),
        ]
