"""Catalog ids whose topic has no description yet: (id, answer kind, topic).

They are listed so that ``dlverify list --planned`` shows the whole catalog and the
answer checker can say ``unsupported`` (a known id it cannot judge yet) rather than
``unknown_id``.  A row whose id gets a description is superseded by it (the registry
ignores it), so adding a topic needs no edit here; tidy the rows away when convenient.
"""

_ROWS = """
concepts.ae_a choice
concepts.ae_b choice
concepts.ae_c choice
concepts.ae_d choice
concepts.ae_e choice
concepts.ae_f choice
concepts.ae_g choice
concepts.ae_h choice
concepts.ae_i choice
concepts.ae_j choice
"""

PLANNED: tuple[tuple[str, str, str], ...] = tuple(
    (pid, kind, pid.split(".")[0]) for pid, kind in (line.split() for line in _ROWS.strip().splitlines())
)
