#!/bin/bash
# cli_diff.sh — a before/after check of the command line: runs the same 51 commands (eval, metrics, bias, compare,
# train --report, classify/embed/tokenize/info, their errors) with two bertc binaries, each in its own scratch
# folder, and diffs stdout, stderr, the exit code and every file written (timings masked: seconds, load time,
# latency, throughput, *_runtime, *_per_second). Not part of `make test`: it needs a second binary, e.g. one built
# from the previous commit.
# usage (from the repository root): tests/cli_diff.sh OLD_BIN NEW_BIN [WORKDIR]
set -u
[ $# -ge 2 ] || { echo "usage: tests/cli_diff.sh OLD_BIN NEW_BIN [WORKDIR]" >&2; exit 2; }
OLD=$(readlink -f "$1"); NEW=$(readlink -f "$2"); ROOT=$PWD
W=${3:-$(mktemp -d /tmp/bertc-cli-diff-XXXXXX)}; rm -rf "$W"; mkdir -p $W/old $W/new
TD=$ROOT/tests/data; SM=$ROOT/models/sst2-small; TINY=$ROOT/tests/data/tiny-distilbert
head -201 $TD/sst2-dev.tsv > $W/dev200.tsv
head -50 $TD/sst2-dev.tsv > $W/train.tsv; printf 'Manages to be both REPULSIVELY sadistic, and mundane!\t0\n' >> $W/train.tsv
printf 'sentence\tlabel\ngood\t1\nbad\n' > $W/bad.tsv
printf 'sentence\tlabel\ngood\tmaybe\n' > $W/bad2.tsv
printf 'Paris\nLagos\n{"text": "Tokyo"}\n' > $W/groups.txt
(for i in $(seq 95); do echo '{"gold": "ok", "pred": "ok"}'; done; for i in $(seq 5); do echo '{"gold": "fraud", "pred": "ok"}'; done) > $W/unb.jsonl
printf '{"gold": "a", "pred": "b", "scores": {"a": 0.2, "b": 0.8}}\n{"gold": "b", "pred": "b"}\n' > $W/mixed.jsonl
printf '{"gold": "a", "pred": "b"}\nnot json\n' > $W/badline.jsonl
printf '{"text": "good", "label": "POSITIVE"}\n{"text": "awful", "label": 0}\n{"text": "fine", "label": "positive"}\n' > $W/d.jsonl
printf 'sentence1,sentence2,label\nA man eats.,Someone eats.,1\n"It is, ""quoted""",x,0\n' > $W/pair.csv
printf '{"text": "bad"}\n\nplain line\n{"text": "a\\u0000b", "text_pair": "x"}\n' > $W/in.txt
n=0
run() { # run NAME CMD... ; "@" is the binary, files are written into the cwd
  n=$((n+1)); local name=$1; shift
  for side in old new; do
    local bin=$OLD; [ $side = new ] && bin=$NEW
    mkdir -p $W/$side/$name; cd $W/$side/$name
    local cmd="${*//@/$bin}"
    bash -c "$cmd" > stdout 2> stderr < /dev/null; echo $? > rc
    cd $ROOT
  done
}
run eval_all "@ eval --data $TD/sst2-dev.tsv --json e.json --markdown e.md --report e.html --predictions p.jsonl"
run eval_small "@ eval --model $SM --data $TD/sst2-dev.tsv --json e.json --markdown e.md --report e.html --bootstrap 200 --seed 7"
run eval_train "@ eval --data $TD/sst2-dev.tsv --train $W/train.tsv --json - --bootstrap 0 --markdown e.md --report e.html"
run eval_train_small "@ eval --model $SM --data $W/dev200.tsv --train $W/train.tsv --train-sample 30 --json t.json --report t.html --bootstrap 50"
run eval_posthr "@ eval --model $SM --data $W/dev200.tsv --positive-label NEGATIVE --threshold 0.7 --json - --quiet --bootstrap 20 --min-precision 0.8 --min-recall 0.95 --ece-bins 7"
run eval_pred_stdout "@ eval --data $W/dev200.tsv --predictions - --quiet --bootstrap 0"
run eval_jsonl "@ eval --data $W/d.jsonl --json j.json --markdown j.md --report j.html --predictions p.jsonl --bootstrap 10"
run eval_pair "@ eval --data $W/pair.csv --label-column label --json - --predictions p.jsonl --bootstrap 0"
run eval_badrow "@ eval --data $W/bad.tsv"
run eval_badlabel "@ eval --data $W/bad2.tsv"
run eval_nopos "@ eval --data $W/dev200.tsv --positive-label MAYBE --bootstrap 0"
run eval_notclassifier "@ eval --model $TD/tiny-roberta --data $W/dev200.tsv"
run eval_nomodel "@ eval --model /nonexistent --data $W/dev200.tsv"
run eval_nodata "@ eval"
run eval_missingfile "@ eval --data /nonexistent.tsv"
run eval_trainbad "@ eval --data $W/dev200.tsv --train $W/bad2.tsv --bootstrap 0"
run eval_unwritable "@ eval --data $W/d.jsonl --json /nonexistent/x.json --markdown /nonexistent/x.md --bootstrap 0"
run eval_labelcol "@ eval --data $W/d.jsonl --label-column ''"
run eval_usage "@ eval --bogus"
run metrics_labels "@ metrics --predictions $TD/sst2-small.dev.pred.jsonl --labels NEGATIVE,POSITIVE --json m.json --markdown m.md --report m.html"
run metrics_mixed_ids "@ metrics --predictions $TD/sst2-small.dev.pred.jsonl --quiet"
run metrics_unb "@ metrics --predictions $W/unb.jsonl --json - --report u.html"
run metrics_stdin "cat $W/unb.jsonl | @ metrics --predictions - --json o.json --bootstrap 10"
run metrics_thr "@ metrics --predictions $TD/sst2-small.dev.pred.jsonl --labels NEGATIVE,POSITIVE --threshold 0.9 --json - --quiet --bootstrap 0"
run metrics_mixedscores "@ metrics --predictions $W/mixed.jsonl"
run metrics_badline "@ metrics --predictions $W/badline.jsonl"
run metrics_nofile "@ metrics --predictions /nonexistent"
run metrics_empty "@ metrics --predictions /dev/null"
run metrics_onelabel "@ metrics --predictions $W/unb.jsonl --labels ok"
run metrics_pos "@ metrics --predictions $W/unb.jsonl --positive-label fraud --json - --quiet --bootstrap 0"
run metrics_posbad "@ metrics --predictions $W/unb.jsonl --positive-label nope"
run bias_table "@ bias --template 'This film was filmed in {}.' --groups builtin:countries --json b.json --report b.html"
run bias_jsonl "@ bias --model $SM --template 'I live in {}' --groups $W/groups.txt --format jsonl --json -"
run bias_svg "@ bias --template 'I live in {}' --groups $W/groups.txt --format svg --label NEGATIVE"
run bias_label_id "@ bias --template 'I live in {}' --groups $W/groups.txt --label 0"
run bias_badlabel "@ bias --template 'I live in {}' --groups $W/groups.txt --label nope"
run bias_noslot "@ bias --template 'no placeholder' --groups $W/groups.txt"
run bias_nogroups "@ bias --template '{}' --groups /dev/null"
run bias_nofile "@ bias --template '{}' --groups /nonexistent"
run compare "@ compare --model $SM --model embedded --model $TINY --data $W/dev200.tsv --latency-samples 5 --json c.json --markdown c.md --seed 3"
run compare_one "@ compare --model embedded --data $W/dev200.tsv --latency-samples 2 --json -"
run compare_badlabel "@ compare --model embedded --data $W/bad2.tsv"
run compare_labels "@ compare --model embedded --model $TD/tiny-roberta --data $W/dev200.tsv --latency-samples 2"
run compare_nodata "@ compare --model embedded --data /nonexistent"
run classify_in "@ classify --input $W/in.txt --all-scores --logits"
run embed_in "@ embed --pooling mean --model $TD/tiny-roberta --input $W/in.txt"
run tokenize_in "@ tokenize --input $W/in.txt"
run classify_noinput "@ classify"
run info "@ info --model $TD/tiny-bert"
sed -n '1p;202,241p' $TD/sst2-dev.tsv > $W/val40.tsv   # rows train does not have: validation rows that are training rows are refused
run train_report "@ train --model $TINY --train $W/dev200.tsv --validation $W/val40.tsv --output out --max-steps 6 --eval-steps 2 --logging-steps 1 --batch-size 8 --threads 1 --seed 1 --report r.html --quiet; rm -rf out"
run train_report_nowarm "@ train --model $TINY --train $W/dev200.tsv --output out --max-steps 3 --logging-steps 1 --batch-size 8 --threads 1 --report r.html --quiet; rm -rf out"
# mask timings
for side in old new; do
  find $W/$side -type f | while read f; do
    sed -i -E -e 's/"(seconds|load_ms|latency_p50_ms|latency_p95_ms|texts_per_s|tokens_per_s)": ?[0-9.e+-]+/"\1": T/g' \
      -e 's/"([a-z_]*(runtime|per_second))": ?[0-9.e+-]+/"\1": T/g' \
      -e 's/[0-9.]+ \/ [0-9.]+ ms/N \/ N ms/g' -e 's/[0-9.]+ (ms|texts\/s|tokens\/s)/N \1/g' -e 's/ +N / N /g' "$f"
  done
done
if diff -r $W/old $W/new > $W/diff.txt; then echo "all $n runs identical ($W)"; else echo "DIFFERENCES ($W/diff.txt):"; head -100 $W/diff.txt; exit 1; fi
