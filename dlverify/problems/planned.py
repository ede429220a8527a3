"""Catalog ids whose topic has no description yet: (id, answer kind, topic).

They are listed so that ``dlverify list --planned`` shows the whole catalog and the
answer checker can say ``unsupported`` (a known id it cannot judge yet) rather than
``unknown_id``.  A row whose id gets a description is superseded by it (the registry
ignores it), so adding a topic needs no edit here; tidy the rows away when convenient.
"""

_ROWS = """
"""

PLANNED: tuple[tuple[str, str, str], ...] = tuple(
    (pid, kind, pid.split(".")[0]) for pid, kind in (line.split() for line in _ROWS.strip().splitlines())
)
