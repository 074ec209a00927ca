"""Rucio policy package of the local data lake: the generic policy plus embargoes.

Loaded by the Rucio server and daemons through ``[policy] package = escape_lake_policy``
in ``rucio.cfg`` (this directory is on their ``PYTHONPATH``). Only the ``permission``
module is customised; Rucio falls back to its generic schema and algorithms.
"""

SUPPORTED_VERSION = ">=41,<42"
