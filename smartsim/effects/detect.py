"""``Experiment(launcher="auto")``: the workload manager whose environment or client is here.

An enclosing job's environment is the strongest evidence (we run inside it), so it is read
first; then the clients on ``PATH``. Nothing is run (SmartSim ran ``qsub --version``): Grid
Engine and PBS both call their client ``qsub``, so ``SGE_ROOT`` (set by every Grid Engine
installation's settings script) tells them apart, and ``pbsnodes`` marks PBS.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from typing import Final

#: (launcher, variables of a job of it) in the order they are tried.
JOB_VARIABLES: Final = (
    ("slurm", ("SLURM_JOB_ID",)),
    ("flux", ("FLUX_JOB_ID", "FLUX_URI")),
    ("lsf", ("LSB_JOBID",)),
    ("pbs", ("PBS_JOBID",)),
    ("sge", ("SGE_ROOT", "JOB_ID")),  # both: JOB_ID alone is too common a name
)
#: (launcher, clients that must all be on PATH) in the order they are tried.
CLIENTS: Final = (
    ("slurm", ("srun", "sbatch", "squeue", "scancel")),
    ("flux", ("flux",)),
    ("lsf", ("bsub", "bjobs", "bkill")),
    ("pbs", ("qsub", "qstat", "qdel", "pbsnodes")),
    ("sge", ("qsub", "qstat", "qdel", "qconf")),
)


def detect_launcher(
    environ: Mapping[str, str] | None = None,
    which: Callable[[str], str | None] = shutil.which,
) -> str:
    """The launcher name for ``launcher="auto"``: ``"local"`` when no scheduler is found.

    >>> detect_launcher({"SLURM_JOB_ID": "7"}, lambda _: None)
    'slurm'
    >>> lsf = ("bsub", "bjobs", "bkill")
    >>> detect_launcher({}, lambda name: "/bin/" + name if name in lsf else None)
    'lsf'
    >>> detect_launcher({}, lambda _: None)
    'local'
    """
    env = os.environ if environ is None else environ
    for name, variables in JOB_VARIABLES:
        if all(env.get(v) for v in variables):
            return name
    for name, clients in CLIENTS:
        if all(which(c) is not None for c in clients):
            return name
    return "local"
