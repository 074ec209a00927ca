"""Jupyter server configuration for the Galata UI tests.

Run with ``jupyter lab --config jupyter_server_test_config.py`` (``jlpm start``).

Environment:
- ``ESCAPE_DLAAS_UI_PORT``: port to listen on (default 8888; playwright.config.js
  reads the same variable; ``scripts/ui-tests.sh`` sets it to a free port).
- ``ESCAPE_DLAAS_LAKE_DIR``: state directory of a running local lake
  (``escape-dlaas lake up --state-dir DIR``); its
  ``jupyter/jupyter_server_config.json`` is merged in, so the extension talks
  to that lake, and the server's root directory becomes the parent of the
  lake's notebook-local storage (``DIR/rses``), so that the file browser can
  show the files made available there.

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
    # Serve the folder holding the notebook-local storage (not the whole state
    # directory: it holds tokens and secrets).
    mounts = [
        instance["notebook_local"]["mount_path"]
        for instance in lake_config.get("DLaaS", {}).get("instances", [])
        if instance.get("notebook_local")
    ]
    if mounts:
        c.ServerApp.root_dir = str(Path(mounts[0]).parent)

# The ESAP basket (tests/basket.spec.ts): handed over at launch as a file the spec writes.
c.DLaaS.esap = {
    "basket_file": os.environ.get(
        "ESCAPE_DLAAS_UI_BASKET", os.path.join(tempfile.gettempdir(), "escape-dlaas-ui-basket.json")
    ),
    "basket_env": None,
}
