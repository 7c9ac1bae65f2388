"""Pure planning and reading of Slurm job arrays for batch ensembles: one ``sbatch --array``
job whose task ``k`` runs member ``k``, looked up in a generated table file.

Rules of this module (Slurm 22.05; *verified* facts were reproduced on the project's cluster):

* An ensemble with batch settings whose members differ only in what parameters change
  (arguments, environment, program name, directory) -- the same resources -- is ONE array job
  when it has at least :data:`ARRAY_MIN_MEMBERS` members or a ``max_parallel`` cap is asked for
  (``%CAP``: sbatch(1) ``--array``, "a maximum number of simultaneously running tasks").
  Anything else keeps the one-job plan of :mod:`smartsim.commands.slurm_plan`.
* The script is the same few lines for any N. Each task reads line ``SLURM_ARRAY_TASK_ID`` of
  the table (bash's ``mapfile -s K -n 1``), evaluates it as bash words and ``exec``s the
  member's ``srun`` step: the task's exit status is the member's.
* A table line is ``cwd n_env K=V... srun-argv...``, each word quoted by :func:`table_word` so
  that bash gives back exactly that word and the line never holds a line break (``$'...'``
  with octal escapes for control characters). A NUL or a lone surrogate cannot be written
  (:func:`table_problems`).
* squeue lists array tasks one per line with ``-r`` (``123_7``); without it, and in sacct for
  tasks that never ran, pending tasks are one range row ``123_[8-499%4]``. Both are read.
* squeue's ``exit_code`` (``-O``) is the task's wait status while slurmctld remembers the task
  (``MinJobAge``): without accounting it is what says how a member ended (*verified*: a task
  exiting 2 shows ``FAILED|512``).
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Mapping, Sequence
from typing import Final

import attrs
from returns.result import Failure, Result, Success

from smartsim.commands._types import Submission
from smartsim.commands.launch import LaunchContext
from smartsim.commands.plan import Launch, World, output_paths
from smartsim.commands.script import batch_script, directive_line, quote, unwritable
from smartsim.commands.slurm import (
    _batch_directives,
    sbatch_command,
    slurm_status,
    srun_command,
    validate_sbatch,
)
from smartsim.errors import BadValue, Invalid, ValidationError
from smartsim.status import JobState, Status
from smartsim.values import ArraySpec, BatchSettings, Ensemble, JobId, Model, RunSettings

__all__ = [
    "ARRAY_FACT",
    "ARRAY_MIN_MEMBERS",
    "array_fallback",
    "array_job_state",
    "array_member_states",
    "array_needs_accounting",
    "array_squeue_argv",
    "array_table",
    "parse_array_squeue",
    "parse_indices",
    "plan_array",
    "table_problems",
    "table_row",
    "table_word",
]

#: From this many members a batch ensemble is an array even without a cap: one job sized for
#: all members at once would ask for resources a cluster rarely has free (or at all).
ARRAY_MIN_MEMBERS: Final = 64

#: The ``Launch.facts`` key that marks an array launch (its value: the number of tasks).
ARRAY_FACT: Final = "slurm_array"

# --------------------------------------------------------------------------- the table

#: Words bash reads back unchanged without quotes (and that are not reserved or assignments:
#: a table word is never the first word of a command).
_PLAIN: Final = re.compile(r"[A-Za-z0-9_@%+=:,./-]+")


def table_problems(field: str, text: str) -> list[ValidationError]:
    """Why ``text`` cannot be a word of the table: a NUL (no argument or variable can hold one)
    or a lone surrogate (UTF-8, the table's encoding, cannot hold one).

    >>> [e.character for e in table_problems("args[0]", "a\\x00b")], table_problems("f", "a\\nb")
    (['\\x00'], [])
    """
    return unwritable(field, text)


def _ansi_c(text: str) -> str:
    """bash's ``$'...'`` quoting (bash(1) QUOTING): backslash and single quote escaped, every
    control character as a 3-digit octal escape, so the word holds no line break."""
    out = ["$'"]
    for char in text:
        if char in "\\'":
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\{ord(char):03o}")
        else:
            out.append(char)
    out.append("'")
    return "".join(out)


def table_word(text: str) -> str:
    """One word of a table line, quoted so that bash reads back ``text`` exactly, on one line.

    >>> print(table_word("plain"), table_word("a b"), table_word("it's"), table_word(""))
    plain 'a b' 'it'"'"'s' ''
    >>> print(table_word("two\\nlines"), table_word("tab\\there \\\\ 'q'"))
    $'two\\012lines' $'tab\\011here \\\\ \\'q\\''

    Validation refuses what cannot be written (:func:`table_problems`) before anything is
    rendered.
    """
    if _PLAIN.fullmatch(text):
        return text
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        return _ansi_c(text)
    return shlex.quote(text)


def table_row(words: Sequence[str]) -> str:
    """One table line: ``words`` quoted and joined by spaces (no line break in it).

    >>> table_row(["/w/m_0", "1", "X=a b", "srun", "echo", "#1 $HOME"])
    "/w/m_0 1 'X=a b' srun echo '#1 $HOME'"
    """
    return " ".join(table_word(w) for w in words)


def _member_words(rs: RunSettings, ctx: LaunchContext) -> list[str]:
    """A member's table words: its directory, how many ``K=V`` follow, them, its srun argv."""
    command = srun_command(rs, ctx, in_batch=True)
    env = [f"{k}={v}" for k, v in command.env.items()]
    return [ctx.cwd or ".", str(len(env)), *env, *command.argv]


def array_table(members: Sequence[tuple[RunSettings, LaunchContext]]) -> str:
    """The table of an array job: line ``k`` runs member ``k`` (see the module rules).

    >>> rs = RunSettings(exe="echo", args=("a b",), env={"X": "1"}, run_command="srun")
    >>> print(array_table([(rs, LaunchContext(cwd="/w/m", name="m", stdout="/w/m/m.out"))]),
    ...       end="")
    /w/m 1 X=1 srun --job-name m --output /w/m/m.out --exact --mem=0 -N 1 -n 1 echo 'a b'
    """
    return "".join(table_row(_member_words(rs, ctx)) + "\n" for rs, ctx in members)


#: The lines every array task runs (``{table}`` is the table's path, quoted).
_TASK: Final = (
    "smartsim_table={table}",
    'mapfile -t -s "$SLURM_ARRAY_TASK_ID" -n 1 smartsim_row <"$smartsim_table" || exit 1',
    'if [ "${{#smartsim_row[@]}}" -ne 1 ]; then',
    '  echo "smartsim: no member for array task $SLURM_ARRAY_TASK_ID in $smartsim_table" >&2',
    "  exit 1",
    "fi",
    'eval "smartsim_member=(${{smartsim_row[0]}})"',
    'cd "${{smartsim_member[0]}}" || exit 1',
    "smartsim_env=${{smartsim_member[1]}}",
    'exec env "${{smartsim_member[@]:2:smartsim_env}}" "${{smartsim_member[@]:2+smartsim_env}}"',
)


def task_lines(table_path: str) -> tuple[str, ...]:
    """The script lines that run the member of this array task (no per-member line).

    >>> task_lines("/w/ens.array")[0]
    'smartsim_table=/w/ens.array'
    """
    return tuple(line.format(table=quote(table_path)) for line in _TASK)


# --------------------------------------------------------------------------- planning


def _as_srun(rs: RunSettings) -> RunSettings:
    return attrs.evolve(rs, run_command="srun") if rs.run_command is None else rs


def _resources(rs: RunSettings) -> RunSettings:
    """What must be equal for members to share one task shape: all but the words a parameter
    changes (program, arguments, environment)."""
    return attrs.evolve(_as_srun(rs), exe="", args=(), env={})


def _spelled_array(bs: BatchSettings) -> bool:
    return any(k.lstrip("-") in ("a", "array") for k in bs.batch_args)


def array_fallback(ensemble: Ensemble, max_parallel: int | None = None) -> str | None:
    """Why ``ensemble`` is not planned as one job array (``None``: it is).

    >>> rs = RunSettings(exe="echo", run_command="srun")
    >>> members = [Model(name=f"m_{i}", path=f"/w/m_{i}", run_settings=rs) for i in range(3)]
    >>> ens = Ensemble(name="e", members=members, path="/w", batch_settings=BatchSettings())
    >>> array_fallback(ens, 2) is None, array_fallback(ens).split(";")[0]
    (True, 'fewer than 64 members and no max_parallel')
    """
    bs = ensemble.batch_settings
    if bs is None:
        return "no batch settings: members are srun steps (in an allocation, or their own jobs)"
    if bs.array is not None or _spelled_array(bs):
        return "the batch settings ask for an array of their own (every task runs every member)"
    if not ensemble.members:
        return "no members"
    if max_parallel is None and len(ensemble.members) < ARRAY_MIN_MEMBERS:
        return "fewer than 64 members and no max_parallel; one job runs them all at once"
    first = ensemble.members[0].run_settings
    if first.mpmd:
        return "MPMD members"
    shape = _resources(first)
    for m in ensemble.members[1:]:
        if m.run_settings.mpmd or _resources(m.run_settings) != shape:
            return f"member {m.name!r} asks for other resources than {ensemble.members[0].name!r}"
    return None


def _cap_problems(max_parallel: object) -> list[ValidationError]:
    if max_parallel is None:
        return []
    if isinstance(max_parallel, bool) or not isinstance(max_parallel, int) or max_parallel < 1:
        return [BadValue("max_parallel", max_parallel, "an int >= 1 (or None: no cap)")]
    return []


def plan_array(
    ensemble: Ensemble,
    world: World,
    *,
    max_parallel: int | None = None,
    after: Sequence[str] = (),
) -> Result[Launch, Invalid]:
    """One ``sbatch --array=0-(N-1)[%max_parallel]`` job for a batch ensemble whose members share
    one shape (see :func:`array_fallback`): its script sized for one member, and the table.

    >>> rs = RunSettings(exe="echo", args=("{x}",), run_command="srun")
    >>> members = [Model(name=f"m_{i}", path=f"/w/m_{i}", run_settings=attrs.evolve(rs,
    ...            args=(str(i),))) for i in range(3)]
    >>> ens = Ensemble(name="e", members=members, path="/w", batch_settings=BatchSettings())
    >>> launch = plan_array(ens, World(exp_path="/w"), max_parallel=2).unwrap()
    >>> [line for line in launch.submission.script.splitlines() if "--array" in line]
    ['#SBATCH --array=0-2%2']
    >>> print(launch.files["/w/e.array"], end="")  # doctest: +NORMALIZE_WHITESPACE
    /w/m_0 0 srun --job-name m_0 --output /w/m_0/m_0.out --error /w/m_0/m_0.err --exact --mem=0
        -N 1 -n 1 echo 0
    /w/m_1 0 srun --job-name m_1 --output /w/m_1/m_1.out --error /w/m_1/m_1.err --exact --mem=0
        -N 1 -n 1 echo 1
    /w/m_2 0 srun --job-name m_2 --output /w/m_2/m_2.out --error /w/m_2/m_2.err --exact --mem=0
        -N 1 -n 1 echo 2
    """
    bs = ensemble.batch_settings
    assert bs is not None
    errors = _cap_problems(max_parallel)
    name, path, run = ensemble.name, ensemble.path, world.run_index
    stem = name if run == 0 else f"{name}.{run}"
    out, err = output_paths(path, name, run)
    members = [(_as_srun(m.run_settings), _member_context(m, run)) for m in ensemble.members]
    spec = ArraySpec(0, len(members) - 1, limit=max_parallel if not errors else None)
    job_bs = attrs.evolve(bs, array=spec)
    checked = validate_sbatch(members, job_bs, job_name=name, output=out, error=err)
    if isinstance(checked, Failure):
        errors += checked.failure().errors
    for i, (rs, ctx) in enumerate(members):
        for j, word in enumerate(_member_words(rs, ctx)):
            errors += table_problems(f"members[{i}].table[{j}]", word)
    if errors:
        return Failure(Invalid(tuple(attrs.evolve(e, field=f"{name}.{e.field}") for e in errors)))
    table_path = posixpath.join(path, f"{stem}.array")
    script_path = posixpath.join(path, f"{stem}.sbatch")
    directives = [
        directive_line("#SBATCH", words)
        for words in _batch_directives(job_bs, name, out, err, members[:1])
    ]
    script = batch_script("#!/bin/bash", directives, bs.preamble, task_lines(table_path))
    dependency = "afterok:" + ":".join(_dependency_id(a) for a in after) if after else None
    submit = sbatch_command(script_path, dependency=dependency, cwd=path)
    return Success(
        Launch(
            name=name,
            kind=ensemble.kind,
            members=tuple(m.name for m in ensemble.members),
            cwd=path,
            stdout=out,
            stderr=err,
            submission=Submission(script_path=script_path, script=script, submit=submit),
            files={table_path: array_table(members)},
            mkdirs=tuple(dict.fromkeys([path, *(m.path for m in ensemble.members)])),
            facts={ARRAY_FACT: str(len(members))},
        )
    )


def _dependency_id(text: str) -> str:
    parsed = JobId.parse(text)
    return str(parsed.unwrap()) if isinstance(parsed, Success) else text


def _member_context(model: Model, run_index: int) -> LaunchContext:
    out, err = output_paths(model.path, model.name, run_index)
    return LaunchContext(cwd=model.path, name=model.name, stdout=out, stderr=err)


# --------------------------------------------------------------------------- squeue / sacct

#: squeue ``-O`` fields: the id as Slurm names an array task (``123_7``, a plain job's id
#: otherwise), the state, the wait status, the reason last (free text). ``:|`` is each
#: field's suffix (squeue(1) ``--Format``: ``type[:[.][size][suffix]]``).
ARRAY_SQUEUE_FORMAT: Final = "JobArrayID:|,State:|,exit_code:|,Reason:"


def array_squeue_argv(ids: Sequence[JobId], *, clusters: str | None = None) -> tuple[str, ...]:
    """``squeue`` argv listing each array task on its own line (``-r``), every state, with the
    exit status: one call for every batch job of a poll.

    >>> array_squeue_argv([JobId(12), JobId(13)])  # doctest: +NORMALIZE_WHITESPACE
    ('squeue', '-h', '-r', '-t', 'all', '-O', 'JobArrayID:|,State:|,exit_code:|,Reason:',
     '--jobs=12,13')
    """
    cluster = ("-M", clusters) if clusters else ()
    jobs = ",".join(dict.fromkeys(str(j.job) for j in ids))
    return ("squeue", *cluster, "-h", "-r", "-t", "all", "-O", ARRAY_SQUEUE_FORMAT,
            f"--jobs={jobs}")  # fmt: skip


def _wait_status(text: str) -> tuple[int | None, int | None]:
    """``(returncode, signal)`` from a wait(2) status as squeue prints it (``512``: exit 2;
    ``15``: killed by signal 15, returncode -15)."""
    text = text.strip()
    if not text.isdigit() or not text.isascii():
        return None, None
    status = int(text)
    sig = status & 0x7F
    if sig:
        return -sig, sig
    return (status >> 8) & 0xFF, None


#: An id squeue prints for a job's row: ``12``, ``12_3``, ``12_[4-7%2]``, ``12+1``.
_ROW_ID: Final = re.compile(r"\d+(?:_\d+|_\[[0-9,:%-]+\]|\+\d+)?")


def parse_array_squeue(text: str) -> Result[dict[str, JobState], str]:
    """States by id from :func:`array_squeue_argv`'s output (``123_7``, ``123_[8-9%2]``,
    ``124``); a final state carries the return code from the wait status.

    >>> got = parse_array_squeue("5_1|FAILED|512|NonZeroExitCode\\n5_[2-9%2]|PENDING|0|"
    ...                          "JobArrayTaskLimit\\n").unwrap()
    >>> got["5_1"].returncode, got["5_[2-9%2]"].reason
    (2, 'JobArrayTaskLimit')
    """
    out: dict[str, JobState] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("CLUSTER: "):
            continue
        fields = line.split("|", 3)
        ok = len(fields) == 4 and _ROW_ID.fullmatch(fields[0].strip()) is not None
        if not ok or not fields[1].strip():
            return Failure(f"unexpected squeue line: {line!r}")
        raw = fields[1].strip()
        status = slurm_status(raw)
        code, sig = _wait_status(fields[2]) if status.is_final else (None, None)
        if status is Status.CANCELLED and code == 0:
            code = None  # cancelled before it ran: there is no exit status
        reason = fields[3].strip()
        reason = "" if reason in ("None", "(null)") else reason
        out[fields[0].strip()] = JobState(status, raw, code, sig, reason)
    return Success(out)


_RANGE: Final = re.compile(r"(\d+)(?:-(\d+)(?::(\d+))?)?")


def parse_indices(text: str) -> frozenset[int] | None:
    """The task indices of a range as squeue/sacct print it (``8-499%4``, ``1,3-7:2``);
    ``None`` when it is not one.

    >>> sorted(parse_indices("1,3-7:2%4")), parse_indices("x")
    ([1, 3, 5, 7], None)
    """
    body = text.split("%", 1)[0]
    out: set[int] = set()
    for part in body.split(","):
        match = _RANGE.fullmatch(part)
        if match is None:
            return None
        lo = int(match[1])
        hi = int(match[2]) if match[2] else lo
        step = int(match[3]) if match[3] else 1
        if hi < lo or step < 1 or hi - lo > 10_000_000:
            return None
        out.update(range(lo, hi + 1, step))
    return frozenset(out)


def _by_task(
    job: int,
    rows: Mapping[str, JobState] | Sequence[tuple[str, JobState]],
    steps: dict[int, JobState] | None = None,
) -> tuple[dict[int, JobState], list[tuple[frozenset[int], JobState]]]:
    """Task-level rows of array ``job``: by index, and the range rows; each task's step ``0``
    (the member's own ``srun``) goes to ``steps`` when given."""
    items = rows.items() if isinstance(rows, Mapping) else rows
    tasks: dict[int, JobState] = {}
    ranges: list[tuple[frozenset[int], JobState]] = []
    # ids as squeue/sacct print an array's rows: J_k, J_k.step, J_[range] (J_[range].step);
    # read by hand, not by JobId.parse: a poll of a 10^4-task array reads 3*10^4 of them
    prefix = f"{job}_"
    cut = len(prefix)
    for rid, state in items:
        if not rid.startswith(prefix):
            continue
        rest = rid[cut:]
        if rest.startswith("["):
            body, closed, after = rest[1:].partition("]")
            if closed and not after:
                indices = parse_indices(body)
                if indices is not None:
                    ranges.append((indices, state))
            continue
        task, dot, step = rest.partition(".")
        if not (task.isdigit() and task.isascii()):
            continue
        if not dot:
            tasks[int(task)] = state
        elif steps is not None and step == "0":
            steps[int(task)] = state
    return tasks, ranges


def _in_ranges(k: int, ranges: Sequence[tuple[frozenset[int], JobState]]) -> JobState | None:
    return next((s for indices, s in ranges if k in indices), None)


def array_member_states(
    job: JobId,
    members: Sequence[str],
    queued: Mapping[str, JobState],
    accounted: Sequence[tuple[str, JobState]] | None,
    *,
    accounting: bool | None,
    known: Mapping[str, JobState],
    stopped: bool = False,
) -> dict[str, JobState]:
    """Every member's state (member ``k`` is task ``k``), each with its id ``job_k``:

    * accounting's final row of its task (the exit status of the task's step ``0``, the
      member's own ``srun``, when there is one) -- or of the range it was in, which never ran
      (no exit status then);
    * else squeue's row: pending/running as listed; a final one is final at once without
      accounting (its exit status is squeue's), but with accounting waits (RUNNING,
      ``COMPLETING``) for sacct's row, which has Slurm's own start and end;
    * else what is known: a member already final stays so; one no longer listed and without
      accounting is ``UNKNOWN`` -- its end was not seen and nothing records it.

    >>> q = {"7_0": JobState(Status.FAILED, "FAILED", 2), "7_[1-2%1]": JobState(Status.PENDING,
    ...      "PENDING", reason="JobArrayTaskLimit")}
    >>> got = array_member_states(JobId(7), ["a", "b", "c"], q, None, accounting=False, known={})
    >>> [(s.status.value, s.returncode, s.job_id) for s in got.values()]
    [('FAILED', 2, '7_0'), ('PENDING', None, '7_1'), ('PENDING', None, '7_2')]
    """
    q_tasks, q_ranges = _by_task(job.job, queued)
    a_steps: dict[int, JobState] = {}
    a_tasks, a_ranges = _by_task(job.job, accounted or (), a_steps)
    out: dict[str, JobState] = {}
    for k, name in enumerate(members):
        before = known.get(name)
        if before is not None and before.status.is_final:
            out[name] = before
            continue
        tid = f"{job.job}_{k}" if job.cluster is None else f"{job.job}_{k};{job.cluster}"
        row = a_tasks.get(k)
        step = a_steps.get(k)
        step_runs = step is not None and not step.status.is_final
        if row is not None and row.status.is_final and step_runs:
            # slurmctld records a cancelled task's end when it cancels it, its running step's
            # end only once the step's tasks are dead: until then the member's exit is not
            # known, and the member has not stopped
            out[name] = JobState(
                Status.RUNNING, "COMPLETING", job_id=tid,
                reason=f"the task ended {row.raw}; waiting for its step's exit to be recorded",
            )  # fmt: skip
            continue
        if row is not None and row.status.is_final:
            # sacct's Reason of an ended task is why it last waited (JobArrayTaskLimit...),
            # not how it ended
            out[name] = attrs.evolve(row, job_id=tid, reason="")
            if step is not None and step.status.is_final:
                # the member's exit is its srun step's: a cancelled task reads 0:0, its step
                # 0:15 (*verified* on 22.05)
                out[name] = attrs.evolve(out[name], returncode=step.returncode, signal=step.signal)
            elif row.status is Status.CANCELLED and row.returncode == 0:
                out[name] = attrs.evolve(
                    out[name], returncode=None, signal=None,
                    reason="cancelled before its step started: no exit status",
                )  # fmt: skip
            continue
        never_ran = _in_ranges(k, a_ranges)
        if never_ran is not None and never_ran.status.is_final:
            out[name] = attrs.evolve(
                never_ran, returncode=None, signal=None, start=None, end=None, job_id=tid,
                reason=f"{never_ran.raw} before it started: no exit status",
            )  # fmt: skip
            continue
        listed = q_tasks.get(k) or _in_ranges(k, q_ranges)
        if listed is not None:
            if not listed.status.is_final:
                same = before is not None and (before.raw, before.reason, before.status) == (
                    listed.raw, listed.reason, listed.status
                )  # fmt: skip
                out[name] = (
                    before if same and before is not None else attrs.evolve(listed, job_id=tid)
                )
            elif accounting:
                out[name] = JobState(
                    Status.RUNNING, "COMPLETING", job_id=tid,
                    reason=f"ended {listed.raw}; waiting for accounting to record it",
                )  # fmt: skip
            elif listed.returncode is None and listed.status is not Status.COMPLETED:
                out[name] = attrs.evolve(
                    listed, job_id=tid,
                    reason=listed.reason or f"{listed.raw}; no exit status was recorded",
                )  # fmt: skip
            else:
                code = 0 if listed.status is Status.COMPLETED else listed.returncode
                out[name] = attrs.evolve(listed, returncode=code, job_id=tid)
            continue
        if before is not None and before.status is not Status.PENDING and accounting is False:
            out[name] = JobState(
                Status.UNKNOWN, job_id=tid,
                reason="no longer in squeue and no accounting: how it ended is not known",
            )  # fmt: skip
        elif stopped and accounting is False:
            out[name] = JobState(
                Status.CANCELLED, "CANCELLED", job_id=tid,
                reason="cancelled by smartsim; no longer in squeue, no accounting",
            )  # fmt: skip
        else:
            out[name] = before or JobState(
                Status.PENDING, "PENDING", job_id=tid, reason="submitted; not listed yet"
            )
    return out


def array_job_state(states: Sequence[JobState]) -> JobState:
    """The array job's own state from its members': running while one runs, pending while one
    waits (with its reason), unknown while one is; once all are final, failed if one failed,
    else cancelled if one was, else completed (return code 0).

    >>> done, bad = JobState(Status.COMPLETED, "COMPLETED", 0), JobState(Status.FAILED, "FAILED", 3)
    >>> array_job_state([done, bad]).raw, array_job_state([done, done]).returncode
    ('FAILED', 0)
    """
    for status in (Status.RUNNING, Status.PENDING, Status.UNKNOWN):
        first = next((s for s in states if s.status is status), None)
        if first is not None:
            count = sum(1 for s in states if s.status is status)
            reason = f"{count} of {len(states)} members {status}"
            if first.reason:
                reason += f" ({first.reason})"
            return JobState(status, first.raw or status.value, reason=reason)
    for status in (Status.FAILED, Status.CANCELLED):
        bad = [s for s in states if s.status is status]
        if bad:
            return JobState(
                status, bad[0].raw, bad[0].returncode, bad[0].signal,
                f"{len(bad)} of {len(states)} members {status}",
            )  # fmt: skip
    return JobState(Status.COMPLETED, "COMPLETED", 0)


def array_needs_accounting(
    job: JobId,
    members: Sequence[str],
    queued: Mapping[str, JobState],
    known: Mapping[str, JobState],
) -> bool:
    """Whether only sacct can tell more about array ``job``: a member not final yet whose task
    squeue lists as ended, or no longer lists at all.

    >>> q = {"7_0": JobState(Status.RUNNING, "RUNNING"), "7_1": JobState(Status.COMPLETED, "CD")}
    >>> needs = [array_needs_accounting(JobId(7), names, q, {}) for names in (["a"], ["a", "b"])]
    >>> needs
    [False, True]
    """
    tasks, ranges = _by_task(job.job, queued)
    for k, name in enumerate(members):
        before = known.get(name)
        if before is not None and before.status.is_final:
            continue
        listed = tasks.get(k) or _in_ranges(k, ranges)
        if listed is None or listed.status.is_final:
            return True
    return False
