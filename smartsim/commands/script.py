"""Shell text for batch scripts: the one place that turns command values into script lines.

Rules of this module:

* Words reach ``bash`` through :func:`shlex.quote` only: every argv element comes back as the
  same single word, whatever it holds (spaces, quotes, ``$``, ``#``, newlines, unicode).
* Environment changes are written as an ``env K=V`` prefix of the one command that needs them,
  never as ``export`` lines: the values reach that command even where the submitting
  environment (which ``sbatch --export=ALL`` hands to the script) sets the same names, and they
  do not leak into the commands around it.
* Directive lines (``#SBATCH``, ``#PBS``, ...) are comments to bash; each scheduler re-reads them
  with its own lexer. :func:`directive_word` quotes for Slurm's lexer; other schedulers pass their
  own ``quote`` function to :func:`directive_line`.

* Every scheduler re-reads the whole script before bash does. What each reader splits, refuses
  or rewrites is written down once per dialect as a :class:`ScriptReader` (``pbs.READER``,
  ``lsf.READER``, ``sge.READER``, ``flux.READER``, ``slurm.READER``), and every planner of that
  dialect checks every text it writes into a script with :meth:`ScriptReader.problems`.

Scheduler modules build the pieces and call :func:`batch_script`; nothing here knows a scheduler.
"""

from __future__ import annotations

import functools
import re
import shlex
from collections.abc import Callable, Iterable, Sequence
from typing import Final

import attrs

from smartsim._frozen import fieldwise
from smartsim._lazy import LazyPattern
from smartsim.commands._types import Command, simple_command
from smartsim.errors import ForbiddenCharacter, ValidationError

__all__ = [
    "ScriptReader",
    "background_and_wait",
    "batch_script",
    "directive_line",
    "directive_word",
    "quote",
    "shell_line",
]

#: bash quoting of one word (``shlex.quote``: single quotes, ``'"'"'`` for embedded ones).
quote: Final = shlex.quote


def shell_line(command: Command, *, background: bool = False) -> str:
    """One bash command line (plus a here-document if ``command.stdin`` is set) that runs
    ``command`` exactly: its directory, environment changes, argv and redirections.

    >>> print(shell_line(Command(argv=("srun", "-n", "2", "echo", "a b"), env={"X": "1 2"},
    ...                          cwd="/w/m", stdout="m.out", stderr="m.err"), background=True))
    cd /w/m && env 'X=1 2' srun -n 2 echo 'a b' >m.out 2>m.err &

    The ``cd`` and the command form one and-list, so a failed ``cd`` fails the line and, with
    ``background``, the directory change stays inside the background job. ``stdout == stderr``
    is written ``>f 2>&1`` (two ``>f`` would truncate each other).
    """
    line = simple_command(command.argv, command.env)
    if command.stdout is not None:
        line += f" >{quote(command.stdout)}"
    if command.stderr is not None:
        if command.stderr == command.stdout:
            line += " 2>&1"
        else:
            line += f" 2>{quote(command.stderr)}"
    if command.cwd is not None:
        line = f"cd {quote(command.cwd)} && {line}"
    body = ""
    if command.stdin is not None:
        marker, body = _heredoc(command.stdin)
        line += f" <<'{marker}'"
    if background:
        line += " &"
    return line + body


def _heredoc(text: str) -> tuple[str, str]:
    """A quoted here-document marker absent from ``text``, and the body that follows the line.
    (A here-document always ends its text with a newline; ``text`` without one gains it.)"""
    body = text if text.endswith("\n") else text + "\n"
    marker = "SMARTSIM_STDIN"
    lines = set(body.split("\n"))
    while marker in lines:
        marker += "_"
    return marker, f"\n{body}{marker}"


_PIDS: Final = "smartsim_pids"


