"""attach_generator_files and generate never destroy or escape: every file argument is a path or
a list of paths, ``/``, the experiment directory, the entity's directory and their ancestors are
refused with a typed error, and every planned write lands inside the entity's directory."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from smartsim import Experiment, Model, RunSettings, SmartSimError
from smartsim.commands.generate import (
    Configure,
    Copy,
    MakeDir,
    RemoveTree,
    Symlink,
    WriteText,
    generation_ops,
)
from smartsim.errors import ConflictingOptions, Invalid, UnsafePath
from smartsim.values import GeneratorFiles

EXP = "/scratch/user/runs/exp"
SEGMENTS = st.sampled_from(["..", ".", "", "a", "b.cfg", "exp", "m", "runs", "ens_0", "ens"])


def _relative() -> st.SearchStrategy[str]:
    return st.lists(SEGMENTS, min_size=1, max_size=5).map("/".join).filter(bool)


def _special(model_dir: str) -> st.SearchStrategy[str]:
    """The paths that matter: the root, the experiment dir, the entity dir, their ancestors
    and children, spelled with trailing slashes and dots."""
    anchors = [str(p) for p in [*PurePosixPath(model_dir).parents, PurePosixPath(model_dir)]]
    anchors += [model_dir + "/in.cfg", model_dir + "/sub/x", "/etc/hosts", EXP + "_other"]
    spelled = st.tuples(st.sampled_from(anchors), st.sampled_from(["", "/", "/.", "//", "/../m"]))
    return spelled.map(lambda t: t[0] + t[1] if t[0] != "/" else "/" + t[1].lstrip("/"))


def _one_arg(model_dir: str) -> st.SearchStrategy[object]:
    path = st.one_of(_relative(), _special(model_dir), _relative().map(lambda p: "/" + p))
    item = st.one_of(path, path.map(Path))
    return st.one_of(item, st.lists(item, max_size=3), st.lists(item, max_size=3).map(tuple))


def _items(arg: object) -> list[str]:
    if isinstance(arg, (str, os.PathLike)):
        return [os.fspath(arg)]
    assert isinstance(arg, (list, tuple))
    return [os.fspath(p) for p in arg]


def _absolute(source: str) -> str:
    """Linux reads a leading "//" as "/"."""
    return "/" + os.path.abspath(source).lstrip("/")


def _unsafe(source: str, model_dir: str) -> bool:
    """The oracle, from pathlib's own notion of ancestry (not the library's string rules)."""
    src = PurePosixPath(_absolute(source))
    exp, home = PurePosixPath(EXP), PurePosixPath(model_dir)
    return (
        src in (PurePosixPath("/"), exp, home)
        or src in exp.parents
        or src in home.parents
        or home in src.parents
    )


def _inside(path: str, directory: str) -> bool:
    p, d = PurePosixPath(path), PurePosixPath(directory)
    return p == d or d in p.parents


@pytest.mark.parametrize("kind", ["model", "ensemble"])
@given(data=st.data())
def test_planned_writes_stay_inside_and_dangerous_sources_are_refused(
    kind: str, data: st.DataObject
) -> None:
    """For any str / Path / list argument, either every unsafe source is named by an UnsafePath
    error (and nothing else is wrong but name clashes), or every planned write of generate lies
    inside the entity's directory."""
    exp = Experiment("exp", exp_path=EXP)
    rs = RunSettings(exe="true")
    entity: Model | object
    if kind == "model":
        entity = exp.create_model("m", rs)
        dirs = [f"{EXP}/m"]
    else:
        entity = exp.create_ensemble("ens", rs, replicas=2)
        dirs = [f"{EXP}/ens/ens_0", f"{EXP}/ens/ens_1"]
    args = {
        key: data.draw(_one_arg(dirs[0]), label=key)
        for key in ("to_copy", "to_symlink", "to_configure")
    }
    sources = [s for key in args for s in _items(args[key])]
    expect_unsafe = {s for s in sources if any(_unsafe(s, d) for d in dirs)}
    try:
        new = exp.attach_generator_files(entity, **args)  # type: ignore[type-var,arg-type]
    except SmartSimError as exc:
        assert isinstance(exc.error, Invalid)
        unsafe = {e.value for e in exc.error.errors if isinstance(e, UnsafePath)}
        others = [e for e in exc.error.errors if not isinstance(e, UnsafePath)]
        assert unsafe == {_absolute(s) for s in expect_unsafe}
        assert all(isinstance(e, ConflictingOptions) for e in others), others
        assert unsafe or others
        event("refused")
        return
    assert not expect_unsafe, expect_unsafe
    event("accepted")
    members = [new] if isinstance(new, Model) else list(new.members)
    for member in members:
        for op in generation_ops(member, overwrite=True):
            match op:
                case MakeDir(path) | RemoveTree(path) | WriteText(path, _):
                    assert _inside(path, member.path), op
                case Copy(_, dst) | Symlink(_, dst) | Configure(_, dst, _, _):
                    assert PurePosixPath(dst).parent == PurePosixPath(member.path), op
        assert len(members[0].files.to_copy) == len(_items(args["to_copy"]))


