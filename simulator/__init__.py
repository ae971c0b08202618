"""Deterministic multi-agent stress simulator on SimPy: one kernel, three worlds."""

__version__ = "0.1.0"
