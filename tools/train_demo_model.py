#!/usr/bin/env python3
"""Train the demo model: a byte-level BPE tokenizer and a small Qwen2 model that drafts complaint
replies, exported as an HF model directory (sample-data/demo-model/).

The training set is the job's own prompts, rendered by the job's code so the model sees exactly
what the job will show it:

    python3 tools/make_complaints.py --train-out /tmp/complaints/train.jsonl
    bin/redress prompts --input /tmp/complaints/train.jsonl --out /tmp/complaints/train.prompts.jsonl
    bin/redress prompts --input sample-data/complaints.jsonl --out /tmp/complaints/heldout.prompts.jsonl
    gzip -f /tmp/complaints/*.prompts.jsonl
    python3 tools/train_demo_model.py --data /tmp/complaints/train.prompts.jsonl.gz \
        --eval /tmp/complaints/heldout.prompts.jsonl.gz --out sample-data/demo-model

Runs on one GPU in about seven minutes (an H100: see --steps); needs torch, transformers and
tokenizers. Reproducible: fixed seeds, deterministic tokenizer training, deterministic GPU
algorithms where torch has them, and a fixed number of steps.

Each prompt line is {"prompt", "completion"}: the prompt ends with the opened assistant turn,
the completion is the reply JSON; the model learns completion + <|im_end|> only (the prompt's
tokens carry no loss).
"""

import argparse
import gzip
import json
import math
import os
import random
import sys
import time

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# Qwen2's pre-tokenizer split: words with their leading space or punctuation, single digits
# (order numbers stay digit by digit), punctuation runs, newlines.
SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
         r"|\s*[\r\n]+|\s+(?!\S)|\s+")
CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
          "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
          "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def read_jsonl(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def train_tokenizer(rows, vocab_size):
    """Byte-level BPE over the prompts and completions, with ChatML's special tokens."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(byte_fallback=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=2, special_tokens=SPECIAL, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet())

    def texts():
        for r in rows:
            yield r["prompt"]
            yield r["completion"]

    tok.train_from_iterator(texts(), trainer=trainer, length=2 * len(rows))
    return tok


def encode(tok, rows, im_end, max_len):
    """(ids, number of prompt tokens) per row; rows longer than max_len are dropped."""
    prompts = tok.encode_batch([r["prompt"] for r in rows], add_special_tokens=False)
    completions = tok.encode_batch([r["completion"] for r in rows], add_special_tokens=False)
    out, dropped = [], 0
    for p, c in zip(prompts, completions):
        ids = p.ids + c.ids + [im_end]
        if len(ids) > max_len:
            dropped += 1
            continue
        out.append((ids, len(p.ids)))
    return out, dropped


def batches(examples, tokens_per_batch, rng):
    """Length-bucketed batches (little padding) in a seeded random order."""
    order = sorted(range(len(examples)), key=lambda i: len(examples[i][0]))
    result, cur, longest = [], [], 0
    for i in order:
        n = len(examples[i][0])
        if cur and max(longest, n) * (len(cur) + 1) > tokens_per_batch:
            result.append(cur)
            cur, longest = [], 0
        cur.append(i)
        longest = max(longest, n)
    if cur:
        result.append(cur)
    rng.shuffle(result)
    return result


def collate(examples, idx, pad, device):
    import torch
    width = max(len(examples[i][0]) for i in idx)
    ids = torch.full((len(idx), width), pad, dtype=torch.long)
    labels = torch.full((len(idx), width), -100, dtype=torch.long)
    mask = torch.zeros((len(idx), width), dtype=torch.long)
    for row, i in enumerate(idx):
        seq, n_prompt = examples[i]
        ids[row, :len(seq)] = torch.tensor(seq)
        labels[row, n_prompt:len(seq)] = torch.tensor(seq[n_prompt:])
        mask[row, :len(seq)] = 1
    return ids.to(device), labels.to(device), mask.to(device)


def evaluate(model, tok, rows, im_end, pad, device, max_new, batch=64):
    """Greedy replies (unguided) to held-out prompts: how many parse, category accuracy."""
    import torch
    model.eval()
    parsed = category_ok = exact = 0
    samples = []
    for start in range(0, len(rows), batch):
        chunk = rows[start:start + batch]
        enc = [tok.encode(r["prompt"], add_special_tokens=False).ids for r in chunk]
        width = max(map(len, enc))
        ids = torch.full((len(enc), width), pad, dtype=torch.long)
        mask = torch.zeros((len(enc), width), dtype=torch.long)
        for i, e in enumerate(enc):  # left padding for generation
            ids[i, width - len(e):] = torch.tensor(e)
            mask[i, width - len(e):] = 1
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
            out = model.generate(input_ids=ids.to(device), attention_mask=mask.to(device),
                                 max_new_tokens=max_new, do_sample=False,
                                 eos_token_id=im_end, pad_token_id=pad)
        for r, row in zip(chunk, out[:, width:].tolist()):
            if im_end in row:
                row = row[:row.index(im_end)]
            text = tok.decode(row)
            want = json.loads(r["completion"])
            try:
                got = json.loads(text)
                parsed += 1
                category_ok += got.get("category") == want["category"]
                exact += got.get("reply_text") == want["reply_text"]
            except ValueError:
                pass
            if len(samples) < 4:
                samples.append((r["completion"], text))
    model.train()
    n = len(rows)
    return {"n": n, "json_ok": parsed / n, "category_acc": category_ok / n,
            "reply_exact": exact / n}, samples


def export(model, tok, out, max_positions, im_end, endoftext):
    import torch
    os.makedirs(out, exist_ok=True)
    model.config.eos_token_id = [im_end, endoftext]
    model.generation_config.eos_token_id = [im_end, endoftext]
    model.generation_config.pad_token_id = endoftext
    model.generation_config.bos_token_id = endoftext
    model.generation_config.do_sample = False
    model.to(torch.bfloat16).save_pretrained(out, safe_serialization=True)
    tok.save(os.path.join(out, "tokenizer.json"))
    with open(os.path.join(out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump({
            "tokenizer_class": "PreTrainedTokenizerFast",
            "bos_token": None,
            "eos_token": "<|im_end|>",
            "pad_token": "<|endoftext|>",
            "unk_token": None,
            "model_max_length": max_positions,
            "add_bos_token": False,
            "chat_template": CHATML,
            "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
        }, f, indent=2)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="training prompts (JSON Lines, .gz ok)")
    ap.add_argument("--eval", help="held-out prompts for a greedy check at the end")
    ap.add_argument("--eval-count", type=int, default=256)
    ap.add_argument("--out", required=True, help="model directory to write")
    ap.add_argument("--vocab", type=int, default=8192)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--intermediate", type=int, default=768)
    ap.add_argument("--max-positions", type=int, default=2048)
    ap.add_argument("--steps", type=int, default=1600)
    ap.add_argument("--tokens-per-batch", type=int, default=131072)
    ap.add_argument("--max-train-seconds", type=float, default=420,
                    help="stop early (logged) so the run fits one device call; not hit on an H100")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--max-new-tokens", type=int, default=256)
    args = ap.parse_args()

    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    t0 = time.time()

    rows = read_jsonl(args.data)
    log(f"{len(rows):,} training prompts")
    tok = train_tokenizer(rows, args.vocab)
    endoftext, im_start, im_end = (tok.token_to_id(s) for s in SPECIAL)
    log(f"tokenizer: {tok.get_vocab_size():,} tokens ({time.time() - t0:.0f} s)")
    examples, dropped = encode(tok, rows, im_end, args.max_positions)
    lengths = sorted(len(e[0]) for e in examples)
    completion = sum(len(e[0]) - e[1] for e in examples) / len(examples)
    log(f"{len(examples):,} examples ({dropped} too long), tokens p50 {lengths[len(lengths) // 2]}"
        f" max {lengths[-1]}, completion mean {completion:.0f}")

    config = Qwen2Config(
        vocab_size=tok.get_vocab_size(), hidden_size=args.hidden,
        intermediate_size=args.intermediate, num_hidden_layers=args.layers,
        num_attention_heads=args.heads, num_key_value_heads=args.kv_heads,
        max_position_embeddings=args.max_positions, rope_theta=10000.0, rms_norm_eps=1e-6,
        tie_word_embeddings=True, bos_token_id=endoftext, eos_token_id=[im_end, endoftext],
        pad_token_id=endoftext, attention_dropout=0.0, use_sliding_window=False)
    model = Qwen2ForCausalLM(config).to(device)
    params = sum(p.numel() for p in model.parameters())
    log(f"model: {params / 1e6:.2f} M parameters, {args.layers} layers x {args.hidden}")

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8)

    def lr_at(step):
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        progress = (step - args.warmup) / max(1, args.steps - args.warmup)
        return args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))

    rng = random.Random(args.seed)
    plan = []
    model.train()
    tokens_seen, t_train, step = 0, time.time(), 0
    while step < args.steps:
        if time.time() - t_train > args.max_train_seconds:
            log(f"stopping at step {step}: --max-train-seconds {args.max_train_seconds:.0f} reached"
                " (the run is not the reproducible one)")
            break
        if not plan:
            plan = batches(examples, args.tokens_per_batch, rng)
        idx = plan.pop()
        ids, labels, mask = collate(examples, idx, endoftext, device)
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        with torch.autocast(device, dtype=torch.bfloat16):
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        tokens_seen += int(mask.sum())
        step += 1
        if step % 100 == 0 or step == args.steps:
            rate = tokens_seen / (time.time() - t_train)
            log(f"step {step}/{args.steps} loss {loss.item():.4f} lr {lr_at(step):.2e}"
                f" {rate / 1e3:.0f}k tokens/s")

    if args.eval:
        held = read_jsonl(args.eval)[:args.eval_count]
        metrics, samples = evaluate(model, tok, held, im_end, endoftext, device,
                                    args.max_new_tokens)
        log(f"held-out greedy check (unguided): {json.dumps(metrics)}")
        for want, got in samples:
            log(f"  reference: {want}\n  model:     {got}")

    model.config.torch_dtype = torch.bfloat16
    export(model, tok, args.out, args.max_positions, im_end, endoftext)
    size = sum(os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out))
    log(f"wrote {args.out} ({size / 1e6:.1f} MB) in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
