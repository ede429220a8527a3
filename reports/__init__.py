"""LaTeX reports: the solution manual (build.py) and feedback on a checked submission (feedback.py)."""
