"""docs/api.md is generated from the docstrings by scripts/api_docs.py and is up to date."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_api_page_is_up_to_date() -> None:
    """Regenerating the page gives the checked-in page (run scripts/api_docs.py if not)."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "api_docs.py"), "--check"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_api_page_covers_the_experiment_the_values_and_the_seed_api() -> None:
    """Every public method of Experiment, the values and the seed API have an entry."""
    text = (ROOT / "docs" / "api.md").read_text()
    for entry in (
        "#### `Experiment.start(", "#### `Experiment.wait(", "#### `Experiment.get_output(",
        "### class `RunSettings(", "### class `BatchSettings(", "### class `Model(",
        "### `get_slurm_allocation(", "### `release_slurm_allocation(",
    ):  # fmt: skip
        assert entry in text, entry
