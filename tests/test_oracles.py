"""Tests of the test-only Slurm oracles themselves (tests/oracles/slurm_cli.py, sbatch_lexer.py).

Expected values come from the Slurm 22.05 man pages and from runs of Debian's 22.05.8 binaries
(see the oracle modules' headers); nothing here imports ``smartsim``.
"""

from __future__ import annotations

import shlex

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tests.oracles.sbatch_lexer import (
    Directives,
    directive_lines,
    lex_directive,
    lex_sbatch_script,
    parse_sbatch_script,
    quote_directive_word,
)
from tests.oracles.slurm_cli import (
    TOOLS,
    ArraySpec,
    Component,
    Opt,
    OptionForm,
    OracleError,
    option_kind,
    option_names,
    parse_argv,
    parse_array,
    parse_export,
    parse_options,
    parse_time,
    parse_time_minutes,
    short_optstring,
)

ALLOCATORS = ("salloc", "sbatch", "srun")

# ------------------------------------------------------------------------------------------------
# The option tables against the man pages.
# ------------------------------------------------------------------------------------------------

# The long options of each OPTIONS section of the 22.05.8 man pages, as their headings write
# them: "name=" takes an argument, "name[=]" an optional one, a bare name none.
MAN_OPTIONS = {
    "salloc": """
        account= acctg-freq= bb= bbf= begin= bell chdir= cluster-constraint= clusters= comment=
        constraint= container= contiguous core-spec= cores-per-socket= cpu-freq= cpus-per-gpu=
        cpus-per-task= deadline= delay-boot= dependency= distribution= exclude= exclusive[=]
        extra-node-info= get-user-env[=] gid= gpu-bind= gpu-freq= gpus= gpus-per-node=
        gpus-per-socket= gpus-per-task= gres= gres-flags= help hint= hold immediate[=] job-name=
        kill-command[=] licenses= mail-type= mail-user= mcs-label= mem= mem-bind= mem-per-cpu=
        mem-per-gpu= mincpus= network= nice[=] no-bell no-kill[=] no-shell nodefile= nodelist=
        nodes= ntasks= ntasks-per-core= ntasks-per-gpu= ntasks-per-node= ntasks-per-socket=
        overcommit oversubscribe partition= power= prefer= priority= profile= qos= quiet reboot
        reservation= signal= sockets-per-node= spread-job switches= thread-spec=
        threads-per-core= time= time-min= tmp= uid= usage use-min-nodes verbose version
        wait-all-nodes= wckey= x11[=]
    """,
    "sbatch": """
        account= acctg-freq= array= batch= bb= bbf= begin= chdir= cluster-constraint= clusters=
        comment= constraint= container= contiguous core-spec= cores-per-socket= cpu-freq=
        cpus-per-gpu= cpus-per-task= deadline= delay-boot= dependency= distribution= error=
        exclude= exclusive[=] export= export-file= extra-node-info= get-user-env[=] gid=
        gpu-bind= gpu-freq= gpus= gpus-per-node= gpus-per-socket= gpus-per-task= gres=
        gres-flags= help hint= hold ignore-pbs input= job-name= kill-on-invalid-dep= licenses=
        mail-type= mail-user= mcs-label= mem= mem-bind= mem-per-cpu= mem-per-gpu= mincpus=
        network= nice[=] no-kill[=] no-requeue nodefile= nodelist= nodes= ntasks=
        ntasks-per-core= ntasks-per-gpu= ntasks-per-node= ntasks-per-socket= open-mode= output=
        overcommit oversubscribe parsable partition= power= prefer= priority= profile=
        propagate[=] qos= quiet reboot requeue reservation= signal= sockets-per-node= spread-job
        switches= test-only thread-spec= threads-per-core= time= time-min= tmp= uid= usage
        use-min-nodes verbose version wait wait-all-nodes= wckey= wrap=
    """,
    "srun": """
        accel-bind= account= acctg-freq= bb= bbf= bcast[=] bcast-exclude= begin= chdir=
        cluster-constraint= clusters= comment= compress[=] constraint= container= contiguous
        core-spec= cores-per-socket= cpu-bind= cpu-freq= cpus-per-gpu= cpus-per-task= deadline=
        delay-boot= dependency= disable-status distribution= epilog= error= exact exclude=
        exclusive[=] export= extra-node-info= gid= gpu-bind= gpu-freq= gpus= gpus-per-node=
        gpus-per-socket= gpus-per-task= gres= gres-flags= help het-group= hint= hold
        immediate[=] input= job-name= jobid= kill-on-bad-exit[=] label licenses= mail-type=
        mail-user= mcs-label= mem= mem-bind= mem-per-cpu= mem-per-gpu= mincpus= mpi=
        msg-timeout= multi-prog network= nice[=] no-allocate no-kill[=] nodefile= nodelist=
        nodes= ntasks= ntasks-per-core= ntasks-per-gpu= ntasks-per-node= ntasks-per-socket=
        open-mode= output= overcommit overlap oversubscribe partition= power= prefer=
        preserve-env priority= profile= prolog= propagate[=] pty qos= quiet quit-on-interrupt
        reboot relative= reservation= resv-ports[=] send-libs[=] signal= slurmd-debug=
        sockets-per-node= spread-job switches= task-epilog= task-prolog= test-only thread-spec=
        threads= threads-per-core= time= time-min= tmp= uid= unbuffered usage use-min-nodes
        verbose version wait= wckey= x11[=]
    """,
}
# Accepted by the 22.05.8 binaries without a man-page entry: aliases and hidden options.
TABLE_ONLY = {
    "salloc": {"cluster", "context", "ntasks-per-tres", "tasks-per-node"},
    "sbatch": {"cluster", "context", "ntasks-per-tres", "tasks-per-node"},
    "srun": {
        "cluster",
        "context",
        "cpu_bind",
        "debugger-test",
        "interactive",
        "ntasks-per-tres",
        "pack-group",
        "tasks-per-node",
        "whole",
    },
}
# The optstrings Debian's 22.05.8 binaries pass to getopt_long (slurm_option_table_create).
OBSERVED_OPTSTRINGS = {
    "salloc": "+A:b:D:M:C:S:c:d:m:x:B:G:hHI::J:K::L:k::F:w:N:n:Osp:q:Qt:vV",
    "sbatch": "+A:a:b:D:M:C:S:c:d:m:e:x:B:G:hHi:J:L:k::F:w:N:n:o:Osp:q:Qt:vVW",
    "srun": "+A:b:D:M:C:S:c:d:Xm:e:x:B:G:hHI::i:J:K::lL:T:Zk::F:w:N:n:o:Osp:Eq:Qr:t:uvVW:",
    "squeue": "A:ahi:j::lL:n:M:O:o:p:Pq:R:rs::S:t:u:U:vVw:",
    "sacct": "aA:bBcC:DeE:f:F:g:hi:I:j:k:K:lLM:nN:o:pPq:r:s:S:Ttu:UvVW:x:X",
    "scancel": "A:bfHiM:n:p:Qq:R:s:t:u:vVw:",
}


