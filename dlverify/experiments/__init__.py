"""The experiments of catalog items whose agreement is measured, not "reference equals oracle":
each module holds the bodies of one topic's ``Check(name, measure)`` and ``Property(name, measure)``
functions, which read the derivation through the problem (or the registry) and run its oracle.

Apart from the descriptions (``dlverify/problems/``), which name them lazily: a description
stays free of SymPy and torch, and only this package, the registry, the tests and the checker
bring a derivation and its oracle together.
"""