def background_and_wait(commands: Iterable[Command]) -> tuple[str, ...]:
    """Script lines that start every command in the background, wait for each one, and exit
    with the last non-zero status among them (``0`` when all succeeded).

    >>> for line in background_and_wait([Command(argv=("a",)), Command(argv=("b", "x y"))]):
    ...     print(line)
    smartsim_pids=()
    a &
    smartsim_pids+=("$!")
    b 'x y' &
    smartsim_pids+=("$!")
    smartsim_rc=0
    for smartsim_pid in "${smartsim_pids[@]}"; do
      wait "$smartsim_pid" || smartsim_rc=$?
    done
    exit "$smartsim_rc"

    A bare ``wait`` would return 0 whatever the members did; waiting on each recorded ``$!``
    returns each member's own status (bash(1), ``wait``), so the batch job fails when one did.
    """
    lines = [f"{_PIDS}=()"]
    for command in commands:
        lines.append(shell_line(command, background=True))
        lines.append(f'{_PIDS}+=("$!")')
    lines += [
        "smartsim_rc=0",
        f'for smartsim_pid in "${{{_PIDS}[@]}}"; do',
        '  wait "$smartsim_pid" || smartsim_rc=$?',
        "done",
        'exit "$smartsim_rc"',
    ]
    return tuple(lines)


# --------------------------------------------------------------------------- directives

#: Words Slurm's directive lexer reads back unchanged without quotes (verified against
#: sbatch 22.05.8, ``sbatch -vvv``: "Found in script, argument ..."). A leading ':' is fatal
#: unquoted ("Unexpected `:`"), so it is allowed only after the first character.
_PLAIN: Final = LazyPattern(r"[A-Za-z0-9_@%+=,./-][A-Za-z0-9_@%+=:,./-]*")
#: Unquoted, these words separate heterogeneous components (``#SBATCH hetjob``) and vanish.
_SEPARATORS: Final = frozenset({"hetjob", "packjob"})


def directive_word(word: str) -> str:
    """Quote one word for Slurm's ``#SBATCH`` lexer so that it reads back ``word`` exactly.

    sbatch tokenises directive lines itself (``_get_argument`` in ``src/sbatch/opt.c``):
    whitespace separates words; ``'...'`` and ``"..."`` group; a backslash escapes the next
    character *also inside quotes* (so ``shlex.quote`` is wrong for ``\\``); an unquoted ``#``
    ends the line; there is no ``$`` expansion. Hence: plain words as they are, anything else
    in double quotes with ``\\`` and ``"`` escaped.

    >>> directive_word("debug"), directive_word("a b#c"), directive_word('say "hi" \\\\o/')
    ('debug', '"a b#c"', '"say \\\\"hi\\\\" \\\\\\\\o/"')

    The empty word cannot be written (``""`` ends sbatch's scan of the line); validation
    refuses empty values before anything is rendered.
    """
    if _PLAIN.fullmatch(word) and word.lower() not in _SEPARATORS:
        return word
    escaped = word.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def directive_line(
    prefix: str, words: Sequence[str], *, quote_word: Callable[[str], str] = directive_word
) -> str:
    """One directive line: ``prefix`` then every word quoted with ``quote_word``.

    >>> directive_line("#SBATCH", ["-C", "gpu"])
    '#SBATCH -C gpu'
    >>> directive_line("#SBATCH", ["--comment", "run #3"])
    '#SBATCH --comment "run #3"'
    """
    return " ".join([prefix, *(quote_word(w) for w in words)])


def batch_script(
    shebang: str,
    directives: Sequence[str],
    preamble: Sequence[str] = (),
    body_lines: Sequence[str] = (),
) -> str:
    """A whole batch script: the shebang line, the directive lines, the preamble lines written
    as they are, then the body lines; newline-terminated.

    Directives come first and together because schedulers stop reading them at the first
    command line (sbatch(1): "before any executable commands").

    >>> print(batch_script("#!/bin/bash", ["#SBATCH -N 2"], ["module load x"], ["srun hostname"]))
    #!/bin/bash
    #SBATCH -N 2
    module load x
    srun hostname
    <BLANKLINE>
    """
    return "\n".join([shebang, *directives, *preamble, *body_lines]) + "\n"


