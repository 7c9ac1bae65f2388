"""``smartsim`` (or ``python -m smartsim``): experiment specs and Slurm allocations from a shell.

    smartsim render SPEC [--launcher NAME] [--format shell|json] [--path DIR]
    smartsim run SPEC [--launcher NAME] [--path DIR] [--interval S]
    smartsim status EXP_DIR [--format table|json]
    smartsim stop EXP_DIR
    smartsim alloc --nodes N [--time T] [--partition P] [--account A] [--opt K=V | --opt K]...
    smartsim release ID

Exit status: 0 when everything asked for completed, 1 when something failed or was cancelled
(or the world refused: a scheduler error, a file that cannot be written), 2 for bad input (a
spec problem, a bad option, an experiment directory without a journal).

This is a shell module built on the public API only (:mod:`smartsim.spec`,
:class:`~smartsim.Experiment`, :mod:`smartsim.slurm`, the pure builders): it is the one place
here that prints, and every :class:`~smartsim.errors.SmartSimError` stops at it as a message and
an exit status. ``render`` runs nothing and writes nothing: it shows the very plan ``run``
executes (:meth:`Experiment.preview`), the files ``run`` generates first, and, for a spec with
allocations, the ``salloc`` before and the ``scancel`` after, with each allocation id held in a
shell variable ``SMARTSIM_ALLOC_<name>``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import sys
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, TextIO

import attrs

from smartsim.errors import Invalid, SmartSimError, ValidationError

if TYPE_CHECKING:
    from smartsim.commands.generate import FileOp
    from smartsim.commands.plan import Launch, Plan
    from smartsim.experiment import Experiment
    from smartsim.spec import Instance, Spec
    from smartsim.status import JobState
    from smartsim.values import Ensemble, Model

__all__ = ["main"]

OK: Final = 0
FAILED: Final = 1
BAD_INPUT: Final = 2

#: Stand-in allocation ids while rendering: above Slurm's largest job id (MaxJobId is at most
#: 67043328, slurm.conf(5)), so they never name a real job; replaced by shell variables.
_PLACEHOLDER_BASE: Final = 4_000_000_000
_PROG: Final = "smartsim"


def _say(text: str, stream: TextIO | None = None) -> None:
    print(text, file=stream or sys.stdout, flush=True)


def _error(text: str) -> None:
    _say(f"{_PROG}: error: {text}", sys.stderr)


def _fail(exc: SmartSimError) -> int:
    """Report a SmartSimError; its kind decides the exit status."""
    error = exc.error
    if isinstance(error, Invalid):
        for each in error.errors:
            _error(each.message)
        return BAD_INPUT
    _error(error.message)
    return BAD_INPUT if isinstance(error, ValidationError) else FAILED


# =========================================================================== spec loading


def _load(spec_path: str) -> Spec | int:
    from returns.result import Failure

    from smartsim.spec import read_spec

    read = read_spec(spec_path)
    if isinstance(read, Failure):
        for problem in read.failure().problems:
            _say(str(problem), sys.stderr)
        return BAD_INPUT
    return read.unwrap()


def _instance(
    spec: Spec, launcher: str | None, path: str | None, allocs: Mapping[str, str]
) -> Instance | int:
    from returns.result import Failure

    from smartsim.spec import instantiate

    made = instantiate(spec, launcher=launcher, exp_path=path, allocs=allocs)
    if isinstance(made, Failure):
        for problem in made.failure().problems:
            _say(str(problem), sys.stderr)
        return BAD_INPUT
    return made.unwrap()


def _placeholders(spec: Spec) -> dict[str, str]:
    return {name: str(_PLACEHOLDER_BASE + i) for i, name in enumerate(spec.allocations)}


def _variable(name: str) -> str:
    return f"SMARTSIM_ALLOC_{name}"


# =========================================================================== render


def expand_placeholders(text: str, variables: Mapping[str, str]) -> str:
    """Shell ``text`` with each placeholder id (a whole number) replaced by a reference to its
    variable, quoted for where it stands: ``"${V}"`` in a plain word, ``${V}`` inside double
    quotes, ``'"${V}"'`` inside single quotes. Quoted here-document bodies are left alone.

    >>> print(expand_placeholders("srun --jobid 42 echo 'a 42 b' 420", {"42": "A"}))
    srun --jobid "${A}" echo 'a '"${A}"' b' 420
    """
    if not variables:
        return text
    pattern = re.compile(r"(?<![0-9])(" + "|".join(re.escape(k) for k in variables) + r")(?![0-9])")
    out: list[str] = []
    single = double = False
    heredoc_end: str | None = None
    for line in text.splitlines(keepends=True):
        if heredoc_end is not None:
            out.append(line)
            if line.rstrip("\n") == heredoc_end:
                heredoc_end = None
            continue
        i = 0
        while i < len(line):
            match = pattern.match(line, i)
            if match:
                ref = "${" + variables[match[1]] + "}"
                out.append(f"'\"{ref}\"'" if single else ref if double else f'"{ref}"')
                i = match.end()
                continue
            ch = line[i]
            if ch == "'" and not double:
                single = not single
            elif ch == '"' and not single:
                double = not double
            elif ch == "\\" and not single and i + 1 < len(line):
                out.append(line[i : i + 2])
                i += 2
                continue
            out.append(ch)
            i += 1
        if not single and not double:
            opened = re.search(r"<<'([A-Za-z0-9_]+)'\s*$", line)
            if opened:
                heredoc_end = opened[1]
    return "".join(out)


def _op_shell(op: FileOp) -> list[str]:
    """Shell lines that do what :func:`smartsim.effects.files.apply` does for ``op``."""
    from smartsim.commands import generate as g
    from smartsim.commands._types import heredoc

    q = shlex.quote
    match op:
        case g.MakeDir(path):
            return [f"mkdir -p {q(path)}"]
        case g.RemoveTree(path):
            return [f"rm -rf {q(path)}"]
        case g.Copy(src, dst):
            if os.path.isdir(src):
                return [f"mkdir -p {q(dst)} && cp -pR {q(src.rstrip('/') + '/.')} {q(dst)}"]
            return [f"cp -p {q(src)} {q(dst)}"]
        case g.Symlink(src, dst):
            return [f"ln -sfn {q(src)} {q(dst)}"]
        case g.Configure(src, dst, params, tag):
            pairs: list[tuple[str, str]] = []
            if os.path.isdir(src):
                lines = [f"mkdir -p {q(dst)}"]
                for root, _dirs, names in sorted(os.walk(src)):
                    rel = os.path.relpath(root, src)
                    target = dst if rel == "." else os.path.join(dst, rel)
                    if rel != ".":
                        lines.append(f"mkdir -p {q(target)}")
                    pairs += [
                        (os.path.join(root, n), os.path.join(target, n)) for n in sorted(names)
                    ]
            else:
                lines, pairs = [], [(src, dst)]
            for source, target in pairs:
                with open(source, "rb") as handle:
                    raw = handle.read().decode("utf-8", "surrogateescape")
                text = g.configure_text(raw, params, tag)
                lines += _write_lines(target, text, heredoc)
                lines.append(f"chmod {os.stat(source).st_mode & 0o7777:o} {q(target)}")
            return lines
        case g.WriteText(path, text):
            return _write_lines(path, text, heredoc)
    return []  # pragma: no cover  (every FileOp is matched above)


def _write_lines(path: str, text: str, heredoc: Any) -> list[str]:
    if text.endswith("\n") or not text:
        return [f"cat > {shlex.quote(path)} {heredoc(text)}"]
    return [f"printf '%s' {shlex.quote(text)} > {shlex.quote(path)}"]


def _op_json(op: FileOp) -> dict[str, Any]:
    from smartsim.commands import generate as g

    match op:
        case g.MakeDir(path):
            return {"op": "mkdir", "path": path}
        case g.RemoveTree(path):
            return {"op": "remove", "path": path}
        case g.Copy(src, dst):
            return {"op": "copy", "src": src, "dst": dst}
        case g.Symlink(src, dst):
            return {"op": "symlink", "src": src, "dst": dst}
        case g.Configure(src, dst, params, tag):
            return {"op": "configure", "src": src, "dst": dst, "params": dict(params), "tag": tag}
        case g.WriteText(path, text):
            return {"op": "write", "path": path, "text": text}
    return {}  # pragma: no cover


def _command_json(command: Any) -> dict[str, Any] | None:
    if command is None:
        return None
    return {
        "argv": list(command.argv),
        "env": dict(command.env),
        "cwd": command.cwd,
        "stdin": command.stdin,
        "stdout": command.stdout,
        "stderr": command.stderr,
    }


def _launch_json(launch: Launch, stage: int, after: Sequence[str]) -> dict[str, Any]:
    sub = launch.submission
    return {
        "name": launch.name,
        "kind": launch.kind,
        "members": list(launch.members),
        "stage": stage,
        "after": list(after),
        "cwd": launch.cwd,
        "stdout": launch.stdout,
        "stderr": launch.stderr,
        "mkdirs": list(launch.mkdirs),
        "files": dict(launch.files),
        "time_limit_seconds": None if launch.time_limit is None else launch.time_limit.seconds,
        "command": _command_json(launch.command),
        "submission": None
        if sub is None
        else {
            "script_path": sub.script_path,
            "script": sub.script,
            "submit": _command_json(sub.submit),
        },
    }


def _json_expand(value: Any, variables: Mapping[str, str]) -> Any:
    """Placeholder ids in every string of a JSON value replaced by ``${SMARTSIM_ALLOC_x}``."""
    if isinstance(value, str):
        for placeholder, var in variables.items():
            value = re.sub(rf"(?<![0-9]){placeholder}(?![0-9])", "${" + var + "}", value)
        return value
    if isinstance(value, list):
        return [_json_expand(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: _json_expand(v, variables) for k, v in value.items()}
    return value


def _plans(inst: Instance) -> list[tuple[tuple[str, ...], Plan]]:
    exp = inst.experiment
    return [(stage, exp.preview(*inst.stage_entities(stage))) for stage in inst.stages]


def _generation(inst: Instance) -> list[FileOp]:
    """What ``Experiment.generate`` does for every entity, as operations."""
    from smartsim.commands.generate import MakeDir, generation_ops

    ops: list[FileOp] = [MakeDir(inst.experiment.exp_path)]
    for entity in inst.entities.values():
        ops.extend(generation_ops(entity))
    return ops


def cmd_render(args: argparse.Namespace) -> int:
    from smartsim.commands.slurm import salloc_argv, scancel_argv
    from smartsim.values import JobId

    spec = _load(args.spec)
    if isinstance(spec, int):
        return spec
    placeholders = _placeholders(spec)
    inst = _instance(spec, args.launcher, args.path, placeholders)
    if isinstance(inst, int):
        return inst
    variables = {pid: _variable(name) for name, pid in placeholders.items()}
    exp = inst.experiment
    try:
        plans = _plans(inst)
        ops = _generation(inst)
    except SmartSimError as exc:
        return _fail(exc)
    except OSError as exc:
        _error(f"cannot read a file to configure: {exc}")
        return BAD_INPUT
    allocations = [
        (name, salloc_argv(a.request), scancel_argv([JobId(int(placeholders[name]))]))
        for name, a in spec.allocations.items()
    ]
    if args.format == "json":
        document = {
            "spec": os.path.abspath(args.spec),
            "experiment": exp.name,
            "launcher": exp.launcher,
            "path": exp.exp_path,
            "allocations": [
                {
                    "name": name,
                    "variable": _variable(name),
                    "argv": list(argv),
                    "release": list(release),
                }
                for name, argv, release in allocations
            ],
            "generate": [_op_json(op) for op in ops],
            "launches": [
                _launch_json(launch, i, inst.after.get(launch.name, ()))
                for i, (_stage, plan) in enumerate(plans)
                for launch in plan.launches
            ],
        }
        _say(json.dumps(_json_expand(document, variables), indent=2))
        return OK
    try:
        op_lines = [line for op in ops for line in _op_shell(op)]
    except OSError as exc:
        _error(f"cannot read a file to configure: {exc}")
        return BAD_INPUT
    out = [
        f"# smartsim render {shlex.quote(args.spec)}: experiment {exp.name} "
        f"(launcher {exp.launcher}) in {exp.exp_path}",
        "# Nothing has been run. Pasted into bash this does what `smartsim run` does, one",
        "# launch after another (`smartsim run` starts the launches of a stage together and",
        "# records them in journal.jsonl).",
    ]
    for name, argv, _release in allocations:
        var = _variable(name)
        grant = r"s/^salloc: Granted job allocation \([0-9][0-9]*\).*$/\1/p"
        out += [
            "",
            f"# allocation {name} (released at the end)",
            f"{var}=$({shlex.join(argv)} 2>&1 >/dev/null | sed -n {shlex.quote(grant)})",
            f': "${{{var}:?salloc did not grant allocation {name}}}"',
        ]
    out += ["", "# generate: directories, files, params.json", *op_lines]
    for i, (stage, plan) in enumerate(plans):
        waits = sorted({a for name in stage for a in inst.after.get(name, ())})
        title = f"# stage {i + 1}: {', '.join(stage)}"
        if waits:
            title += f" (after {', '.join(waits)} completed)"
        out += ["", title, str(plan)]
    for name, _argv, release in allocations:
        out += ["", f"# release allocation {name}", shlex.join(release)]
    _say(expand_placeholders("\n".join(out), variables))
    return OK


# =========================================================================== run


class Progress:
    """Statuses while ``run`` waits: a table redrawn in place on a terminal, one line per
    change otherwise."""

    def __init__(self, stream: TextIO, *, live: bool | None = None) -> None:
        self.stream = stream
        self.live = stream.isatty() if live is None else live
        self.seen: dict[str, str] = {}
        self.first: dict[str, float] = {}
        self.ended: dict[str, float] = {}
        self.drawn = 0

    @staticmethod
    def describe(state: JobState) -> str:
        text = str(state.status)
        if state.returncode is not None and state.status.is_final:
            text += f" (exit {state.returncode})"
        elif state.signal is not None:
            text += f" (signal {state.signal})"
        if state.reason and state.status.is_final and state.status.value != "COMPLETED":
            text += f": {state.reason}"
        return text

    def update(self, states: Mapping[str, JobState], extra: Mapping[str, str] = {}) -> None:
        now = time.monotonic()
        rows = {name: self.describe(state) for name, state in states.items()}
        rows.update(extra)
        for name, state in states.items():
            self.first.setdefault(name, now)
            if state.status.is_final:
                self.ended.setdefault(name, now)
        if self.live:
            self._draw(rows, now)
            return
        for name, text in rows.items():
            if self.seen.get(name) != text:
                self.seen[name] = text
                _say(f"{time.strftime('%H:%M:%S')} {name}: {text}", self.stream)

    def _draw(self, rows: Mapping[str, str], now: float) -> None:
        width = max((len(n) for n in rows), default=4)
        lines = []
        for name, text in rows.items():
            start = self.first.get(name)
            secs = (self.ended.get(name, now) - start) if start is not None else 0.0
            lines.append(f"{name.ljust(width)}  {secs:7.1f}s  {text}")
        done = sum(1 for t in rows.values() if t.split(" ")[0] in _FINAL_WORDS)
        lines.append(f"{done}/{len(rows)} finished")
        clear = f"\x1b[{self.drawn}F\x1b[J" if self.drawn else ""
        self.stream.write(clear + "\n".join(lines) + "\n")
        self.stream.flush()
        self.drawn = len(lines)


_FINAL_WORDS: Final = frozenset({"COMPLETED", "FAILED", "CANCELLED", "skipped"})


def _launch_names(entity: Model | Ensemble, states: Mapping[str, JobState]) -> list[str]:
    """The launches that run ``entity``: itself (a model, or a batch ensemble) or its members."""
    from smartsim.values import Ensemble

    names = [entity.name]
    if isinstance(entity, Ensemble):
        names += [m.name for m in entity.members]
    return [n for n in names if n in states]


def _wait(exp: Experiment, entities: Sequence[Model | Ensemble], progress: Progress,
          extra: Mapping[str, str], interval: float) -> None:  # fmt: skip
    from smartsim.commands.slurm import never_starts
    from smartsim.errors import NeverStarts

    while True:
        exp.get_status()
        states = exp.states()
        progress.update(states, extra)
        names = [n for e in entities for n in _launch_names(e, states)]
        if all(states[n].status.is_final for n in names):
            return
        if exp.launcher == "slurm":  # a wait that could never end is an error, not a spin
            stuck = [
                f"{n}: {states[n].reason}: {why}"
                for n in names
                if str(states[n].status) == "PENDING"
                and (why := never_starts(states[n].reason)) is not None
            ]
            if stuck:
                raise SmartSimError(NeverStarts(tuple(stuck)))
        time.sleep(interval)


def _run_stages(inst: Instance, progress: Progress, interval: float) -> bool:
    """Start each stage once the stages before it are done; an entity whose ``after`` did not
    complete is skipped. True when everything completed."""
    from smartsim.status import Status

    exp = inst.experiment
    not_ok: set[str] = set()
    skipped: dict[str, str] = {}
    for stage in inst.stages:
        ready = []
        for name in stage:
            blockers = [a for a in inst.after.get(name, ()) if a in not_ok]
            if blockers:
                skipped[name] = f"skipped: {', '.join(blockers)} did not complete"
                not_ok.add(name)
            else:
                ready.append(inst.entities[name])
        if not ready:
            progress.update(exp.states(), skipped)
            continue
        exp.start(*ready, block=False)
        _wait(exp, ready, progress, skipped, interval)
        states = exp.states()
        for entity in ready:
            if any(states[n].status is not Status.COMPLETED for n in _launch_names(entity, states)):
                not_ok.add(entity.name)
    return not not_ok


def _allocate(spec: Spec, exp: Experiment) -> dict[str, str]:
    """Obtain every allocation of ``spec`` for ``exp`` (journaled in its directory, so that
    ``smartsim stop DIR`` can release them if this process dies); on any failure release those
    already obtained."""
    got: dict[str, str] = {}
    try:
        for name, alloc in spec.allocations.items():
            # The request's fields are the keywords of get_slurm_allocation, by design.
            fields = attrs.asdict(alloc.request, recurse=False)
            fields["add_opts"] = dict(fields["add_opts"])
            got[name] = exp.get_allocation(
                fields.pop("nodes"), name=name, timeout=alloc.timeout, **fields
            )
            _say(f"allocation {name}: {got[name]}")
    except BaseException:
        for job in got.values():
            try:
                exp.release_allocation(job)
            except SmartSimError as exc:
                _error(f"releasing allocation {job} failed: {exc}")
        raise
    return got


def cmd_run(args: argparse.Namespace) -> int:
    from smartsim.errors import NeverStarts

    spec = _load(args.spec)
    if isinstance(spec, int):
        return spec
    # Every problem the launcher can see is reported before anything is obtained or started.
    checked = _instance(spec, args.launcher, args.path, _placeholders(spec))
    if isinstance(checked, int):
        return checked
    if args.interval is not None and args.interval <= 0:
        _error(f"--interval must be > 0, got {args.interval}")
        return BAD_INPUT
    interval = args.interval or (0.1 if checked.experiment.launcher == "local" else 2.0)
    allocs: dict[str, str] = {}
    inst: Instance | None = None
    progress = Progress(sys.stdout)
    code = OK
    try:
        allocs = _allocate(spec, checked.experiment)
        made = _instance(spec, args.launcher, args.path, allocs) if allocs else checked
        if isinstance(made, int):
            return made
        inst = made
        inst.experiment.generate(*inst.entities.values())
        code = OK if _run_stages(inst, progress, interval) else FAILED
    except SmartSimError as exc:
        code = _fail(exc)
        if code == BAD_INPUT and inst is not None:
            code = FAILED
        if inst is not None and isinstance(exc.error, NeverStarts):
            _say("stopping what was started", sys.stderr)
            try:
                inst.experiment.stop()
            except SmartSimError as failed:
                _fail(failed)
    except KeyboardInterrupt:
        _say("interrupted: stopping what was started", sys.stderr)
        code = FAILED
        if inst is not None:
            try:
                inst.experiment.stop()
            except SmartSimError as exc:
                _fail(exc)
    finally:
        for name, job in allocs.items():
            try:
                checked.experiment.release_allocation(job)
                _say(f"allocation {name}: {job} released")
            except SmartSimError as exc:
                _error(f"releasing allocation {name} ({job}) failed: {exc}")
                code = code or FAILED
    if inst is not None:
        try:
            _say(inst.experiment.summary())
        except SmartSimError as exc:
            _fail(exc)
    return code


# =========================================================================== status / stop


def _reconnect(path: str) -> Experiment | int:
    from smartsim.effects.journal import journal_path
    from smartsim.experiment import Experiment

    if not os.path.isfile(journal_path(path)):
        _error(f"{path}: no experiment journal here ({journal_path(path)} does not exist)")
        return BAD_INPUT
    try:
        return Experiment.reconnect(path)
    except SmartSimError as exc:
        return _fail(exc)


def cmd_status(args: argparse.Namespace) -> int:
    exp = _reconnect(args.exp_dir)
    if isinstance(exp, int):
        return exp
    states = exp.states()
    if args.format == "json":
        document: dict[str, Any] = {
            "experiment": exp.name,
            "launcher": exp.launcher,
            "path": exp.exp_path,
            "launches": exp.report(),
        }
        try:
            document["allocations"] = [
                {
                    "name": a.name,
                    "job_id": a.job_id,
                    "released": a.released,
                    "owner": a.owner,
                    "detail": a.detail,
                    "slurm_state": a.slurm_state,
                }
                for a in exp.allocations()
            ]
        except SmartSimError as exc:
            return _fail(exc)
        _say(json.dumps(document, indent=2))
        return OK
    try:
        _say(exp.summary())
    except SmartSimError as exc:
        return _fail(exc)
    running = [n for n, s in states.items() if not s.status.is_final and str(s.status) != "UNKNOWN"]
    unknown = [n for n, s in states.items() if str(s.status) == "UNKNOWN"]
    _say(f"still running: {', '.join(running) if running else 'nothing'}")
    if unknown:
        _say(f"status unknown: {', '.join(unknown)}")
    return OK


def cmd_stop(args: argparse.Namespace) -> int:
    exp = _reconnect(args.exp_dir)
    if isinstance(exp, int):
        return exp
    running = [n for n, s in exp.states().items() if not s.status.is_final]
    if not running:
        code = _release_abandoned(exp)
        _say("nothing is running")
        return code
    try:
        final = exp.stop()
    except SmartSimError as exc:
        return _fail(exc)
    # what the stop ended, as it is now (after the stop, not before)
    for name in running:
        state = final.get(name)
        if state is not None:
            _say(f"stopped: {name}: {_state_words(state)}")
    code = _release_abandoned(exp)
    try:
        _say(exp.summary())
    except SmartSimError as exc:
        return _fail(exc)
    return code


def _release_abandoned(exp: Experiment) -> int:
    """Release what a dead process obtained and never released (a kill -9 of `smartsim run`)."""
    try:
        for alloc in exp.release_abandoned():
            _say(f"allocation {alloc.name + ' ' if alloc.name else ''}{alloc.job_id} released")
    except SmartSimError as exc:
        return _fail(exc)
    return OK


def _state_words(state: JobState) -> str:
    """``CANCELLED (signal SIGKILL, returncode -9)``: a final state in a line."""
    import signal as signals

    parts = []
    if state.signal is not None:
        try:
            parts.append(f"signal {signals.Signals(state.signal).name}")
        except ValueError:
            parts.append(f"signal {state.signal}")
    if state.returncode is not None:
        parts.append(f"returncode {state.returncode}")
    detail = f" ({', '.join(parts)})" if parts else ""
    why = f": {state.reason}" if state.reason else ""
    return f"{state.status}{detail}{why}"


# =========================================================================== alloc / release


def _opt(text: str) -> tuple[str, str | None]:
    """``K=V`` -> (K, V); ``K`` -> (K, None), a bare flag."""
    key, sep, value = text.partition("=")
    if not key:
        raise argparse.ArgumentTypeError(f"expected K=V or K, got {text!r}")
    return key, value if sep else None


def cmd_alloc(args: argparse.Namespace) -> int:
    from smartsim.slurm import get_slurm_allocation

    opts: dict[str, str | None] = {}
    for key, value in args.opt or ():
        if key in opts:
            _error(f"--opt {key} given twice")
            return BAD_INPUT
        opts[key] = value
    try:
        alloc = get_slurm_allocation(
            args.nodes,
            opts,
            time=args.time,
            partition=args.partition,
            account=args.account,
            timeout=args.timeout,
        )
    except SmartSimError as exc:
        return _fail(exc)
    except KeyboardInterrupt:
        _say("interrupted: the pending request was cancelled", sys.stderr)
        return FAILED
    _say(alloc)
    return OK


def cmd_release(args: argparse.Namespace) -> int:
    from smartsim.slurm import release_slurm_allocation

    try:
        release_slurm_allocation(args.id)
    except SmartSimError as exc:
        return _fail(exc)
    return OK


# =========================================================================== parser


def _launchers() -> tuple[str, ...]:
    from smartsim.experiment import LAUNCHERS

    return tuple(LAUNCHERS)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=_PROG,
        description="Render, run and follow smartsim experiment specs; obtain Slurm allocations.",
        epilog="Exit status: 0 all completed, 1 something failed or was cancelled, 2 bad input.",
    )
    from smartsim import __version__

    parser.add_argument("--version", action="version", version=f"{_PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def spec_command(name: str, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.add_argument("spec", help="the experiment spec (TOML; see docs/spec.md)")
        p.add_argument("--launcher", choices=_launchers(), help="override [experiment] launcher")
        p.add_argument("--path", help="override [experiment] path (the experiment directory)")
        return p

    render = spec_command("render", "print exactly what `run` would do; run nothing")
    render.add_argument("--format", choices=("shell", "json"), default="shell")
    render.set_defaults(func=cmd_render)

    run = spec_command("run", "run a spec and wait for it, showing statuses")
    run.add_argument(
        "--interval",
        type=float,
        help="seconds between status updates (default 0.1 locally, 2 with a scheduler)",
    )
    run.set_defaults(func=cmd_run)

    status = sub.add_parser("status", help="what ran in an experiment directory and what runs")
    status.add_argument("exp_dir", help="the experiment directory (holding journal.jsonl)")
    status.add_argument("--format", choices=("table", "json"), default="table")
    status.set_defaults(func=cmd_status)

    stop = sub.add_parser("stop", help="stop what is still running in an experiment directory")
    stop.add_argument("exp_dir", help="the experiment directory (holding journal.jsonl)")
    stop.set_defaults(func=cmd_stop)

    alloc = sub.add_parser("alloc", help="obtain a Slurm allocation (salloc) and print its id")
    alloc.add_argument("--nodes", "-N", type=int, required=True)
    alloc.add_argument(
        "--time", "-t", help="MM, MM:SS, H:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS (as Slurm reads them)"
    )
    alloc.add_argument("--partition", "-p")
    alloc.add_argument("--account", "-A")
    alloc.add_argument(
        "--opt",
        type=_opt,
        action="append",
        metavar="K[=V]",
        help="one more salloc option: K=V is -K V / --K V, a bare K a flag (repeatable)",
    )
    alloc.add_argument(
        "--timeout", type=float, default=300.0, help="seconds to wait while pending (300)"
    )
    alloc.set_defaults(func=cmd_alloc)

    release = sub.add_parser("release", help="release a Slurm allocation (scancel)")
    release.add_argument("id", help="the allocation's job id")
    release.set_defaults(func=cmd_release)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0, 1 or 2)."""
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
