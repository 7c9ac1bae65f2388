"""Test-only model of how sbatch 22.05 reads ``#SBATCH`` directives out of a batch script.

Independent of ``smartsim``. Sources:

- sbatch(1), DESCRIPTION: "The batch script may contain options preceded with "#SBATCH" before
  any executable commands in the script. sbatch will stop processing further #SBATCH directives
  once the first non-comment non-whitespace line has been reached in the script."
- sbatch(1), "HETEROGENEOUS JOB SUPPORT"/EXAMPLES: components are separated by a
  ``#SBATCH hetjob`` line (``packjob`` is the older spelling).
- ``src/sbatch/opt.c``: ``next_line`` (split on ``\\n``), ``get_argument`` (the word lexer) and
  the loop of ``_opt_batch_script`` that picks the lines; ``_set_options`` runs getopt_long over
  the collected words and rejects a leftover word ("Invalid directive found in batch script").
- ``src/sbatch/sbatch.c``: the checks on the script text (``#!`` first line, no NUL, no CRLF).

Where 22.05's source and older copies differ, the behaviour of Debian's 22.05.8 sbatch was
observed (marked "observed"): it was run with each case and its getopt_long argv recorded.

The rules, in the order they apply:

1. The script must start with ``#!``; it may not contain NUL or ``\\r\\n`` (fatal).
2. Lines are split on ``\\n`` only. A line starting exactly with ``#SBATCH`` (column 0, case
   sensitive; ``#SBATCHfoo`` counts, the rest being ``foo``) is a directive. ``#SLURM`` is an old
   synonym (sbatch prints an error asking to change it, then uses the line).
3. Any other line that is blank or whose first non-blank character is ``#`` is skipped
   (the ``#!`` line, indented ``  #SBATCH``, ``#PBS``); the first other line ends the scan.
4. A directive whose first word is, raw and unquoted, ``hetjob`` or ``packjob`` (any case)
   followed by blank or end of line starts the next component; the rest of that line is ignored.
5. Words (``get_argument``): blanks (C ``isspace``: space, \\t, \\n, \\v, \\f, \\r) separate;
   ``'...'`` and ``"..."`` group and are removed, segments concatenate (``'a b'"c"d`` is
   ``a bcd``); a backslash makes the next character literal, inside quotes too (so
   ``'a\\b'`` is ``ab``), but cannot escape a blank outside quotes (``a\\ b`` is ``a``, ``b``);
   an unquoted, unescaped ``#`` ends the line; no ``$VAR`` expansion.
6. A word that would come out empty (``""``, ``''``, a lone ``\\``) ends the line there: the
   rest of the line is dropped (``get_argument`` returns NULL).
7. A word starting with an unquoted ``:`` is fatal ("Unexpected `:`"); an unmatched quote is
   fatal ("Unmatched `"`").
8. Observed in 22.05.8: a later word that is, raw, ``hetjob``/``packjob`` followed by blank or
   end of line silently ends that line (no split); ``--job-name=myhetjob`` is an ordinary word.
9. Words of all directive lines of one component form one argv: a value may sit on the next
   line (``#SBATCH --comment`` / ``#SBATCH text``).

``#PBS`` and ``#BSUB`` lines are a separate mechanism (sbatch translates them unless
``--ignore-pbs``, anywhere in the script: observed); they are reported, not lexed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import final

from .slurm_cli import Component, OracleError, ParsedCommand, parse_options

__all__ = [
    "Directives",
    "directive_lines",
    "lex_directive",
    "lex_sbatch_script",
    "parse_sbatch_script",
    "quote_directive_word",
]

_BLANKS = " \t\n\v\f\r"  # C isspace() in the "C" locale
_HET_WORDS = ("hetjob", "packjob")


@final
@dataclass(frozen=True)
class Directives:
    """What sbatch collects from a script.

    ``components``: the words of each hetjob component, in order (one component when the
    script has no separator). ``stopped_at``: 1-based number of the line that ended the scan
    (None: end of text). ``foreign``: raw ``#PBS``/``#BSUB`` lines. ``warnings``: messages
    sbatch prints without failing.
    """

    components: tuple[tuple[str, ...], ...]
    stopped_at: int | None = None
    foreign: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def words(self) -> tuple[str, ...]:
        """All components' words, concatenated (convenient for a script with one component)."""
        return tuple(w for comp in self.components for w in comp)


def _ascii_lower(text: str) -> str:
    # strncasecmp folds ASCII letters only.
    return "".join(c.lower() if c.isascii() else c for c in text)


def _is_het_word(line: str, pos: int) -> bool:
    for word in _HET_WORDS:
        end = pos + len(word)
        if _ascii_lower(line[pos:end]) == word and (end == len(line) or line[end] in _BLANKS):
            return True
    return False


def _skip_blanks(line: str, pos: int) -> int:
    while pos < len(line) and line[pos] in _BLANKS:
        pos += 1
    return pos


