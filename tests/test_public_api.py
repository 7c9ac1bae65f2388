"""The public facade: ``smartsim.__all__`` is sorted and complete, and importing smartsim (or its
builders) does not load the impure layer. Each check runs in a fresh interpreter, so what other
tests imported cannot hide a leak."""

from __future__ import annotations

import json
import subprocess
import sys

_INSPECT = r"""
import json, sys, types
import smartsim

names = {}
for name, value in vars(smartsim).items():
    if name.startswith("_") or isinstance(value, types.ModuleType):
        continue
    module = getattr(value, "__module__", None)
    names[name] = module if isinstance(module, str) else None
print(json.dumps({
    "all": list(smartsim.__all__),
    "bound": names,
    "loaded": sorted(m for m in sys.modules if m == "subprocess" or m.startswith("smartsim")),
}))
"""


def _fresh(code: str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert isinstance(result, dict)
    return result


def test_all_is_sorted_and_lists_exactly_the_public_names() -> None:
    """__all__ is sorted, holds every public name smartsim binds (its own classes and
    functions, not modules or typing helpers), and every name in it resolves."""
    result = _fresh(_INSPECT)
    listed = result["all"]
    bound = result["bound"]
    assert isinstance(listed, list) and isinstance(bound, dict)
    assert listed == sorted(listed)
    assert len(listed) == len(set(listed))
    own = {name for name, module in bound.items() if (module or "").startswith("smartsim")}
    assert own <= set(listed), own - set(listed)
    resolve = "import smartsim\n" + "".join(
        f"assert getattr(smartsim, {name!r}) is not None\n" for name in listed
    )
    proc = subprocess.run([sys.executable, "-c", resolve], capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    foreign = set(listed) - own - {n for n in listed if n not in bound}
    assert not foreign, f"names in __all__ that smartsim does not define: {foreign}"


def test_import_smartsim_loads_no_subprocess_and_no_effects() -> None:
    """`import smartsim` imports neither subprocess nor smartsim.effects (nor the Experiment
    shell): describing work costs no process machinery."""
    loaded = _fresh(_INSPECT)["loaded"]
    assert isinstance(loaded, list)
    assert "subprocess" not in loaded
    assert not [m for m in loaded if m.startswith(("smartsim.effects", "smartsim.experiment"))]


def test_importing_the_builders_loads_no_subprocess_and_no_effects() -> None:
    """Importing every Slurm builder and the script helpers keeps the impure layer unloaded."""
    code = (
        "import sys, json\n"
        "import smartsim.commands.slurm, smartsim.commands.script, smartsim.commands.launch\n"
        "print(json.dumps({'loaded': sorted(m for m in sys.modules "
        "if m == 'subprocess' or m.startswith('smartsim'))}))\n"
    )
    loaded = _fresh(code)["loaded"]
    assert isinstance(loaded, list)
    assert "subprocess" not in loaded
    assert not [m for m in loaded if m.startswith(("smartsim.effects", "smartsim.experiment"))]


def test_builders_do_not_define_the_effect_errors_yet_smartsim_errors_names_them() -> None:
    """The builders leave the effect family undefined (smartsim._effect_errors is not loaded),
    and reading one of its names from smartsim.errors gives the class defined there."""
    code = (
        "import sys, json\n"
        "import smartsim.commands.slurm\n"
        "before = '_effect_errors' in str(sorted(sys.modules))\n"
        "import smartsim.errors as e, smartsim._effect_errors as d\n"
        "from smartsim.errors import NonZeroExit, EffectError\n"
        "same = all(getattr(e, n) is getattr(d, n) for n in e._EFFECT_ERRORS)\n"
        "print(json.dumps({'loaded': before, 'same': same,\n"
        "    'sub': issubclass(NonZeroExit, EffectError), 'all': sorted(e.__all__) == e.__all__,\n"
        "    'missing': [n for n in e.__all__ if not hasattr(e, n)]}))\n"
    )
    result = _fresh(code)
    assert result == {"loaded": False, "same": True, "sub": True, "all": True, "missing": []}
