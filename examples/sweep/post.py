"""Post-processing: read every member's result.json and tabulate the Euler error.

Usage: post.py MEMBER_DIR... — writes ``table.txt`` in its own directory and prints it.
"""

from __future__ import annotations

import json
import os
import sys


def main(dirs: list[str]) -> int:
    rows = []
    for directory in dirs:
        with open(os.path.join(directory, "result.json")) as handle:
            rows.append(json.load(handle))
    rows.sort(key=lambda r: (r["alpha"], r["steps"]))
    lines = [f"{'alpha':>6} {'steps':>6} {'y(1)':>10} {'error':>10}"]
    lines += [f"{r['alpha']:>6} {r['steps']:>6} {r['y']:>10.6f} {r['error']:>10.2e}" for r in rows]
    text = "\n".join(lines) + "\n"
    with open("table.txt", "w") as handle:
        handle.write(text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
