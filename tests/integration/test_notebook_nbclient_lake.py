"""nbclient runs the example notebook, then the error paths and a kernel interrupt, in a real kernel against the real lake.

The kernel finds the lake as a kernel of the lake's Jupyter server does: through
``JUPYTER_CONFIG_PATH`` (no token or URL in the notebook). The saved notebook holds no token.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from escape_dlaas.notebook import DataLake
from tests.conftest import JWT_RE
from tests.integration.test_notebook_api_lake import a_dataset_not_at_the_notebook

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "notebooks" / "data-lake.ipynb"
INTERRUPT_AFTER_SECONDS = 1.5


def outputs_text(cell) -> str:
    """Everything a cell showed: streams, results (text and HTML), errors."""
    parts = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            parts.append(output["text"])
        elif output["output_type"] in ("execute_result", "display_data"):
            parts += [str(v) for k, v in output["data"].items() if k.startswith("text/")]
        elif output["output_type"] == "error":
            parts.append(f"{output['ename']}: {output['evalue']}")
    return "".join(parts)


def streams(cell) -> str:
    return "".join(o["text"] for o in cell.get("outputs", []) if o["output_type"] == "stream")


def hung_rucio_config(lake_info) -> dict:
    """The lake's instance, pointed at a Rucio that never answers (a socket the kernel opens), with a short timeout."""
    (instance,) = json.loads(Path(lake_info.jupyter_config).read_text())["DLaaS"]["instances"]
    return {**instance, "name": "hung", "rucio_url": "RUCIO_URL", "auth_url": "RUCIO_URL", "timeout_seconds": 2}


def error_cells(lake_info, candidate: str) -> list:
    hung = json.dumps({"instances": [hung_rucio_config(lake_info)]})
    embargo, quota = lake_info.scenarios.embargo, lake_info.scenarios.quota
    return [
        nbformat.v4.new_code_cell(
            "from escape_dlaas.errors import PermissionDenied, Refused\n"
            f"for did, target in [({embargo.did!r}, 'notebook'), ({quota.did!r}, 'CHEAP')]:\n"
            "    try:\n"
            "        lake.make_available(did, target=target)\n"
            "    except (PermissionDenied, Refused) as refused:\n"
            "        print(f'{type(refused).__name__}: {refused}')\n"
        ),
        nbformat.v4.new_code_cell(
            "import json, socket\n"
            "from escape_dlaas.errors import ServiceTimeout\n"
            "silent = socket.create_server(('127.0.0.1', 0))  # accepts connections, never answers\n"
            "url = f'http://127.0.0.1:{silent.getsockname()[1]}'\n"
            f"config = json.loads({hung!r}.replace('RUCIO_URL', url))\n"
            "try:\n"
            "    DataLake(config=config).whoami()\n"
            "except ServiceTimeout as slow:\n"
            "    print(f'ServiceTimeout ({slow.service}): {slow}')\n"
        ),
        nbformat.v4.new_code_cell(
            f"handle = lake.make_available({candidate!r}, lifetime_days=1)\n"
            "handle.wait(poll_seconds=30)  # the test interrupts the kernel meanwhile\n"
            "kept = handle.rule_ids[0] in [i for r in lake.rules() for i in r.rule_ids]\n"
            "print('returned', handle.last_seen.state, 'rule kept' if kept else 'rule gone')\n",
            metadata={"interrupt": True},
        ),
        nbformat.v4.new_code_cell("handle.cancel();"),
    ]


def test_the_example_notebook_and_the_error_paths_run_in_a_kernel(lake_info, tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(Path(lake_info.jupyter_config).parent))
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "user-config"))  # nothing of the tester's own
    example = nbformat.read(EXAMPLE, as_version=4)
    nbformat.validate(example)
    example_cells = len(example.cells)
    with_errors = nbformat.v4.new_notebook(metadata=example.metadata)
    with DataLake(config=lake_info.jupyter_config) as here:
        candidate = a_dataset_not_at_the_notebook(here)
    with_errors.cells = [*example.cells, *error_cells(lake_info, candidate)]
    client = NotebookClient(
        with_errors, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    with client.setup_kernel():
        for index, cell in enumerate(with_errors.cells):
            timer = None
            if cell.metadata.get("interrupt"):
                kernel = client.km.provisioner.process
                timer = threading.Timer(INTERRUPT_AFTER_SECONDS, lambda p=kernel: os.kill(p.pid, signal.SIGINT))
                timer.start()
            client.execute_cell(cell, index)
            if timer is not None:
                timer.join()
    shown = [outputs_text(cell) for cell in with_errors.cells]

    scenario = lake_info.scenarios.metadata_search
    found = shown[3]
    assert all(did in found for did in scenario.expected), found
    read = shown[6]
    assert f"files of {scenario.expected[0]}; the first begins with b'" in read, read
    paths = shown[5]
    assert str(lake_info.notebook_local.path) in paths, paths

    embargo, quota = lake_info.scenarios.embargo, lake_info.scenarios.quota
    refusals = shown[example_cells]
    assert f"PermissionDenied: {embargo.did} cannot be made available: {embargo.reason}\n" in refusals
    assert f"Refused: Quota exceeded: {quota.did} needs 198 kB; " in refusals
    assert shown[example_cells + 1].startswith("ServiceTimeout (Rucio): Rucio at http://127.0.0.1:")
    assert "is not answering" in shown[example_cells + 1]
    interrupted = streams(with_errors.cells[example_cells + 2]).strip()
    assert interrupted.startswith("returned "), interrupted
    assert interrupted.endswith(" rule kept"), interrupted
    assert " AVAILABLE " not in interrupted, "the wait was interrupted while Rucio was still copying"

    saved = tmp_path / "executed.ipynb"
    nbformat.write(with_errors, saved)
    text = saved.read_text()
    assert lake_info.user().token_file.read_text() not in text
    assert not JWT_RE.search(text), "a token-shaped string was saved in the notebook"
