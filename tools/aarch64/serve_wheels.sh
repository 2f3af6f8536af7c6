#!/usr/bin/env bash
# Checks that the antbee[serve] extra resolves to wheels (no source builds) on aarch64 for Python 3.11 and
# 3.13, and pulls in no TensorFlow. Usage: tools/aarch64/serve_wheels.sh [PROJECT_DIR]
# (ANTBEE_HOST_PYTHON: any python3 with pip; it only downloads). Exits 0 if both resolve, 1 otherwise.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROJECT="${1:-$(cd "$HERE/../.." && pwd)}"
PY="${ANTBEE_HOST_PYTHON:-python3}"
log() { echo "[serve_wheels] $*"; }

# The extra's requirements, read from pyproject.toml (tomllib: Python 3.11+).
mapfile -t REQS < <("$PY" -c 'import sys, tomllib
print("\n".join(tomllib.load(open(sys.argv[1], "rb"))["project"]["optional-dependencies"]["serve"]))' \
  "$PROJECT/pyproject.toml")
log "antbee[serve]: ${REQS[*]}"
STATUS=0
for version in 3.11 3.13; do
  dest="$(mktemp -d)"
  if "$PY" -m pip download --quiet --disable-pip-version-check --only-binary=:all: \
      --platform manylinux2014_aarch64 --python-version "$version" --implementation cp -d "$dest" "${REQS[@]}"; then
    wheels="$(cd "$dest" && ls)"
    log "Python $version aarch64: $(echo "$wheels" | sed 's/-py.*\.whl$//; s/-cp.*\.whl$//' | tr '\n' ' ')"
    if echo "$wheels" | grep -i -E '^(tensorflow|tf_|keras)' >/dev/null; then
      log "Python $version: FAIL, TensorFlow in the serve extra's wheels"; STATUS=1
    fi
    if echo "$wheels" | grep -v '\.whl$' >/dev/null; then
      log "Python $version: FAIL, not all wheels"; STATUS=1
    fi
  else
    log "Python $version: FAIL, pip could not resolve the serve extra to aarch64 wheels"; STATUS=1
  fi
  rm -rf "$dest"
done
log "$([ "$STATUS" = 0 ] && echo PASS || echo FAIL)"
exit "$STATUS"
