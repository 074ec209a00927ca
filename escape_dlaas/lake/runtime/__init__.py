"""Programs that run *inside the lake's own venv* (rucio server package, Authlib, Flask).

Nothing here is imported by the notebook side at run time: the lake orchestrator
(``escape_dlaas.lake``) starts these files with the lake venv's Python, with this
directory on ``PYTHONPATH`` so that they import each other as top-level modules
(``lake_runtime``, ``escape_lake_policy``, ...). The only exception is
``escape_lake_policy.embargo``, a pure function the unit tests import directly.
"""
