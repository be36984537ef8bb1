# Shared set-up for scripts/run and scripts/test: installs only what is missing or out of date.
# Sourced, not executed. Every step says what it does; every failure says what to do.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO_ROOT"

say() { printf '\033[1;32m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31mError:\033[0m %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "need root for: $* (run as root or install sudo)"; fi
}

# A stamp records the hash of the files an install step depends on, so it re-runs only when they change.
stamp_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

find_python() {
  for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
      echo "$candidate"; return 0
    fi
  done
  die "Python 3.11 or newer is needed: apt-get install python3 python3-venv"
}

ensure_python_env() {
  local want; want="$(stamp_of pyproject.toml constraints.txt)"
  if [ ! -x .venv/bin/python ]; then
    local py; py="$(find_python)"
    say "Creating the Python virtualenv (.venv) with $py"
    "$py" -m venv .venv || die "could not create a virtualenv: apt-get install python3-venv"
  fi
  if [ "$(cat .venv/.segel-stamp 2>/dev/null)" != "$want" ]; then
    say "Installing Python packages (pinned in pyproject.toml and constraints.txt)"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]' \
      || die "pip install failed; check the network to the package index and try again"
    echo "$want" > .venv/.segel-stamp
  fi
}

ensure_node_env() {
  command -v node >/dev/null || die "Node.js 20 or newer is needed: apt-get install nodejs npm"
  node -e 'process.exit(parseInt(process.versions.node) < 20 ? 1 : 0)' \
    || die "Node.js 20 or newer is needed (found $(node --version))"
  local want; want="$(stamp_of package.json package-lock.json)"
  # Also when a tool is missing (an install that left devDependencies out, e.g. with NODE_ENV=production).
  if [ "$(cat node_modules/.segel-stamp 2>/dev/null)" != "$want" ] || [ ! -x node_modules/.bin/esbuild ] \
    || [ ! -x node_modules/.bin/eslint ] || [ ! -x node_modules/.bin/tsc ]; then
    # --include=dev (even where NODE_ENV=production): the build (esbuild), the node-side sync tests (pouchdb)
    # and the JS checks (eslint, tsc) are devDependencies, and scripts/run and scripts/test need all of them.
    say "Installing npm packages (exact versions from package-lock.json, devDependencies included)"
    npm ci --include=dev --no-audit --no-fund --loglevel=error || die "npm ci failed; check the network to the npm registry"
    echo "$want" > node_modules/.segel-stamp
  fi
}

build_pwa() {
  say "Building the PWA bundle into pwa/static/dist"
  node pwa/build.mjs || die "PWA build failed (see the esbuild message above)"
}

ensure_chromium() {
  if command -v chromium >/dev/null; then return 0; fi
  say "Installing Debian's chromium for the browser tests"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq || die "apt-get update failed"
  as_root apt-get install -y -qq chromium >/dev/null || die "could not install chromium with apt-get"
}
