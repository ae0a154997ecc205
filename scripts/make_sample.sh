#!/usr/bin/env bash
# Regenerate assets/sample/predictions.csv and versions.json (and the generated block of
# assets/sample/PROVENANCE.md) from assets/sample/adult.data with pinned tools.
# Dev-only: the Rust build and tests do not need Python.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${STEWARD_DEV_VENV:-$HOME/.cache/steward-dev-venv}"
PYTHON="${PYTHON:-python3}"

# Exact pins (also listed in EXPECTED_VERSIONS in make_sample.py). Transitive dependencies are
# pinned too so that a rerun resolves the same wheels.
PINS=(
  "numpy==2.4.6"
  "scikit-learn==1.9.1"
  "scipy==1.17.1"
  "joblib==1.6.0"
  "threadpoolctl==3.8.0"
  "narwhals==2.29.0"
  "cloudpickle==3.1.2"
)

if [ ! -x "$VENV/bin/python" ]; then
  echo "creating venv $VENV" >&2
  mkdir -p "$(dirname "$VENV")"
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --only-binary=:all: "${PINS[@]}"

export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 BLIS_NUM_THREADS=1
export PYTHONHASHSEED=0
exec "$VENV/bin/python" "$ROOT/scripts/make_sample.py" "$@"