# --------------------------------------------------------------------------- script readers

#: ``os.fsdecode`` turns each byte of a non-UTF-8 name into a lone surrogate (U+DC80..U+DCFF);
#: other lone surrogates come from broken text. UTF-8 cannot encode either.
_SURROGATE: Final = LazyPattern("[\ud800-\udfff]")


def unwritable(field: str, text: str) -> list[ValidationError]:
    """What no script file can carry for any tool: a NUL (no argument, variable or C string
    holds one) and a lone surrogate (UTF-8, the file's encoding, cannot hold one).

    >>> [e.character for e in unwritable("f", "a\\x00b\\ud800")], unwritable("f", "a\\nb")
    (['\\x00', '\\ud800'], [])
    """
    errors: list[ValidationError] = []
    if "\x00" in text:
        errors.append(ForbiddenCharacter(field, text, "\x00"))
    surrogate = _SURROGATE.search(text)
    if surrogate is not None:
        errors.append(ForbiddenCharacter(field, text, surrogate.group()))
    return errors


@fieldwise
@attrs.frozen(kw_only=True, slots=False, eq=False, repr=False)
class ScriptReader:
    """What one scheduler's script reader does to the text of a job script, as data: where it
    ends lines, what it refuses, and which lines it takes as directives wherever they are.

    :meth:`problems` applies the rule to one text a planner writes into the script (an argument,
    an environment value, a path, a directive value, a preamble line): a typed
    :class:`~smartsim.errors.ForbiddenCharacter` naming the field and the character for every
    way the reader would not give the text back exactly. Every text is also refused when UTF-8
    cannot encode it (scripts are written as UTF-8: a lone surrogate, such as ``os.fsdecode``
    makes of a non-UTF-8 byte, would fail the write or be refused by the reader).

    >>> reader = ScriptReader(tool="qsub", refused=("\\r\\n",), directive=re.compile("#PBS"))
    >>> [(e.field, e.character) for e in reader.problems("args[0]", "a\\r\\nb")]
    [('args[0]', '\\r\\n')]
    """

    #: The tool whose reader this is (for messages and docs).
    tool: str
    #: Sequences that end a line for this reader, longest first.
    line_breaks: tuple[str, ...] = ("\n",)
    #: Sequences the reader refuses anywhere in the script, or rewrites (so they never reach the
    #: job as written).
    refused: tuple[str, ...] = ()
    #: Lines the reader takes as directives *anywhere* in the script (``None``: only in the
    #: header, which no text of the body can reach).
    directive: re.Pattern[str] | None = None

    def _breaks(self) -> re.Pattern[str]:
        return _line_breaks(self.line_breaks)

    def lines(self, text: str) -> list[str]:
        """``text`` split the way this reader ends lines.

        >>> ScriptReader(tool="flux", line_breaks=("\\r\\n", "\\r", "\\n")).lines("a\\rb\\r\\nc")
        ['a', 'b', 'c']
        """
        return self._breaks().split(text)

    def problems(self, field: str, text: str) -> list[ValidationError]:
        """Every reason ``text``, written into a script, would not reach the job exactly."""
        if text.isascii() and text.isprintable():
            return []  # the common case, at C speed: no NUL, CR, LF or surrogate
        errors = unwritable(field, text)
        for sequence in self.refused:
            if sequence in text:
                errors.append(ForbiddenCharacter(field, text, sequence))
                break
        if self.directive is not None:
            breaks = self._breaks()
            for found in breaks.finditer(text):
                following = breaks.search(text, found.end())
                line = text[found.end() : len(text) if following is None else following.start()]
                if self.directive.match(line):
                    # the line break before it would start a directive line
                    errors.append(ForbiddenCharacter(field, text, found.group()))
                    break
        return errors


@functools.cache
def _line_breaks(breaks: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(b) for b in breaks))
