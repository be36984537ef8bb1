"""The wheel is the product: built from this checkout and installed in a fresh virtualenv outside it, `segel
serve` runs from an empty directory, serves the pages, the PWA's bundle and its service worker, takes a stock
PouchDB client's push through the gateway, and writes nowhere but SEGEL_DATA_DIR.

Offline: the wheel is built with the test environment's setuptools (no build isolation), and the fresh
virtualenv gets Segel's dependencies by a `.pth` line naming the test environment's site-packages, a
directory whose own `.pth` files (the editable install that maps `server` and `sync` to this checkout) are
never run. The test checks that `server` and `sync` are imported from the wheel, not from here, and that the
wheel holds none of the development code (`devtools/`: the demo, the dev run, the benchmarks).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import site
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from devtools.embedded import free_port
from server.settings import Settings
from store.couch import CouchClient
from tests.conftest import settings_env
from tests.support.identity import issue_device_token, make_user
from tests.support.logscan import log_file
from tests.support.pouch_client import document_record, handoff_record, photo_bytes, photo_record, run_client

REPO_ROOT = Path(__file__).resolve().parents[2]
#: What a wheel is built from: the package sources, the build step and the assets it copies in.
SOURCES = (
    "pyproject.toml",
    "setup.py",
    "server",
    "sync",
    "records",
    "store",
    "schemas",
    "pwa/templates",
    "pwa/static",
    "locale",
)


@dataclass(frozen=True)
class Installed:
    venv: Path
    wheel: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def segel(self) -> Path:
        return self.venv / "bin" / "segel"


def _isolated_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without anything that would put the checkout or its settings in reach."""
    dropped = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in dropped and not key.startswith(("COUCHDB_", "SEGEL_"))
    }
    return env | {"PYTHONDONTWRITEBYTECODE": "1"} | dict(extra or {})


def _pip(*args: str) -> None:
    """This environment's pip, offline; a failure shows pip's own words (a missing PWA build, say)."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", *args, "--no-index", "-q"],
        capture_output=True, text=True, timeout=180, env=_isolated_env(),
    )  # fmt: skip
    assert done.returncode == 0, f"pip {args[0]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"


def _build_wheel(workdir: Path) -> Path:
    """`pip wheel` on a copy of the package's sources, so the build leaves nothing in the checkout."""
    source = workdir / "source"
    for name in SOURCES:
        origin = REPO_ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, source / name)
    wheels = workdir / "wheels"
    _pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source))
    (wheel,) = wheels.glob("segel-*.whl")
    return wheel


