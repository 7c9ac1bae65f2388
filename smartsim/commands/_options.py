"""Token rules shared by launchers, and the shape checks every launcher applies to raw options.

The seed's rule for a raw option ``{key: value}``:

* a one-letter key is ``-K value``; a longer key ``--key value``;
* ``None`` or ``True`` is a bare flag, ``False`` leaves the option out, ``0`` is a value;
* an option whose argument the tool treats as *optional* (Slurm's ``--exclusive[=user]``) only
  takes a value attached: ``--key=value`` (``-Kvalue`` for one letter), because a separate word
  would be read as the program.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from typing import Final, final

import attrs

from smartsim._frozen import FrozenMap
from smartsim._lazy import LazyPattern
from smartsim.errors import (
    BadName,
    BadOptionName,
    BadValue,
    ConflictingOptions,
    DuplicateOption,
    EmptyValue,
    ForbiddenCharacter,
    Unsupported,
    ValidationError,
)
from smartsim.values import OptionValue

#: A plain option name: no leading dash, no spaces, no ``=``.
OPTION_NAME: Final = LazyPattern(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
#: A POSIX environment variable name (what :func:`is_env_name` checks).
ENV_NAME: Final = LazyPattern(r"[A-Za-z_][A-Za-z0-9_]*")


def is_env_name(name: str) -> bool:
    """Whether ``name`` matches :data:`ENV_NAME`: an ASCII Python identifier is exactly
    ``[A-Za-z_][A-Za-z0-9_]*``, and str methods say so at C speed.

    >>> [is_env_name(n) for n in ("OMP_NUM_THREADS", "_x", "2A", "A-B", "É", "")]
    [True, True, False, False, False, False]
    """
    return name.isidentifier() and name.isascii()


def render_value(value: str | int | float) -> str:
    """Text for an option value: ints and floats with ``str()``."""
    return value if isinstance(value, str) else str(value)


def option_tokens(
    key: str, value: OptionValue, *, optional_arg: Collection[str] = ()
) -> tuple[str, ...]:
    """argv words for one raw option.

    >>> option_tokens("C", "haswell"), option_tokens("partition", "debug")
    (('-C', 'haswell'), ('--partition', 'debug'))
    >>> option_tokens("exclusive", None)
    ('--exclusive',)
    >>> option_tokens("exclusive", "user", optional_arg={"exclusive"})
    ('--exclusive=user',)
    >>> option_tokens("requeue", False), option_tokens("nice", 0)
    ((), ('--nice', '0'))
    """
    if value is False:
        return ()
    flag = f"-{key}" if len(key) == 1 else f"--{key}"
    if value is None or value is True:
        return (flag,)
    text = render_value(value)
    if key in optional_arg:
        return (f"{flag}{text}",) if len(key) == 1 else (f"{flag}={text}",)
    return (flag, text)


def options_tokens(
    options: Mapping[str, OptionValue], *, optional_arg: Collection[str] = ()
) -> tuple[str, ...]:
    """argv words for raw options, in order."""
    out: list[str] = []
    for key, value in options.items():
        out.extend(option_tokens(key, value, optional_arg=optional_arg))
    return tuple(out)


def check_text(field: str, value: str, *, single_line: bool = True) -> list[ValidationError]:
    """NUL is never allowed (no argv or file can carry it); newlines and carriage returns are
    refused where the text reaches one command or script line."""
    if value.isprintable():
        return []  # the common case, at C speed: no NUL, LF or CR (nor any control character)
    if "\x00" in value:
        return [ForbiddenCharacter(field, value, "\x00")]
    if single_line:
        for ch in ("\n", "\r"):
            if ch in value:
                return [ForbiddenCharacter(field, value, ch)]
    return []


def check_nonempty_text(field: str, value: str | None) -> list[ValidationError]:
    if value is None:
        return []
    if value == "":
        return [EmptyValue(field, value)]
    return check_text(field, value)


def check_options(field: str, options: Mapping[str, OptionValue]) -> list[ValidationError]:
    """Shape rules for raw options: plain names, non-empty single-line values, finite numbers."""
    errors: list[ValidationError] = []
    for key, value in options.items():
        where = f"{field}[{key!r}]"
        if not OPTION_NAME.fullmatch(key):
            errors.append(BadOptionName(field, key))
            continue
        if isinstance(value, str):
            if value == "":
                errors.append(EmptyValue(where, value))
            else:
                errors.extend(check_text(where, value))
        elif isinstance(value, float) and not math.isfinite(value):
            errors.append(BadValue(where, value, "a finite number"))
    return errors


def check_env(field: str, env: Mapping[str, str]) -> list[ValidationError]:
    """Environment names must be POSIX names; values must not hold NUL (the kernel cannot
    pass it). Newlines in values are fine: they travel in the process environment."""
    errors: list[ValidationError] = []
    for key, value in env.items():
        if not is_env_name(key):
            errors.append(BadName(field, key, "a POSIX variable name: [A-Za-z_][A-Za-z0-9_]*"))
        errors.extend(check_text(f"{field}[{key!r}]", value, single_line=False))
    return errors


# --------------------------------------------------------------------------- option rules


def is_set(value: object) -> bool:
    """Whether a typed field renders something: not ``None``, not an empty tuple or mapping.

    >>> [is_set(v) for v in (None, (), {}, 0, "x", ("a",))]
    [False, False, False, True, True, True]
    """
    if value is None or value == ():
        return False
    return not (isinstance(value, Mapping) and not value)


def _frozen_map(value: Mapping[str, str]) -> FrozenMap[str, str]:
    return value if isinstance(value, FrozenMap) else FrozenMap(value)


def _frozen_typed(value: Mapping[str, tuple[str, ...]]) -> FrozenMap[str, tuple[str, ...]]:
    return value if isinstance(value, FrozenMap) else FrozenMap(value)


@final
@attrs.frozen(kw_only=True)
class OptionRules:
    """What one tool accepts as raw options (``run_args``, ``batch_args``, ``add_opts``), as
    data read by :func:`option_problems`: the one shape of every builder's option table --
    srun, sbatch and salloc, the MPI and vendor launchers, flux, qsub and bsub -- written out
    from the tool's man page.

    Every set is of *canonical* names: ``aliases`` maps the other spellings of an option (its
    one-letter form, names the tool also accepts) to its canonical one.
    """

    tool: str
    #: other spellings -> canonical name (``{"N": "nodes", "tasks-per-node": "ntasks-per-node"}``).
    aliases: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_map)
    #: options that take no value: a value would be read as the program or a stray word.
    flags: frozenset[str] = frozenset()
    #: options that need a value: as a bare flag the tool would take the next word as it.
    valued: frozenset[str] = frozenset()
    #: options whose value is optional, so it is only ever written attached (``--key=value``).
    optional_arg: frozenset[str] = frozenset()
    #: options that only print something and exit (``--help``, ``--version``).
    exits: frozenset[str] = frozenset()
    #: options smartsim sets itself or that would change what it reports: name -> why.
    refused: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_map)
    #: options a typed field renders: name -> the typed fields (the first set one is named).
    typed: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict, converter=_frozen_typed)
    #: groups of mutually exclusive options (typed ones included), each with the reason.
    exclusive: tuple[tuple[frozenset[str], str], ...] = ()
    #: the tool splits its argv at a lone ``:`` word (MPMD), so no value may be one.
    colon_splits: bool = False
    #: option names are written with one dash whatever their length (qsub, bsub, mpiexec).
    single_dash: bool = False
    #: what an option name is; ``key_expected`` says so in the error. With no
    #: ``key_expected`` a key outside ``key`` is left to :func:`check_options`' shape check.
    key: re.Pattern[str] | LazyPattern = OPTION_NAME
    key_expected: str | None = None

    def canonical(self, key: str) -> str:
        """The canonical name ``key`` spells (unknown keys as they are)."""
        return self.aliases.get(key, key)

    def spelled(self, name: str) -> str:
        """How the tool's man page writes option ``name``: ``-N``, ``--nodes``."""
        return f"-{name}" if self.single_dash or len(name) == 1 else f"--{name}"


