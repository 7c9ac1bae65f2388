"""File effects: perform the operations :mod:`smartsim.commands.generate` lists, and read what
the history scheme needs from entity directories.

Every OS error becomes an :class:`~smartsim.errors.OSFailure` value naming the operation and the
path; nothing here raises for an expected failure. Written files are replaced atomically (a
temporary file in the same directory, then ``os.replace``), so a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterable

from returns.io import IOFailure, IOResult, IOSuccess

from smartsim.commands.generate import (
    Configure,
    Copy,
    FileOp,
    MakeDir,
    RemoveTree,
    Symlink,
    WriteText,
    configure_text,
)
from smartsim.commands.plan import Launch, next_run_index
from smartsim.errors import EffectError, OSFailure

_TMP_SEQ = itertools.count()


def lay_out(launch: Launch, more: Iterable[tuple[str, str]] = ()) -> IOResult[None, EffectError]:
    """What ``launch`` needs before it starts: its directories (``mkdir -p``), then its files
    and ``more`` (path, text: a batch script, the files a submit command reads), each file's
    directory made first."""
    try:
        for directory in launch.mkdirs:
            os.makedirs(directory, exist_ok=True)
        for path, text in itertools.chain(launch.files.items(), more):
            parent = os.path.dirname(path)
            if parent:
                os.makedirs(parent, exist_ok=True)
            with open(path, "w", encoding="utf-8") as stream:
                stream.write(text)
    except OSError as exc:
        return IOFailure(OSFailure(f"prepare {launch.name}", f"{exc.filename}: {exc.strerror}"))
    return IOSuccess(None)


def write_atomic(path: str, data: bytes, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace`` (raises OSError)."""
    directory, name = os.path.split(path)
    tmp = os.path.join(directory, f".{name}.{os.getpid()}.{next(_TMP_SEQ)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    fd = os.open(tmp, flags, 0o644 if mode is None else mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        if mode is not None:
            os.chmod(tmp, mode)  # exactly, whatever the umask
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _configure_file(src: str, dst: str, op: Configure) -> None:
    with open(src, "rb") as handle:
        raw = handle.read()
    # surrogateescape keeps bytes that are not UTF-8 exactly as they were.
    text = raw.decode("utf-8", "surrogateescape")
    out = configure_text(text, op.params, op.tag).encode("utf-8", "surrogateescape")
    write_atomic(dst, out, os.stat(src).st_mode & 0o7777)


def _configure(op: Configure) -> None:
    if not os.path.isdir(op.src):
        _configure_file(op.src, op.dst, op)
        return
    for root, _dirs, names in os.walk(op.src):
        rel = os.path.relpath(root, op.src)
        target = op.dst if rel == "." else os.path.join(op.dst, rel)
        os.makedirs(target, exist_ok=True)
        for name in names:
            _configure_file(os.path.join(root, name), os.path.join(target, name), op)


def _symlink(op: Symlink) -> None:
    if os.path.islink(op.dst):
        os.unlink(op.dst)
    os.symlink(op.src, op.dst)


def _remove(path: str) -> None:
    import shutil  # only generate(overwrite=True) pays for it

    if os.path.normpath(os.path.abspath(path)) == os.path.sep:
        raise OSError(f"refusing to remove {path!r}")
    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path)


def _not_through_link(dst: str) -> None:
    """A link left at ``dst`` by an earlier generation is removed, so that a copy never writes
    through it to wherever it points (outside the entity's directory)."""
    if os.path.islink(dst):
        os.unlink(dst)


def _one(op: FileOp) -> None:
    match op:
        case MakeDir(path):
            os.makedirs(path, exist_ok=True)
        case RemoveTree(path):
            _remove(path)
        case Copy(src, dst):
            import shutil  # only generate() with files to copy pays for it

            _not_through_link(dst)
            if os.path.isdir(src):
                shutil.copytree(src, dst, symlinks=True, dirs_exist_ok=True)
            else:
                shutil.copy2(src, dst)
        case Symlink():
            _symlink(op)
        case Configure():
            _not_through_link(op.dst)
            _configure(op)
        case WriteText(path, text):
            write_atomic(path, text.encode("utf-8"))


def _describe(op: FileOp) -> str:
    match op:
        case MakeDir(path) | RemoveTree(path) | WriteText(path, _):
            return f"{type(op).__name__.lower()} {path}"
        case Copy(src, dst) | Symlink(src, dst) | Configure(src, dst, _, _):
            return f"{type(op).__name__.lower()} {src} -> {dst}"


def apply(ops: Iterable[FileOp]) -> IOResult[None, EffectError]:
    """Perform ``ops`` in order; stop at the first failure and say which one failed."""
    for op in ops:
        try:
            _one(op)
        except OSError as exc:  # shutil.Error is an OSError
            return IOFailure(OSFailure(_describe(op), str(exc)))
    return IOSuccess(None)


def run_index(outputs: Iterable[tuple[str, str]]) -> IOResult[int, EffectError]:
    """The history index for a run of every ``(directory, name)``: the smallest index at which
    none of them has output yet (see :func:`smartsim.commands.plan.next_run_index`)."""
    listings: dict[str, list[str]] = {}
    best = 0
    for directory, name in outputs:
        if directory not in listings:
            try:
                listings[directory] = os.listdir(directory)
            except (FileNotFoundError, NotADirectoryError):
                listings[directory] = []
            except OSError as exc:
                return IOFailure(OSFailure(f"list {directory}", str(exc)))
        best = max(best, next_run_index(name, listings[directory]))
    return IOSuccess(best)
