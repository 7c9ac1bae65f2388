"""The command line (smartsim.cli): render, run, status, stop, alloc, release."""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartsim.cli import Progress, expand_placeholders, main
from smartsim.status import JobState, Status

ROOT = Path(__file__).resolve().parent.parent
BASH = shutil.which("bash")
needs_bash = pytest.mark.skipif(BASH is None, reason="bash is not installed")

#: A program that reports what it was given, so that two runs can be compared file by file.
PROGRAM = r"""
import json, os, sys
report = {
    "argv": sys.argv[1:],
    "env": {k: v for k, v in sorted(os.environ.items()) if k.startswith("T_")},
    "cwd": os.path.basename(os.getcwd()),
    "config": open("in.cfg").read() if os.path.exists("in.cfg") else None,
    "listing": sorted(os.listdir(".")),
}
print(json.dumps(report, sort_keys=True))
print("to stderr", file=sys.stderr)
with open("made.txt", "w") as handle:
    handle.write(repr(sys.argv[1:]))
sys.exit(int(os.environ.get("T_EXIT", "0")))
"""


def toml_string(text: str) -> str:
    """A TOML basic string holding ``text`` exactly (control characters escaped)."""
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def toml_list(items: Sequence[str]) -> str:
    return "[" + ", ".join(toml_string(i) for i in items) + "]"


def cli(
    *args: str, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python -m smartsim ARGS`` in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-m", "smartsim", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        check=False,
    )


def tree(root: Path) -> dict[str, tuple[str, str]]:
    """Every file under ``root`` but the journal: relative path -> (kind, content), with the
    root's own path replaced so that two experiment directories compare."""
    out: dict[str, tuple[str, str]] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if rel == "journal.jsonl":
            continue
        if path.is_symlink():
            out[rel] = ("link", os.readlink(path))
        elif path.is_dir():
            out[rel] = ("dir", "")
        else:
            text = path.read_bytes().decode("utf-8", "surrogateescape").replace(str(root), "<EXP>")
            out[rel] = (f"file {stat.S_IMODE(path.stat().st_mode):o}", text)
    return out


def write_spec(
    tmp: Path,
    *,
    args: Sequence[str] = ("plain", "a b", "it's", '"dq"', "$HOME", "*", "{p}"),
    env: dict[str, str] | None = None,
    run_command: str | None = None,
    exit_codes: bool = False,
) -> Path:
    """A spec exercising what `run` does: an ensemble (parameters in args, env and a configured
    file; a copied directory and a symlink) and a model started after it."""
    (tmp / "prog.py").write_text(PROGRAM)
    (tmp / "in.cfg").write_text("p = ;p;\nq = ;q;\n")
    (tmp / "data").mkdir(exist_ok=True)
    (tmp / "data" / "x.txt").write_text("x\n")
    (tmp / "link-target.txt").write_text("target\n")
    env = env if env is not None else {"T_P": "{p}", "T_Q": "value with 'quotes' and $dollar"}
    env_text = "{ " + ", ".join(f"{k} = {toml_string(v)}" for k, v in env.items()) + " }"
    rc_line = f"run_command = {toml_string(run_command)}\nntasks = 1\n" if run_command else ""
    if run_command in ("mpirun", "mpiexec.mpich"):
        # Open MPI refuses to start as root unless told; MPICH ignores these variables
        env_text = env_text[:-2] + ', OMPI_ALLOW_RUN_AS_ROOT = "1", '
        env_text += 'OMPI_ALLOW_RUN_AS_ROOT_CONFIRM = "1" }'
    spec = f"""
[experiment]
name = "cmp"

[run_settings.prog]
exe = {toml_string(sys.executable)}
args = {toml_list([str(tmp / "prog.py"), *args])}
env = {env_text}
{rc_line}
[[ensemble]]
name = "ens"
run_settings = "prog"
params = {{ p = [1, 2.5], q = ["x y"] }}
files = {{ copy = ["data"], symlink = ["link-target.txt"], configure = ["in.cfg"] }}

[[model]]
name = "after"
run_settings = "prog"
params = {{ p = "last", q = "{"1" if exit_codes else "0"}" }}
after = ["ens"]
"""
    path = tmp / "cmp.toml"
    path.write_text(spec)
    return path


