"""Jupyter server configuration for the Galata UI tests.

Run with ``jupyter lab --config jupyter_server_test_config.py`` (``jlpm start``).

Environment:
- ``ESCAPE_DLAAS_UI_PORT``: port to listen on (default 8888; playwright.config.js
  reads the same variable; ``scripts/ui-tests.sh`` sets it to a free port).
- ``ESCAPE_DLAAS_LAKE_DIR``: state directory of a running local lake
  (``escape-dlaas lake up --state-dir DIR``); its
  ``jupyter/jupyter_server_config.json`` is merged in, so the extension talks
  to that lake.

The server's root directory stays Galata's own (a new temporary folder, or
``JUPYTERLAB_GALATA_ROOT_DIR``; ``scripts/ui-tests.sh`` deletes it): the test
folders land there, never in the lake's storage (``DIR/rses``). The file
browser still opens the data made available: the extension links each
dataset's files into ``data-lake/<scope>/<dataset>`` under that root, with
absolute targets in the storage.

Never use this configuration outside tests: it disables authentication.
"""

import json
import os
import tempfile
from pathlib import Path

from jupyterlab.galata import configure_jupyter_server
from traitlets.config import Config

c = get_config()  # type: ignore[name-defined]  # noqa: F821  (provided by traitlets)

configure_jupyter_server(c)

c.ServerApp.port = int(os.environ.get("ESCAPE_DLAAS_UI_PORT", "8888"))
c.ServerApp.open_browser = False
c.ServerApp.allow_root = True
# Enabled here too, so the tests do not depend on how the package was installed.
c.ServerApp.jpserver_extensions = {"escape_dlaas": True}

# Uncomment to set the server log level to debug
# c.ServerApp.log_level = "DEBUG"

lake_dir = os.environ.get("ESCAPE_DLAAS_LAKE_DIR")
if lake_dir:
    lake_config_file = Path(lake_dir) / "jupyter" / "jupyter_server_config.json"
    if not lake_config_file.is_file():
        raise SystemExit(
            f"ESCAPE_DLAAS_LAKE_DIR is set but {lake_config_file} does not exist: "
            f"start the lake first (escape-dlaas lake up --state-dir {lake_dir})."
        )
    # The lake writes {"DLaaS": {...}} (and possibly other sections): merge them all.
    lake_config = json.loads(lake_config_file.read_text())
    c.merge(Config(lake_config))

# The ESAP basket (tests/basket.spec.ts): handed over at launch as a file the spec writes.
c.DLaaS.esap = {
    "basket_file": os.environ.get(
        "ESCAPE_DLAAS_UI_BASKET", os.path.join(tempfile.gettempdir(), "escape-dlaas-ui-basket.json")
    ),
    "basket_env": None,
}
