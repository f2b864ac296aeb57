#!/usr/bin/env bash
# Compiles src/main/cuda/kernels.cu (which includes every kernel family) into one fatbin:
# machine code for sm_80 (A100) and sm_90a (H100/H200) plus PTX for newer GPUs; with a third
# argument, also keeps the sm_90a cubin alone there (tools/gpu-bundle.sh --hopper ships it
# instead of the fatbin, to keep device calls small).
# Skips with a message where nvcc is absent: CPU-only builds (CI) still work, and the CUDA
# runner then reports itself unavailable. Rebuilds only when a source changed.
set -euo pipefail
src="$1"
out="$2"
cubin="${3:-}"
fatbin="$out/kernels.fatbin"
nvcc="$(command -v nvcc || true)"
[[ -z "$nvcc" && -x /usr/local/cuda/bin/nvcc ]] && nvcc=/usr/local/cuda/bin/nvcc
if [[ -z "$nvcc" ]]; then
  echo "[redress-cuda] nvcc not found: CUDA kernels not built; the CUDA runner will be unavailable"
  exit 0
fi
mkdir -p "$out"
if [[ -f "$fatbin" && -z "$(find "$src" -newer "$fatbin" -print -quit)" ]]; then
  exit 0
fi
echo "[redress-cuda] compiling kernels with $("$nvcc" --version | tail -1)"
keep="$(mktemp -d)"
trap 'rm -rf "$keep"' EXIT
"$nvcc" -fatbin -O3 -std=c++17 -lineinfo \
  -gencode arch=compute_80,code=sm_80 \
  -gencode arch=compute_90a,code=sm_90a \
  -gencode arch=compute_90,code=compute_90 \
  -Xptxas=-warn-spills \
  -keep -keep-dir "$keep" \
  -o "$fatbin.tmp" "$src/kernels.cu"
# Kernels launches every kernel with programmatic dependent launch on Hopper, which is safe
# only if each one waits for its predecessor (pdl_wait, common.cuh) before touching memory:
# fail the build when an entry point of the Hopper PTX has no griddepcontrol.wait.
missing="$(awk '/\.entry /{if (name != "" && !waits) print name; name = $3; sub(/\(.*/, "", name); waits = 0}
  /griddepcontrol\.wait/{waits = 1}
  END {if (name != "" && !waits) print name}' "$keep"/kernels.compute_90.ptx)"
if [[ -n "$missing" ]]; then
  echo "[redress-cuda] kernels without pdl_wait() (see common.cuh): $missing" >&2
  rm -f "$fatbin.tmp"
  exit 1
fi
mv "$fatbin.tmp" "$fatbin"
if [[ -n "$cubin" ]]; then
  mkdir -p "$(dirname "$cubin")"
  cp "$keep/kernels.compute_90a.cubin" "$cubin"
fi
