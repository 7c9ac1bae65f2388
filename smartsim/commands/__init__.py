"""Pure command builders: values in, argv and script text out.

Nothing in this package performs I/O, reads the environment or the clock, or imports
``subprocess``; a test imports and uses every module with those patched to raise.
"""

from smartsim.commands._types import Command, Submission

__all__ = ["Command", "Submission"]
