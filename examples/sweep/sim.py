"""A tiny simulation: integrate dy/dt = -alpha * y from y(0) = 1 to t = 1 with explicit Euler.

Its parameters arrive three ways, as smartsim delivers them: ``--steps`` on the command line
(an argument placeholder), ``SIM_ALPHA`` in the environment (an env placeholder), and both in
``sim.cfg`` (a configured file). It checks they agree, then writes ``result.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os


def read_config(path: str) -> dict[str, str]:
    out = {}
    with open(path) as handle:
        for line in handle:
            if "=" in line and not line.lstrip().startswith("#"):
                key, value = line.split("=", 1)
                out[key.strip()] = value.strip()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, required=True)
    steps = parser.parse_args().steps
    alpha = float(os.environ["SIM_ALPHA"])
    config = read_config("sim.cfg")
    assert float(config["alpha"]) == alpha and int(config["steps"]) == steps, config

    y, dt = 1.0, 1.0 / steps
    for _ in range(steps):
        y -= alpha * y * dt
    exact = math.exp(-alpha)
    result = {"alpha": alpha, "steps": steps, "y": y, "error": abs(y - exact)}
    with open("result.json", "w") as handle:
        json.dump(result, handle)
    print(f"alpha={alpha} steps={steps} y(1)={y:.6f} exact={exact:.6f}")


if __name__ == "__main__":
    main()
