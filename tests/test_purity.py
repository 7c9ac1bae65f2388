"""The builders in ``smartsim.commands`` are pure: importing and using them starts no process,
reads no environment variable, looks at no clock and touches no file.

A fresh interpreter arms guards on ``subprocess``/``os`` process functions, ``os.environ`` and
``os.getenv``, the ``time`` clocks, ``open`` and the ``os`` file functions, then imports every
module found in ``smartsim/commands`` (so modules added later are covered without editing this
test), runs every doctest of those modules (house rule: each public builder has one) and calls
every run-command in the registry plus the Slurm builders and parsers. A guarded call raises and
is recorded; the test fails if any was.
"""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import smartsim.commands

COMMANDS_DIR = Path(smartsim.commands.__file__).parent

_HARNESS = r'''
import builtins, io, json, os, pkgutil, subprocess, sys, time, doctest, importlib
import attrs, returns.result, returns.io, shlex, re, posixpath  # dependencies, imported before

ARMED = False
VIOLATIONS = []


class Impure(BaseException):
    """Not an Exception: a builder's `except Exception` cannot swallow it."""


def where():
    # frames without source lines: reading source would itself be guarded file access
    frame, out = sys._getframe(2), []
    while frame is not None and len(out) < 8:
        out.append(f"{frame.f_code.co_filename}:{frame.f_lineno} {frame.f_code.co_name}")
        frame = frame.f_back
    return " <- ".join(out)


def guard(owner, name, what):
    original = getattr(owner, name)

    def guarded(*args, **kwargs):
        if ARMED:
            VIOLATIONS.append({"what": what, "stack": where()})
            raise Impure(what)
        return original(*args, **kwargs)

    setattr(owner, name, guarded)


class GuardedEnviron(dict):
    def _check(self, what):
        if ARMED:
            VIOLATIONS.append({"what": what, "stack": where()})
            raise Impure(what)

for method in ("__getitem__", "__contains__", "__iter__", "__len__", "get", "keys", "items",
               "values", "copy", "__setitem__", "__delitem__", "setdefault", "pop", "update"):
    def make(method):
        base = getattr(dict, method)
        def wrapped(self, *args, **kwargs):
            self._check(f"os.environ.{method}")
            return base(self, *args, **kwargs)
        return wrapped
    setattr(GuardedEnviron, method, make(method))

os.environ = GuardedEnviron(os.environ)
for name in ("Popen", "run", "call", "check_call", "check_output", "getoutput",
             "getstatusoutput"):
    guard(subprocess, name, f"subprocess.{name}")
for name in ("system", "popen", "fork", "execv", "execve", "execvp", "execvpe", "spawnv",
             "spawnvp", "posix_spawn", "posix_spawnp", "getenv", "putenv", "open", "listdir",
             "scandir", "stat", "lstat", "access", "mkdir", "makedirs", "remove", "unlink",
             "rename", "replace", "getcwd", "chdir", "walk"):
    if hasattr(os, name):
        guard(os, name, f"os.{name}")
for name in ("exists", "isfile", "isdir", "realpath", "abspath", "expanduser", "expandvars"):
    guard(os.path, name, f"os.path.{name}")
for name in ("time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns",
             "localtime", "gmtime", "ctime", "sleep"):
    guard(time, name, f"time.{name}")
guard(builtins, "open", "open")
io.open = builtins.open
import shutil
guard(shutil, "which", "shutil.which")

result = {"modules": [], "doctests": 0, "examples": 0, "calls": 0, "errors": []}

# Phase 1: import every module of smartsim.commands, armed.
import smartsim.commands as commands
names = sorted(f"smartsim.commands.{m.name}" for m in pkgutil.iter_modules(commands.__path__))
ARMED = True
modules = []
for name in names:
    try:
        modules.append(importlib.import_module(name))
        result["modules"].append(name)
    except Impure:
        pass
    except Exception as exc:  # noqa: BLE001 -- reported, the test fails on it
        result["errors"].append(f"import {name}: {exc!r}")
ARMED = False

# Phase 2 (disarmed: reading source is the finder's business): collect the doctests.
finder = doctest.DocTestFinder()
tests = [t for m in modules for t in finder.find(m) if t.examples]

# Phase 3: run them; each test's examples are armed, the runner's own setup (pdb reads
# ~/.pdbrc) is not.
def arm():
    global ARMED
    ARMED = True


def disarm():
    global ARMED
    ARMED = False


runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
out = io.StringIO()
for test in tests:
    attempted = len(test.examples)
    test.globs["__arm"], test.globs["__disarm"] = arm, disarm
    test.examples = [doctest.Example("__arm()\n", ""), *test.examples,
                     doctest.Example("__disarm()\n", "")]
    before = len(VIOLATIONS)
    outcome = runner.run(test, out=out.write)
    disarm()
    result["doctests"] += 1
    result["examples"] += attempted
    if outcome.failed and len(VIOLATIONS) == before:
        result["errors"].append(f"doctest {test.name} failed under the guards")

# Phase 4: call the builders directly, armed.
from smartsim import AllocationRequest, BatchSettings, JobId, RunSettings
from smartsim.commands import launch, script, slurm
from smartsim.commands.launch import LaunchContext


def use(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
        result["calls"] += 1
    except Impure:
        pass
    except Exception as exc:  # noqa: BLE001
        result["errors"].append(f"{getattr(fn, '__name__', fn)}: {exc!r}")


ctx = LaunchContext(cwd="/w/m", name="m", stdout="/w/m/m.out", stderr="/w/m/m.err", alloc="12")
ARMED = True
for run_command in launch.RUN_COMMANDS:
    rs = RunSettings(exe="a.out", args=("x y",), env={"A": "1"}, ntasks=2,
                     run_command=run_command)
    try:
        spec = launch.run_command_spec(run_command)
        if not isinstance(spec, launch.RunCommandSpec):
            continue
        if not spec.check(rs):
            use(spec.build, rs, ctx)
        else:
            use(spec.check, rs)
    except Impure:
        pass
    except Exception as exc:  # noqa: BLE001
        result["errors"].append(f"registry {run_command}: {exc!r}")
req = AllocationRequest(nodes=5, add_opts={"C": "haswell", "partition": "debug",
                                           "time": "10:00:00", "exclusive": None})
srs = RunSettings(exe="a", run_command="srun", env={"A": "1"}, ntasks=2).with_mpmd(
    RunSettings(exe="b", env={"B": "2"}))
bs = BatchSettings(nodes=1, time=60, batch_args={"C": "gpu"}, preamble=("true",))
ids = [JobId.parse("12;cl").unwrap(), JobId.parse("13_4").unwrap()]
for fn, args, kwargs in [
    (slurm.check_allocation, (req,), {}), (slurm.validate_salloc, (req,), {}),
    (slurm.salloc_argv, (req,), {"immediate": 5}), (slurm.check_srun, (srs,), {}),
    (slurm.validate_srun, (srs,), {}), (slurm.srun_command, (srs, ctx), {}),
    (slurm.check_batch, (bs,), {}), (slurm.validate_sbatch, ([(srs, ctx)], bs), {}),
    (slurm.sbatch_script, ([(srs, ctx)], bs), {"job_name": "j", "output": "o"}),
    (slurm.sbatch_command, ("/w/j.sh",), {"dependency": "afterok:1"}),
    (slurm.scancel_argv, (ids,), {"signal": "TERM"}), (slurm.squeue_argv, (ids,), {}),
    (slurm.sacct_argv, (ids,), {}),
    (slurm.parse_salloc_stderr, ("salloc: Granted job allocation 5\n",), {}),
    (slurm.parse_salloc_pending, ("salloc: Pending job allocation 5\n",), {}),
    (slurm.parse_sbatch_parsable, ("5;cl\n",), {}),
    (slurm.parse_squeue, ("5|RUNNING|None\n",), {}),
    (slurm.parse_sacct, ("5|FAILED|1:0|None|1|2|x\n",), {}),
    (script.shell_line, (slurm.srun_command(srs, ctx),), {"background": True}),
    (script.directive_line, ("#SBATCH", ["--comment", "a #b"]), {}),
]:
    use(fn, *args, **kwargs)
ARMED = False
result["violations"] = VIOLATIONS
print(json.dumps(result))
'''


