"""MyBinder: the binder/ files run the way repo2docker runs them, then the session is checked over HTTP and in Chromium.

No Docker here, so the test does what repo2docker's Dockerfile does, in a clean virtual
environment, as a non-root user with a fresh HOME that is also the repository's folder
(as /home/jovyan on MyBinder):

1. ``binder/requirements.txt`` into the environment (repo2docker's base environment already
   holds JupyterLab 4 and Node.js 20; here the venv gets what requirements.txt lists);
   ``binder/apt.txt`` is checked to list what the lake needs from Debian;
2. ``binder/postBuild`` in the repository, as that user (installs escape-dlaas, the lake's venv,
   the workspace);
3. ``binder/start jupyter lab ...`` as the entrypoint, the way BinderHub starts the session.

The repository is the checkout's tracked files plus its already built labextension (hatch then
skips the npm build, which MyBinder does with the registry). The lake's Python packages come
from PyPI as on MyBinder; a pip cache kept between runs (``ESCAPE_DLAAS_BINDER_PIP_CACHE``,
default under /tmp) makes a second run quicker, the first one is a real fresh install.
"""

from __future__ import annotations

import json
import os
import pwd
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from escape_dlaas.lake import free_ports

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
USER = "nobody"  # any non-root user: repo2docker's jovyan is one
MYBINDER_MEMORY_BYTES = 2 * 1024**3
START_BUDGET_SECONDS = 120
PASSED_THROUGH = ("PIP_", "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
                  "SSL_CERT_", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "npm_config_", "YARN_")  # fmt: skip
PIP_CACHE = Path(os.environ.get("ESCAPE_DLAAS_BINDER_PIP_CACHE", "/tmp/escape-dlaas-binder-pip-cache"))


def _needs() -> str | None:
    if os.geteuid() != 0:
        return None  # already a non-root user
    if shutil.which("runuser") is None:
        return "runuser is not installed (needed to run the binder files as a non-root user)"
    if not (ROOT / "escape_dlaas" / "labextension" / "package.json").exists():
        return "the labextension is not built (pip install -e . builds it)"
    if shutil.which("chromium") is None:
        return "chromium is not installed (scripts/test.sh installs it)"
    return None