def _get_argument(line: str, pos: int, lineno: int) -> tuple[str | None, int]:
    """One word from ``line`` at ``pos``: (word or None when the line is done, new pos)."""
    pos = _skip_blanks(line, pos)
    if pos < len(line) and line[pos] == ":":
        raise OracleError("lexer", f"line {lineno}: Unexpected `:` in [{line}]", line[pos:])
    if pos >= len(line) or _is_het_word(line, pos):
        return None, pos
    out: list[str] = []
    quote = ""
    escaped = False
    while pos < len(line) and (quote or line[pos] not in _BLANKS):
        ch = line[pos]
        if escaped:
            escaped = False  # copy it, whatever it is
        elif ch == "\\":
            escaped = True
            pos += 1
            continue
        elif quote:
            if ch == quote:
                quote = ""
                pos += 1
                continue
        elif ch in "\"'":
            quote = ch
            pos += 1
            continue
        elif ch == "#":
            break  # "found an un-escaped #, rest of line is a comment"
        out.append(ch)
        pos += 1
    if quote:
        raise OracleError("lexer", f"line {lineno}: Unmatched `{quote}` in [{line}]", line)
    return ("".join(out) or None), pos


def lex_directive(rest: str, lineno: int = 1) -> tuple[str, ...]:
    """The words of one directive line, ``rest`` being what follows ``#SBATCH``.

    >>> lex_directive(''' -J "my job" --comment='a b'"c"d  # note''')
    ('-J', 'my job', '--comment=a bcd')
    """
    words: list[str] = []
    pos = 0
    while True:
        word, pos = _get_argument(rest, pos, lineno)
        if word is None:
            return tuple(words)
        words.append(word)


def _check_script(text: str) -> None:
    # sbatch.c: the script-buffer checks, each fatal before any directive is read.
    if not text:
        raise OracleError("bad-script", "sbatch: error: Batch script is empty!")
    if not text.startswith("#!"):
        raise OracleError(
            "bad-script",
            "sbatch: error: This does not look like a batch script. The first line must "
            "start with #! followed by the path to an interpreter.",
        )
    if "\0" in text:
        raise OracleError("bad-script", "sbatch: error: script contains a NULL character")
    if "\r\n" in text:
        raise OracleError(
            "bad-script", "sbatch: error: Batch script contains DOS line breaks (\\r\\n)"
        )


def lex_sbatch_script(text: str) -> Directives:
    """The ``#SBATCH`` words of ``text``, per hetjob component, exactly as sbatch sees them.

    >>> lex_sbatch_script("#!/bin/sh\\n#SBATCH -N 2\\n#SBATCH hetjob\\n#SBATCH -N 3\\necho\\n")
    Directives(components=(('-N', '2'), ('-N', '3')), stopped_at=5, foreign=(), warnings=())
    """
    _check_script(text)
    lines = text.split("\n")
    components: list[list[str]] = [[]]
    warnings: list[str] = []
    stopped_at: int | None = None
    for lineno, line in enumerate(lines, 1):
        if line.startswith("#SBATCH"):
            rest = line[len("#SBATCH") :]
        elif line.startswith("#SLURM"):
            rest = line[len("#SLURM") :]
            if not warnings:
                warnings.append(
                    "Change from #SLURM to #SBATCH in your script and verify the options "
                    "are valid in sbatch"
                )
        else:
            stripped = line.lstrip(_BLANKS)
            if stripped and not stripped.startswith("#"):
                stopped_at = lineno
                break
            continue
        if _is_het_word(rest, _skip_blanks(rest, 0)):
            components.append([])
            continue
        components[-1].extend(lex_directive(rest, lineno))
    foreign = tuple(line for line in lines if line.startswith(("#PBS", "#BSUB")))
    return Directives(tuple(tuple(c) for c in components), stopped_at, foreign, tuple(warnings))


def parse_sbatch_script(text: str, *, allow_abbrev: bool = True) -> ParsedCommand:
    """Lex ``text`` and read each component's words with sbatch's getopt.

    A word left over after getopt stops (a non-option, or anything after ``--``) is rejected
    as sbatch does: "Invalid directive found in batch script: <word>".

    >>> parse_sbatch_script("#!/bin/sh\\n#SBATCH --time 10:00 -J 'a b'\\n").options
    (Opt(name='time', value='10:00'), Opt(name='job-name', value='a b'))
    """
    directives = lex_sbatch_script(text)
    components: list[Component] = []
    for words in directives.components:
        component = parse_options("sbatch", words, allow_abbrev=allow_abbrev)
        if component.program:
            raise OracleError(
                "invalid-directive",
                f"sbatch: error: Invalid directive found in batch script: {component.program[0]}",
                component.program[0],
            )
        components.append(component)
    return ParsedCommand("sbatch", tuple(components), directives.warnings)


def quote_directive_word(word: str) -> str:
    """A spelling of ``word`` that ``get_argument`` reads back as exactly ``word``.

    Double quotes, with ``\\`` and ``"`` backslash-escaped: inside quotes a blank, ``#``, ``'``
    or a leading ``:`` is plain text. Impossible for the empty word (rule 6) and for a word
    holding ``\\n`` or NUL (the line would end). Note that ``shlex.quote`` is NOT such a
    spelling: it leaves backslashes bare inside single quotes, and sbatch eats them.

    >>> quote_directive_word('a\\\\b "c"')
    '"a\\\\\\\\b \\\\"c\\\\""'
    """
    if not word or "\n" in word or "\0" in word:
        raise ValueError(f"no #SBATCH spelling reads back as {word!r}")
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def directive_lines(words: Sequence[str]) -> str:
    """One ``#SBATCH`` line per word, each quoted with :func:`quote_directive_word`."""
    return "".join(f"#SBATCH {quote_directive_word(w)}\n" for w in words)
