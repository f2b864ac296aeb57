#!/usr/bin/env python3
"""HF transformers baseline: generate() speed on published Qwen2.5 shapes with random weights.

Run on the GPU machine, in the same device call as `bin/redress bench decode`, so both numbers
come from the same GPU:

    PYTHONUNBUFFERED=1 python3 tools/hf_baseline.py --config qwen2.5-0.5b --batch 1 \
        --prompt-len 128 --output-len 256 --out $OUT/hf-0.5b.json

Greedy, EOS ignored (min_new_tokens = max_new_tokens), bf16, SDPA attention, KV cache on.
Decode speed per sequence = (output_len - 1) / (time(output_len) - time(1 token)).
"""
import argparse
import json
import sys
import time

CONFIGS = {  # the published config.json of each model
    "qwen2.5-0.5b": dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                         num_attention_heads=14, num_key_value_heads=2, vocab_size=151936,
                         tie_word_embeddings=True, rms_norm_eps=1e-6),
    "qwen2.5-1.5b": dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
                         num_attention_heads=12, num_key_value_heads=2, vocab_size=151936,
                         tie_word_embeddings=True, rms_norm_eps=1e-6),
    "qwen2.5-7b": dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28,
                       num_attention_heads=28, num_key_value_heads=4, vocab_size=152064,
                       tie_word_embeddings=False, rms_norm_eps=1e-6),
    "qwen2.5-14b": dict(hidden_size=5120, intermediate_size=13824, num_hidden_layers=48,
                        num_attention_heads=40, num_key_value_heads=8, vocab_size=152064,
                        tie_word_embeddings=False, rms_norm_eps=1e-5),
}


def timed_generate(model, ids, new_tokens):
    import torch
    torch.cuda.synchronize()
    t = time.perf_counter()
    model.generate(ids, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                   pad_token_id=0, eos_token_id=None)
    torch.cuda.synchronize()
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", required=True, choices=sorted(CONFIGS))
    ap.add_argument("--batch", default="1", help="comma-separated batch sizes")
    ap.add_argument("--prompt-len", type=int, default=128)
    ap.add_argument("--output-len", type=int, default=256)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM
    config = Qwen2Config(**CONFIGS[args.config], max_position_embeddings=32768,
                         rope_theta=1000000.0, use_sliding_window=False)
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = Qwen2ForCausalLM(config).to(torch.bfloat16).eval()
    model.generation_config.eos_token_id = None
    runs = []
    for batch in [int(b) for b in args.batch.split(",")]:
        ids = torch.randint(0, 150000, (batch, args.prompt_len), device="cuda")
        timed_generate(model, ids, 8)  # warm-up
        t1 = timed_generate(model, ids, 1)
        tn = timed_generate(model, ids, args.output_len)
        run = {"batch": batch, "wall_s": tn,
               "output_tokens_per_s": batch * args.output_len / tn,
               "per_sequence_decode_tokens_per_s": (args.output_len - 1) / (tn - t1),
               "ttft_ms": t1 * 1000}
        runs.append(run)
        print(f"HF {args.config} batch {batch}: {run['output_tokens_per_s']:.1f} output tokens/s,"
              f" {run['per_sequence_decode_tokens_per_s']:.1f} tokens/s per sequence",
              file=sys.stderr)
    result = {"benchmark": "hf_baseline", "config": args.config,
              "gpu": torch.cuda.get_device_name(0), "torch": torch.__version__,
              "transformers": __import__("transformers").__version__,
              "prompt_len": args.prompt_len, "output_len": args.output_len, "runs": runs}
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
