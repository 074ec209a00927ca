"""The Rucio domain of escape-dlaas, free of any web framework.

Operations are plain async functions taking a :class:`~.session.RucioSession` (one per
configured instance), so that the REST handlers and, later, a kernel-side Python API
call the very same code. Nothing below this package imports tornado or jupyter_server.
"""
