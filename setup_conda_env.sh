#!/usr/bin/env bash
# Set up the mono-s2s environment on Linux, macOS or Git Bash, then verify it.
#
#   bash setup_conda_env.sh            # conda env "mono-s2s" if conda is on PATH, else a venv in .venv
#   MONO_S2S_VENV=1 bash setup_conda_env.sh   # force the venv even when conda exists
#   TORCH_SPEC="torch==2.5.1" bash setup_conda_env.sh   # choose the PyTorch build yourself
#
# PyTorch is installed first, to fit the machine: the CUDA build from PyPI when
# an NVIDIA GPU answers nvidia-smi, otherwise the CPU build (a few hundred MB
# instead of several GB). An existing torch is kept. Everything else comes from
# pyproject.toml, the one dependency list. Re-running is cheap: a stamp file
# skips the install while pyproject.toml, environment.yml and this script are
# unchanged. The interpreter's path is written to .envpython for the Makefile.
set -euo pipefail
cd "$(dirname "$0")"

ENV_NAME="${MONO_S2S_ENV_NAME:-mono-s2s}"
CPU_INDEX="https://download.pytorch.org/whl/cpu"
DEFAULT_CPU_TORCH="torch==2.13.0"

log() { printf 'setup: %s\n' "$*" >&2; }

stamp_of() { cat pyproject.toml environment.yml setup_conda_env.sh | cksum | cut -d' ' -f1; }

if [ -f .setup-stamp ] && [ -f .envpython ] && [ "$(cat .setup-stamp)" = "$(stamp_of)" ] \
    && "$(cat .envpython)" -c "import mono_s2s, torch" 2>/dev/null; then
  log "environment up to date ($(cat .envpython))"
  exit 0
fi

if command -v conda >/dev/null 2>&1 && [ -z "${MONO_S2S_VENV:-}" ]; then
  if ! conda env list | awk '{print $1}' | grep -qx "$ENV_NAME"; then
    log "creating conda environment $ENV_NAME"
    conda create -y -q -n "$ENV_NAME" "python=3.11" pip >/dev/null
  fi
  PY="$(conda run -n "$ENV_NAME" python -c 'import sys; print(sys.executable)')"
else
  PYTHON="${PYTHON:-python3}"
  command -v "$PYTHON" >/dev/null 2>&1 || { log "error: no conda and no $PYTHON on PATH"; exit 1; }
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
    || { log "error: Python >= 3.10 required, found $("$PYTHON" --version 2>&1)"; exit 1; }
  if [ ! -x .venv/bin/python ] && [ ! -x .venv/Scripts/python.exe ]; then
    log "no conda on PATH: creating a venv in .venv"
    "$PYTHON" -m venv .venv
  fi
  if [ -x .venv/bin/python ]; then PY="$PWD/.venv/bin/python"; else PY="$PWD/.venv/Scripts/python.exe"; fi
fi

pip_install() { "$PY" -m pip install --disable-pip-version-check -q "$@"; }

if "$PY" -c "import torch" 2>/dev/null; then
  log "keeping installed torch $("$PY" -c 'import torch; print(torch.__version__)')"
elif [ -n "${TORCH_SPEC:-}" ]; then
  log "installing $TORCH_SPEC"
  # shellcheck disable=SC2086  # TORCH_SPEC may hold several words (e.g. an --index-url)
  pip_install $TORCH_SPEC
elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  log "NVIDIA GPU found: installing the CUDA build of torch"
  pip_install torch
else
  log "no GPU: installing the CPU build of torch ($DEFAULT_CPU_TORCH)"
  # An extra index, not --index-url: torch's own dependencies come from PyPI. pip prefers
  # the CPU index's "+cpu" build of the same version; where that index cannot be reached
  # it skips it (one retry) and takes the version from PyPI.
  pip_install "$DEFAULT_CPU_TORCH" --extra-index-url "$CPU_INDEX" --retries 1
fi

log "installing mono-s2s and its dependencies (pyproject.toml)"
if command -v conda >/dev/null 2>&1 && [ -z "${MONO_S2S_VENV:-}" ]; then
  conda env update -q -n "$ENV_NAME" -f environment.yml >/dev/null
else
  pip_install -e ".[dev]"
fi

# A Jupyter kernel, so the notebook finds this environment.
"$PY" -m ipykernel install --user --name "$ENV_NAME" --display-name "Python (mono-s2s)" >/dev/null 2>&1 \
  || log "warning: could not register the Jupyter kernel (the CLI works without it)"

MONO_S2S_KERNEL="$ENV_NAME" "$PY" - <<'PYCHECK'
import os, sys
import torch, transformers, mono_s2s, papermill, nbformat  # the notebook needs the last two
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
device = "cuda" if torch.cuda.is_available() else "cpu"
print(f"setup: ok - mono_s2s {mono_s2s.__version__}, torch {torch.__version__} ({device}), "
      f"transformers {transformers.__version__}")
name = os.environ["MONO_S2S_KERNEL"]
try:
    python = KernelSpecManager().get_kernel_spec(name).argv[0]
except NoSuchKernel:
    print(f"setup: warning: no Jupyter kernel '{name}' (the CLI works without it)", file=sys.stderr)
else:
    if os.path.realpath(python) == os.path.realpath(sys.executable):
        print(f"setup: ok - Jupyter kernel '{name}' (\"Python (mono-s2s)\") runs this environment")
    else:
        print(f"setup: warning: Jupyter kernel '{name}' runs {python}, not {sys.executable}", file=sys.stderr)
PYCHECK

printf '%s\n' "$PY" > .envpython
stamp_of > .setup-stamp
