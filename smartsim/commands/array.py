"""Job arrays, written once for every batch scheduler: an ensemble whose members differ only in
their arguments, environment and parameters becomes **one** array submission whose tasks each
run one member.

The shape (pure, no I/O):

* :func:`array_members` decides whether an ensemble can be an array: no ensemble
  ``batch_settings`` (those ask for one allocation running every member at once), at least two
  members, every member with the same batch settings (none of them an array itself), the same
  run settings but for ``args`` and ``env``, no MPMD parts. Anything else falls back to one job
  per member (today's plan).
* :func:`member_table` writes the generated **table**: one line per member, in index order;
  each line is the member's working directory, output file, error file, exit-status file, the
  number of environment changes, the ``NAME=VALUE`` changes and the argv, every field as a bash
  ANSI-C word (``$'...'``) in which every byte that is not printable ASCII, and every quote and
  backslash, is an escape. So a line holds no newline, quote or ``$`` of its own, whatever the
  member's values are (newlines, quotes, ``#``, ``$``, ``%t``, ``{cc}``, non-ASCII), and bash
  reads it back byte for byte (:func:`ansi_word`).
* :func:`task_lines` are the few script lines (the same for 2 or 10\\ :sup:`4` members) with
  which a task finds its member: the scheduler's index variable minus its base is the line
  number; ``mapfile`` reads that one line, ``eval`` of ``f=( <line> )`` turns the ``$'...'``
  words back into an array (nothing in them expands), then the member runs in a subshell with
  its directory, environment and redirections, and its exit status is written to its
  exit-status file and is the task's.
* :class:`ArraySyntax` is what differs per scheduler, in that scheduler's module: the index
  variable and its base, the smallest array, whether it has a cap on running tasks (and if not,
  why), and the id a task has in status output (PBS ``123[4].server``, LSF ``123[4]``, Grid
  Engine ``123.4``; Flux: one job id per copy).

The effects driver (:mod:`smartsim.effects.scheduler`) follows each task as its own job id (one
status query per poll for the whole array) and reports each member's state.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Callable, Sequence
from typing import Final, final

import attrs

from smartsim.commands._types import Command, Handle
from smartsim.commands.launch import LaunchContext, launch_command
from smartsim.commands.plan import output_paths
from smartsim.errors import BadValue, ValidationError
from smartsim.values import Ensemble, Model

#: ``Handle.extra`` keys of an array job: its members' names in index order (``\n``-separated:
#: names hold no newline), its first index, the tasks' own job ids where each is a job (Flux),
#: and, on a task's handle, the array's job id.
ARRAY_MEMBERS, ARRAY_BASE, ARRAY_IDS, ARRAY_OF = (
    "array:members",
    "array:base",
    "array:ids",
    "array:of",
)


@final
@attrs.frozen(kw_only=True, slots=False)
class ArraySyntax:
    """How one scheduler runs an array (the rest is written once, here)."""

    #: The variable each task finds its index in (``SGE_TASK_ID``).
    index_var: str
    #: The first index (``0`` for PBS ``-J 0-(N-1)`` and Flux ``--cc=0-(N-1)``, ``1`` for LSF
    #: and Grid Engine, whose indices are positive).
    base: int
    #: The id a task has in the scheduler's status output, from the array's id and an index;
    #: ``None`` where each task is a job of its own whose id the submit tool printed (Flux).
    task_id: Callable[[str, int], str] | None
    #: ``None`` when the scheduler caps running tasks; else why it cannot, in words (a cap
    #: asked for is then refused, naming this).
    no_cap: str | None = None
    #: The fewest members an array may have (PBS: ``-J X-Y`` needs ``Y > X``).
    min_size: int = 2
    #: The task ids the submit tool printed, in index order, where each task is a job of its
    #: own (``task_id`` is ``None``); ``None``: the output is not such a list.
    submitted: Callable[[str], list[str] | None] | None = None


def _shape(model: Model) -> object:
    rs = model.run_settings
    return (attrs.evolve(rs, args=(), env={}), model.batch_settings)


def array_members(entity: Model | Ensemble) -> tuple[Model, ...] | None:
    """The members of ``entity`` when it can run as one array (see the module text), else
    ``None`` (one job per member).

    >>> from smartsim.values import RunSettings
    >>> ms = [Model(name=f"m{i}", path=f"/e/m{i}",
    ...             run_settings=RunSettings(exe="a", args=(str(i),))) for i in range(2)]
    >>> len(array_members(Ensemble(name="e", path="/e", members=ms)))
    2
    >>> odd = Model(name="x", path="/e/x", run_settings=RunSettings(exe="b"))
    >>> array_members(Ensemble(name="e", path="/e", members=(*ms, odd))) is None
    True
    """
    if not isinstance(entity, Ensemble) or entity.batch_settings is not None:
        return None
    members = entity.members
    if len(members) < 2:
        return None
    first = members[0]
    if first.run_settings.mpmd:
        return None
    if first.batch_settings is not None and first.batch_settings.array is not None:
        return None
    shape = _shape(first)
    if any(_shape(m) != shape for m in members[1:]):
        return None
    return members


_PLAIN: Final = frozenset(
    'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-+=,./:@%^~!#$&*()[]{}<>?;|`"'
)


def ansi_word(text: str) -> str:
    """``text`` as one bash ANSI-C quoted word that reads back exactly, on one line: a quote
    and a backslash are escaped, and every other byte that is not printable ASCII is written as
    ``\\xHH`` (the UTF-8 bytes; undecodable file-name bytes as themselves), so the word does not
    depend on the locale.

    >>> print(ansi_word("a 'b'\\n$HOME"), ansi_word("é"), ansi_word(""))
    $'a \\'b\\'\\x0a$HOME' $'\\xc3\\xa9' $''
    """
    out = ["$'"]
    for ch in text:
        if ch in _PLAIN:
            out.append(ch)
        elif ch == "'":
            out.append("\\'")
        elif ch == "\\":
            out.append("\\\\")
        else:
            out.extend(f"\\x{b:02x}" for b in ch.encode("utf-8", "surrogateescape"))
    out.append("'")
    return "".join(out)


@final
@attrs.frozen(kw_only=True, slots=False)
class Row:
    """One member as a task runs it."""

    cwd: str
    stdout: str
    stderr: str
    exit_file: str
    env: tuple[tuple[str, str], ...]
    argv: tuple[str, ...]

    def fields(self) -> tuple[str, ...]:
        return (
            self.cwd,
            self.stdout,
            self.stderr,
            self.exit_file,
            str(len(self.env)),
            *(f"{k}={v}" for k, v in self.env),
            *self.argv,
        )


def member_row(model: Model, run_index: int, *, direct: bool = False) -> Row:
    """The row of a valid ``model`` for run ``run_index`` (its files by the history scheme);
    ``direct``: its program itself (the task is the scheduler's launch of it, Flux), else its
    launch command."""
    out, err = output_paths(model.path, model.name, run_index)
    rs = model.run_settings
    if direct:
        command = Command(argv=(rs.exe, *rs.args), env=rs.env)
    else:
        ctx = LaunchContext(cwd=model.path, name=model.name, stdout=out, stderr=err)
        command = launch_command(rs, ctx)
    return Row(
        cwd=model.path,
        stdout=out,
        stderr=err,
        exit_file=out[: -len(".out")] + ".rc",
        env=tuple(command.env.items()),
        argv=command.argv,
    )


def member_table(rows: Sequence[Row]) -> str:
    """The table: line ``k`` (from 1) is member ``k``'s fields as :func:`ansi_word` words.

    >>> row = Row(cwd="/e/m", stdout="/e/m/m.out", stderr="/e/m/m.err", exit_file="/e/m/m.rc",
    ...           env=(("A", "x y"),), argv=("echo", "it's"))
    >>> print(member_table([row]), end="")
    $'/e/m' $'/e/m/m.out' $'/e/m/m.err' $'/e/m/m.rc' $'1' $'A=x y' $'echo' $'it\\'s'
    """
    return "".join(" ".join(ansi_word(f) for f in row.fields()) + "\n" for row in rows)


def row_problems(field: str, row: Row) -> list[ValidationError]:
    """What a table row cannot carry: a NUL (no argv, environment or path can)."""
    for text in row.fields():
        if "\x00" in text:
            return [BadValue(field, text, "text without NUL (a task's table row)")]
    return []


def array_files(
    members: Sequence[Model],
    stem: str,
    syntax: ArraySyntax,
    run_index: int,
    *,
    direct: bool = False,
) -> tuple[dict[str, str], tuple[str, ...], list[ValidationError]]:
    """What an array job of ``members`` needs beside its directives: its files (the table,
    ``<stem>.tasks``), the script lines a task runs (:func:`task_lines`), and what the table
    cannot carry (:func:`row_problems`). ``direct`` as for :func:`member_row`.

    >>> from smartsim.values import RunSettings
    >>> m = Model(name="m", path="/e/m", run_settings=RunSettings(exe="echo", args=("a",)))
    >>> syntax = ArraySyntax(index_var="I", base=0, task_id=None)
    >>> files, body, errors = array_files([m], "/e/ens", syntax, 0)
    >>> list(files), body[0], errors
    (['/e/ens.tasks'], 'mapfile -t -s "$((I - 0))" -n 1 smartsim_row </e/ens.tasks || exit 1', [])
    """
    rows = [member_row(m, run_index, direct=direct) for m in members]
    errors: list[ValidationError] = []
    for i, row in enumerate(rows):
        errors += row_problems(f"ensemble.members[{i}]", row)
    table = stem + ".tasks"
    return {table: member_table(rows)}, task_lines(syntax, table), errors


def task_lines(syntax: ArraySyntax, table: str) -> tuple[str, ...]:
    """The script lines with which a task runs its member (see the module text).

    >>> lines = task_lines(ArraySyntax(index_var="SGE_TASK_ID", base=1, task_id=None), "/e/t")
    >>> print(lines[0])
    mapfile -t -s "$((SGE_TASK_ID - 1))" -n 1 smartsim_row </e/t || exit 1
    >>> print(*lines[2:4], *lines[5:], sep="\\n")
    eval "smartsim_f=(${smartsim_row[0]})"
    smartsim_n=${smartsim_f[4]}
    smartsim_rc=$?
    echo "$smartsim_rc" >"${smartsim_f[3]}"
    exit "$smartsim_rc"
    """
    var = syntax.index_var
    quoted = shlex.quote(posixpath.normpath(table))
    return (
        f'mapfile -t -s "$(({var} - {syntax.base}))" -n 1 smartsim_row <{quoted} || exit 1',
        f'if [ "${{#smartsim_row[@]}}" -ne 1 ]; then echo "smartsim: no member for task '
        f'${var}" >&2; exit 1; fi',
        'eval "smartsim_f=(${smartsim_row[0]})"',
        "smartsim_n=${smartsim_f[4]}",
        '(cd -- "${smartsim_f[0]}" || exit 1; '
        'for smartsim_kv in "${smartsim_f[@]:5:smartsim_n}"; do export -- "$smartsim_kv"; done; '
        'exec -- "${smartsim_f[@]:5+smartsim_n}") >"${smartsim_f[1]}" 2>"${smartsim_f[2]}"',
        "smartsim_rc=$?",
        'echo "$smartsim_rc" >"${smartsim_f[3]}"',
        'exit "$smartsim_rc"',
    )


def array_extra(base: int, members: Sequence[str]) -> dict[str, str]:
    """The facts an array job's handle records (:data:`ARRAY_BASE` ...)."""
    return {ARRAY_BASE: str(base), ARRAY_MEMBERS: "\n".join(members)}


def is_array(handle: Handle) -> bool:
    return handle.get(ARRAY_MEMBERS) is not None


def task_handles(handle: Handle, syntax: ArraySyntax | None) -> tuple[Handle, ...]:
    """One handle per task of array job ``handle`` (its member's name, the task's id, the
    array's other facts and :data:`ARRAY_OF`); ``()`` for a job that is not an array.

    >>> h = Handle(launcher="sge", name="e", job_id="7.1-2:1",
    ...            extra=(("tool:qstat", "qstat"), *array_extra(1, ["a", "b"]).items()))
    >>> syntax = ArraySyntax(index_var="SGE_TASK_ID", base=1, task_id=lambda j, i: f"7.{i}")
    >>> [(t.name, t.job_id) for t in task_handles(h, syntax)]
    [('a', '7.1'), ('b', '7.2')]
    """
    members_text = handle.get(ARRAY_MEMBERS)
    base_text = handle.get(ARRAY_BASE)
    if syntax is None or members_text is None or base_text is None or not base_text.isdigit():
        return ()
    members = members_text.split("\n")
    keep = tuple((k, v) for k, v in handle.extra if k not in (ARRAY_MEMBERS, ARRAY_IDS))
    if syntax.task_id is None:
        ids = (handle.get(ARRAY_IDS) or "").split()
        if len(ids) != len(members):
            return ()
    else:
        base = int(base_text)
        ids = [syntax.task_id(handle.job_id, base + i) for i in range(len(members))]
    extra = (*keep, (ARRAY_OF, handle.job_id))
    return tuple(
        Handle(launcher=handle.launcher, name=name, job_id=job, extra=extra)
        for name, job in zip(members, ids, strict=True)
    )


__all__ = [
    "ARRAY_BASE",
    "ARRAY_IDS",
    "ARRAY_MEMBERS",
    "ARRAY_OF",
    "ArraySyntax",
    "Row",
    "ansi_word",
    "array_extra",
    "array_files",
    "array_members",
    "is_array",
    "member_row",
    "member_table",
    "row_problems",
    "task_handles",
    "task_lines",
]
