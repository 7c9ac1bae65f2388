"""The README's main job: a small parameter sweep run locally, then a post-processing step.

    python examples/sweep/run.py [--exp-path DIR] [--preview]

An ensemble of four members (alpha x steps) runs in parallel, each in its own directory with its
own configured ``sim.cfg``; then ``post`` reads their results. It prints the post step's table
and the experiment's summary; ``--preview`` prints exactly what would run and runs nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from smartsim import Experiment, Status

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exp-path", help="experiment directory (default: a new temporary one)")
    parser.add_argument("--preview", action="store_true", help="print what would run; run nothing")
    options = parser.parse_args(argv)
    if options.exp_path:
        exp_path = options.exp_path
    elif options.preview:  # show where it would go, create nothing
        exp_path = str(Path(tempfile.gettempdir(), "smartsim-sweep"))
    else:
        exp_path = tempfile.mkdtemp(prefix="smartsim-sweep-")

    exp = Experiment("sweep", exp_path=exp_path, launcher="local")
    rs = exp.create_run_settings(
        sys.executable, args=("sim.py", "--steps", "{n}"), env={"SIM_ALPHA": "{alpha}"}
    )
    ens = exp.create_ensemble(
        "sim",
        run_settings=rs,
        params={"alpha": [0.5, 1.0], "n": [10, 100]},
        perm_strategy="all_perm",
    )
    ens = exp.attach_generator_files(
        ens, to_copy=[str(HERE / "sim.py")], to_configure=[str(HERE / "sim.cfg")]
    )
    post = exp.create_model(
        "post",
        exp.create_run_settings(
            sys.executable, args=(str(HERE / "post.py"), *(m.path for m in ens.members))
        ),
    )
    if options.preview:
        print(exp.preview(ens, post))
        return 0

    exp.generate(ens, post)
    exp.start(ens, block=False)  # the members run in parallel
    exp.poll(interval=1)  # returns as soon as every member has finished
    exp.start(post, block=True)
    table = Path(post.path, "table.txt")
    if table.exists():
        print(table.read_text())
    print(exp.summary())
    print(f"\nfiles and journal in {exp_path}")
    return 0 if set(exp.get_status(ens, post)) == {Status.COMPLETED} else 1


if __name__ == "__main__":
    sys.exit(main())
