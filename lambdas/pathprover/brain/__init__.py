"""The brain: gaps, feasibility, concretisation, the plan within budget, and nearest substitutions.

Pure logic over the history read from the table and the catalog; no I/O of its own.
"""
