"""The impure layer: the only code that starts processes, touches files or reads the environment.

Everything here returns ``returns`` containers (``IOResult``) with
:class:`~smartsim.errors.EffectError` values; nothing here raises for an expected failure,
and nothing uses ``shell=True``.
"""