class BinderSession:
    """The image's folders, its user's environment, and how to run commands as that user."""

    def __init__(self, work: Path):
        self.work = work
        self.home = work / "home"  # HOME and the repository, as /home/jovyan on MyBinder
        self.env_dir = work / "env"
        self.tmp = work / "tmp"
        self.user = pwd.getpwnam(USER) if os.geteuid() == 0 else pwd.getpwuid(os.geteuid())
        rucio, issuer, postgres, memcached, jupyter = free_ports(5)
        self.jupyter_port = jupyter
        self.token = os.urandom(16).hex()
        self.env = {
            "HOME": str(self.home),
            "USER": self.user.pw_name,
            "PATH": f"{self.env_dir}/bin:/usr/local/bin:/usr/bin:/bin",
            "TMPDIR": str(self.tmp),
            "LANG": "C.UTF-8",
            # The machine's package-registry settings (index, proxy, CA) as pip and npm read them.
            **{k: v for k, v in os.environ.items() if k.startswith(PASSED_THROUGH)},
            "PIP_CACHE_DIR": str(PIP_CACHE),
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            # Test-only speed-up: no byte-compiling of the installed packages (MyBinder compiles; same files otherwise).
            "PIP_NO_COMPILE": "1",
            "ESCAPE_DLAAS_LAKE_RUCIO_PORT": str(rucio),
            "ESCAPE_DLAAS_LAKE_ISSUER_PORT": str(issuer),
            "ESCAPE_DLAAS_LAKE_POSTGRES_PORT": str(postgres),
            "ESCAPE_DLAAS_LAKE_MEMCACHED_PORT": str(memcached),
        }

    def argv(self, *command: str) -> list[str]:
        env = [f"{k}={v}" for k, v in self.env.items()]
        as_user = ["runuser", "-u", self.user.pw_name, "--"] if os.geteuid() == 0 else []
        return [*as_user, "env", "-i", *env, *command]

    def run(self, *command: str, timeout: float, cwd: Path | None = None) -> float:
        started = time.monotonic()
        result = subprocess.run(
            self.argv(*command), cwd=cwd or self.home, capture_output=True, text=True, timeout=timeout, check=False
        )
        assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        took = time.monotonic() - started
        print(f"[binder] {' '.join(command)[:60]}: {took:.0f} s", file=sys.stderr)
        return took

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.jupyter_port}/{path.lstrip('/')}"

    def get(self, path: str) -> tuple[int, bytes]:
        request = urllib.request.Request(self.url(path), headers={"Authorization": f"token {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()


def _system_python() -> str:
    """A Python the non-root user may run (this venv's may live in root's home): the system's, as in an image."""
    found = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin")
    if found is None:
        pytest.skip("no system python3 a non-root user can run")
    return found


def _copy_repository(target: Path) -> None:
    """The repository as MyBinder clones it (tracked files), plus the labextension built in this checkout."""
    listed = (
        subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    )
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    shutil.copytree(ROOT / "escape_dlaas" / "labextension", target / "escape_dlaas" / "labextension", symlinks=False)


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    for folder, dirs, files in os.walk(path):
        os.chown(folder, uid, gid)
        for name in dirs + files:
            os.lchown(os.path.join(folder, name), uid, gid)


def _children_cpu() -> float:
    """CPU seconds of the finished child processes (on a shared machine the wall time says little)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _memory_of_user(uid: int) -> int:
    """Proportional set size (PSS) of every process of the user, in bytes: what the session costs in memory."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid != uid:
                continue
            for line in (entry / "smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
        except (OSError, ValueError):
            continue
    return total


@pytest.fixture(scope="module")
def binder() -> Iterator[BinderSession]:
    reason = _needs()
    if reason:
        pytest.skip(reason)
    work = Path(tempfile.mkdtemp(prefix="binder-", dir="/tmp"))  # not under pytest's root-only temp dirs
    os.chmod(work, 0o755)
    session = BinderSession(work)
    for folder in (session.home, session.tmp, PIP_CACHE):
        folder.mkdir(parents=True, exist_ok=True)
    _copy_repository(session.home)
    if os.geteuid() == 0:
        for folder in (work, PIP_CACHE):
            _chown_tree(folder, session.user.pw_uid, session.user.pw_gid)
    server = None
    try:
        yield session
    finally:
        server = getattr(session, "server", None)
        if server is not None and server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        if (session.env_dir / "bin" / "escape-dlaas").exists():
            subprocess.run(session.argv("escape-dlaas", "lake", "down"), cwd=session.home, timeout=120, check=False)
            subprocess.run(session.argv("escape-dlaas", "lake", "reset"), cwd=session.home, timeout=120, check=False)
        shutil.rmtree(work, ignore_errors=True)


@pytest.mark.timeout(1500)  # a whole image build: pip installs of JupyterLab, escape-dlaas and the lake's Rucio
def test_the_binder_files_build_a_session_that_lands_signed_in_with_the_panel_and_the_notebook(binder, capsys):
    timings: dict[str, float] = {}
    cpu_before = _children_cpu()
    apt = (binder.home / "binder" / "apt.txt").read_text().split()
    assert "memcached" in apt  # the lake's Rucio cache, from Debian

    # 1. the environment (repo2docker: its base env, then pip install -r binder/requirements.txt)
    timings["environment"] = binder.run(_system_python(), "-m", "venv", str(binder.env_dir), timeout=120)
    timings["environment"] += binder.run(
        "python", "-m", "pip", "install", "-q", "-r", "binder/requirements.txt", timeout=600
    )
    # 2. postBuild, in the repository, as the user
    timings["postBuild"] = binder.run("bash", "binder/postBuild", timeout=900)
    assert not (binder.home / ".cache" / "pip").exists()

    # 3. start, as the entrypoint of the session BinderHub launches
    started = time.monotonic()
    command = binder.argv(
        str(binder.home / "binder" / "start"),
        "jupyter",
        "lab",
        "--ip=127.0.0.1",
        f"--port={binder.jupyter_port}",
        "--no-browser",
        f"--IdentityProvider.token={binder.token}",
        "--ServerApp.default_url=/lab/tree/notebooks/data-lake.ipynb",
    )
    log = open(binder.tmp / "jupyter.log", "wb")  # noqa: SIM115 - the server writes to it until the end
    binder.server = subprocess.Popen(command, cwd=binder.home, stdout=log, stderr=subprocess.STDOUT)
    deadline = started + START_BUDGET_SECONDS
    while True:
        assert binder.server.poll() is None, (binder.tmp / "jupyter.log").read_text()[-4000:]
        try:
            if binder.get("api/status")[0] == 200:
                break
        except OSError:
            pass
        assert time.monotonic() < deadline, f"no JupyterLab within {START_BUDGET_SECONDS} s"
        time.sleep(0.5)
    timings["start"] = time.monotonic() - started

    # over HTTP: the extension is installed and signed in to the seeded lake as alice
    code, body = binder.get("escape-dlaas/status")
    assert code == 200, body
    status = json.loads(body)
    assert [i["name"] for i in status["instances"]] == ["local-lake"]
    assert status["instances"][0]["reachable"] is True
    code, body = binder.get("escape-dlaas/instances/local-lake/whoami")
    assert code == 200, body
    assert json.loads(body)["account"] == "alice"
    code, body = binder.get("api/contents/notebooks/data-lake.ipynb?content=0")
    assert code == 200, body
    code, body = binder.get("lab/api/workspaces/default")
    assert code == 200, body
    assert json.loads(body)["data"]["layout-restorer:data"]["left"]["current"] == "escape-dlaas-panel"
    code, page = binder.get("lab")
    assert code == 200
    assert b"escape-dlaas" in page  # the prebuilt labextension is in the page's federated extensions

    memory = _memory_of_user(binder.user.pw_uid)

    # the search form as a Voilà dashboard: its kernel reads the lake's configuration and shows the widget
    code, dashboard = binder.get("voila/render/notebooks/search-app.ipynb")
    assert code == 200, dashboard[-2000:]
    assert b"application/vnd.jupyter.widget-view+json" in dashboard, dashboard[-2000:]
    assert b"Traceback" not in dashboard, dashboard[-2000:]

    # in Chromium: the Data Lake panel shows the signed-in user, the example notebook is open
    profile = binder.tmp / "chromium"
    dom = subprocess.run(
        [
            "chromium",
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=60000",
            "--run-all-compositor-stages-before-draw",
            "--dump-dom",
            binder.url(f"lab/tree/notebooks/data-lake.ipynb?token={binder.token}"),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    ).stdout
    assert 'id="escape-dlaas-panel"' in dom
    assert "jp-DLaaS-identity" in dom or "alice" in dom
    assert "data-lake.ipynb" in dom

    with capsys.disabled():
        print(
            "\nBinder session: "
            + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items())
            + f" (CPU of the build {_children_cpu() - cpu_before:.0f} s)"
            + f"; memory of the user's processes (PSS) {memory / 1024**2:.0f} MiB"
        )
    assert memory < MYBINDER_MEMORY_BYTES / 2, f"{memory / 1024**2:.0f} MiB: more than half of MyBinder's 2 GB"
    assert timings["start"] < START_BUDGET_SECONDS
