"""Solara's front-end files, fetched once from the npm registry so the app works offline.

A Solara page loads its JavaScript and CSS from a public CDN at run time; without internet the
page stays blank. Solara first looks in its proxy cache directory (`$VIRTUAL_ENV/share/solara/cdn`,
or `SOLARA_ASSETS_PROXY_CACHE_DIR`), under `<package>@<version>/`. This module reads which
packages and versions the installed Solara asks for (from its page template and its grid-layout
widget) and unpacks each one there with `npm pack`. It is idempotent: packages already unpacked
are skipped.

    python -m sim.app.assets          # or: make app-assets (part of make setup)
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

# `{{cdn}}/<package>@<x.y.z[-tag]>/` in Solara's template; `getCdn()}/<package>@...` in its widgets.
_CDN_URL = re.compile(r"(?:\{\{\s*cdn\s*\}\}|getCdn\(\)\})/((?:@[\w.-]+/)?[\w.-]+)@(\d+\.\d+\.\d+"
                      r"(?:-[\w.]+)?)/")
_PINNED_PATH = re.compile(r"^/((?:@[\w.-]+/)?[\w.-]+)@(\d+\.\d+\.\d+(?:-[\w.]+)?)/")


class AssetsError(RuntimeError):
    """The front-end files cannot be fetched (no npm, a registry error, an unknown layout)."""


def required_packages() -> list[tuple[str, str]]:
    """(npm package, version) pairs the installed Solara loads from its CDN, sorted."""
    import solara
    from solara.server.settings import assets

    root = Path(solara.__file__).parent
    sources = [root / "server" / "templates" / "solara.html.j2",
               root / "widgets" / "vue" / "gridlayout.vue"]  # Mesa's page lays out plots with it
    found: set[tuple[str, str]] = set()
    for source in sources:
        if not source.exists():
            raise AssetsError(f"{source} not found: this Solara ({solara.__version__}) is laid "
                              "out differently; update sim/app/assets.py")
        found.update(_CDN_URL.findall(source.read_text()))
    if assets.fontawesome_enabled:
        match = _PINNED_PATH.match(assets.fontawesome_path)
        if match is None:
            raise AssetsError(f"font-awesome path {assets.fontawesome_path!r} has no pinned "
                              "version")
        found.add(match.groups())
    if not any(name.startswith("@widgetti/solara-vuetify") for name, _ in found):
        raise AssetsError(f"no solara-vuetify app found in Solara {solara.__version__}'s "
                          "template: update sim/app/assets.py")
    return sorted(found)


def cache_dir() -> Path:
    from solara.server.settings import assets

    return Path(assets.proxy_cache_dir)


def missing(directory: Path | None = None) -> list[tuple[str, str]]:
    """Required packages not yet unpacked in the cache directory."""
    directory = cache_dir() if directory is None else Path(directory)
    return [(name, version) for name, version in required_packages()
            if not (directory / f"{name}@{version}" / "package.json").exists()]


def _unpack(tgz: Path, target: Path) -> None:
    """Extract an npm tarball (its files sit under `package/`) into `target`, atomically."""
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        with tarfile.open(tgz) as tar:
            for member in tar.getmembers():
                parts = Path(member.name).parts[1:]  # drop the top folder ('package')
                if not parts or (not member.isfile() and not member.isdir()):
                    continue
                member.name = str(Path(*parts))
                tar.extract(member, staging, filter="data")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def fetch(directory: Path | None = None, npm: str | None = None) -> list[Path]:
    """Unpack every missing package into the cache directory; return what was added."""
    directory = cache_dir() if directory is None else Path(directory)
    todo = missing(directory)
    if not todo:
        return []
    npm = npm or shutil.which("npm")
    if npm is None:
        raise AssetsError("npm is needed to fetch Solara's front-end files for offline use "
                          "(Debian: apt-get install npm); the app still works with internet")
    added = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, version in todo:
            spec = f"{name}@{version}"
            done = subprocess.run([npm, "pack", spec, "--silent", "--pack-destination", tmp],
                                  capture_output=True, text=True)
            if done.returncode != 0:
                detail = (done.stderr.strip().splitlines() or ["no output"])[-1]
                raise AssetsError(f"npm pack {spec} failed: {detail}")
            tgz = Path(tmp) / done.stdout.strip().splitlines()[-1]
            target = directory / spec
            target.parent.mkdir(parents=True, exist_ok=True)
            _unpack(tgz, target)
            added.append(target)
    return added


def main() -> None:
    try:
        added = fetch()
    except AssetsError as error:
        sys.exit(f"vpsim app assets: {error}")
    directory = cache_dir()
    if added:
        print(f"vpsim app assets: unpacked {len(added)} package(s) into {directory}")
    else:
        print(f"vpsim app assets: all {len(required_packages())} packages already in {directory}")


if __name__ == "__main__":
    main()
