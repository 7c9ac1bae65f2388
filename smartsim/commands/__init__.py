"""Pure command builders: values in, argv and script text out.

Nothing in this package performs I/O, reads the environment or the clock, or imports
``subprocess``; a test imports and uses every module with those patched to raise.
Each scheduler family has its own module (``smartsim.commands.slurm``, ``.mpi``, ``.pbs``, ...);
importing this package alone loads none of them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from smartsim.commands._types import Command, Submission

__all__ = ["Command", "Submission"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        value = getattr(importlib.import_module("smartsim.commands._types"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'smartsim.commands' has no attribute {name!r}")
