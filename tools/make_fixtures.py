#!/usr/bin/env python3
"""Reference fixtures from HF transformers / tokenizers, for the Java tests.

Run on the GPU machine (torch, transformers, tokenizers installed), from the project root:

    PYTHONUNBUFFERED=1 python3 tools/make_fixtures.py --out $OUT/fixtures

It writes, under --out (copy the result into inference-operator/src/test/resources/):
  fixtures/qwen2-tiny-tied/       random-weight Qwen2, the real 151,936-row vocabulary, tied
  fixtures/qwen2-small-untied/    random-weight Qwen2, head_dim 64, GQA 2, untied, with a
                                  2k-token tokenizer cut from Qwen's (made by --small-tokenizer)
  fixtures/<model>.reference.json.gz   prompts, HF greedy continuations, logits at positions
  tokenizer/reference.jsonl.gz    HF tokenizers ids + decode for tokenizer/corpus.jsonl
  chat/reference.jsonl            Qwen2.5 chat template rendered by transformers

All reference math runs in fp32 on the CPU (no TF32), from the bf16 weights as saved.
The small tokenizer needs no third-party package: `--small-tokenizer-only` builds it anywhere.
"""
import argparse
import gzip
import json
import os
import shutil
import sys

RES = "inference-operator/src/test/resources"
QWEN_TOKENIZER = os.path.join(RES, "qwen-tokenizer", "tokenizer.json.gz")
SMALL_KEEP = 2048  # regular tokens kept in the small tokenizer (ids 0..2047 of Qwen's)

PROMPTS = [
    "Hello, my order #A-20931 arrived broken and I want a refund.",
    "我的快递已经三天没有更新了，请尽快帮我查一下订单号 CN8842013。",
    "<|im_start|>user\nThe app keeps logging me out 😡 fix it!<|im_end|>\n<|im_start|>assistant\n",
    "def refund(order):\n    return order.total * 0.9\n",
    "Bonjour — the hotel charged twice: 2× €149.00",
    "  spaces   and\ttabs\n\nnewlines  ",
    "网络断了 48 小时，客服态度还很差。I need compensation now.",
]

MODELS = {
    "qwen2-tiny-tied": dict(
        vocab_size=151936, hidden_size=16, intermediate_size=48, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=512,
        rope_theta=1000000.0, rms_norm_eps=1e-6, tie_word_embeddings=True,
        embed_std=0.5, seed=1234, tokenizer="qwen"),
    "qwen2-small-untied": dict(
        vocab_size=2112, hidden_size=256, intermediate_size=512, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
        rope_theta=10000.0, rms_norm_eps=1e-5, tie_word_embeddings=False,
        embed_std=0.25, seed=5678, tokenizer="small"),
}


def read_qwen_tokenizer_json():
    with gzip.open(QWEN_TOKENIZER, "rt", encoding="utf-8") as f:
        return json.load(f)


def small_tokenizer_json():
    """Qwen's tokenizer cut to its first SMALL_KEEP tokens: the merges that only build kept
    tokens stay, so BPE over it is still a valid byte-level BPE; special tokens move to the
    ids right after the kept ones (the Qwen2.5 set, up to <|file_sep|>)."""
    t = read_qwen_tokenizer_json()
    vocab = t["model"]["vocab"]
    kept = {tok: i for tok, i in vocab.items() if i < SMALL_KEEP}
    assert len(kept) == SMALL_KEEP, "Qwen ids 0..N-1 are expected to be contiguous"
    merges = []
    for m in t["model"]["merges"]:
        a, b = m if isinstance(m, list) else m.split(" ", 1)
        if a in kept and b in kept and (a + b) in kept:
            merges.append(m)
    t["model"]["vocab"] = kept
    t["model"]["merges"] = merges
    added = [a for a in t["added_tokens"] if a["id"] <= 151664]
    for k, a in enumerate(added):
        a["id"] = SMALL_KEEP + k
    t["added_tokens"] = added
    return t


