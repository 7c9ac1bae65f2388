"""``python -m smartsim``: the command line (see :mod:`smartsim.cli`)."""

from __future__ import annotations

import sys

from smartsim.cli import main

if __name__ == "__main__":
    sys.exit(main())
