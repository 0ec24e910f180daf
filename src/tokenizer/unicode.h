/*
 * unicode.h — the Unicode properties Hugging Face tokenizers reads, from tables generated out of the very crates
 * it uses (tools/unicode-tables): unicode_categories and unicode-normalization-alignments (Unicode 9.0),
 * Oniguruma's classes (the byte-level split pattern), the regex crate's \w and \s (added tokens) and Rust's char
 * methods (whitespace, lowercase, numeric). Using utf8proc's newer tables instead gives other answers on code
 * points assigned since, on unassigned ones and on CJK compatibility ideographs.
 */
#ifndef BERTC_UNICODE_H
#define BERTC_UNICODE_H

#include <stdbool.h>
#include <stdint.h>

enum {
    UP_RWS = 1,      /* char::is_whitespace */
    UP_OTHER = 2,    /* UnicodeCategories::is_other (Cc Cf Co Cs as of Unicode 9; unassigned is not "other") */
    UP_PUNCT = 4,    /* is_ascii_punctuation || is_punctuation */
    UP_MN = 8,       /* is_mark_nonspacing */
    UP_OL = 16,      /* Oniguruma \p{L} */
    UP_ON = 32,      /* Oniguruma \p{N} */
    UP_OS = 64,      /* Oniguruma \s */
    UP_W = 128,      /* regex \w */
    UP_RS = 256,     /* regex \s */
    UP_NUM = 512,    /* char::is_numeric */
    UP_CM = 1024,    /* unicode-normalization-alignments is_combining_mark (StripAccents) */
    UP_OW = 2048,    /* Oniguruma \w */
    UP_OD = 4096,    /* Oniguruma \d */
    UP_OP = 8192,    /* Oniguruma \p{P} */
    UP_OWC = 16384,  /* Oniguruma [\w]: inside a class, \w leaves out ² ³ ¹ ¼ ½ ¾ */
};

/* unicode-segmentation's grapheme categories (bits 16-19 of the properties), then InCB=Extend and InCB=Linker */
enum { GC_ANY, GC_CR, GC_CONTROL, GC_EXTEND, GC_EXTPICT, GC_INCB_CONSONANT, GC_L, GC_LF, GC_LV, GC_LVT, GC_PREPEND,
       GC_RI, GC_SPACINGMARK, GC_T, GC_V, GC_ZWJ };
#define UP_GCB(p) (((p) >> 16) & 15u)
#define UP_INCB_EXTEND (1u << 20)
#define UP_INCB_LINKER (1u << 21)

#define UNI_MAX_DECOMP 18 /* the longest full decomposition (U+FDFA under NFKD) */

extern const uint32_t up_sets[];
extern const uint16_t up_stage1[];
extern const uint8_t up_stage2[][256];
static inline unsigned uni_props(int32_t c) {
    if ((uint32_t)c > 0x10FFFF) return 0;
    return up_sets[up_stage2[up_stage1[c >> 8]][c & 255]];
}
/* Rust's char::to_lowercase: writes 1..3 code points, returns how many. */
int uni_lower(int32_t c, int32_t out[3]);
/* The full canonical (compat 0) or compatibility decomposition of c, Hangul included; returns its length (1 and
 * c itself when c does not decompose). */
int uni_decompose(int32_t c, int compat, int32_t out[UNI_MAX_DECOMP]);
int uni_ccc(int32_t c);
/* The primary composite of a + b, or -1. */
int32_t uni_compose(int32_t a, int32_t b);

#endif
