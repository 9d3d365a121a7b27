#!/usr/bin/env bash
# The CUDA check (issue 29): on a machine with an NVIDIA GPU, run the tests that need one, then
# every extractor's default transfer of 10 s on --device cuda beside the CPU's, with their
# times, and check that the GPU's results match the CPU's statistics (benchmarks/gpu_check.py
# writes the table into benchmarks/RESULTS.md, section "CUDA"). On a machine without a GPU it
# says so and exits 0: nothing is measured, nothing is faked.
#
#   benchmarks/gpu_check.sh            # from the repository root or anywhere
#
# The set-up is ./run's (PyTorch 2.13.0 from PyPI: its Linux x86_64 wheel is the CUDA build;
# this repository's constraints pin the version, not the build).
set -euo pipefail
cd "$(dirname "$0")/.."
./run audiostyle --help >/dev/null
python=.venv/bin/python
if ! "$python" - <<'PY'
import sys
import torch
if torch.version.cuda is None:
    print(f"gpu_check: torch {torch.__version__} is a CPU-only build: no GPU can be used here")
    sys.exit(1)
if not torch.cuda.is_available():
    print(f"gpu_check: torch {torch.__version__} (CUDA {torch.version.cuda}) finds no GPU")
    sys.exit(1)
print(f"gpu_check: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, "
      f"CUDA {torch.version.cuda}")
PY
then
    echo "gpu_check: no CUDA GPU on this machine: nothing to check (exit 0)"
    exit 0
fi
"$python" -m pytest -m gpu -q -p no:cacheprovider
"$python" benchmarks/gpu_check.py