def _make_venv(workdir: Path, wheel: Path) -> Path:
    venv = workdir / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    # The target interpreter has no pip of its own: this one installs into it (and writes its `segel` script).
    _pip("--python", str(venv / "bin" / "python"), "install", "--no-deps", "--no-cache-dir", str(wheel))
    (purelib,) = (venv / "lib").glob("python3*/site-packages")
    (purelib / "zz_segel_test_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return venv


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    workdir = tmp_path_factory.mktemp("packaging")
    wheel = _build_wheel(workdir)
    return Installed(venv=_make_venv(workdir, wheel), wheel=wheel)


@pytest.fixture
def empty_cwd(tmp_path: Path) -> Path:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    return cwd


def _files(root: Path) -> dict[str, int]:
    return {str(path.relative_to(root)): path.stat().st_size for path in root.rglob("*") if path.is_file()}


@dataclass
class InstalledServer:
    url: str
    log: Path
    #: Every file of the virtualenv, with its size, from before the server started.
    files_before: dict[str, int]


@pytest.fixture
def installed_server(
    installed: Installed, settings: Settings, tmp_path: Path, empty_cwd: Path
) -> Iterator[InstalledServer]:
    """`segel serve` from the fresh virtualenv in an empty directory; its data directory is not made yet."""
    port = free_port()
    env = _isolated_env(
        settings_env(settings)
        | {
            "SEGEL_DATA_DIR": str(tmp_path / "data"),
            "SEGEL_HOST": "127.0.0.1",
            "SEGEL_PORT": str(port),
            "SEGEL_ORIGIN": f"http://localhost:{port}",
        }
    )
    log = log_file("segel-serve")
    files_before = _files(installed.venv)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(installed.segel), "serve"], cwd=empty_cwd, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    server = InstalledServer(url=f"http://127.0.0.1:{port}", log=log, files_before=files_before)
    try:
        deadline = time.monotonic() + 40
        while True:
            assert process.poll() is None, f"segel serve exited:\n{log.read_text()[-3000:]}"
            try:
                if httpx.get(f"{server.url}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"segel serve not healthy in 40 s:\n{log.read_text()[-3000:]}"
            time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def test_wheel_carries_schemas_and_built_pwa_but_no_checkout_tooling(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    manifest = json.loads((REPO_ROOT / "pwa/static/dist/asset-manifest.json").read_text())
    assert {
        "records/_schemas/handoff.schema.json",
        "server/_pwa/templates/shell.html",
        "server/_pwa/templates/office/dashboard.html",
        "server/_pwa/static/sw.js",
        "server/_pwa/static/dist/asset-manifest.json",
        "records/_locale/en/LC_MESSAGES/segel.po",  # the English of every page, compiled when first used
        *(f"server/_pwa{url}" for url in manifest["precache"]),
    } <= names
    tops = {name.split("/", 1)[0] for name in names}
    assert tops == {
        "server",
        "sync",
        "records",
        "store",
        f"{installed.wheel.name.split('-py3')[0]}.dist-info",
    }, tops
    # The development code stays in the checkout: no devtools, no demo generator, loader or identities, no
    # dev run, no embedded database launcher, no benchmark (each was once inside the packages).
    modules = [name for name in names if name.endswith(".py")]
    development = ("demo", "devrun", "embedded", "bench", "devtools")
    assert [name for name in modules if any(word in name for word in development)] == []


def test_installed_package_is_imported_from_the_venv_not_the_checkout(
    installed: Installed, empty_cwd: Path
) -> None:
    probe = (
        "import json, server, sync, server.resources as r, records.schemas as s; print(json.dumps("
        "[server.__file__, sync.__file__, str(r.PWA_DIR), str(s.SCHEMA_DIR), r.CHECKOUT_DIR]))"
    )
    done = subprocess.run(
        [str(installed.python), "-c", probe], cwd=empty_cwd, env=_isolated_env(),
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    server_file, sync_file, pwa_dir, schema_dir, checkout = json.loads(done.stdout)
    for path in (server_file, sync_file, pwa_dir, schema_dir):
        assert Path(path).resolve().is_relative_to(installed.venv.resolve()), path
    assert checkout is None


def test_installed_segel_has_production_commands_only(installed: Installed, empty_cwd: Path) -> None:
    listed = subprocess.run(
        [str(installed.segel), "--help"], cwd=empty_cwd, env=_isolated_env(),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert listed.returncode == 0 and "serve" in listed.stdout and "create-office" in listed.stdout
    for command in ("dev", "load-demo"):
        done = subprocess.run(
            [str(installed.segel), command], cwd=empty_cwd, env=_isolated_env(),
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 2 and "invalid choice" in done.stderr, (command, done.stderr)
    probe = subprocess.run(
        [str(installed.python), "-c", "import devtools"], cwd=empty_cwd, env=_isolated_env(),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert probe.returncode != 0 and "No module named 'devtools'" in probe.stderr


def test_installed_segel_refuses_to_guess_a_data_dir(installed: Installed, empty_cwd: Path) -> None:
    env = _isolated_env({"COUCHDB_URL": "http://127.0.0.1:1", "SEGEL_SECRET_KEY": "k" * 40})
    done = subprocess.run(
        [str(installed.segel), "serve"], cwd=empty_cwd, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "SEGEL_DATA_DIR is not set" in done.stderr
    assert list(empty_cwd.iterdir()) == []


def _check_pages_and_assets(http: httpx.Client) -> None:
    shell = http.get("/app")
    assert shell.status_code == 200 and 'rel="manifest"' in shell.text
    match = re.search(r'src="(/static/dist/app\.[^"]+\.js)"', shell.text)
    assert match, shell.text
    bundle = http.get(match.group(1))
    assert bundle.status_code == 200 and len(bundle.content) > 10_000
    worker = http.get("/sw.js")
    assert worker.status_code == 200 and match.group(1) in worker.text  # precache list filled in
    assert http.get("/static/js/identity/login.js").status_code == 200  # unbundled page scripts
    assert http.get("/manifest.webmanifest").json()["display"] == "standalone"
    assert http.get("/schemas/handoff.schema.json").json()["$id"].endswith("/handoff.schema.json")
    assert http.get("/auth/login").status_code == 200  # a server-rendered page from the bundled templates
    # The installed catalogue: the same page in English (records/_locale, compiled when first asked for).
    assert "Sign in to Segel" in http.get("/auth/login?lang=en").text


@pytest.mark.anyio
async def test_installed_segel_serves_the_pwa_and_takes_a_pouchdb_push(
    installed: Installed,
    installed_server: InstalledServer,
    couch: CouchClient,
    settings: Settings,
    tmp_path: Path,
    empty_cwd: Path,
) -> None:
    with httpx.Client(base_url=installed_server.url, timeout=10.0) as http:
        _check_pages_and_assets(http)

    await make_user(couch, settings, "kurir.a", "courier")
    documents = [document_record("kurir.a") for _ in range(3)]
    await couch.db(settings.records_db).bulk_docs(documents)
    token = await issue_device_token(couch, settings, "kurir.a")
    records = [handoff_record(documents[n % 3]["_id"], "kurir.a", seq=n + 1) for n in range(12)]
    records.append(photo_record(records[0]["_id"], records[0]["document_id"], "kurir.a", photo_bytes(4000)))
    steps = [{"op": "put", "docs": records}, {"op": "push_until_done", "seconds": 60}, {"op": "dump"}]
    _, pushed, local = run_client(f"{installed_server.url}/sync/records", token, tmp_path / "phone", steps)

    assert pushed["ok"] and pushed["denied"] == [], pushed
    result = await couch.db(settings.records_db).client.json(
        "POST",
        f"{couch.db(settings.records_db).path}/_all_docs",
        json={"keys": [record["_id"] for record in records]},
    )
    stored = {row["key"]: row["value"]["rev"] for row in result["rows"] if "value" in row}
    assert stored == {record["_id"]: local["docs"][record["_id"]]["rev"] for record in records}

    assert _files(installed.venv) == installed_server.files_before, "the server wrote inside its package"
    assert list(empty_cwd.iterdir()) == [], "the server wrote into its working directory"
    assert (tmp_path / "data").is_dir()
