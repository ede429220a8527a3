"""The catalog's problem descriptions, one module per topic, each exporting ``TOPIC`` and
``PROBLEMS``; the registry finds every such module here (add a topic by adding its module)."""