def _man_kinds(tool: str) -> dict[str, str]:
    kinds = {}
    for token in MAN_OPTIONS[tool].split():
        if token.endswith("[=]"):
            kinds[token[:-3]] = "optional"
        elif token.endswith("="):
            kinds[token[:-1]] = "required"
        else:
            kinds[token] = "none"
    return kinds


def _optstring_kinds(optstring: str) -> dict[str, str]:
    body, kinds, i = optstring.lstrip("+"), {}, 0
    while i < len(body):
        letter, i = body[i], i + 1
        if body.startswith("::", i):
            kinds[letter], i = "optional", i + 2
        elif body.startswith(":", i):
            kinds[letter], i = "required", i + 1
        else:
            kinds[letter] = "none"
    return kinds


@pytest.mark.parametrize("tool", ALLOCATORS)
def test_every_man_page_option_is_known_with_the_man_pages_argument_kind(tool: str) -> None:
    """Each OPTIONS heading of the man page is accepted, with the has_arg its heading shows."""
    for name, kind in _man_kinds(tool).items():
        expected = "optional" if (tool, name) == ("srun", "overlap") else kind
        # srun(1) shows --overlap as a flag; 22.05's table gives it an optional argument.
        assert option_kind(tool, name) == expected, name


@pytest.mark.parametrize("tool", ALLOCATORS)
def test_only_aliases_and_hidden_options_lack_a_man_page_entry(tool: str) -> None:
    """The table holds the man page's options plus the known undocumented ones, nothing else."""
    assert option_names(tool) - set(_man_kinds(tool)) == TABLE_ONLY[tool]


@pytest.mark.parametrize("tool", TOOLS)
def test_short_options_match_the_binaries_optstrings(tool: str) -> None:
    """Every short letter and its argument kind equals the optstring Slurm builds."""
    assert short_optstring(tool).startswith("+") == OBSERVED_OPTSTRINGS[tool].startswith("+")
    assert _optstring_kinds(short_optstring(tool)) == _optstring_kinds(OBSERVED_OPTSTRINGS[tool])


# ------------------------------------------------------------------------------------------------
# getopt_long behaviour.
# ------------------------------------------------------------------------------------------------


def test_the_users_salloc_example_parses_to_its_values() -> None:
    """`salloc -N 5 -C haswell --partition debug --time 10:00:00 --exclusive` (the seed's form)."""
    parsed = parse_argv(
        [
            "salloc",
            "-N",
            "5",
            "-C",
            "haswell",
            "--partition",
            "debug",
            "--time",
            "10:00:00",
            "--exclusive",
        ]
    )
    assert parsed.tool == "salloc"
    assert parsed.options == (
        ("nodes", "5"),
        ("constraint", "haswell"),
        ("partition", "debug"),
        ("time", "10:00:00"),
        ("exclusive", None),
    )
    assert parsed.program == ()
    assert parse_time(parsed.get("time") or "") == 36000


@pytest.mark.parametrize("tool", ALLOCATORS)
@pytest.mark.parametrize(
    "spelling",
    [["-N5"], ["-N", "5"], ["--nodes=5"], ["--nodes", "5"]],
)
def test_the_four_spellings_of_a_required_argument_are_equal(
    tool: str, spelling: list[str]
) -> None:
    """-N5, -N 5, --nodes=5 and --nodes 5 all give nodes=5."""
    tail = ["--wrap", "true"] if tool == "sbatch" else ["hostname"]
    assert parse_argv([tool, *spelling, *tail]).options[0] == Opt("nodes", "5")
    assert parse_argv([tool, *spelling, *tail]) == parse_argv([tool, "--nodes=5", *tail])


