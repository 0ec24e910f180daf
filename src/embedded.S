/* embedded.S — the default sentiment model (models/sst2-small) linked into the library, so that
 * `bertc classify "text"` works with no files beside the binary. Read through src/io/embedded.c. */
    .section .rodata
    .balign 64
    .globl bertc_emb_config
bertc_emb_config:
    .incbin "models/sst2-small/config.json"
    .byte 0
    .balign 64
    .globl bertc_emb_weights
bertc_emb_weights:
    .incbin "models/sst2-small/model.safetensors"
    .globl bertc_emb_weights_end
bertc_emb_weights_end:
    .byte 0
    .balign 64
    .globl bertc_emb_tokenizer
bertc_emb_tokenizer:
    .incbin "models/sst2-small/tokenizer.json"
    .byte 0
    .balign 64
    .globl bertc_emb_tokenizer_config
bertc_emb_tokenizer_config:
    .incbin "models/sst2-small/tokenizer_config.json"
    .byte 0
    .section .note.GNU-stack,"",@progbits