def render_then_bash(spec: Path, exp: Path) -> subprocess.CompletedProcess[bytes]:
    """Render ``spec`` (in this process, the text kept exactly: a carriage return in a value
    must reach bash as one) and run the text with bash."""
    out = io.StringIO(newline="\n")
    code = _main_quietly(["render", str(spec), "--path", str(exp)], out)
    assert code == 0
    assert BASH is not None
    script = exp.parent / f"{exp.name}.sh"
    script.write_bytes(out.getvalue().encode("utf-8", "surrogateescape"))
    return subprocess.run([BASH, str(script)], capture_output=True, timeout=120, check=False)


def _main_quietly(argv: list[str], stdout: io.StringIO) -> int:
    saved = sys.stdout
    sys.stdout = stdout
    try:
        return main(argv)
    finally:
        sys.stdout = saved


# ------------------------------------------------------------------ render == run (local)


@needs_bash
def test_rendered_shell_does_what_run_does(tmp_path: Path) -> None:
    """`smartsim render` output pasted into bash produces the same files, byte for byte (paths
    aside), as `smartsim run` of the same spec with the local launcher."""
    spec = write_spec(tmp_path)
    shell = render_then_bash(spec, tmp_path / "by-shell")
    assert shell.returncode == 0, shell.stderr
    ran = cli("run", str(spec), "--path", str(tmp_path / "by-run"))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    by_shell, by_run = tree(tmp_path / "by-shell"), tree(tmp_path / "by-run")
    assert by_shell == by_run
    out = json.loads(by_run["ens/ens_1/ens_1.out"][1])
    assert out["argv"][-1] == "2.5" and out["env"]["T_P"] == "2.5"
    assert out["config"] == "p = 2.5\nq = x y\n"
    assert {"data", "link-target.txt", "in.cfg", "params.json"} <= set(out["listing"])
    assert (tmp_path / "by-run" / "journal.jsonl").exists()


_WORD = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
    max_size=12,
)


@needs_bash
@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(args=st.lists(_WORD, max_size=4), value=_WORD)
def test_rendered_shell_matches_run_for_any_text(
    tmp_path_factory: pytest.TempPathFactory, args: list[str], value: str
) -> None:
    """For generated argument and environment text (quotes, dollars, newlines, unicode), the
    rendered shell and `smartsim run` give the same output files."""
    tmp = tmp_path_factory.mktemp("gen")
    spec = write_spec(tmp, args=args, env={"T_V": value})
    shell = render_then_bash(spec, tmp / "by-shell")
    assert shell.returncode == 0, shell.stderr
    stdout = io.StringIO()
    code = _main_quietly(["run", str(spec), "--path", str(tmp / "by-run")], stdout)
    assert code == 0, stdout.getvalue()
    assert tree(tmp / "by-shell") == tree(tmp / "by-run")
    report = json.loads((tmp / "by-run" / "ens" / "ens_0" / "ens_0.out").read_text())
    assert report["argv"] == [a.replace("{p}", "1") for a in args]
    assert report["env"]["T_V"] == value.replace("{p}", "1")


@needs_bash
@pytest.mark.mpi
@pytest.mark.parametrize("run_command", ["mpirun", "mpiexec.mpich"])
def test_rendered_mpi_launch_does_what_run_does(tmp_path: Path, run_command: str) -> None:
    """With an MPI run command too, the rendered shell and `smartsim run` give the same files."""
    spec = write_spec(tmp_path, run_command=run_command, env={"T_P": "{p}"})
    shell = render_then_bash(spec, tmp_path / "by-shell")
    assert shell.returncode == 0, shell.stderr
    ran = cli("run", str(spec), "--path", str(tmp_path / "by-run"))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    by_shell, by_run = tree(tmp_path / "by-shell"), tree(tmp_path / "by-run")
    for tree_ in (by_shell, by_run):  # MPI runtimes may print notices; compare the programs
        for name in list(tree_):
            if name.endswith(".err"):
                del tree_[name]
    assert by_shell == by_run
    assert json.loads(by_run["after/after.out"][1])["env"]["T_P"] == "last"


# ------------------------------------------------------------------ render


def test_render_json_matches_the_shell(tmp_path: Path) -> None:
    """--format json gives the same argv, environment and files as the shell text."""
    spec = write_spec(tmp_path)
    shell = cli("render", str(spec)).stdout
    document = json.loads(cli("render", str(spec), "--format", "json").stdout)
    assert document["launcher"] == "local" and document["experiment"] == "cmp"
    launches = document["launches"]
    assert [launch["name"] for launch in launches] == ["ens_0", "ens_1", "after"]
    assert [launch["stage"] for launch in launches] == [0, 0, 1]
    assert launches[2]["after"] == ["ens"]
    for launch in launches:
        command = launch["command"]
        assert shlex.join(command["argv"]) in shell
        for key, value in command["env"].items():
            assert shlex.quote(f"{key}={value}") in shell
    ops = {op["op"] for op in document["generate"]}
    assert ops == {"mkdir", "copy", "symlink", "configure", "write"}


