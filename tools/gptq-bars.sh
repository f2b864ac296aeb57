#!/usr/bin/env bash
# Measures issue #9's bars in one call on one GPU and writes OUT_DIR/bars.md
# (tools/gptq_bars.py): Qwen2.5-14B-shaped random weights, bf16 and GPTQ int4 decode at
# batches 1 and 16 (prompt 128, 256 new), HF transformers on the same shapes where torch and
# transformers are installed, and 14B GPTQ at batch 256 (prompt 512, 256 new) over a bf16 and
# an FP8 KV cache.
#
#   tools/gptq-bars.sh [OUT_DIR]                   (default bench-results/gptq-bars)
#
# REDRESS_BENCH is the command that runs `bench` (default: bin/redress bench; on a machine
# with a tools/gpu-bundle.sh bundle: "bash .gpu/java -cp .gpu/lib/* io.redress.bench.BenchCli",
# quoted as one word). Takes about three minutes on an H100 (HF's batch 16 is the longest).
# Exits with the report's status: 0 where every bar is met.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-bench-results/gptq-bars}"
mkdir -p "$out"
if [[ -n "${REDRESS_BENCH:-}" ]]; then
  read -r -a bench <<< "$REDRESS_BENCH"  # (read splits without globbing: a '*' stays as it is)
else
  bench=("$here/../bin/redress" bench)
fi
# A run that fails leaves its JSON missing, which the report names; the others still run.
decode() {
  "${bench[@]}" decode --config qwen2.5-14b --out "$out" "$@" \
    || echo "[gptq-bars] failed: decode $*" >&2
}
echo "[gptq-bars] bf16 and GPTQ int4, batches 1 and 16" >&2
decode --batch 1,16 --name bf16
decode --batch 1,16 --quantization gptq --name gptq
echo "[gptq-bars] GPTQ int4 at batch 256 over a bf16 and an FP8 KV cache" >&2
decode --batch 256 --prompt-len 512 --quantization gptq --kv-cache-dtype auto --name fp8-bf16kv
decode --batch 256 --prompt-len 512 --quantization gptq --kv-cache-dtype fp8 --name fp8-fp8kv
if python3 -c 'import torch, transformers' 2> /dev/null; then
  echo "[gptq-bars] HF transformers, batches 1 and 16" >&2
  PYTHONUNBUFFERED=1 python3 "$here/hf_baseline.py" --config qwen2.5-14b --batch 1,16 \
    --prompt-len 128 --output-len 256 --out "$out/hf.json" \
    || echo "[gptq-bars] failed: HF transformers" >&2
else
  echo "[gptq-bars] no torch or transformers here: HF transformers not run" >&2
fi
status=0
python3 "$here/gptq_bars.py" "$out" > "$out/bars.md" || status=$?
cat "$out/bars.md"
exit "$status"
