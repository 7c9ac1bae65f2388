"""Documentation that runs: every ```python block of README.md and docs/**/*.md, every spec in
the docs, and the doctests of the whole smartsim package."""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from returns.result import Success

import smartsim
import smartsim.errors
from smartsim.spec import parse_spec

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted([ROOT / "README.md", *DOCS.rglob("*.md")])
FENCE = re.compile(r"^```([\w+-]*)[^\n]*\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)
#: Output may be wrapped over lines in the docs; ``...`` stands for text left out.
FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
#: A block right after this comment is shown, not run (e.g. it needs a cluster).
NOT_RUN = "<!-- not run"


def blocks(path: Path, language: str) -> list[tuple[int, str]]:
    """(line, code) of every fenced block of ``language`` in ``path`` that is meant to run."""
    text = path.read_text(encoding="utf-8")
    out = []
    for match in FENCE.finditer(text):
        if match[1] != language:
            continue
        before = text[: match.start()].rstrip().rsplit("\n", 1)[-1]
        if before.startswith(NOT_RUN):
            continue
        out.append((text.count("\n", 0, match.start()) + 2, match[2]))
    return out


def run_python_block(path: Path, line: int, code: str, namespace: dict[str, Any]) -> None:
    """A block of ``>>>`` lines is a doctest (outputs compared); any other block is executed."""
    name = f"{path.relative_to(ROOT)}:{line}"
    if code.lstrip().startswith(">>>"):
        test = doctest.DocTestParser().get_doctest(code, namespace, name, str(path), line - 1)
        runner = doctest.DocTestRunner(optionflags=FLAGS)
        runner.run(test, clear_globs=False)
        namespace.update(test.globs)
        assert runner.failures == 0, f"{name}: {runner.failures} doctest example(s) failed"
    else:
        exec(compile(code, name, "exec"), namespace)


@pytest.mark.parametrize(
    "page", [p for p in PAGES if blocks(p, "python")], ids=lambda p: str(p.relative_to(ROOT))
)
def test_python_blocks_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ```python block of the page runs (in order, sharing names, in a scratch
    directory) and every ``>>>`` output shown is the real output."""
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "__doc_page__"}
    for line, code in blocks(page, "python"):
        run_python_block(page, line, code, namespace)


def test_pages_with_code_are_found() -> None:
    """The README and the docs hold code blocks that this module runs."""
    with_code = [p.name for p in PAGES if blocks(p, "python")]
    assert "README.md" in with_code and len(with_code) >= 5, with_code


SPEC_PAGES = [p for p in DOCS.rglob("*.md") if blocks(p, "toml")]


@pytest.mark.parametrize("page", SPEC_PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_spec_examples_in_docs_read(page: Path) -> None:
    """Every ```toml block of the docs is valid TOML, and one with an [experiment] table is a
    spec smartsim reads without a problem."""
    for line, code in blocks(page, "toml"):
        data = tomllib.loads(code)
        if "experiment" in data:
            result = parse_spec(code, file=f"{page.name}:{line}", base_dir="/docs")
            assert isinstance(result, Success), str(result.failure())


# ------------------------------------------------------------------ doctests of the package


def test_pytest_runs_the_package_doctests() -> None:
    """pyproject.toml makes a plain `pytest` collect the doctests of every smartsim module."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "--doctest-modules" in config["addopts"].split()
    assert "smartsim" in config["testpaths"]


def _modules() -> list[str]:
    names = [smartsim.__name__]
    for info in pkgutil.walk_packages(smartsim.__path__, prefix="smartsim."):
        names.append(info.name)
    return sorted(n for n in names if not n.endswith("__main__"))


@pytest.mark.parametrize("module", _modules())
def test_module_doctests(module: str) -> None:
    """Every docstring example of the module gives the output it shows (so `pytest tests/`
    alone checks the docstrings too)."""
    mod = importlib.import_module(module)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in finder.find(mod, module, globs=dict(vars(mod))):
        runner.run(test)
    assert runner.failures == 0, f"{module}: {runner.failures} of {runner.tries} examples failed"


def test_public_builders_have_examples() -> None:
    """Every public builder of smartsim.commands (``*_argv``, ``*_command``, ``*_script``,
    ``plan_*``) shows an example in its docstring."""
    missing = []
    for module in _modules():
        if not module.startswith("smartsim.commands.") or module.split(".")[-1].startswith("_"):
            continue
        mod = importlib.import_module(module)
        for name in getattr(mod, "__all__", ()):
            obj = getattr(mod, name)
            builder = name.endswith(("_argv", "_command", "_script")) or name.startswith("plan_")
            if inspect.isfunction(obj) and builder and ">>>" not in (obj.__doc__ or ""):
                missing.append(f"{module}.{name}")
    assert not missing, missing


# ------------------------------------------------------------------ reference pages


def _error_classes() -> list[str]:
    out = []
    for name, obj in vars(smartsim.errors).items():
        if inspect.isclass(obj) and obj.__module__ == "smartsim.errors" and name[0] != "_":
            out.append(name)
    return out


def test_error_reference_names_every_error() -> None:
    """docs/errors.md has a section for every error value in smartsim.errors."""
    text = (DOCS / "errors.md").read_text()
    headings = set(re.findall(r"^#+ `?(\w+)`?", text, re.MULTILINE))
    missing = [name for name in _error_classes() if name not in headings]
    assert not missing, missing


LAUNCHER_PAGES = ("slurm", "local", "mpi", "aprun", "jsrun", "pbs", "lsf", "sge", "flux",
                  "kubernetes", "dragon")  # fmt: skip


@pytest.mark.parametrize("name", LAUNCHER_PAGES)
def test_every_launcher_has_a_page_with_a_checked_example(name: str) -> None:
    """Each launcher has a page whose examples are run (a ``>>>`` block)."""
    page = DOCS / "launchers" / f"{name}.md"
    assert page.exists()
    assert any(code.lstrip().startswith(">>>") for _, code in blocks(page, "python"))


def test_readme_links_resolve() -> None:
    """Relative links in the README and the docs point at files that exist."""
    broken = []
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert not broken, broken