def test_forms_record_how_each_option_was_written() -> None:
    """The parse keeps the spelling (outside equality) so builders' token style can be checked."""
    parsed = parse_argv(["srun", "-lN2", "-n", "4", "--mpi=pmix", "--partit", "p", "--exact", "a"])
    comp = parsed.components[0]
    assert comp.forms == (
        OptionForm("-l", "flag"),
        OptionForm("-N", "attached"),
        OptionForm("-n", "separate"),
        OptionForm("--mpi", "equals"),
        OptionForm("--partit", "separate"),
        OptionForm("--exact", "flag"),
    )
    assert parsed.warnings == ("abbreviated long option --partit",)


def test_short_options_cluster_and_the_last_takes_the_rest_as_its_argument() -> None:
    """getopt: `-lK1` is -l then -K with argument "1"; `-vN5` is -v then -N 5."""
    assert parse_argv(["srun", "-lK1", "hostname"]).options == (
        ("label", None),
        ("kill-on-bad-exit", "1"),
    )
    assert parse_argv(["salloc", "-vN5"]).options == (("verbose", None), ("nodes", "5"))


def test_short_names_map_to_their_long_names() -> None:
    """Short options are reported under the long name the man page pairs them with."""
    argv = "sbatch -A a -J j -p p -t 5 -w n1 -x n2 -o o -e e -D d -G 2 -M c -a 0-3 -d x -q q"
    names = [o.name for o in parse_argv([*argv.split(), "--wrap", "w"]).options]
    assert names == [
        "account",
        "job-name",
        "partition",
        "time",
        "nodelist",
        "exclude",
        "output",
        "error",
        "chdir",
        "gpus",
        "clusters",
        "array",
        "dependency",
        "qos",
        "wrap",
    ]
    assert parse_argv(["srun", "-c2", "-C", "k", "-n1", "-N1", "a"]).options == (
        ("cpus-per-task", "2"),
        ("constraint", "k"),
        ("ntasks", "1"),
        ("nodes", "1"),
    )


def test_an_optional_argument_is_only_taken_after_an_equals_sign() -> None:
    """srun(1) --exclusive[={user|mcs}]: `--exclusive user hostname` runs the program `user`."""
    assert parse_argv(["srun", "--exclusive=user", "hostname"]).options == (("exclusive", "user"),)
    parsed = parse_argv(["srun", "--exclusive", "user", "hostname"])
    assert parsed.options == (("exclusive", None),)
    assert parsed.program == ("user", "hostname")


@pytest.mark.parametrize(
    ("argv", "option", "program"),
    [
        (["salloc", "-I5"], ("immediate", "5"), ()),
        (["salloc", "-I", "5"], ("immediate", None), ("5",)),
        (["salloc", "--immediate=5"], ("immediate", "5"), ()),
        (["srun", "--kill-on-bad-exit", "1", "a"], ("kill-on-bad-exit", None), ("1", "a")),
        (["srun", "--nice", "5", "a"], ("nice", None), ("5", "a")),
        (["srun", "--propagate", "ALL", "a"], ("propagate", None), ("ALL", "a")),
        (["srun", "--bcast", "/tmp/x", "a"], ("bcast", None), ("/tmp/x", "a")),
        (["srun", "--compress", "lz4", "a"], ("compress", None), ("lz4", "a")),
        (["srun", "--resv-ports", "2", "a"], ("resv-ports", None), ("2", "a")),
        (["srun", "--overlap", "a"], ("overlap", None), ("a",)),
        (["sbatch", "--no-kill", "off"], ("no-kill", None), ("off",)),
        (["sbatch", "-koff", "--wrap=x"], ("no-kill", "off"), ()),
        (["salloc", "--get-user-env", "10L"], ("get-user-env", None), ("10L",)),
        (["salloc", "--x11", "all"], ("x11", None), ("all",)),
    ],
)
def test_optional_arguments_never_consume_the_next_word(
    argv: list[str], option: tuple[str, str | None], program: tuple[str, ...]
) -> None:
    """Options with `[=value]` in the man page leave a separate word alone."""
    parsed = parse_argv(argv)
    assert parsed.options[0] == option
    assert parsed.program == program


@pytest.mark.parametrize(
    "argv",
    [
        ["salloc", "--no-shell", "--pty"],
        ["srun", "--no-shell", "hostname"],
        ["sbatch", "--bogus", "--wrap=x"],
        ["salloc", "--export=ALL"],  # salloc has no --export
        ["salloc", "--mpi=pmix"],  # --mpi is srun's
        ["sbatch", "--cpu-bind=cores", "--wrap=x"],  # srun only in 22.05
        ["sbatch", "-I", "--wrap=x"],  # sbatch has no -I
        ["salloc", "-o", "out"],  # salloc has no -o
        ["srun", "-y", "hostname"],
        ["srun", "-:", "hostname"],
        ["srun", "--requeue", "hostname"],  # sbatch only
    ],
)
def test_unknown_options_are_rejected(argv: list[str]) -> None:
    """An option the tool's table lacks fails as getopt's "unrecognized/invalid option"."""
    with pytest.raises(OracleError) as caught:
        parse_argv(argv)
    assert caught.value.kind == "unknown-option"


