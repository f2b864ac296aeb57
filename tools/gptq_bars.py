#!/usr/bin/env python3
"""Issue #9's bars from one device call's runs (tools/gptq-bars.sh writes them): a Markdown table.

    python3 tools/gptq_bars.py DIR > DIR/bars.md

DIR holds the `bench decode` JSON of bf16.json and gptq.json (Qwen2.5-14B shape, batches 1 and
16, prompt 128, 256 new), fp8-bf16kv.json and fp8-fp8kv.json (14B GPTQ, batch 256, prompt 512,
256 new, KV cache bf16 and FP8 at the same kvCacheFraction) and, where HF transformers ran,
hf.json (tools/hf_baseline.py). The bars: GPTQ int4 decode at batch 1 at least 3x our bf16 and
at batch 16 at least 2x (decode tokens/s a sequence), each beside HF's figure from the same call;
an FP8 cache holding at least 1.9x the tokens of a bf16 one, with batch-256 throughput within
5 % of bf16's or better. Exits 1 where a bar is missed or a run is missing, 0 where all are met.
"""
import json
import os
import sys

BARS = [  # (what, batch, least GPTQ / bf16)
    ("batch 1, decode tokens/s a sequence", 1, 3.0),
    ("batch 16, decode tokens/s a sequence", 16, 2.0),
]


def load(path):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def run_of(result, batch):
    for run in (result or {}).get("runs", []):
        if run.get("batch") == batch:
            return run
    return None


def slowed(result):
    """Whether any GPU of any run was below its top SM clock or throttled (bench decode)."""
    return any(c.get("slowed") for run in (result or {}).get("runs", [])
               for c in run.get("gpu_clocks", []))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gptq_bars.py DIR")
    d = sys.argv[1]
    bf16, gptq = load(os.path.join(d, "bf16.json")), load(os.path.join(d, "gptq.json"))
    hf = load(os.path.join(d, "hf.json"))
    kv_bf16 = load(os.path.join(d, "fp8-bf16kv.json"))
    kv_fp8 = load(os.path.join(d, "fp8-fp8kv.json"))
    device = (gptq or bf16 or {}).get("device", "?")
    out = [f"# Issue #9's bars, {device}", ""]
    met = True
    out += ["| 14B | HF bf16 | Redress bf16 | Redress GPTQ int4 | GPTQ / our bf16 | bar | met |",
            "|---|---:|---:|---:|---:|---:|---|"]
    for what, batch, bar in BARS:
        b, g, h = run_of(bf16, batch), run_of(gptq, batch), run_of(hf, batch)
        key = "per_sequence_decode_tokens_per_s"
        if b is None or g is None:
            out.append(f"| {what} | | | | | {bar:g}x | run missing |")
            met = False
            continue
        ratio = g[key] / b[key]
        ok = ratio >= bar
        met &= ok
        hf_cell = f"{h[key]:.1f}" if h else "not run"
        out.append(f"| {what} | {hf_cell} | {b[key]:.1f} | {g[key]:.1f} | **{ratio:.2f}x** |"
                   f" {bar:g}x | {'yes' if ok else 'no'} |")
    out += ["", "| 14B GPTQ, batch 256, prompt 512 | bf16 cache | FP8 cache | FP8 / bf16 | bar"
            " | met |", "|---|---:|---:|---:|---:|---|"]
    b, f = run_of(kv_bf16, 256), run_of(kv_fp8, 256)
    if kv_bf16 and kv_fp8 and b and f:
        tokens = kv_fp8["kv_cache_tokens"] / kv_bf16["kv_cache_tokens"]
        speed = f["output_tokens_per_s"] / b["output_tokens_per_s"]
        ok_t, ok_s = tokens >= 1.9, speed >= 0.95
        met &= ok_t and ok_s
        out.append(f"| tokens in the KV pool | {kv_bf16['kv_cache_tokens']:,} |"
                   f" {kv_fp8['kv_cache_tokens']:,} | **{tokens:.2f}x** | 1.9x |"
                   f" {'yes' if ok_t else 'no'} |")
        out.append(f"| output tokens/s | {b['output_tokens_per_s']:,.0f} |"
                   f" {f['output_tokens_per_s']:,.0f} | **{speed:.3f}x** | 0.95x |"
                   f" {'yes' if ok_s else 'no'} |")
    else:
        out.append("| (runs missing) | | | | | no |")
        met = False
    out.append("")
    if any(slowed(r) for r in (bf16, gptq, kv_bf16, kv_fp8)):
        out.append("**A GPU was below its top SM clock or throttled in some run: the figures"
                   " are not the build's.**")
        met = False
    if hf is None:
        out.append("HF transformers did not run (no torch or transformers here): the bars"
                   " ask for its figures beside ours.")
    out.append("All bars met." if met else "Not all bars met.")
    print("\n".join(out))
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