def test_render_runs_nothing_and_writes_nothing(tmp_path: Path) -> None:
    """render creates no directory and no file."""
    spec = write_spec(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    assert cli("render", str(spec)).returncode == 0
    assert cli("render", str(spec), "--format", "json").returncode == 0
    assert sorted(tmp_path.rglob("*")) == before


ALLOC_SPEC = """
[experiment]
name = "al"
launcher = "slurm"

[allocation.main]
nodes = 2
time = "0:05:00"
opts = { partition = "debug", exclusive = true }

[run_settings.step]
exe = "hostname"
run_command = "srun"
alloc = "main"

[[model]]
name = "m"
run_settings = "step"
"""


def test_render_allocations_use_shell_variables(tmp_path: Path) -> None:
    """A spec with an allocation renders its salloc, the steps bound to "$SMARTSIM_ALLOC_x",
    and its scancel; no stand-in id is left in the text."""
    spec = tmp_path / "al.toml"
    spec.write_text(ALLOC_SPEC)
    done = cli("render", str(spec))
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "SMARTSIM_ALLOC_main=$(salloc --no-shell --job-name smartsim -N 2" in text
    assert '--jobid "${SMARTSIM_ALLOC_main}"' in text
    assert 'scancel "${SMARTSIM_ALLOC_main}"' in text
    assert "4000000000" not in text
    document = json.loads(cli("render", str(spec), "--format", "json").stdout)
    (alloc,) = document["allocations"]
    assert (
        alloc["argv"][:2] == ["salloc", "--no-shell"] and alloc["variable"] == "SMARTSIM_ALLOC_main"
    )
    argv = document["launches"][0]["command"]["argv"]
    assert argv[argv.index("--jobid") + 1] == "${SMARTSIM_ALLOC_main}"
    assert "4000000000" not in json.dumps(document)


def test_render_launcher_override(tmp_path: Path) -> None:
    """--launcher renders the same spec for another launcher (here an srun step)."""
    spec = tmp_path / "s.toml"
    spec.write_text(
        '[experiment]\nname = "s"\n[run_settings.r]\nexe = "hostname"\n'
        '[[model]]\nname = "m"\nrun_settings = "r"\n'
    )
    local = cli("render", str(spec)).stdout
    slurm = cli("render", str(spec), "--launcher", "slurm").stdout
    assert "srun" not in local and "&& hostname >" in local
    assert "srun " in slurm and "--job-name m" in slurm


@needs_bash
@settings(max_examples=60, deadline=None)
@given(
    words=st.lists(
        st.one_of(_WORD, st.builds(lambda a, b: a + "4000000007" + b, _WORD, _WORD)),
        min_size=1,
        max_size=5,
    ),
    value=st.sampled_from(["1234", "1234;cluster", "a b", "it's"]),
)
def test_placeholders_expand_inside_any_quoting(words: list[str], value: str) -> None:
    """A stand-in id (a whole number) inside a shell-quoted word -- bare, in single quotes,
    between other text -- becomes the variable's value when bash reads the expanded text, and
    nothing else changes."""
    assert BASH is not None
    line = "printf '%s\\0' " + shlex.join(words)
    text = expand_placeholders(line, {"4000000007": "V"})
    done = subprocess.run(
        [BASH, "-c", text],
        env={"V": value, "PATH": os.environ["PATH"]},
        capture_output=True,
        timeout=30,
        check=False,
    )
    got = done.stdout.decode("utf-8", "surrogateescape").split("\0")[:-1]
    whole = re.compile(r"(?<![0-9])4000000007(?![0-9])")  # a stand-in is a whole number
    assert got == [whole.sub(lambda _: value, w) for w in words]


def test_placeholders_are_left_alone_in_heredocs() -> None:
    """Text inside a quoted here-document is written as is, so it is not expanded."""
    text = "cat > f <<'SMARTSIM_EOF'\nid 42\nSMARTSIM_EOF\nsrun --jobid 42\n"
    assert expand_placeholders(text, {"42": "A"}) == (
        "cat > f <<'SMARTSIM_EOF'\nid 42\nSMARTSIM_EOF\nsrun --jobid \"${A}\"\n"
    )


# ------------------------------------------------------------------ run: exit status


def test_run_exits_1_when_a_member_fails_and_skips_what_waits(tmp_path: Path) -> None:
    """A failed member makes `run` exit 1; an entity that waits for it is not started."""
    spec = write_spec(tmp_path, env={"T_EXIT": "{p}"}, args=())
    # T_EXIT is the parameter: members exit 1 and 2 (2.5 is not an int: the program fails too)
    done = cli("run", str(spec), "--path", str(tmp_path / "exp"))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "after: skipped: ens did not complete" in done.stdout
    assert not (tmp_path / "exp" / "after" / "after.out").exists()
    assert "FAILED" in done.stdout


def test_run_exits_0_when_all_complete_and_prints_a_summary(tmp_path: Path) -> None:
    """`run` exits 0 when everything completed, after a summary table."""
    spec = write_spec(tmp_path)
    done = cli("run", str(spec), "--path", str(tmp_path / "exp"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Experiment cmp (local)" in done.stdout
    assert done.stdout.count("COMPLETED") >= 3


def test_bad_spec_exits_2_naming_file_field_and_line(tmp_path: Path) -> None:
    """A bad spec is exit status 2 with `file:line: field ...` on stderr, nothing run."""
    spec = tmp_path / "bad.toml"
    spec.write_text('[experiment]\nname = "b"\n[run_settings.r]\nexe = "x"\nnodes = 0\n'
                    '[[model]]\nname = "m"\nrun_settings = "r"\n')  # fmt: skip
    for command in ("render", "run"):
        done = cli(command, str(spec))
        assert done.returncode == 2
        assert f"{spec}:5: run_settings.r.nodes must be positive, got 0" in done.stderr
    assert not (tmp_path / "b").exists()


def test_syntax_error_exits_2_with_its_line(tmp_path: Path) -> None:
    """A TOML syntax error names the line tomllib gives."""
    spec = tmp_path / "syntax.toml"
    spec.write_text('[experiment]\nname = "b"\nlauncher = \n')
    done = cli("render", str(spec))
    assert done.returncode == 2 and f"{spec}:3: not TOML" in done.stderr


def test_launcher_specific_problem_exits_2(tmp_path: Path) -> None:
    """What the launcher cannot run (batch settings locally) is bad input: exit 2."""
    spec = tmp_path / "b.toml"
    spec.write_text(
        '[experiment]\nname = "b"\n[run_settings.r]\nexe = "x"\n[batch_settings.b]\nnodes = 1\n'
        '[[model]]\nname = "m"\nrun_settings = "r"\nbatch_settings = "b"\n'
    )
    done = cli("run", str(spec))
    assert done.returncode == 2
    assert f"{spec}:10: the local launcher cannot express model[0].batch_settings" in done.stderr


def test_usage_errors_exit_2() -> None:
    """No command, an unknown launcher or a bad --opt is a usage error (exit 2)."""
    assert cli().returncode == 2
    assert cli("render", "x.toml", "--launcher", "nope").returncode == 2
    assert cli("alloc", "--nodes", "1", "--opt", "=v").returncode == 2
    assert cli("--help").returncode == 0


def test_console_script_is_installed() -> None:
    """`smartsim` is installed as a console script running the same main."""
    script = shutil.which("smartsim", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the project is not installed in this interpreter's environment")
    done = subprocess.run([script, "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "render" in done.stdout


# ------------------------------------------------------------------ status / stop / Ctrl-C

SLEEPER = """
[experiment]
name = "sl"

[run_settings.sleep]
exe = "sleep"
args = ["60"]

[run_settings.quick]
exe = "true"

[[model]]
name = "quick"
run_settings = "quick"

[[model]]
name = "slow"
run_settings = "sleep"
"""


def _start_run(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    spec = tmp_path / "sl.toml"
    spec.write_text(SLEEPER)
    exp = tmp_path / "exp"
    proc = subprocess.Popen(
        [sys.executable, "-m", "smartsim", "run", str(spec), "--path", str(exp)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = cli("status", str(exp), "--format", "json")
        if status.returncode == 0:
            launches = json.loads(status.stdout)["launches"]
            if launches.get("slow", {}).get("status") == "RUNNING":
                return proc, exp
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("the run did not start its slow model")


def _pid_of(exp: Path, name: str) -> int:
    for line in (exp / "journal.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record.get("event") == "launch" and record["name"] == name:
            return int(record["job_id"])
    raise AssertionError(f"no launch of {name}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").exists() and " Z " not in Path(f"/proc/{pid}/stat").read_text()


def test_status_and_stop_from_another_process(tmp_path: Path) -> None:
    """`status` shows what is still running in an experiment another process runs; `stop`
    stops it, and that `run` then exits 1."""
    proc, exp = _start_run(tmp_path)
    try:
        table = cli("status", str(exp))
        assert table.returncode == 0
        assert "still running: slow" in table.stdout and "quick" in table.stdout
        pid = _pid_of(exp, "slow")
        stopped = cli("stop", str(exp))
        assert stopped.returncode == 0, stopped.stderr
        assert "stopped: slow" in stopped.stdout
        assert proc.wait(timeout=60) == 1
        assert not _alive(pid)
        after = cli("status", str(exp), "--format", "json")
        assert json.loads(after.stdout)["launches"]["slow"]["status"] == "CANCELLED"
        assert cli("stop", str(exp)).stdout.strip() == "nothing is running"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_ctrl_c_stops_what_run_started(tmp_path: Path) -> None:
    """SIGINT to `smartsim run` stops everything it started and exits 1."""
    proc, exp = _start_run(tmp_path)
    try:
        pid = _pid_of(exp, "slow")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 1
        assert not _alive(pid)
        status = json.loads(cli("status", str(exp), "--format", "json").stdout)
        assert status["launches"]["slow"]["status"] in ("CANCELLED", "FAILED")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_status_of_a_directory_without_journal_exits_2(tmp_path: Path) -> None:
    """status and stop of a directory that holds no journal are bad input."""
    for command in ("status", "stop"):
        done = cli(command, str(tmp_path))
        assert done.returncode == 2 and "no experiment journal" in done.stderr


# ------------------------------------------------------------------ progress display


def test_progress_plain_lines_only_on_change() -> None:
    """Off a terminal, one line per status change and none when nothing changed."""
    out = io.StringIO()
    progress = Progress(out, live=False)
    running = {"a": JobState(Status.RUNNING), "b": JobState(Status.PENDING)}
    progress.update(running)
    progress.update(running)
    progress.update({**running, "a": JobState(Status.COMPLETED, returncode=0)})
    lines = out.getvalue().splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == [
        "a: RUNNING",
        "b: PENDING",
        "a: COMPLETED (exit 0)",
    ]


def test_progress_live_table_is_redrawn_in_place() -> None:
    """On a terminal the table is redrawn over itself (cursor up, clear), with a count."""
    out = io.StringIO()
    progress = Progress(out, live=True)
    progress.update({"a": JobState(Status.RUNNING)})
    progress.update({"a": JobState(Status.FAILED, returncode=3, reason="exit code 3")})
    text = out.getvalue()
    assert "\x1b[2F\x1b[J" in text
    assert text.rstrip().endswith("1/1 finished")
    assert "FAILED (exit 3): exit code 3" in text


# ------------------------------------------------------------------ alloc / release


def test_release_of_a_bad_id_exits_2() -> None:
    """An id that is not a Slurm job id is bad input."""
    done = cli("release", "not-an-id")
    assert done.returncode == 2 and "alloc_id" in done.stderr


def test_alloc_of_zero_nodes_exits_2() -> None:
    """A request salloc cannot take is bad input, refused before salloc runs."""
    done = cli("alloc", "--nodes", "0")
    assert done.returncode == 2 and "nodes must be positive" in done.stderr


@pytest.mark.slurm
def test_alloc_and_release_on_the_cluster() -> None:
    """`alloc` prints the id of a granted allocation (bare --opt flags included); `release`
    ends it."""
    done = cli("alloc", "--nodes", "1", "--time", "0:05:00", "--opt", "exclusive",
               "--opt", "job-name=cli-test", "--timeout", "120")  # fmt: skip
    assert done.returncode == 0, done.stderr
    job = done.stdout.strip()
    assert job.isdigit()
    try:
        shown = subprocess.run(
            ["squeue", "-h", "-j", job, "-o", "%j|%T"], capture_output=True, text=True, check=False
        )
        assert shown.stdout.strip().startswith("cli-test|")
    finally:
        released = cli("release", job)
    assert released.returncode == 0, released.stderr
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = subprocess.run(
            ["squeue", "-h", "-t", "all", "-j", job, "-o", "%T"],
            capture_output=True, text=True, check=False,
        ).stdout.strip()  # fmt: skip
        if state in ("", "CANCELLED", "COMPLETED"):
            break
        time.sleep(0.5)
    assert state in ("", "CANCELLED", "COMPLETED")


@pytest.mark.slurm
def test_run_with_an_allocation_on_the_cluster(tmp_path: Path) -> None:
    """`run` obtains the spec's allocation, runs the step in it, and releases it."""
    spec = tmp_path / "al.toml"
    spec.write_text(ALLOC_SPEC.replace('partition = "debug", ', "").replace("2", "1"))
    done = cli("run", str(spec), "--path", str(tmp_path / "exp"), "--interval", "0.5")
    assert done.returncode == 0, done.stdout + done.stderr
    granted = [line for line in done.stdout.splitlines() if line.startswith("allocation main: ")]
    assert len(granted) == 2 and granted[1].endswith("released")
    assert (tmp_path / "exp" / "m" / "m.out").read_text().strip()


# ------------------------------------------------------------------ the example specs

EXAMPLE_SPECS = sorted((ROOT / "examples" / "specs").glob("*.toml"))


@pytest.mark.parametrize("spec", EXAMPLE_SPECS, ids=[p.name for p in EXAMPLE_SPECS])
def test_every_example_spec_renders(spec: Path) -> None:
    """Every spec in examples/specs renders, as shell text and as JSON."""
    for fmt in ("shell", "json"):
        out = io.StringIO()
        assert _main_quietly(["render", str(spec), "--format", fmt], out) == 0
        assert out.getvalue()


@pytest.mark.skipif(shutil.which("python3") is None, reason="the example runs python3")
def test_sweep_example_runs(tmp_path: Path) -> None:
    """examples/specs/sweep.toml runs the README's sweep: four members, then the table."""
    done = cli("run", str(ROOT / "examples" / "specs" / "sweep.toml"), "--path", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    table = (tmp_path / "post" / "table.txt").read_text().splitlines()
    assert table[0].split() == ["alpha", "steps", "y(1)", "error"] and len(table) == 5


# ------------------------------------------------------------------ benchmarks/run.py

FAKE_BENCH = """
import sys
print("bench_fake: a machine line")
print("figure        value       goal")
print("------        -----       ----")
print("raw Popen     100/s       baseline")
print("ours          90/s        >= 0.8")
"""


def test_benchmark_runner_prints_one_table_and_skips_without_a_cluster(tmp_path: Path) -> None:
    """benchmarks/run.py runs every bench_*.py of a directory and prints one table: rows of each
    benchmark, a benchmark that needs Slurm skipped with a message when no cluster answers, a
    benchmark that skips itself (exit 77) or fails said so."""
    (tmp_path / "bench_fake.py").write_text(FAKE_BENCH)
    (tmp_path / "bench_needs.py").write_text('REQUIRES = ("slurm",)\nraise SystemExit(3)\n')
    (tmp_path / "bench_self_skip.py").write_text('print("no GPU here")\nraise SystemExit(77)\n')
    (tmp_path / "bench_broken.py").write_text('raise RuntimeError("boom")\n')
    env = {
        "PATH": os.path.dirname(sys.executable) + ":/usr/bin:/bin",
        "SMARTSIM_SLURM_DIR": str(tmp_path / "no-cluster"),
    }
    if shutil.which("scontrol", path=env["PATH"]):
        env["PATH"] = os.path.dirname(sys.executable)  # hide Slurm's clients
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--dir", str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr  # bench_broken failed
    lines = done.stdout.splitlines()
    assert lines[0].startswith("smartsim benchmarks: ") and "CPUs" in lines[0]
    table = "\n".join(lines[1:])
    assert re.search(r"bench_fake\s+raw Popen\s+100/s \| baseline", table)
    assert re.search(r"bench_fake\s+ours\s+90/s \| >= 0.8", table)
    assert re.search(r"bench_needs\s+\(skipped: no Slurm cluster.*slurm-cluster up", table)
    assert re.search(r"bench_self_skip\s+\(skipped: no GPU here\)", table)
    assert re.search(r"bench_broken\s+\(failed \(exit 1\): RuntimeError: boom\)", table)


def test_benchmark_runner_lists_the_real_benchmarks() -> None:
    """`benchmarks/run.py --list` names every benchmarks/bench_*.py."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--list"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0
    listed = {line.split()[0] for line in done.stdout.splitlines()}
    assert listed == {p.stem for p in (ROOT / "benchmarks").glob("bench_*.py")}
