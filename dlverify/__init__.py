"""dlverify: SymPy derivations of deep-learning homework, verified against numeric oracles."""

__version__ = "0.1.0"
