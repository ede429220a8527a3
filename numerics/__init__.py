"""Independent numeric oracles (PyTorch autograd, SciPy, brute force). Never imports derivations."""
