/*
 * main.c — the bertc command: dispatch to subcommands, usage text, exit codes.
 */
#include "eval.h"

#include <string.h>

static const char usage[] =
    "bertc " BERTC_VERSION " — BERT-family encoders (DistilBERT, BERT, RoBERTa, XLM-R, MPNet, ELECTRA, DeBERTa-v2/v3, ModernBERT) from Hugging Face checkpoints\n"
    "\n"
    "usage:\n"
    "  bertc classify [--model DIR] [--logits] [--all-scores] [--function softmax|sigmoid|none]\n"
    "                 [--max-length N] [--no-truncation] [--batch-size N] [--pair TEXT] [--input FILE|-]\n"
    "                 [--input-format auto|jsonl|text] [TEXT ...]\n"
    "  bertc zero-shot --labels \"L1,L2,...\" [--template \"... {} ...\"] [--multi-label] [--model DIR]\n"
    "                 [--input FILE|-] [--input-format F] [TEXT ...]   (NLI models; bertc zero-shot --help)\n"
    "  bertc ner [--aggregation none|simple|first|average|max] [--ignore-labels L,...] [--model DIR] [TEXT ...]\n"
    "                 (token classification; bertc ner --help)\n"
    "  bertc qa --context TEXT [--top-k N] [--handle-impossible-answer] [--model DIR] [QUESTION ...]\n"
    "                 (extractive question answering; bertc qa --help)\n"
    "  bertc fill-mask [--top-k N] [--targets w1,w2] [--model DIR] [TEXT ...]   (masked LMs; bertc fill-mask --help)\n"
    "  bertc embed    [--model DIR] [--pooling none|cls|mean] [--input FILE|-] [--input-format F] [TEXT ...]\n"
    "  bertc tokenize [--model DIR] [--pair TEXT] [--max-length N] [--no-truncation] [--input FILE|-]\n"
    "                 [--input-format F] [TEXT ...]\n"
    "  bertc info     [--model DIR]\n"
    "  bertc eval     [--model DIR] --data FILE [--train FILE] [--json OUT] [--report OUT.html] [--markdown OUT.md]\n"
    "                 [--predictions OUT.jsonl] [--positive-label L] [--threshold T] ... (bertc eval --help)\n"
    "  bertc metrics  --predictions FILE [--labels L0,L1,...] [--json OUT] [--report OUT.html] ...\n"
    "  bertc bias     [--model DIR] --template \"... {} ...\" --groups FILE|builtin:countries [--format table|jsonl|svg]\n"
    "  bertc compare  --model A --model B [...] --data FILE [--json OUT] [--markdown OUT.md]\n"
    "  bertc serve    [--model DIR] [--host 127.0.0.1] [--port 3000] [--auto-truncate] ... (bertc serve --help)\n"
    "  bertc train    --model DIR|ID --train FILE --output DIR [--validation FILE] [--epochs 3] [--learning-rate 1e-5]\n"
    "                 [--batch-size 32] [--warmup-steps 600] [--max-length 128] ... (bertc train --help)\n"
    "  bertc distill  --teacher DIR|ID --student DIR|ID --train FILE --output DIR [--temperature 2] [--alpha 0.5]\n"
    "                 [--unlabeled FILE] [--augment N] [--teacher-cache FILE] ... (bertc distill --help)\n"
    "\n"
    "  bertc pull     MODEL_ID [--revision R]      download into the Hugging Face cache\n"
    "  bertc cache    list | rm MODEL_ID\n"
    "\n"
    "common options: --threads N, --arch auto|distilbert|bert|roberta|mpnet|electra|deberta-v2|modernbert (refuse a checkpoint of another type),\n"
    "--dtype fp32|fp16|bf16|int8 (encoder weights: fp32; 16-bit storage computed in fp32, half the memory;\n"
    "int8 weights and dynamic int8 activations),\n"
    "--compute fp32|bf16 (bf16: the encoder's matmul inputs rounded to bf16, fp32 sums, weights held in bf16; with\n"
    "--dtype fp32 or bf16 only; AVX512-BF16 kernels when the CPU has them, BERTC_NO_AVX512BF16=1 the portable path),\n"
    "--model DIR|ORG/NAME with --revision R: a folder, or a model id from the Hugging Face cache (downloaded from\n"
    "$HF_ENDPOINT when missing; HF_HUB_OFFLINE=1 never downloads)\n"
    "Without --model, the embedded sentiment model is used: minilm-sst2, all-MiniLM-L6-v2 distilled on SST-2 by\n"
    "bertc distill from a fine-tuned all-mpnet-base-v2 (models/minilm-sst2/README.md).\n"
    "--input lines are JSON objects {\"text\": ..., \"text_pair\": ...} or plain text (--input-format jsonl: every\n"
    "line a JSON object; text: every line a text; auto, the default: jsonl for .jsonl/.ndjson/.json files, else a\n"
    "line starting with { is JSON); output is one JSON object per input, in input order (an empty file: none).\n"
    "bertc COMMAND --help (or -h) prints the options of that command.\n"
    "\n"
    "exit codes: 0 ok, 1 internal error, 2 usage, 3 model error, 4 input error, 5 output error,\n"
    "6 training diverged, 130 training interrupted (checkpoint saved)\n";

int main(int argc, char **argv) {
    bertc_set_default_model(bertc_default_model_files()); /* linked in: app/default */
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        puts("bertc " BERTC_VERSION);
        return EXIT_OK;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "classify")) return cmd_classify(argc, argv);
    if (!strcmp(cmd, "zero-shot")) return cmd_zero_shot(argc, argv);
    if (!strcmp(cmd, "ner") || !strcmp(cmd, "token-classification")) return cmd_ner(argc, argv);
    if (!strcmp(cmd, "qa") || !strcmp(cmd, "question-answering")) return cmd_qa(argc, argv);
    if (!strcmp(cmd, "fill-mask")) return cmd_fill_mask(argc, argv);
    if (!strcmp(cmd, "embed")) return cmd_embed(argc, argv);
    if (!strcmp(cmd, "tokenize")) return cmd_tokenize(argc, argv);
    if (!strcmp(cmd, "info")) return cmd_info(argc, argv);
    if (!strcmp(cmd, "eval")) return cmd_eval(argc, argv);
    if (!strcmp(cmd, "serve")) return cmd_serve(argc, argv);
    if (!strcmp(cmd, "pull")) return cmd_pull(argc, argv);
    if (!strcmp(cmd, "cache")) return cmd_cache(argc, argv);
    if (!strcmp(cmd, "metrics")) return cmd_metrics(argc, argv);
    if (!strcmp(cmd, "bias")) return cmd_bias(argc, argv);
    if (!strcmp(cmd, "compare")) return cmd_compare(argc, argv);
    if (!strcmp(cmd, "train")) return cmd_train(argc, argv);
    if (!strcmp(cmd, "distill")) return cmd_distill(argc, argv);
    die_msg("unknown command %s (see bertc --help)", cmd);
    return EXIT_USAGE;
}
