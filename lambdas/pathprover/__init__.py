"""Path Prover: finds unproven ML-serving configuration paths and proves them within a budget."""

__version__ = "0.1.0"