@pytest.mark.parametrize(
    "argv",
    [
        ["salloc", "--nodes"],
        ["salloc", "-N"],
        ["sbatch", "--wrap=x", "--time"],
        ["srun", "-n"],
        ["salloc", "-vJ"],
    ],
)
def test_a_required_argument_at_the_end_is_missing(argv: list[str]) -> None:
    """`--nodes` as the last word: "option '--nodes' requires an argument"."""
    with pytest.raises(OracleError) as caught:
        parse_argv(argv)
    assert caught.value.kind == "missing-argument"


def test_a_required_argument_takes_the_next_word_whatever_it_is() -> None:
    """getopt hands the next word to a required argument even if it looks like an option."""
    assert parse_argv(["salloc", "--job-name", "--nodes"]).options == (("job-name", "--nodes"),)
    assert parse_argv(["srun", "-J", ":", "hostname"]).options == (("job-name", ":"),)
    assert parse_argv(["salloc", "--comment", "--"]).options == (("comment", "--"),)


@pytest.mark.parametrize(
    "argv",
    [
        ["sbatch", "--requeue=1", "--wrap=x"],  # sbatch(1): --requeue takes no argument
        ["sbatch", "--parsable=yes", "--wrap=x"],
        ["srun", "--pty=1", "hostname"],
        ["salloc", "--no-shell=1"],
        ["srun", "--exact=1", "a"],
    ],
)
def test_a_flag_given_a_value_is_rejected(argv: list[str]) -> None:
    """ "option '--requeue' doesn't allow an argument" (observed with sbatch 22.05.8)."""
    with pytest.raises(OracleError) as caught:
        parse_argv(argv)
    assert caught.value.kind == "unexpected-argument"


def test_ambiguous_prefixes_are_rejected_and_alias_prefixes_are_not() -> None:
    """glibc: a prefix of options differing in has_arg or val is ambiguous (`--cpu`, `--nod`)."""
    assert parse_argv(["salloc", "--partit", "debug", "--job-n=x"]).options == (
        ("partition", "debug"),
        ("job-name", "x"),
    )
    with pytest.raises(OracleError):
        parse_argv(["salloc", "--nod", "5"])  # nodefile, nodelist, nodes
    with pytest.raises(OracleError) as caught:
        parse_argv(["srun", "--cpu", "x", "a"])
    assert caught.value.kind == "ambiguous-option"
    with pytest.raises(OracleError):
        parse_argv(["salloc", "--clus", "x"])  # cluster, clusters, cluster-constraint
    # tasks-per-node is an alias of ntasks-per-node (same getopt val): not ambiguous.
    assert parse_argv(["srun", "--tasks-per", "2", "a"]).options == (("ntasks-per-node", "2"),)
    assert parse_argv(["salloc", "--cluster", "c"]).options == (("clusters", "c"),)


def test_abbreviations_can_be_refused() -> None:
    """allow_abbrev=False accepts exact names only."""
    assert parse_argv(["salloc", "--nodes=1"], allow_abbrev=False).options == (("nodes", "1"),)
    with pytest.raises(OracleError):
        parse_argv(["salloc", "--partit=p"], allow_abbrev=False)


def test_the_first_non_option_word_ends_the_options() -> None:
    """The optstring starts with "+": everything after the program is the program's argv."""
    parsed = parse_argv(["srun", "-n2", "hostname", "-N", "3", "--exclusive"])
    assert parsed.options == (("ntasks", "2"),)
    assert parsed.program == ("hostname", "-N", "3", "--exclusive")
    assert parse_argv(["salloc", "-N1", "-", "x"]).program == ("-", "x")


def test_double_dash_ends_the_options_and_is_dropped() -> None:
    """`--` is consumed; the words after it are the program even if they start with "-"."""
    parsed = parse_argv(["srun", "-N1", "--", "-N", "hostname"])
    assert parsed.options == (("nodes", "1"),)
    assert parsed.program == ("-N", "hostname")


def test_empty_values_parse_and_are_listed() -> None:
    """`--partition ''` and `--partition=` are accepted by getopt; empty_values shows them."""
    parsed = parse_argv(["salloc", "--partition", "", "-J=", "--exclusive="])
    assert parsed.options == (("partition", ""), ("job-name", "="), ("exclusive", ""))
    assert parsed.empty_values == ((0, "partition"), (0, "exclusive"))
    assert parse_argv(["salloc", "-N", "1"]).empty_values == ()


# ------------------------------------------------------------------------------------------------
# Heterogeneous components.
# ------------------------------------------------------------------------------------------------


def test_srun_mpmd_components_each_have_options_and_a_program() -> None:
    """srun(1) SYNOPSIS: `srun opts0 exe0 args0 : opts1 exe1 args1`."""
    parsed = parse_argv(["srun", "-n1", "-l", "a", "x", ":", "-n2", "b", "y", "z"])
    assert parsed.components == (
        Component((Opt("ntasks", "1"), Opt("label", None)), ("a", "x")),
        Component((Opt("ntasks", "2"),), ("b", "y", "z")),
    )


