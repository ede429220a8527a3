"""``dlverify serve``: a live answer page for an assignment, and the JSON API it uses.

A student types an answer and sees, as it is typed, how the checker read it (typeset, its shape,
matrix versus entrywise products, where each transpose applies, unknown symbols); Check gives the
verdict of ``dlverify check``.  Installed as the ``serve`` extra (Starlette and uvicorn); the
command line imports none of it until ``serve`` runs.
"""
