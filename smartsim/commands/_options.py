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
from collections.abc import Collection, Mapping
from typing import Final

from smartsim._lazy import LazyPattern
from smartsim.errors import (
    BadName,
    BadOptionName,
    BadValue,
    EmptyValue,
    ForbiddenCharacter,
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
