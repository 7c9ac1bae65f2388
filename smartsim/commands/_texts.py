"""Every text of an entity that a planner writes into a batch script, with the field it came
from — so that a script dialect's rule (:class:`~smartsim.commands.script.ScriptReader`) is
applied to all of them, and a new field cannot be forgotten by one planner. Pure."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from smartsim.commands.script import ScriptReader
from smartsim.errors import ForbiddenCharacter, ValidationError
from smartsim.values import BatchSettings, Ensemble, Model, RunSettings

__all__ = [
    "batch_settings_texts",
    "entity_texts",
    "model_texts",
    "run_settings_texts",
    "script_text_problems",
]


def run_settings_texts(rs: RunSettings, field: str) -> Iterator[tuple[str, str]]:
    """``(field, text)`` of the program, arguments, environment and raw options of every part.

    >>> list(run_settings_texts(RunSettings(exe="a", args=("x",), env={"K": "v"}), "rs"))
    [('rs.exe', 'a'), ('rs.args[0]', 'x'), ("rs.env['K']", 'v')]
    """
    for i, part in enumerate(rs.parts):
        where = field if i == 0 else f"{field}.mpmd[{i - 1}]"
        yield f"{where}.exe", part.exe
        for j, arg in enumerate(part.args):
            yield f"{where}.args[{j}]", arg
        for key, value in part.env.items():
            yield f"{where}.env[{key!r}]", value
        for key, option in part.run_args.items():
            if isinstance(option, str):
                yield f"{where}.run_args[{key!r}]", option
        if part.alloc is not None:
            yield f"{where}.alloc", part.alloc


def batch_settings_texts(bs: BatchSettings, field: str) -> Iterator[tuple[str, str]]:
    """``(field, text)`` of every string of ``bs`` (its directive values and preamble lines)."""
    for name in ("account", "partition", "job_name"):
        value = getattr(bs, name)
        if isinstance(value, str):
            yield f"{field}.{name}", value
    for key, option in bs.batch_args.items():
        yield f"{field}.batch_args", key
        if isinstance(option, str):
            yield f"{field}.batch_args[{key!r}]", option
    for i, line in enumerate(bs.preamble):
        yield f"{field}.preamble[{i}]", line


def model_texts(model: Model, field: str) -> Iterator[tuple[str, str]]:
    """``(field, text)`` of every string of ``model`` that reaches its script."""
    yield f"{field}.name", model.name
    yield f"{field}.path", model.path
    yield from run_settings_texts(model.run_settings, f"{field}.run_settings")
    if model.batch_settings is not None:
        yield from batch_settings_texts(model.batch_settings, f"{field}.batch_settings")


def entity_texts(entity: Model | Ensemble, field: str) -> Iterator[tuple[str, str]]:
    """``(field, text)`` of every string of a model, or of an ensemble and its members
    (``{field}.members[i]``)."""
    if isinstance(entity, Model):
        yield from model_texts(entity, field)
        return
    yield f"{field}.name", entity.name
    yield f"{field}.path", entity.path
    if entity.batch_settings is not None:
        yield from batch_settings_texts(entity.batch_settings, f"{field}.batch_settings")
    for i, member in enumerate(entity.members):
        yield from model_texts(member, f"{field}.members[{i}]")


def script_text_problems(
    reader: ScriptReader,
    entity: Model | Ensemble,
    field: str,
    found: Sequence[ValidationError] = (),
) -> list[ValidationError]:
    """``reader``'s rule applied to every text ``entity`` writes into its script
    (:func:`entity_texts`), leaving out what ``found`` already says
    (the same field and character)."""
    seen: set[tuple[str, str | None]] = {
        (e.field, e.character) for e in found if isinstance(e, ForbiddenCharacter)
    }
    errors: list[ValidationError] = []
    for where, text in entity_texts(entity, field):
        for error in reader.problems(where, text):
            key = (error.field, getattr(error, "character", None))
            if key not in seen:
                seen.add(key)
                errors.append(error)
    return errors
