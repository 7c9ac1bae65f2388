"""What ``Experiment.generate`` does to the file system, as values; and tag substitution.

:func:`generation_ops` lists the operations for an entity (directories, copies, symlinks,
configured files, ``params.json``) so that ``smartsim.effects.files`` only performs them.
:func:`configure_text` is the tag rule SmartSim users know: in a file attached with
``to_configure``, ``;name;`` becomes ``str(value)`` of the member's parameter ``name``; a tagged
word that is not a parameter stays as written.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from typing import TypeAlias, final

import attrs

from smartsim._frozen import FrozenMap, frozen_map
from smartsim.values import Ensemble, Model, ParamValue

#: The tag SmartSim uses around parameter names in configured files.
DEFAULT_TAG = ";"
#: The file each member's parameters are written to.
PARAMS_FILE = "params.json"


@final
@attrs.frozen(slots=False)
class MakeDir:
    """``mkdir -p path``."""

    path: str


@final
@attrs.frozen(slots=False)
class RemoveTree:
    """``rm -rf path`` (``generate(overwrite=True)``)."""

    path: str


@final
@attrs.frozen(slots=False)
class Copy:
    """Copy a file, or a directory recursively, to ``dst``."""

    src: str
    dst: str


@final
@attrs.frozen(slots=False)
class Symlink:
    """A symbolic link at ``dst`` pointing to ``src`` (replacing an earlier link)."""

    src: str
    dst: str


@final
@attrs.frozen(slots=False)
class Configure:
    """Copy ``src`` (a file, or every file under a directory) to ``dst`` with tags replaced."""

    src: str
    dst: str
    params: FrozenMap[str, ParamValue] = attrs.field(converter=frozen_map)
    tag: str = DEFAULT_TAG


@final
@attrs.frozen(slots=False)
class WriteText:
    """Write ``text`` to ``path`` (replacing it)."""

    path: str
    text: str


FileOp: TypeAlias = MakeDir | RemoveTree | Copy | Symlink | Configure | WriteText


def configure_text(text: str, params: Mapping[str, ParamValue], tag: str = DEFAULT_TAG) -> str:
    """``text`` with ``<tag>name<tag>`` replaced by ``str(params[name])`` for known names.

    >>> configure_text("alpha = ;alpha;\\nsteps = ;n;\\nkeep ;other; ;;", {"alpha": 0.1, "n": 10})
    'alpha = 0.1\\nsteps = 10\\nkeep ;other; ;;'
    """
    if tag not in text or not params:
        return text
    pattern = re.compile(re.escape(tag) + r"([A-Za-z_][A-Za-z0-9_]*)" + re.escape(tag))

    def one(match: re.Match[str]) -> str:
        name = match[1]
        return str(params[name]) if name in params else match[0]

    return pattern.sub(one, text)


def params_json(params: Mapping[str, ParamValue]) -> str:
    """The text of ``params.json``: the member's parameters with their types kept.

    >>> params_json({"alpha": 0.1, "n": 10, "tag": "x"})
    '{\\n  "alpha": 0.1,\\n  "n": 10,\\n  "tag": "x"\\n}\\n'
    """
    import json  # only generate needs it; importing the builders should not (import cost)

    return json.dumps(dict(params.items()), indent=2) + "\n"


def _model_ops(model: Model, overwrite: bool, tag: str) -> list[FileOp]:
    ops: list[FileOp] = []
    if overwrite:
        ops.append(RemoveTree(model.path))
    ops.append(MakeDir(model.path))
    files = model.files
    for src in files.to_copy:
        ops.append(Copy(src, posixpath.join(model.path, _base(src))))
    for src in files.to_symlink:
        ops.append(Symlink(src, posixpath.join(model.path, _base(src))))
    for src in files.to_configure:
        ops.append(Configure(src, posixpath.join(model.path, _base(src)), model.params, tag))
    ops.append(WriteText(posixpath.join(model.path, PARAMS_FILE), params_json(model.params)))
    return ops


def _base(path: str) -> str:
    return posixpath.basename(path.rstrip("/")) or path


def generation_ops(
    entity: Model | Ensemble, *, overwrite: bool = False, tag: str = DEFAULT_TAG
) -> tuple[FileOp, ...]:
    """Every file-system operation that generates ``entity``'s directories, in order.

    >>> from smartsim.values import RunSettings, GeneratorFiles
    >>> m = Model(name="m", run_settings=RunSettings(exe="x"), params={"a": 1}, path="/e/m",
    ...           files=GeneratorFiles(to_configure=("/in/m.cfg",)))
    >>> for op in generation_ops(m):
    ...     print(op)
    MakeDir(path='/e/m')
    Configure(src='/in/m.cfg', dst='/e/m/m.cfg', params=FrozenMap({'a': 1}), tag=';')
    WriteText(path='/e/m/params.json', text='{\\n  "a": 1\\n}\\n')
    """
    if isinstance(entity, Model):
        return tuple(_model_ops(entity, overwrite, tag))
    ops: list[FileOp] = []
    if overwrite:
        ops.append(RemoveTree(entity.path))
    ops.append(MakeDir(entity.path))
    for member in entity.members:
        ops.extend(_model_ops(member, overwrite, tag))
    return tuple(ops)
