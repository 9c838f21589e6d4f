"""Agent-based simulation of care pathways for functional somatic conditions.

Start with :mod:`sim.engine.system` (the weekly order), :mod:`sim.core.params` (every
parameter) and :mod:`sim.reference` (the same model one agent at a time).
This package never imports Hydra; the command-line entry points live in
``experiments/``.
"""
