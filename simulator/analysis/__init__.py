"""Post-hoc analysis of recorded runs: dependency graphs, cascades, attention, reports."""