def write_small_tokenizer(directory):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(small_tokenizer_json(), f, ensure_ascii=False)


def tokenizer_dir_for(name, model_dir):
    """Puts the model's tokenizer into its directory (gzipped: the Java loader accepts it)."""
    if MODELS[name]["tokenizer"] == "qwen":
        shutil.copy(QWEN_TOKENIZER, os.path.join(model_dir, "tokenizer.json.gz"))
        return json.dumps(read_qwen_tokenizer_json())
    text = json.dumps(small_tokenizer_json(), ensure_ascii=False)
    with gzip.open(os.path.join(model_dir, "tokenizer.json.gz"), "wt", encoding="utf-8") as f:
        f.write(text)
    return text


def reference_cases(ref, tokenizer, name):
    """Per prompt: the prompt ids, 32 greedy tokens with their smallest top-2 margin, and
    teacher-forced logits at a few positions (all of a row up to 4,096 ids, else a strided
    sample plus the top 32), from the fp32 model ref."""
    import torch
    torch.backends.cuda.matmul.allow_tf32 = False
    cases = []
    with torch.no_grad():
        for prompt in PROMPTS:
            ids = tokenizer.encode(prompt).ids
            seq = list(ids)
            margins = []
            for _ in range(32):
                logits = ref(torch.tensor([seq])).logits[0, -1]
                top = torch.topk(logits, 2).values
                margins.append(float(top[0] - top[1]))
                seq.append(int(torch.argmax(logits)))
            full = ref(torch.tensor([seq])).logits[0]  # (len, vocab), teacher forced
            positions = sorted({0, len(ids) // 2, len(ids) - 1, len(seq) - 2})
            rows = []
            for pos in positions:
                row = full[pos]
                entry = {"position": pos, "max_abs": float(row.abs().max())}
                if row.numel() <= 4096:
                    entry["ids"] = list(range(row.numel()))
                else:  # a strided sample plus the top 32: ~1,100 values per row
                    top = torch.topk(row, 32).indices.tolist()
                    entry["ids"] = sorted(set(range(0, row.numel(), 149)) | set(top))
                entry["logits"] = [float(row[i]) for i in entry["ids"]]
                rows.append(entry)
            cases.append({"prompt": prompt, "prompt_ids": ids, "greedy": seq[len(ids):],
                          "min_margin": min(margins), "logits": rows})
            print(f"{name}: {len(ids)} prompt tokens, min top-2 margin {min(margins):.4f}",
                  file=sys.stderr)
    return cases


def build_model(name, out):
    import torch
    from tokenizers import Tokenizer
    from transformers import Qwen2Config, Qwen2ForCausalLM

    spec = dict(MODELS[name])
    embed_std = spec.pop("embed_std")
    seed = spec.pop("seed")
    spec.pop("tokenizer")
    model_dir = os.path.join(out, "fixtures", name)
    os.makedirs(model_dir, exist_ok=True)
    torch.manual_seed(seed)
    config = Qwen2Config(**spec, use_sliding_window=False, bos_token_id=151643 if
                         spec["vocab_size"] > 151643 else SMALL_KEEP,
                         eos_token_id=151645 if spec["vocab_size"] > 151645 else SMALL_KEEP + 2)
    if isinstance(getattr(config, "rope_parameters", None), dict):  # transformers 5 style
        config.rope_parameters["rope_theta"] = spec["rope_theta"]
    model = Qwen2ForCausalLM(config).eval()
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if "norm" in pname:
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            elif pname.endswith("bias"):
                p.copy_(0.2 * torch.randn_like(p))
            elif "embed_tokens" in pname or pname == "lm_head.weight":
                p.copy_(embed_std * torch.randn_like(p))
            else:
                p.copy_(torch.randn_like(p) * (1.5 / p.shape[1] ** 0.5))
    model = model.to(torch.bfloat16)
    model.save_pretrained(model_dir, safe_serialization=True)
    for extra in ("generation_config.json",):
        path = os.path.join(model_dir, extra)
        if os.path.exists(path):
            os.remove(path)
    tok_text = tokenizer_dir_for(name, model_dir)
    tokenizer = Tokenizer.from_str(tok_text)

    # Reload as the Java side will: the saved bf16 weights, computed in fp32 on the CPU.
    ref = Qwen2ForCausalLM.from_pretrained(model_dir, dtype=torch.float32,
                                           attn_implementation="eager").eval()
    rp = getattr(ref.config, "rope_parameters", None)
    theta = rp["rope_theta"] if isinstance(rp, dict) else ref.config.rope_theta
    assert theta == spec["rope_theta"], f"rope_theta {theta} != {spec['rope_theta']}"
    cases = reference_cases(ref, tokenizer, name)
    reference = {"model": name, "config": json.load(open(os.path.join(model_dir,
                 "config.json"))), "cases": cases}
    with gzip.open(os.path.join(out, "fixtures", name + ".reference.json.gz"), "wt",
                   encoding="utf-8") as f:
        json.dump(reference, f)


def tokenizer_reference(out):
    from tokenizers import Tokenizer
    tok = Tokenizer.from_str(json.dumps(read_qwen_tokenizer_json()))
    os.makedirs(os.path.join(out, "tokenizer"), exist_ok=True)
    n = 0
    with open(os.path.join(RES, "tokenizer", "corpus.jsonl"), encoding="utf-8") as src, \
            gzip.open(os.path.join(out, "tokenizer", "reference.jsonl.gz"), "wt",
                      encoding="utf-8") as dst:
        for line in src:
            text = json.loads(line)
            ids = tok.encode(text).ids
            dst.write(json.dumps({"text": text, "ids": ids,
                                  "decoded": tok.decode(ids, skip_special_tokens=False)},
                                 ensure_ascii=False) + "\n")
            n += 1
    print(f"tokenizer: {n} strings", file=sys.stderr)


def chat_reference(out):
    from transformers import PreTrainedTokenizerFast
    tmp = os.path.join(out, "_qwen_tok")
    os.makedirs(tmp, exist_ok=True)
    with open(os.path.join(tmp, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(read_qwen_tokenizer_json(), f)
    tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(tmp, "tokenizer.json"))
    template = open("tools/qwen25_chat_template.jinja", encoding="utf-8").read()
    print(f"chat: transformers {__import__('transformers').__version__}", file=sys.stderr)
    os.makedirs(os.path.join(out, "chat"), exist_ok=True)
    with open(os.path.join(RES, "chat", "cases.jsonl"), encoding="utf-8") as src, \
            open(os.path.join(out, "chat", "reference.jsonl"), "w", encoding="utf-8") as dst:
        for line in src:
            case = json.loads(line)
            text = tok.apply_chat_template(case["messages"], chat_template=template,
                                           tokenize=False,
                                           add_generation_prompt=case["add_generation_prompt"])
            case["text"] = text
            case["ids"] = tok.backend_tokenizer.encode(text).ids
            dst.write(json.dumps(case, ensure_ascii=False) + "\n")
    shutil.rmtree(tmp)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", choices=["models", "tokenizer", "chat"], action="append")
    ap.add_argument("--small-tokenizer-only", action="store_true",
                    help="write the small tokenizer's tokenizer.json into --out and stop")
    args = ap.parse_args()
    if args.small_tokenizer_only:
        write_small_tokenizer(args.out)
        return
    only = set(args.only or ["models", "tokenizer", "chat"])
    if "tokenizer" in only:
        tokenizer_reference(args.out)
    if "chat" in only:
        chat_reference(args.out)
    if "models" in only:
        for name in MODELS:
            build_model(name, args.out)


if __name__ == "__main__":
    main()
