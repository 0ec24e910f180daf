#!/usr/bin/env python3
"""PyTorch CPU fine-tuning throughput, the reference for `bertc train` (figures, never pass/fail).

Same recipe as bertc's defaults: AutoModelForSequenceClassification.from_pretrained(folder, num_labels=2), SST-2
train rows in file order (no shuffle), batches of 32, max_length 128 with truncation, dynamic padding per batch to its
longest row (as DataCollatorWithPadding does), AdamW lr 1e-5 (weight decay 0, betas 0.9/0.999, eps 1e-8), linear
schedule with 600 warm-up steps, gradient clipping 1.0, model.train() (dropout on).

--warmup-steps-skip K untimed steps run first on batches 0..K-1; the S timed steps then run on batches 0..S-1 again,
so they see exactly the batches that `bertc train --max-steps S --no-shuffle` trains on (tokenization is untimed).
Prints one JSON line on stdout; transformers' warnings go to stderr.
  python3 bench/train_torch.py --model DIR --steps 20 --threads 2 --warmup-steps-skip 2
"""
import argparse, json, os, resource, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("--model", required=True)
ap.add_argument("--steps", type=int, default=20)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--warmup-steps-skip", type=int, default=2)
ap.add_argument("--train", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data", "sst2", "train.tsv"))
ap.add_argument("--batch-size", type=int, default=32)
ap.add_argument("--max-length", type=int, default=128)
ap.add_argument("--seed", type=int, default=42)
a = ap.parse_args()

import torch
torch.set_num_threads(a.threads)
import transformers
from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup
transformers.logging.set_verbosity_error()
torch.manual_seed(a.seed)

need = max(a.steps, a.warmup_steps_skip) * a.batch_size
texts, labels = [], []
with open(a.train, encoding="utf-8") as f:
    header = f.readline().rstrip("\n").split("\t")
    ti, li = header.index("sentence"), header.index("label")
    for line in f:
        if len(texts) >= need: break
        cols = line.rstrip("\n").split("\t")
        texts.append(cols[ti]); labels.append(int(cols[li]))
if len(texts) < need:
    sys.exit("train_torch.py: %s has %d rows, %d needed" % (a.train, len(texts), need))

tok = AutoTokenizer.from_pretrained(a.model)
enc = tok(texts, truncation=True, max_length=a.max_length)  # unpadded ids, as the collator receives them
batches = []
for b in range(max(a.steps, a.warmup_steps_skip)):
    lo, hi = b * a.batch_size, (b + 1) * a.batch_size
    feats = [{k: enc[k][i] for k in enc.keys()} for i in range(lo, hi)]
    pb = tok.pad(feats, padding="longest", return_tensors="pt")  # DataCollatorWithPadding
    pb["labels"] = torch.tensor(labels[lo:hi], dtype=torch.long)
    batches.append(pb)

model = AutoModelForSequenceClassification.from_pretrained(a.model, num_labels=2)
model.train()
opt = torch.optim.AdamW(model.parameters(), lr=1e-5, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
sched = get_linear_schedule_with_warmup(opt, num_warmup_steps=600, num_training_steps=a.steps + a.warmup_steps_skip)

def step(pb):
    out = model(**pb)
    out.loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    sched.step()
    opt.zero_grad(set_to_none=True)
    return out.loss.item()

for b in range(a.warmup_steps_skip):
    step(batches[b])
tokens = padded = 0
losses = []
t0 = time.perf_counter()
for b in range(a.steps):
    pb = batches[b]
    losses.append(step(pb))
    tokens += int(pb["attention_mask"].sum())
    padded += pb["input_ids"].numel()
dt = time.perf_counter() - t0
print(json.dumps({
    "framework": "pytorch", "torch": torch.__version__, "transformers": transformers.__version__,
    "model": os.path.abspath(a.model), "threads": a.threads, "batch_size": a.batch_size, "steps": a.steps,
    "warmup_steps_skip": a.warmup_steps_skip, "tokens": tokens, "padded_tokens": padded, "seconds": round(dt, 4),
    "tokens_per_s": round(tokens / dt, 1), "padded_tokens_per_s": round(padded / dt, 1),
    "s_per_step": round(dt / a.steps, 4), "mean_loss": round(sum(losses) / len(losses), 4),
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))
