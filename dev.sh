#!/usr/bin/env bash
# The two commands of the README:
#   ./dev.sh up     set up (virtual environment, migrations, demo data) and serve on :8000
#   ./dev.sh test   run the whole test suite (extra arguments go to pytest)
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
VENV=.venv

ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
  fi
  # Reinstall only when the requirements changed since the last install.
  local stamp="$VENV/.requirements.sha256"
  local want
  want=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -r requirements-dev.txt
    echo "$want" > "$stamp"
  fi
}

ensure_test_tools() {
  # axe-core (npm) for the accessibility checks of tests/browser; where Chromium is
  # installed they fail, saying why, without it.
  if ! command -v npm >/dev/null 2>&1; then
    echo "npm not found: the accessibility checks in tests/browser will fail without" \
      "axe-core (apt-get install nodejs npm)" >&2
    return
  fi
  local stamp=node_modules/.package-lock.sha256
  local want
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    npm ci --no-audit --no-fund --silent
    echo "$want" > "$stamp"
  fi
}

case "${1:-}" in
  up)
    ensure_venv
    mkdir -p var
    "$VENV/bin/python" manage.py migrate --no-input
    "$VENV/bin/python" manage.py seed_demo
    exec "$VENV/bin/python" manage.py runserver 127.0.0.1:8000
    ;;
  test)
    shift
    ensure_venv
    ensure_test_tools
    # With DATABASE_URL set the settings are production-like; the tests need a key and
    # plain http from the test client.
    export SECRET_KEY=${SECRET_KEY:-tests-only-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz}
    export SECURE_SSL_REDIRECT=${SECURE_SSL_REDIRECT:-false}
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  *)
    echo "usage: ./dev.sh up | ./dev.sh test [pytest arguments]" >&2
    exit 2
    ;;
esac
