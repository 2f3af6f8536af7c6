#!/usr/bin/env bash
# Checks that the device's extras, antbee[serve] and antbee[mqtt], resolve to wheels (no source builds) on aarch64
# for Python 3.11 and 3.13, and pull in no TensorFlow. Usage: tools/aarch64/serve_wheels.sh [PROJECT_DIR]
# (ANTBEE_HOST_PYTHON: any python3 with pip; it only downloads). Exits 0 if both resolve, 1 otherwise.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROJECT="${1:-$(cd "$HERE/../.." && pwd)}"
PY="${ANTBEE_HOST_PYTHON:-python3}"
log() { echo "[serve_wheels] $*"; }

# The extras' requirements, read from pyproject.toml (tomllib: Python 3.11+).
mapfile -t REQS < <("$PY" -c 'import sys, tomllib
extras = tomllib.load(open(sys.argv[1], "rb"))["project"]["optional-dependencies"]
print("\n".join(extras["serve"] + extras["mqtt"]))' "$PROJECT/pyproject.toml")
log "antbee[serve,mqtt]: ${REQS[*]}"
STATUS=0
for version in 3.11 3.13; do
  dest="$(mktemp -d)"
  if "$PY" -m pip download --quiet --disable-pip-version-check --only-binary=:all: \
      --platform manylinux2014_aarch64 --python-version "$version" --implementation cp -d "$dest" "${REQS[@]}"; then
    wheels="$(cd "$dest" && ls)"
    log "Python $version aarch64: $(echo "$wheels" | sed 's/-py.*\.whl$//; s/-cp.*\.whl$//' | tr '\n' ' ')"
    if echo "$wheels" | grep -i -E '^(tensorflow|tf_|keras)' >/dev/null; then
      log "Python $version: FAIL, TensorFlow in the extras' wheels"; STATUS=1
    fi
    if echo "$wheels" | grep -v '\.whl$' >/dev/null; then
      log "Python $version: FAIL, not all wheels"; STATUS=1
    fi
  else
    log "Python $version: FAIL, pip could not resolve the extras to aarch64 wheels"; STATUS=1
  fi
  rm -rf "$dest"
done
log "$([ "$STATUS" = 0 ] && echo PASS || echo FAIL)"
exit "$STATUS"
