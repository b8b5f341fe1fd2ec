"""Test kit for plugin authors (see docs/plugins.md).

It sits beside the core rather than in it: the conformance suite exercises the
backend contract, so it imports :mod:`shotsmith.backends`.
"""