def _run_harness(extra: str = "") -> dict[str, object]:
    code = _HARNESS.replace(
        'result["violations"] = VIOLATIONS', extra + 'result["violations"] = VIOLATIONS'
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    result = json.loads(last)
    assert isinstance(result, dict)
    return result


def test_builders_import_and_run_with_io_env_and_clock_forbidden() -> None:
    """Every smartsim.commands module imports, runs its doctests and builds commands while
    processes, the environment, clocks and files are off limits."""
    result = _run_harness()
    discovered = sorted(
        f"smartsim.commands.{m.name}" for m in pkgutil.iter_modules([str(COMMANDS_DIR)])
    )
    assert result["violations"] == []
    assert result["errors"] == []
    assert result["modules"] == discovered
    assert isinstance(result["doctests"], int) and result["doctests"] >= len(discovered)
    assert isinstance(result["calls"], int) and result["calls"] >= 20


_FORBIDDEN_IMPORTS = ("subprocess", "time", "logging", "shutil", "socket", "threading",
                      "smartsim.effects", "smartsim.experiment")  # fmt: skip


def test_no_builder_module_imports_the_impure_world() -> None:
    """No module in smartsim/commands imports subprocess, time, logging, shutil, threading or
    the effects layer, nor reads os.environ (STYLE: commands/ is pure)."""
    problems = []
    for path in sorted(COMMANDS_DIR.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if any(name == f or name.startswith(f + ".") for f in _FORBIDDEN_IMPORTS):
                    problems.append(f"{path.name}: imports {name}")
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("environ", "getenv")
                and isinstance(node.value, ast.Name)
                and node.value.id == "os"
            ):
                problems.append(f"{path.name}: reads os.{node.attr}")
    assert problems == []


_PROBE = """
ARMED = True
for probe in (lambda: subprocess.Popen(["true"]), lambda: os.environ.get("HOME"),
              lambda: os.getenv("HOME"), lambda: time.time(), lambda: open("/etc/hostname"),
              lambda: os.path.exists("/"), lambda: shutil.which("srun")):
    try:
        probe()
    except Impure:
        pass
ARMED = False
"""


def test_the_guards_catch_impure_calls() -> None:
    """The harness records a process start, environment reads, a clock read, a file open, a
    stat and a PATH search when they happen while armed (the guards are not vacuous)."""
    result = _run_harness(_PROBE)
    violations = result["violations"]
    assert isinstance(violations, list)
    caught = [v["what"] for v in violations]
    assert caught == ["subprocess.Popen", "os.environ.get", "os.getenv", "time.time", "open",
                      "os.path.exists", "shutil.which"]  # fmt: skip