def typed_set(rules: OptionRules, settings: object, prefix: str) -> dict[str, str]:
    """canonical name -> ``prefix`` + the typed field of ``settings`` that renders it, for the
    options of ``rules.typed`` that a set field renders.

    >>> import types
    >>> rules = OptionRules(tool="t", typed={"nodes": ("nodes",), "J": ("job_name", "array")})
    >>> typed_set(rules, types.SimpleNamespace(nodes=None, job_name=None, array=(0, 3)), "bs.")
    {'J': 'bs.array'}
    """
    out: dict[str, str] = {}
    for name, fields in rules.typed.items():
        for attr in fields:
            if is_set(getattr(settings, attr)):
                out[name] = prefix + attr
                break
    return out


def option_problems(
    rules: OptionRules,
    field: str,
    options: Mapping[str, OptionValue],
    typed: Mapping[str, str],
    *,
    seen: dict[str, str] | None = None,
) -> list[ValidationError]:
    """What ``rules.tool`` cannot take among raw ``options`` (the field ``field``), given the
    options the typed fields already render (``typed``: canonical name -> that field, see
    :func:`typed_set`): a key that is not an option name, a refused option, one set twice (by a
    typed field or by two spellings), one that exits, a value for a flag, a bare flag for an
    option that needs a value, a lone ``:`` where the tool splits at it, and two options of an
    exclusive group. ``seen`` receives canonical name -> the key that spelled it, for options
    that render something (``False`` leaves an option out).

    >>> rules = OptionRules(tool="srun", aliases={"N": "nodes"}, flags=frozenset({"label"}),
    ...                     valued=frozenset({"nodes"}), exits=frozenset({"help"}),
    ...                     refused={"output": "srun in smartsim (it sets the output paths)"},
    ...                     colon_splits=True)
    >>> bad = {"N": None, "label": "x", "help": None, "output": "o", "x": ":"}
    >>> [(type(e).__name__, e.field) for e in option_problems(rules, "ra", bad, {})]
    [('BadValue', "ra['N']"), ('BadValue', "ra['label']"), ('ConflictingOptions', "ra['help']"), \
('Unsupported', "ra['output']"), ('BadValue', "ra['x']")]
    >>> [str(e) for e in option_problems(rules, "ra", {"N": 2, "nodes": 3}, {})]
    ["ra['nodes'] sets the same option as ra['N'] (value 3)"]
    >>> option_problems(rules, "ra", {"nodes": 2}, {"nodes": "rs.nodes"})[0].other
    'rs.nodes'
    """
    errors: list[ValidationError] = []
    if seen is None:
        seen = {}
    tool = rules.tool
    for key, value in options.items():
        where = f"{field}[{key!r}]"
        if not rules.key.fullmatch(key):
            if rules.key_expected is not None:
                errors.append(BadValue(field, key, rules.key_expected))
            continue
        name = rules.aliases.get(key, key)
        if name in rules.refused:
            if value is not False:
                errors.append(Unsupported(where, value, rules.refused[name]))
            continue
        bare = value is None or value is True  # identity: 1 == True, but 1 is a value
        if value is not False:
            if name in typed:
                errors.append(DuplicateOption(where, value, typed[name]))
            elif name in seen:
                errors.append(DuplicateOption(where, value, f"{field}[{seen[name]!r}]"))
            else:
                seen[name] = key
            if name in rules.exits:
                errors.append(
                    ConflictingOptions(
                        where, value, f"{tool} ({rules.spelled(name)} prints and exits)"
                    )
                )
            if name in rules.flags and not bare:
                expected = f"no value: {rules.spelled(name)} of {tool} takes no argument"
                errors.append(BadValue(where, value, expected))
            elif name in rules.valued and bare:
                expected = f"a value: {rules.spelled(name)} of {tool} requires an argument"
                errors.append(BadValue(where, value, expected))
            if rules.colon_splits and isinstance(value, str) and value == ":":
                expected = f"not ':' ({tool} splits its argv at ':' words)"
                errors.append(BadValue(where, value, expected))
    for group, why in rules.exclusive:
        hit = sorted({n for n in seen if n in group} | {n for n in typed if n in group})
        if len(hit) > 1:
            errors.append(ConflictingOptions(field, hit, why))
    return errors
