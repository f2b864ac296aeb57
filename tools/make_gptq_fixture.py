#!/usr/bin/env python3
"""A GPTQ int4 fixture in the layout AutoGPTQ / GPTQModel export, with HF reference outputs.

Run on the GPU machine (torch, transformers, tokenizers installed), from the project root,
after the dense fixtures exist (it reuses qwen2-small-untied's config and tokenizer):

    PYTHONUNBUFFERED=1 python3 tools/make_gptq_fixture.py --out $OUT/fixtures [--variant sym]

It writes fixtures/qwen2-small-gptq/ (config.json with quantization_config, model.safetensors,
tokenizer.json.gz) and fixtures/qwen2-small-gptq.reference.json.gz in make_fixtures.py's format;
with --variant sym, qwen2-small-gptq-sym.

Weights are drawn directly as quantized values (no calibration: the layout is what is tested):
every linear layer of the decoder gets 4-bit codes, per-group fp16 scales and 4-bit zero points,
asymmetric, group size 32, desc_act on (a shuffled g_idx, as act-order exports have). The sym
variant is what Qwen's own GPTQ-Int4 checkpoints are: group size 128, desc_act off, sym (every
zero point 8, stored 7), so the CUDA runner takes its one-token chain and the kernels that read
the scales without zero points.
Embeddings, norms, biases and the LM head stay unquantized (fp16, as in GPTQ checkpoints, with
bf16-exact values so the CUDA runner's bf16 copies match them).

Packing, from AutoGPTQ's QuantLinear.pack (qlinear_cuda_old.py) and its torch dequantization:
  qweight int32 (in / 8, out): input row 8r + j of output column c sits in bits 4j..4j+3 of
          qweight[r, c];
  qzeros  int32 (groups, out / 8): the zero point of group g, column 8c + j sits in bits
          4j..4j+3 of qzeros[g, c], stored minus one ("gptq" checkpoint format, v1);
  scales  fp16 (groups, out); g_idx int32 (in): the group of each input row;
  W[c, i] = scales[g_idx[i], c] * (q[i, c] - (stored_zero[g_idx[i], c] + 1)).
The reference dequantizes with its own unpacking (shifts on the packed tensors), loads the
dense result into transformers' Qwen2ForCausalLM in fp32 and records greedy continuations and
logits with make_fixtures.reference_cases.
"""
import argparse
import gzip
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
import make_fixtures  # noqa: E402

NAME = "qwen2-small-gptq"
BASE = "qwen2-small-untied"
BITS = 4
GROUP = 32
LINEARS = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
           "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]


