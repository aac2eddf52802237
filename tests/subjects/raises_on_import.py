"""A connector module that cannot even be imported: the suite must say so before collecting anything."""

raise RuntimeError("this module needs the acme SDK configured")