def test_srun_components_may_omit_the_program_except_the_last() -> None:
    """Observed: `srun -n1 : -n2 hostname` runs; `srun -N1 hostname :` has no command."""
    parsed = parse_argv(["srun", "-n1", ":", "-n2", "hostname"])
    assert [c.program for c in parsed.components] == [(), ("hostname",)]
    for argv in (["srun", "-N1", "hostname", ":"], ["srun", "-N1", "a", ":", "-N2"], ["srun"]):
        with pytest.raises(OracleError) as caught:
            parse_argv(argv)
        assert caught.value.kind == "no-command"
    assert parse_argv(["srun", "--test-only", "-N1"]).program == ()


def test_srun_double_dash_does_not_swallow_the_separator() -> None:
    """Observed: `srun -N1 -- a : -N2 b` is two components."""
    parsed = parse_argv(["srun", "-N1", "--", "a", ":", "-N2", "b"])
    assert [c.program for c in parsed.components] == [("a",), ("b",)]


def test_salloc_het_allocation_and_its_command() -> None:
    """`salloc -n 1 -J hetA : -n 2 -J hetB` (notes); the command ends the component list."""
    parsed = parse_argv(
        ["salloc", "--no-shell", "-n", "1", "-J", "hetA", ":", "-n", "2", "-J", "hetB"]
    )
    assert [c.as_dict() for c in parsed.components] == [
        {"no-shell": None, "ntasks": "1", "job-name": "hetA"},
        {"ntasks": "2", "job-name": "hetB"},
    ]
    cmd = parse_argv(["salloc", "-N1", "cmd", ":", "-N2"])
    assert len(cmd.components) == 1
    assert cmd.program == ("cmd", ":", "-N2")


def test_sbatch_het_job_on_the_command_line() -> None:
    """Notes: `sbatch --parsable -n1 : -n1 --wrap ...` submits a two-component job."""
    parsed = parse_argv(["sbatch", "--parsable", "-n1", ":", "-n1", "--wrap", "hostname"])
    assert [c.options for c in parsed.components] == [
        (("parsable", None), ("ntasks", "1")),
        (("ntasks", "1"), ("wrap", "hostname")),
    ]
    assert parsed.program == ()


def test_sbatch_script_and_its_arguments() -> None:
    """The script is the first non-option word; the rest are its arguments."""
    parsed = parse_argv(["sbatch", "-N2", "job.sh", "-N", "3"])
    assert parsed.options == (("nodes", "2"),)
    assert parsed.program == ("job.sh", "-N", "3")


def test_sbatch_drops_colons_from_the_scripts_arguments() -> None:
    """opt.c process_options_first_pass removes every ":" word before finding the script."""
    assert parse_argv(["sbatch", "job.sh", "a", ":", "b"]).program == ("job.sh", "a", "b")


def test_sbatch_wrap_forbids_script_arguments() -> None:
    """Observed: "Script arguments not permitted with --wrap option"."""
    with pytest.raises(OracleError) as caught:
        parse_argv(["sbatch", "--wrap", "x", "y"])
    assert caught.value.kind == "script-arguments-with-wrap"


# ------------------------------------------------------------------------------------------------
# squeue / sacct / scancel (permuting getopt).
# ------------------------------------------------------------------------------------------------


def test_query_commands_permute_options_and_operands() -> None:
    """GNU getopt without "+": options may follow operands (scancel's job ids)."""
    parsed = parse_argv(["scancel", "7", "--signal=TERM", "8", "-Q"])
    assert parsed.options == (("signal", "TERM"), ("quiet", None))
    assert parsed.program == ("7", "8")
    sacct = parse_argv(["sacct", "-X", "-n", "-P", "-j", "17", "--format=JobID,State"])
    assert sacct.components[0].as_dict() == {
        "allocations": None,
        "noheader": None,
        "parsable2": None,
        "jobs": "17",
        "format": "JobID,State",
    }
    assert parse_argv(["squeue", "--me", "-h", "-t", "all", "-o", "%i %T"]).options == (
        ("me", None),
        ("noheader", None),
        ("states", "all"),
        ("format", "%i %T"),
    )


def test_squeue_jobs_takes_a_following_word_and_rejects_a_second() -> None:
    """squeue's -j has an optional argument; opts.c gives it the leftover word (observed)."""
    assert parse_argv(["squeue", "-j", "5"]).options == (("jobs", "5"),)
    assert parse_argv(["squeue", "--jobs=5,6"]).options == (("jobs", "5,6"),)
    with pytest.raises(OracleError) as caught:
        parse_argv(["squeue", "-j", "5", "6"])
    assert caught.value.kind == "extra-operand"


def test_parse_options_returns_the_words_after_the_stop() -> None:
    """parse_options is getopt alone: what follows the options comes back as program."""
    assert parse_options("srun", ["-N2", "a", ":", "b"]) == Component(
        (Opt("nodes", "2"),), ("a", ":", "b")
    )


def test_unknown_tool() -> None:
    with pytest.raises(OracleError):
        parse_argv(["mpirun", "-n", "2"])


