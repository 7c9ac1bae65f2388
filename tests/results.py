"""Reading effects' results in tests (the shell modules unwrap for users; tests look inside)."""

from __future__ import annotations

from typing import TypeVar

from returns.io import IOResult
from returns.pipeline import is_successful
from returns.result import Failure, Result, Success
from returns.unsafe import unsafe_perform_io

from smartsim.errors import EffectError

T = TypeVar("T")


def settle(result: IOResult[T, EffectError]) -> Result[T, EffectError]:
    """The outcome of an effect that has already run."""
    if is_successful(result):
        return Success(unsafe_perform_io(result.unwrap()))
    return Failure(unsafe_perform_io(result.failure()))
