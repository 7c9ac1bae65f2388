"""Independent, test-only models of the workload managers' own parsers.

Nothing here imports ``smartsim``: each oracle is written from the tool's man page and source,
so that round-tripping the library's output through it is a real check, not a tautology.
One module per tool family, for example:

- :mod:`.slurm_cli` -- getopt_long as salloc/sbatch/srun (and squeue/sacct/scancel) apply it,
  plus the value grammars of ``--time``, ``--export`` and ``--array``.
- :mod:`.sbatch_lexer` -- sbatch's ``#SBATCH`` directive reader (``get_argument``).
"""