# ------------------------------------------------------------------------------------------------
# --time.
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("10", 600),  # minutes
        ("10:00", 600),  # minutes:seconds -- ten minutes, not ten hours
        ("5:30", 330),
        ("10:00:00", 36000),  # hours:minutes:seconds
        ("100:00:00", 360000),  # hours may exceed 24
        ("1-0", 86400),  # days-hours
        ("2-3", 2 * 86400 + 3 * 3600),
        ("1-2:3", 86400 + 2 * 3600 + 3 * 60),  # days-hours:minutes
        ("1-2:3:4", 86400 + 2 * 3600 + 3 * 60 + 4),  # days-hours:minutes:seconds
        ("1-", 86400),  # observed: accepted as one day
        ("0:0:90", 90),
        ("0", None),  # "A time limit of zero requests that no time limit be imposed"
        ("0:0", None),
        ("UNLIMITED", None),
        ("infinite", None),
        ("-1", None),
    ],
)
def test_time_grammar(text: str, seconds: int | None) -> None:
    """sbatch(1) --time formats."""
    assert parse_time(text) == seconds


@pytest.mark.parametrize(
    "text", ["", " 5", "5:", ":5", "1::2", "1-2:", "1--2", "1-2:3:4:5", "1:2:3:4", "abc", "+5"]
)
def test_time_rejects_what_slurm_rejects(text: str) -> None:
    """Each of these gave "Invalid --time specification" from salloc 22.05.8."""
    with pytest.raises(OracleError) as caught:
        parse_time(text)
    assert caught.value.kind == "bad-time"


def test_negative_days_are_refused() -> None:
    """22.05 wraps "-5" into a 2982611-day limit; the oracle refuses it instead."""
    with pytest.raises(OracleError):
        parse_time("-5")


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("0:30", 1), ("5:30", 6), ("00:00:01", 1), ("1:2:3", 63), ("90", 90), ("0", None)],
)
def test_time_is_stored_in_minutes_rounded_up(text: str, minutes: int | None) -> None:
    """time_str2mins rounds seconds up (observed: 5:30 became 00:06:00)."""
    assert parse_time_minutes(text) == minutes


@given(
    days=st.integers(0, 400),
    hours=st.integers(0, 23),
    minutes=st.integers(0, 59),
    seconds=st.integers(0, 59),
)
def test_time_formats_read_back(days: int, hours: int, minutes: int, seconds: int) -> None:
    """D-HH:MM:SS and unbounded H:MM:SS both read back as the seconds they spell."""
    total = days * 86400 + hours * 3600 + minutes * 60 + seconds
    expected = total or None
    assert parse_time(f"{days}-{hours:02d}:{minutes:02d}:{seconds:02d}") == expected
    assert parse_time(f"{days * 24 + hours}:{minutes:02d}:{seconds:02d}") == expected


# ------------------------------------------------------------------------------------------------
# --export and --array.
# ------------------------------------------------------------------------------------------------


def test_export_splits_on_commas_outside_quotes() -> None:
    """peers.md / find_quote_token: a wholly quoted token keeps its commas, minus the quotes."""
    spec = parse_export("ALL,'A=x,y',B=1,PATH")
    assert spec.tokens == ("ALL", "A=x,y", "B=1", "PATH")
    assert spec.all
    assert not spec.none
    assert spec.assignments == (("A", "x,y"), ("B", "1"))
    assert spec.names == ("PATH",)


def test_export_keeps_quotes_that_do_not_wrap_the_whole_token() -> None:
    """`A='x,y'` keeps its quotes (they are not at the token's start)."""
    assert parse_export("A='x,y',B=2").assignments == (("A", "'x,y'"), ("B", "2"))
    assert parse_export('"C=1,2"').tokens == ("C=1,2",)


def test_export_keywords_and_edge_tokens() -> None:
    """Keywords are case-insensitive; a trailing comma adds nothing; a value may hold '='."""
    assert parse_export("none").none
    assert parse_export("NIL").nil
    assert parse_export("A=1,").tokens == ("A=1",)
    assert parse_export(",A=1").tokens == ("", "A=1")
    assert parse_export("A=b=c").assignments == (("A", "b=c"),)
    assert parse_export("").tokens == ()


def test_export_unbalanced_quote_is_refused() -> None:
    """Slurm logs "Improperly formed environment variable"; the oracle raises."""
    with pytest.raises(OracleError) as caught:
        parse_export("A='x")
    assert caught.value.kind == "bad-export"


_NAME_START = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"
_env_name = st.tuples(
    st.sampled_from(_NAME_START), st.text(_NAME_START + "0123456789", max_size=8)
).map("".join)
_env_value = st.text(st.characters(exclude_characters="'\"\0"), max_size=12)


@given(st.lists(st.tuples(_env_name, _env_value), max_size=5))
def test_export_with_every_pair_quoted_reads_back(pairs: list[tuple[str, str]]) -> None:
    """`ALL,'K=v',...` gives back each K=v, commas and all, when v holds no quote."""
    value = ",".join(["ALL", *(f"'{k}={v}'" for k, v in pairs)])
    assert parse_export(value).assignments == tuple(pairs)


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("0-9%2", ArraySpec(tuple(range(10)), 2)),
        ("1,3,5", ArraySpec((1, 3, 5), None)),
        ("0-15:4", ArraySpec((0, 4, 8, 12), None)),
        ("0,6,16-18", ArraySpec((0, 6, 16, 17, 18), None)),
        ("0-15%4", ArraySpec(tuple(range(16)), 4)),
        ("7", ArraySpec((7,), None)),
    ],
)
def test_array_examples_from_sbatch_man_page(text: str, spec: ArraySpec) -> None:
    """sbatch(1) --array examples."""
    assert parse_array(text) == spec


