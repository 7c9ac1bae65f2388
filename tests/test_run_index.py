"""The history index (``next_run_index``) is computed with string tests; a regex says the same."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from smartsim.commands.plan import next_run_index

_NAMES = st.sampled_from(["m", "m.1", "a_b", "x-y", "m.out"]) | st.text("ab.1", min_size=1)
_FILES = st.lists(
    st.tuples(st.sampled_from(["m", "m.1", "a_b", "ab", "a.b", "x"]),
              st.sampled_from(["", ".0", ".7", ".12", ".x", "..", ".٣", ".1.2"]),
              st.sampled_from([".out", ".err", ".log", ".out.out", ""])).map("".join)
    | st.text("mab.1outer", max_size=9),
    max_size=12,
)  # fmt: skip


def _reference(name: str, filenames: list[str]) -> int:
    pattern = re.compile(re.escape(name) + r"(?:\.([0-9]+))?\.(?:out|err)")
    best = -1
    for filename in filenames:
        match = pattern.fullmatch(filename)
        if match is not None:
            best = max(best, int(match[1] or 0))
    return best + 1


@given(_NAMES, _FILES)
def test_next_run_index_agrees_with_the_regex_definition(name: str, files: list[str]) -> None:
    """For any name and directory listing, the index is the regex definition's."""
    assert next_run_index(name, files) == _reference(name, files)
