#!/usr/bin/env bash
# Integration tests: a real `millwright` binary over HTTP.
# The binary is $MILLWRIGHT_BIN (default .build/debug/millwright); build it first.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/../.."

if ! python3 -c 'import pytest, requests, cloudevents, schemathesis, standardwebhooks' 2>/dev/null; then
    python3 -m pip install -q -r Tests/integration/requirements.txt
fi

exec python3 -m pytest -q Tests/integration "$@"
