#!/usr/bin/env python3
"""torch.matmul TFLOP/s at a model's prefill GEMM shapes: the peer for `bin/redress bench gemm`.

    python3 tools/torch_gemm.py --config qwen2.5-7b --tokens 512,2048,8192 --out torch-gemm.json

Each GEMM is x (tokens, in) @ w (out, in)^T in bf16, as an nn.Linear computes it; timed with
CUDA events around --iters calls back to back, median of 7 such batches. Also times the fp32-output variant (what our
runner writes) when this torch has torch.mm(..., out_dtype=).
"""
import argparse
import json

CONFIGS = {  # hidden, q size, kv size, intermediate
    "qwen2.5-0.5b": (896, 896, 128, 4864),
    "qwen2.5-1.5b": (1536, 1536, 256, 8960),
    "qwen2.5-7b": (3584, 3584, 512, 18944),
    "qwen2.5-14b": (5120, 5120, 1024, 13824),
}


def median_ms(fn, iters):
    """Per call: iters calls back to back between CUDA events, median of 7 such batches."""
    import torch
    for _ in range(3):
        fn()
    times = []
    for _ in range(7):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(iters):
            fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / iters)
    times.sort()
    return times[len(times) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="qwen2.5-7b", choices=sorted(CONFIGS))
    ap.add_argument("--tokens", default="512,2048,8192")
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    import torch
    d, q, kv, inter = CONFIGS[args.config]
    layers = [("qkv", q + 2 * kv, d), ("o", d, q), ("gate_up", 2 * inter, d), ("down", d, inter)]
    rows = []
    # Warm the clocks up first, as the Java side does.
    xw = torch.randn(8192, d, device="cuda", dtype=torch.bfloat16)
    ww = torch.randn(2 * inter, d, device="cuda", dtype=torch.bfloat16)
    median_ms(lambda: torch.matmul(xw, ww.t()), args.iters)
    del xw, ww
    for m in [int(t) for t in args.tokens.split(",")]:
        for name, out_f, in_f in layers:
            x = torch.randn(m, in_f, device="cuda", dtype=torch.bfloat16)
            w = torch.randn(out_f, in_f, device="cuda", dtype=torch.bfloat16) * 0.02
            ms = median_ms(lambda: torch.matmul(x, w.t()), args.iters)
            row = {"layer": name, "tokens": m, "out": out_f, "in": in_f, "ms": ms,
                   "tflops": 2.0 * m * in_f * out_f / (ms / 1e3) / 1e12}
            try:
                ms32 = median_ms(lambda: torch.mm(x, w.t(), out_dtype=torch.float32), args.iters)
                row["ms_fp32_out"] = ms32
                row["tflops_fp32_out"] = 2.0 * m * in_f * out_f / (ms32 / 1e3) / 1e12
            except (TypeError, RuntimeError):
                pass
            rows.append(row)
            print(json.dumps(row), flush=True)
    with open(args.out, "w") as f:
        json.dump({"config": args.config, "device": torch.cuda.get_device_name(0),
                   "torch": torch.__version__, "gemms": rows}, f, indent=2)


if __name__ == "__main__":
    main()