@pytest.mark.parametrize(
    "text", ["", "5-3", "a", "1-", "-1", "%2", "0-15:0", "1,,3", "0-9%", "0-9%x", "1:2", " 1"]
)
def test_array_rejects_undocumented_forms(text: str) -> None:
    with pytest.raises(OracleError) as caught:
        parse_array(text)
    assert caught.value.kind == "bad-array"


def test_array_honours_max_array_size() -> None:
    """MaxArraySize (default 1001): indices must stay below it."""
    assert parse_array("0-1000", max_array_size=1001).indices[-1] == 1000
    with pytest.raises(OracleError):
        parse_array("0-1001", max_array_size=1001)


# ------------------------------------------------------------------------------------------------
# The #SBATCH lexer.
# ------------------------------------------------------------------------------------------------


def _script(*lines: str) -> str:
    return "\n".join(["#!/bin/bash", *lines, ""])


def test_directive_words_quotes_and_comments() -> None:
    """Quotes group and vanish, segments join, an unquoted # ends the line (observed)."""
    text = _script(
        '#SBATCH -J "my job" --comment=\'a b\'"c d"e #trailing comment',
        '#SBATCH --output=o\\"x # c',
        "  # indented comment",
        "#SBATCH\t--mail-user=$HOME",
        "",
        "#SBATCH --wckey=w\\#x --comment=a\\\\b --account='x\\'y' --qos=\"é ü 日本\"",
        "#SBATCH --reservation='#not-a-comment'",
        "echo hi",
        "#SBATCH --account=late",
    )
    assert lex_sbatch_script(text) == Directives(
        components=(
            (
                "-J",
                "my job",
                "--comment=a bc de",
                '--output=o"x',
                "--mail-user=$HOME",
                "--wckey=w#x",
                "--comment=a\\b",
                "--account=x'y",
                "--qos=é ü 日本",
                "--reservation=#not-a-comment",
            ),
        ),
        stopped_at=9,
    )


def test_scanning_stops_at_the_first_command_only() -> None:
    """sbatch(1): directives stop at "the first non-comment non-whitespace line"."""
    text = _script("", "   ", "# note", "#SBATCH -N 2", "export X=1", "#SBATCH -N 3")
    lexed = lex_sbatch_script(text)
    assert lexed.components == (("-N", "2"),)
    assert lexed.stopped_at == 6


def test_an_indented_directive_is_just_a_comment() -> None:
    """Only a line starting with "#SBATCH" in column 0 is a directive."""
    assert lex_sbatch_script(_script("  #SBATCH -J x", "#SBATCH -t 5")).words == ("-t", "5")


def test_a_directive_value_may_continue_on_the_next_line() -> None:
    """All lines' words form one argv: `--comment` then `text` on the next line."""
    parsed = parse_sbatch_script(_script("#SBATCH --comment", "#SBATCH text"))
    assert parsed.options == (("comment", "text"),)


def test_backslash_escapes_but_not_a_blank_and_inside_single_quotes_too() -> None:
    """get_argument: `a\\ b` is two words; `'a\\b'` loses its backslash (observed)."""
    assert lex_directive(" --comment=\\ x") == ("--comment=", "x")
    assert lex_directive(" 'a\\b'") == ("ab",)
    assert lex_directive(' "a\\\\b"') == ("a\\b",)
    assert lex_directive(" z\\") == ("z",)


def test_an_empty_word_ends_the_line() -> None:
    """`""`, `''` or a lone backslash yields no word and drops the rest of the line."""
    assert lex_directive(' --comment "" -t 5') == ("--comment",)
    assert lex_directive(" \\ -J dropped") == ()
    assert lex_directive(" -t 5 ''") == ("-t", "5")


def test_c_isspace_blanks_separate_words() -> None:
    """\\v, \\f and a lone \\r are blanks to isspace()."""
    assert lex_directive(" -J x\vy -A p\fq -t 5\r") == ("-J", "x", "y", "-A", "p", "q", "-t", "5")


def test_no_variable_expansion() -> None:
    """sbatch does not expand $VAR in directives."""
    assert parse_sbatch_script(_script("#SBATCH -o $HOME/${USER}.out")).get("output") == (
        "$HOME/${USER}.out"
    )


