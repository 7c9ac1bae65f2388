#!/usr/bin/env python3
"""Generate docs/api.md, the API reference, from the docstrings.

    python scripts/api_docs.py           # rewrite docs/api.md
    python scripts/api_docs.py --check   # exit 1 if docs/api.md is not what this generates

tests/test_api_docs.py runs the check in CI, so the page cannot drift from the code.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "api.md"

#: (section title, module, public names in the order shown)
SECTIONS: list[tuple[str, str, list[str]]] = [
    ("The experiment", "smartsim.experiment", ["Experiment", "Output"]),
    (
        "Values",
        "smartsim.values",
        [
            "RunSettings",
            "BatchSettings",
            "AllocationRequest",
            "Model",
            "Ensemble",
            "GeneratorFiles",
            "Duration",
            "Memory",
            "JobId",
            "ArraySpec",
        ],
    ),
    ("Statuses", "smartsim.status", ["Status", "JobState"]),
    ("Errors", "smartsim.errors", ["SmartSimError", "Invalid", "ValidationError", "EffectError"]),
    (
        "The seed API: Slurm allocations",
        "smartsim.slurm",
        ["get_slurm_allocation", "release_slurm_allocation", "slurm_allocation"],
    ),
    (
        "SmartSim's settings classes",
        "smartsim.settings",
        [
            "SrunSettings",
            "MpirunSettings",
            "MpiexecSettings",
            "OrterunSettings",
            "SbatchSettings",
            "QsubBatchSettings",
            "BsubBatchSettings",
        ],
    ),
]


def _doc(obj: object) -> str:
    return inspect.cleandoc(inspect.getdoc(obj) or "").strip()


def _block(text: str) -> list[str]:
    """A docstring as a text block (its doctests are shown, not run, here)."""
    return ["```text", text, "```", ""] if text else []


def _attrs_signature(name: str, cls: type) -> str:
    """``Name(*, field: type = default, ...)`` from the declared fields (the generated
    ``__init__`` shows the converters' parameter types instead)."""
    import attrs

    parts = []
    for field in attrs.fields(cls):
        text = f"{field.name}: {field.type}"
        if isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            text += " = <factory>"
        elif field.default is not attrs.NOTHING:
            text += f" = {field.default!r}"
        parts.append(text)
    star = "*, " if parts and attrs.fields(cls)[0].kw_only else ""
    return f"{name}({star}{', '.join(parts)})"


def _signature(name: str, obj: object) -> str:
    import enum

    import attrs

    if inspect.isclass(obj) and attrs.has(obj):
        return _attrs_signature(name, obj)
    if inspect.isclass(obj) and issubclass(obj, enum.Enum):
        return f"{name}: " + ", ".join(m.name for m in obj)
    try:
        sig = inspect.signature(obj)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return name
    return f"{name}{sig}"


def _members(cls: type) -> list[tuple[str, object]]:
    out = []
    for name, raw in cls.__dict__.items():
        if name.startswith("_"):
            continue
        member = raw.__func__ if isinstance(raw, (staticmethod, classmethod)) else raw
        if callable(member) or isinstance(member, property):
            out.append((name, member))
    return sorted(out)


def render() -> str:
    lines = [
        "# API reference",
        "",
        "Generated from the docstrings by `scripts/api_docs.py` (a test keeps it up to date:",
        "edit the docstrings, then run `python scripts/api_docs.py`). Guides: [index](index.md),",
        "[errors](errors.md), [launchers](launchers/slurm.md), [specs](spec.md),",
        "[moving from SmartSim](migrating-from-smartsim.md).",
        "",
    ]
    for title, module_name, names in SECTIONS:
        module = importlib.import_module(module_name)
        lines += [f"## {title} (`{module_name}`)", ""]
        for name in names:
            obj = getattr(module, name)
            if inspect.isclass(obj):
                lines += [f"### class `{_signature(name, obj)}`", ""]
                lines += _block(_doc(obj))
                for member_name, member in _members(obj):
                    if isinstance(member, property):
                        lines += [f"#### property `{name}.{member_name}`", ""]
                        lines += _block(_doc(member))
                    else:
                        lines += [f"#### `{name}.{_signature(member_name, member)}`", ""]
                        lines += _block(_doc(member))
            else:
                lines += [f"### `{_signature(name, obj)}`", ""]
                lines += _block(_doc(obj))
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    options = parser.parse_args(argv)
    text = render()
    if options.check:
        current = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
        if current != text:
            print(f"{PAGE} is out of date: run python scripts/api_docs.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
