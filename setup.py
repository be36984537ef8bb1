"""The one build step pyproject.toml cannot declare: copying the contract and the PWA into the packages.

The checkout keeps `schemas/` and `pwa/` at the top level (a layout the customer fixed), outside the
`server`, `sync`, `records` and `store` packages, so plain package data cannot reach them and an installed Segel would have no
schemas, templates or static files. Building copies them in: the schemas to `records/_schemas/` (the validator
validates with them), the translation catalogue to `records/_locale/`, and the PWA's templates and static
files, with the built `dist/`, to `server/_pwa/`.
`records/schemas.py` and `server/resources.py` read those copies when present and the checkout otherwise.

The same file lists feed the source distribution, so a wheel built from it is complete too. Everything
else about the package is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.errors import SetupError

ROOT = Path(__file__).resolve().parent
PWA_MANIFEST = "pwa/static/dist/asset-manifest.json"

#: (folder in the checkout, folder inside the built packages, files to take)
ASSETS: tuple[tuple[str, str, str], ...] = (
    ("schemas", "records/_schemas", "*.schema.json"),
    ("pwa/templates", "server/_pwa/templates", "**/*.html"),
    ("pwa/static", "server/_pwa/static", "**/*"),
    ("locale", "records/_locale", "**/*.po"),
)


def _assets() -> list[tuple[Path, str]]:
    """(file in the checkout, its path inside the built packages), leaving out caches and what a build of
    the PWA has half-written (`.dist-<pid>`, `dist.old-<pid>`)."""
    found = []
    for source, target, pattern in ASSETS:
        base = ROOT / source
        for path in sorted(base.glob(pattern)):
            relative = path.relative_to(base)
            skipped = any(p.startswith(".") or ".old-" in p or p == "__pycache__" for p in relative.parts)
            if path.is_file() and not skipped:
                found.append((path, f"{target}/{relative.as_posix()}"))
    return found


class BuildPyWithAssets(build_py):
    """build_py, then the asset copies; an editable install reads the checkout itself and gets none."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        if not (ROOT / PWA_MANIFEST).is_file():
            raise SetupError(
                f"{PWA_MANIFEST} is missing: build the PWA with `npm ci && node pwa/build.mjs` before "
                "building the package, or the installed app would have no JavaScript."
            )
        for _, target, _ in ASSETS:
            shutil.rmtree(Path(self.build_lib) / target, ignore_errors=True)  # no stale bundles from before
        for path, inside in _assets():
            copy = Path(self.build_lib) / inside
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, copy)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = list(super().get_outputs(include_bytecode))
        if self.editable_mode:
            return outputs
        return [*outputs, *(str(Path(self.build_lib) / inside) for _, inside in _assets())]

    def get_source_files(self) -> list[str]:
        """What the source distribution must carry (setuptools' sdist asks build_py)."""
        return [*super().get_source_files(), *(str(path.relative_to(ROOT)) for path, _ in _assets())]


setup(cmdclass={"build_py": BuildPyWithAssets})
