/* docs_assets.S — Swagger UI (third_party/swagger-ui: swagger-ui-dist's bundle and stylesheet, decompressed into
 * build/swagger-ui by the Makefile) linked into the server, for GET /docs without a CDN. Read through server.c. */
    .section .rodata
    .balign 16
    .globl bertc_swagger_js
bertc_swagger_js:
    .incbin "build/swagger-ui/swagger-ui-bundle.js"
    .globl bertc_swagger_js_end
bertc_swagger_js_end:
    .byte 0
    .balign 16
    .globl bertc_swagger_css
bertc_swagger_css:
    .incbin "build/swagger-ui/swagger-ui.css"
    .globl bertc_swagger_css_end
bertc_swagger_css_end:
    .byte 0
    .section .note.GNU-stack,"",@progbits