def test_hetjob_lines_separate_components() -> None:
    """`#SBATCH hetjob` (any case, or packjob) starts the next component; rest of line ignored."""
    text = _script("#SBATCH -N 1", "#SBATCH hetjob -N 9", "#SBATCH -N 2", "#SBATCH PackJob", "")
    assert lex_sbatch_script(text).components == (("-N", "1"), ("-N", "2"), ())
    parsed = parse_sbatch_script(_script("#SBATCH -n1 -C haswell", "#SBATCHhetjob", "#SBATCH -n2"))
    assert [c.options for c in parsed.components] == [
        (("ntasks", "1"), ("constraint", "haswell")),
        (("ntasks", "2"),),
    ]


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("#SBATCH --job-name=myhetjob", ("--job-name=myhetjob",)),
        ("#SBATCH --comment=hetjob -N 2", ("--comment=hetjob", "-N", "2")),
        ("#SBATCH -J x hetjob -N 2", ("-J", "x")),  # a later raw hetjob ends the line
        ("#SBATCH -J hetjob -t 5", ("-J",)),
        ('#SBATCH -J "hetjob" -t 5', ("-J", "hetjob", "-t", "5")),
        ("#SBATCH -J \\hetjob -t 5", ("-J", "hetjob", "-t", "5")),
        ("#SBATCH hetjobs", ("hetjobs",)),
        ("#SBATCH hetjob#c", ("hetjob",)),
    ],
)
def test_hetjob_inside_a_line(line: str, words: tuple[str, ...]) -> None:
    """Observed with 22.05.8: only a raw, whole, unquoted word counts as the separator."""
    lexed = lex_sbatch_script(_script("#SBATCH -N 1", line))
    assert lexed.components == (("-N", "1", *words),)


@pytest.mark.parametrize(
    "text",
    [
        _script('#SBATCH -J "a'),  # unmatched quote
        _script("#SBATCH -N 1 : -N 2"),  # "Unexpected `:`"
        _script("#SBATCH -J :x"),
        "#SBATCH -J a\ntrue\n",  # no #! line
        "",
        "#!/bin/sh\r\n#SBATCH -J a\r\n",  # DOS line breaks
        "#!/bin/sh\n#SBATCH -J a\0b\n",
    ],
)
def test_fatal_scripts(text: str) -> None:
    """Each of these makes sbatch exit before submitting."""
    with pytest.raises(OracleError):
        lex_sbatch_script(text)


def test_a_quoted_colon_is_fine_for_the_lexer() -> None:
    """The `:` check looks at the raw first character only."""
    assert lex_directive(' -J ":x"') == ("-J", ":x")


@pytest.mark.parametrize(
    "line",
    [
        "#SBATCH --nice 5",  # optional argument: 5 is a stray word
        "#SBATCH -J x -- -N 3",
        "#SBATCH --mail-user=<your e-mail>",
    ],
)
def test_invalid_directive_words(line: str) -> None:
    """A word getopt does not consume: "Invalid directive found in batch script"."""
    with pytest.raises(OracleError) as caught:
        parse_sbatch_script(_script(line))
    assert caught.value.kind == "invalid-directive"


@pytest.mark.parametrize("line", ["#SBATCH --requeue=1", "#SBATCH --bogus", "#SBATCH -J x -N"])
def test_getopt_errors_in_directives(line: str) -> None:
    """Directive words go through the same getopt as the command line (all fatal, observed)."""
    with pytest.raises(OracleError):
        parse_sbatch_script(_script(line))


def test_slurm_magic_word_and_foreign_directives() -> None:
    """#SLURM still works (with an error message); #PBS/#BSUB lines are reported, not lexed."""
    lexed = lex_sbatch_script(_script("#SLURM -J x", "#PBS -N pname", "true", "#BSUB -J b"))
    assert lexed.components == (("-J", "x"),)
    assert lexed.foreign == ("#PBS -N pname", "#BSUB -J b")
    assert lexed.warnings


_line_text = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\n\0"), min_size=1
)


@given(st.lists(_line_text, min_size=1, max_size=4))
def test_quote_directive_word_reads_back(words: list[str]) -> None:
    """The reference spelling survives get_argument for any word without newline or NUL."""
    line = " " + " ".join(quote_directive_word(w) for w in words)
    assert lex_directive(line) == tuple(words)
    assert lex_sbatch_script("#!/bin/sh\n" + directive_lines(words)).words == tuple(words)


@given(st.lists(_line_text, min_size=1, max_size=4))
def test_shlex_quote_reads_back_unless_the_word_holds_a_backslash(words: list[str]) -> None:
    """shlex.quote'd words lex back to themselves, provided none holds a backslash, none is
    spelled bare with a leading ':' and none is a bare het separator."""
    assume(all("\\" not in w for w in words))
    quoted = [shlex.quote(w) for w in words]
    assume(not any(q.startswith(":") for q in quoted))
    assume(not any(q.lower() in ("hetjob", "packjob") for q in quoted))
    assert lex_directive(" " + " ".join(quoted)) == tuple(words)


def test_shlex_quote_loses_backslashes() -> None:
    """Counter-example to peers.md §2.1: sbatch eats a backslash inside single quotes."""
    assert lex_directive(" " + shlex.quote("C:\\dir")) == ("C:dir",)
    assert lex_directive(" " + quote_directive_word("C:\\dir")) == ("C:\\dir",)


@given(_line_text)
def test_a_quoted_comment_value_comes_back_from_a_script(value: str) -> None:
    """`#SBATCH --comment=<quoted>` gives the comment back through lexer and getopt."""
    script = f"#!/bin/sh\n#SBATCH --comment={quote_directive_word(value)}\nsrun true\n"
    assert parse_sbatch_script(script).get("comment") == value


def test_quote_directive_word_refuses_unspellable_words() -> None:
    for word in ("", "a\nb", "a\0b"):
        with pytest.raises(ValueError):
            quote_directive_word(word)