def pack_rows(codes):
    """(in, out) codes 0..15 -> (in / 8, out) int32, row 8r + j in bits 4j.."""
    import torch
    n_in, n_out = codes.shape
    c = codes.to(torch.int64).reshape(n_in // 8, 8, n_out)
    packed = torch.zeros(n_in // 8, n_out, dtype=torch.int64)
    for j in range(8):
        packed |= c[:, j, :] << (4 * j)
    return (packed - ((packed >> 31) & 1) * (1 << 32)).to(torch.int32)  # as signed int32


def pack_cols(codes):
    """(groups, out) codes -> (groups, out / 8) int32, column 8c + j in bits 4j.."""
    import torch
    g, n_out = codes.shape
    c = codes.to(torch.int64).reshape(g, n_out // 8, 8)
    packed = torch.zeros(g, n_out // 8, dtype=torch.int64)
    for j in range(8):
        packed |= c[:, :, j] << (4 * j)
    return (packed - ((packed >> 31) & 1) * (1 << 32)).to(torch.int32)


def dequantize(qweight, qzeros, scales, g_idx):
    """The reference: unpack with shifts and apply W = s * (q - (z + 1)); returns (out, in)."""
    import torch
    shifts = torch.arange(0, 32, 4, dtype=torch.int32)
    q = (qweight.unsqueeze(1) >> shifts.view(1, 8, 1)) & 0xF  # (in/8, 8, out)
    q = q.reshape(-1, qweight.shape[1])                        # (in, out)
    z = (qzeros.unsqueeze(2) >> shifts.view(1, 1, 8)) & 0xF    # (groups, out/8, 8)
    z = z.reshape(qzeros.shape[0], -1) + 1                     # (groups, out)
    g = g_idx.long()
    w = scales.float()[g] * (q.float() - z.float()[g])         # (in, out)
    return w.t().contiguous()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="the fixtures folder to write into")
    ap.add_argument("--variant", choices=["act-order", "sym"], default="act-order",
                    help="act-order: group 32, desc_act, asymmetric (qwen2-small-gptq); sym: "
                         "group 128, no desc_act, every zero point 8 (qwen2-small-gptq-sym)")
    args = ap.parse_args()
    sym = args.variant == "sym"
    name = NAME + ("-sym" if sym else "")
    group = 128 if sym else GROUP
    import torch
    from safetensors.torch import save_file
    from tokenizers import Tokenizer
    from transformers import Qwen2Config, Qwen2ForCausalLM

    spec = dict(make_fixtures.MODELS[BASE])
    for k in ("embed_std", "seed", "tokenizer"):
        spec.pop(k)
    torch.manual_seed(97533 if sym else 97531)
    src_dir = os.path.join(make_fixtures.RES, "fixtures", BASE)
    model_dir = os.path.join(args.out, name)
    os.makedirs(model_dir, exist_ok=True)
    config = json.load(open(os.path.join(src_dir, "config.json")))
    config["torch_dtype"] = "float16"
    config["quantization_config"] = {
        "quant_method": "gptq", "bits": BITS, "group_size": group, "desc_act": not sym,
        "sym": sym, "checkpoint_format": "gptq"}
    json.dump(config, open(os.path.join(model_dir, "config.json"), "w"), indent=2)
    shutil.copy(os.path.join(src_dir, "tokenizer.json.gz"), model_dir)

    hf_config = Qwen2Config(**spec, use_sliding_window=False, bos_token_id=config.get(
        "bos_token_id"), eos_token_id=config.get("eos_token_id"))
    if isinstance(getattr(hf_config, "rope_parameters", None), dict):
        hf_config.rope_parameters["rope_theta"] = spec["rope_theta"]
    ref = Qwen2ForCausalLM(hf_config).eval().float()
    tensors = {}
    with torch.no_grad():
        for pname, p in ref.named_parameters():
            module = pname.rsplit(".", 1)[0]
            if any(module.endswith(l) for l in LINEARS) and pname.endswith(".weight"):
                n_out, n_in = p.shape
                groups = n_in // group
                codes = torch.randint(0, 16, (n_in, n_out), dtype=torch.int32)
                if sym:
                    zeros = torch.full((groups, n_out), 8, dtype=torch.int32)
                else:
                    zeros = torch.randint(1, 16, (groups, n_out), dtype=torch.int32)  # stored z-1 >= 0
                scales = (torch.rand(groups, n_out) * 0.02 + 0.005).half()
                # act order: input rows visited in a random order, group at a time
                order = torch.arange(n_in) if sym else torch.randperm(n_in)
                g_idx = torch.empty(n_in, dtype=torch.int32)
                g_idx[order] = torch.arange(n_in, dtype=torch.int32) // group
                qweight = pack_rows(codes)
                qzeros = pack_cols(zeros - 1)
                tensors[module + ".qweight"] = qweight
                tensors[module + ".qzeros"] = qzeros
                tensors[module + ".scales"] = scales
                tensors[module + ".g_idx"] = g_idx
                p.copy_(dequantize(qweight, qzeros, scales, g_idx))
            else:
                if "norm" in pname:
                    v = 1.0 + 0.2 * torch.randn_like(p)
                elif pname.endswith("bias"):
                    v = 0.2 * torch.randn_like(p)
                else:  # embeddings, LM head
                    v = 0.25 * torch.randn_like(p)
                # fp16 as GPTQ checkpoints store them, but bf16-exact: the CUDA runner keeps
                # unquantized tensors in bf16, so fp16 values would round there and the
                # comparison would measure that rounding instead of the int4 path
                v = v.to(torch.bfloat16).half()
                tensors[pname] = v
                p.copy_(v.float())
    save_file({k: v.contiguous() for k, v in tensors.items()},
              os.path.join(model_dir, "model.safetensors"), metadata={"format": "pt"})

    tokenizer = Tokenizer.from_str(gzip.open(os.path.join(model_dir, "tokenizer.json.gz"),
                                             "rt", encoding="utf-8").read())
    cases = make_fixtures.reference_cases(ref, tokenizer, name)
    reference = {"model": name, "config": config, "cases": cases}
    with gzip.open(os.path.join(args.out, name + ".reference.json.gz"), "wt",
                   encoding="utf-8") as f:
        json.dump(reference, f)


if __name__ == "__main__":
    main()
