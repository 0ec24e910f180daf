/* embedded.S — the default sentiment model (models/minilm-sst2) linked into the bertc command (and libbertc-default.so), so that
 * `bertc classify "text"` works with no files beside the binary. Read through default_model.c. */
    .section .rodata
    .balign 64
    .globl bertc_emb_config
bertc_emb_config:
    .incbin "models/minilm-sst2/config.json"
    .byte 0
    .balign 64
    .globl bertc_emb_weights
bertc_emb_weights:
    .incbin "models/minilm-sst2/model.safetensors"
    .globl bertc_emb_weights_end
bertc_emb_weights_end:
    .byte 0
    .balign 64
    .globl bertc_emb_tokenizer
bertc_emb_tokenizer:
    .incbin "models/minilm-sst2/tokenizer.json"
    .byte 0
    .balign 64
    .globl bertc_emb_tokenizer_config
bertc_emb_tokenizer_config:
    .incbin "models/minilm-sst2/tokenizer_config.json"
    .byte 0
    .section .note.GNU-stack,"",@progbits