@pytest.mark.parametrize(
    "source",
    ["/", "//", "/scratch", "/scratch/user/runs", EXP, EXP + "/", EXP + "/m", EXP + "/m/x"],
)
def test_root_ancestors_and_own_directory_are_refused(source: str) -> None:
    """The cases of the issue, each refused with UnsafePath naming the argument."""
    exp = Experiment("exp", exp_path=EXP)
    model = exp.create_model("m", RunSettings(exe="true"))
    with pytest.raises(SmartSimError) as info:
        exp.attach_generator_files(model, to_copy=source)
    assert isinstance(info.value.error, Invalid)
    (error,) = info.value.error.errors
    assert isinstance(error, UnsafePath) and error.field == "to_copy[0]"
    assert "refused" in error.message and model.files.to_copy == ()


def test_hand_built_files_are_checked_by_generate(tmp_path: Path) -> None:
    """A GeneratorFiles built by hand with '/' is refused by generate, which then writes
    nothing (the plan Copy('/', '/') of the issue never exists)."""
    exp = Experiment("exp", exp_path=tmp_path / "exp")
    model = exp.create_model("m", RunSettings(exe="true"))
    bad = Model(
        name="m",
        run_settings=model.run_settings,
        path=model.path,
        files=GeneratorFiles(to_copy=("/", "rel/x")),
    )
    exp._entities["m"] = bad  # as if attached by an older version of the code
    with pytest.raises(SmartSimError) as info:
        exp.generate(model)
    assert isinstance(info.value.error, Invalid)
    assert [type(e) for e in info.value.error.errors] == [UnsafePath, UnsafePath]
    assert not (tmp_path / "exp").exists()


def test_a_string_is_one_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """to_configure="./f" (as SmartSim users write it) configures that one file, and nothing
    from the working directory is copied."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "f").write_text("x = ;x;\n")
    (tmp_path / "big").mkdir()
    exp = Experiment("exp", exp_path=tmp_path / "exp")
    model = exp.create_model("m", RunSettings(exe="true"), params={"x": 3})
    model = exp.attach_generator_files(model, to_configure="./f", to_copy=Path("big"))
    assert model.files.to_configure == (str(tmp_path / "f"),)
    exp.generate(model)
    assert sorted(os.listdir(tmp_path / "exp" / "m")) == ["big", "f", "params.json"]
    assert (tmp_path / "exp" / "m" / "f").read_text() == "x = 3\n"


def test_wrong_types_name_the_argument() -> None:
    """bytes or a number is a TypeError that names the argument."""
    exp = Experiment("exp", exp_path=EXP)
    model = exp.create_model("m", RunSettings(exe="true"))
    with pytest.raises(TypeError, match="to_symlink"):
        exp.attach_generator_files(model, to_symlink=b"/x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"to_copy\[1\]"):
        exp.attach_generator_files(model, to_copy=["/a", 3])  # type: ignore[list-item]


def test_a_copy_never_writes_through_an_old_link(tmp_path: Path) -> None:
    """A link left in the entity directory (an earlier to_symlink) is replaced by the copy; the
    file it pointed to outside is untouched."""
    outside = tmp_path / "outside.txt"
    outside.write_text("keep\n")
    src = tmp_path / "in" / "outside.txt"
    src.parent.mkdir()
    src.write_text("new\n")
    exp = Experiment("exp", exp_path=tmp_path / "exp")
    model = exp.create_model("m", RunSettings(exe="true"))
    (tmp_path / "exp" / "m").mkdir(parents=True)
    (tmp_path / "exp" / "m" / "outside.txt").symlink_to(outside)
    model = exp.attach_generator_files(model, to_copy=src)
    exp.generate(model)
    assert outside.read_text() == "keep\n"
    copied = tmp_path / "exp" / "m" / "outside.txt"
    assert not copied.is_symlink() and copied.read_text() == "new\n"
