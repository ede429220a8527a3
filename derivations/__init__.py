"""SymPy derivations of the catalog's problems. Never imports torch or the oracles."""
