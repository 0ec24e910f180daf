/*
 * regex.c — the patterns of tokenizer.json's Split pre-tokenizer and Replace normalizer / decoder, matched as
 * tokenizers does it: Oniguruma (Ruby syntax) through onig's find_iter, over code points. A backtracking matcher, as
 * Oniguruma is (leftmost match, alternatives in order, greedy or lazy quantifiers), with Oniguruma's classes
 * from unicode.h. Supported: literals and escapes, . ^ $ (line anchors), [...] sets with ranges and classes,
 * \s \S \d \D \w \W \p{L} \p{N} \p{P} (and \P{..}), groups (...) (?:...), lookahead (?=...) (?!...),
 * alternation, * + ? {m} {m,} {m,n} and their lazy forms. Anything else is refused by name when the tokenizer
 * loads.
 *
 * Why not libonig itself: Debian's libonig (6.9.8) has older Unicode data than the Oniguruma the tokenizers crate
 * embeds (onig_sys 69.9, Unicode 15.1 and later), so \w and \p{..} disagree with tokenizers on letters assigned
 * since (U+1E4D0, U+2EBF0, U+31350, ...); the classes here come from the crate's own tables (unicode.h).
 *
 * Bounded on any pattern and text: the parser refuses groups nested deeper than RX_MAX_DEPTH (its recursion is
 * per group level, a few KB of stack in all); the matcher is iterative, its backtracking on a heap stack of at
 * most 4 entries per character (plus 2^20), a greedy loop over one character kept as a single entry; and a
 * search has a step budget (2*10^6 + 256 per character), so a pathological pattern fails the call instead of
 * hanging it or exhausting memory.
 */
#include "tokenizer.h"
#include "unicode.h"

#include <stdlib.h>
#include <string.h>

/* RX_LACCEPT ends a lookahead's body, RX_ACCEPT the pattern */
enum { RX_CHAR, RX_ANY, RX_SET, RX_BOL, RX_EOL, RX_ALT, RX_REP, RX_LOOK, RX_ACCEPT, RX_LACCEPT, RX_EMPTY };

/* the deepest nesting of groups: the parser recurses once per level (a few hundred bytes of stack each);
 * Oniguruma refuses past 4096, no real pattern comes near either */
#define RX_MAX_DEPTH 256

/* a class item: a range, or a property (negated or not) */
typedef struct rx_item {
    int32_t lo, hi;
    unsigned prop; /* UP_* flags, 0 for a range */
    bool neg;
} rx_item;

typedef struct rx_node rx_node;
struct rx_node {
    int kind;
    rx_node *next;
    int32_t c;
    rx_item *items;
    int n_items, cap_items;
    bool neg;          /* RX_SET: [^...]; RX_LOOK: (?!...) */
    rx_node **alts;    /* RX_ALT: branch heads (each ends in a link to next) */
    int n_alts, cap_alts;
    rx_node *body;     /* RX_REP, RX_LOOK */
    int min, max;      /* RX_REP; max -1: unbounded */
    bool lazy;
    int loop_id;
};

struct tregex {
    rx_node *head;
    rx_node **all;
    int n_all, cap_all;
    int n_loops;
};

typedef struct rx_parser {
    const char *p, *end;
    tregex *re;
    const char *err;
    int depth; /* groups open */
} rx_parser;

static rx_node *rx_new(rx_parser *ps, int kind) {
    tregex *re = ps->re;
    if (re->n_all == re->cap_all) {
        int nc = re->cap_all ? re->cap_all * 2 : 32;
        rx_node **a = realloc(re->all, (size_t)nc * sizeof *a);
        if (!a) return NULL;
        re->all = a;
        re->cap_all = nc;
    }
    rx_node *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->kind = kind;
    re->all[re->n_all++] = n;
    return n;
}

/* A parsed piece: first node and the last node of its chain (whose next is to be linked). */
typedef struct frag {
    rx_node *first, *last;
} frag;

static int32_t rx_getc(rx_parser *ps) {
    if (ps->p >= ps->end) return -1;
    int32_t c;
    int l = utf8_decode((const unsigned char *)ps->p, &c);
    ps->p += l;
    return c;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* After a backslash: a class (returns 1 and fills *it) or a literal (returns 0, *lit). */
static int rx_escape(rx_parser *ps, rx_item *it, int32_t *lit, bool in_set) {
    int32_t c = rx_getc(ps);
    memset(it, 0, sizeof *it);
    switch (c) {
    case 's': it->prop = UP_OS; return 1;
    case 'S': it->prop = UP_OS; it->neg = true; return 1;
    case 'd': it->prop = UP_OD; return 1;
    case 'D': it->prop = UP_OD; it->neg = true; return 1;
    case 'w': it->prop = in_set ? UP_OWC : UP_OW; return 1;
    case 'W': it->prop = in_set ? UP_OWC : UP_OW; it->neg = true; return 1;
    case 'p':
    case 'P': {
        bool neg = c == 'P';
        char name[16];
        size_t k = 0;
        if (ps->p < ps->end && *ps->p == '{') {
            ps->p++;
            if (ps->p < ps->end && *ps->p == '^') {
                neg = !neg;
                ps->p++;
            }
            while (ps->p < ps->end && *ps->p != '}' && k + 1 < sizeof name) name[k++] = *ps->p++;
            if (ps->p >= ps->end || *ps->p != '}') {
                ps->err = "unterminated \\p{...}";
                return -1;
            }
            ps->p++;
        } else if (ps->p < ps->end) {
            name[k++] = *ps->p++;
        }
        name[k] = 0;
        if (!strcmp(name, "L") || !strcmp(name, "Letter")) it->prop = UP_OL;
        else if (!strcmp(name, "N") || !strcmp(name, "Number")) it->prop = UP_ON;
        else if (!strcmp(name, "P") || !strcmp(name, "Punctuation")) it->prop = UP_OP;
        else {
            ps->err = "unsupported property class (supported: \\p{L}, \\p{N}, \\p{P})";
            return -1;
        }
        it->neg = neg;
        return 1;
    }
    case 'n': *lit = '\n'; return 0;
    case 't': *lit = '\t'; return 0;
    case 'r': *lit = '\r'; return 0;
    case 'f': *lit = '\f'; return 0;
    case 'v': *lit = '\v'; return 0;
    case 'a': *lit = 7; return 0;
    case 'e': *lit = 27; return 0;
    case 'x':
    case 'u': {
        int32_t v = 0;
        int nd = 0;
        bool brace = ps->p < ps->end && *ps->p == '{';
        if (brace) ps->p++;
        int maxd = brace ? 8 : (c == 'x' ? 2 : 4);
        while (nd < maxd && ps->p < ps->end && hexval((unsigned char)*ps->p) >= 0) {
            v = v * 16 + hexval((unsigned char)*ps->p++);
            nd++;
        }
        if (brace) {
            if (ps->p >= ps->end || *ps->p != '}') {
                ps->err = "bad \\x{...}";
                return -1;
            }
            ps->p++;
        }
        if (!nd || v > 0x10FFFF) {
            ps->err = "bad hexadecimal escape";
            return -1;
        }
        *lit = v;
        return 0;
    }
    case -1: ps->err = "trailing backslash"; return -1;
    default:
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
            ps->err = "unsupported escape";
            return -1;
        }
        *lit = c;
        return 0;
    }
}

static bool rx_push_item(rx_node *n, rx_item it) {
    if (n->n_items == n->cap_items) {
        if (n->cap_items > (1 << 28)) return false;
        int nc = n->cap_items ? 2 * n->cap_items : 4;
        rx_item *a = realloc(n->items, (size_t)nc * sizeof *a);
        if (!a) return false;
        n->items = a;
        n->cap_items = nc;
    }
    n->items[n->n_items++] = it;
    return true;
}

static rx_node *rx_set(rx_parser *ps) {
    rx_node *n = rx_new(ps, RX_SET);
    if (!n) return NULL;
    if (ps->p < ps->end && *ps->p == '^') {
        n->neg = true;
        ps->p++;
    }
    bool first = true;
    for (;;) {
        if (ps->p >= ps->end) {
            ps->err = "unterminated [...]";
            return NULL;
        }
        if (*ps->p == ']' && !first) {
            ps->p++;
            return n;
        }
        first = false;
        if (*ps->p == '[') {
            ps->err = "nested sets and [:classes:] are not supported";
            return NULL;
        }
        rx_item it = {0, 0, 0, false};
        int32_t lo;
        if (*ps->p == '\\') {
            ps->p++;
            int r = rx_escape(ps, &it, &lo, true);
            if (r < 0) return NULL;
            if (r == 1) {
                if (!rx_push_item(n, it)) return NULL;
                continue;
            }
        } else {
            lo = rx_getc(ps);
        }
        int32_t hi = lo;
        if (ps->p + 1 < ps->end && *ps->p == '-' && ps->p[1] != ']') {
            ps->p++;
            if (*ps->p == '\\') {
                ps->p++;
                rx_item it2;
                int r = rx_escape(ps, &it2, &hi, true);
                if (r != 0) {
                    if (!ps->err) ps->err = "a class cannot end a range";
                    return NULL;
                }
            } else {
                hi = rx_getc(ps);
            }
            if (hi < lo) {
                ps->err = "range out of order";
                return NULL;
            }
        }
        it.lo = lo;
        it.hi = hi;
        if (!rx_push_item(n, it)) return NULL;
    }
}

static bool rx_alt(rx_parser *ps, frag *out);

static bool rx_atom(rx_parser *ps, frag *out) {
    char c = *ps->p;
    rx_node *n;
    if (c == '(') {
        ps->p++;
        int look = 0;
        if (ps->p + 1 < ps->end && ps->p[0] == '?') {
            if (ps->p[1] == ':') ps->p += 2;
            else if (ps->p[1] == '=') { look = 1; ps->p += 2; }
            else if (ps->p[1] == '!') { look = 2; ps->p += 2; }
            else {
                ps->err = "unsupported group (supported: (...), (?:...), (?=...), (?!...))";
                return false;
            }
        }
        if (++ps->depth > RX_MAX_DEPTH) {
            ps->err = "groups nested deeper than 256 levels";
            return false;
        }
        frag inner;
        if (!rx_alt(ps, &inner)) return false;
        if (ps->p >= ps->end || *ps->p != ')') {
            ps->err = "missing )";
            return false;
        }
        ps->p++;
        ps->depth--;
        if (!look) {
            *out = inner;
            return true;
        }
        n = rx_new(ps, RX_LOOK);
        rx_node *acc = rx_new(ps, RX_LACCEPT);
        if (!n || !acc) return false;
        inner.last->next = acc;
        n->body = inner.first;
        n->neg = look == 2;
        out->first = out->last = n;
        return true;
    }
    if (c == '[') {
        ps->p++;
        n = rx_set(ps);
    } else if (c == '.') {
        ps->p++;
        n = rx_new(ps, RX_ANY);
    } else if (c == '^') {
        ps->p++;
        n = rx_new(ps, RX_BOL);
    } else if (c == '$') {
        ps->p++;
        n = rx_new(ps, RX_EOL);
    } else if (c == '\\') {
        ps->p++;
        rx_item it;
        int32_t lit;
        int r = rx_escape(ps, &it, &lit, false);
        if (r < 0) return false;
        if (r == 1) {
            n = rx_new(ps, RX_SET);
            if (n && !rx_push_item(n, it)) return false;
        } else {
            n = rx_new(ps, RX_CHAR);
            if (n) n->c = lit;
        }
    } else if (c == '*' || c == '+' || c == '?' || c == '{') {
        ps->err = "a quantifier with nothing to repeat";
        return false;
    } else {
        int32_t lit = rx_getc(ps);
        n = rx_new(ps, RX_CHAR);
        if (n) n->c = lit;
    }
    if (!n) {
        if (!ps->err) ps->err = "out of memory";
        return false;
    }
    out->first = out->last = n;
    return true;
}

static bool rx_number(rx_parser *ps, int *v) {
    if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9') return false;
    long x = 0;
    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
        x = x * 10 + (*ps->p++ - '0');
        if (x > 1000) return false;
    }
    *v = (int)x;
    return true;
}

static bool rx_piece(rx_parser *ps, frag *out) {
    frag a;
    if (!rx_atom(ps, &a)) return false;
    while (ps->p < ps->end) {
        int mn, mx;
        char c = *ps->p;
        if (c == '*') { mn = 0; mx = -1; ps->p++; }
        else if (c == '+') { mn = 1; mx = -1; ps->p++; }
        else if (c == '?') { mn = 0; mx = 1; ps->p++; }
        else if (c == '{') {
            const char *save = ps->p;
            ps->p++;
            if (!rx_number(ps, &mn)) { ps->p = save; break; }
            mx = mn;
            if (ps->p < ps->end && *ps->p == ',') {
                ps->p++;
                if (ps->p < ps->end && *ps->p == '}') mx = -1;
                else if (!rx_number(ps, &mx)) { ps->p = save; break; }
            }
            if (ps->p >= ps->end || *ps->p != '}' || (mx >= 0 && mx < mn)) { ps->p = save; break; }
            ps->p++;
        } else break;
        bool lazy = false;
        if (ps->p < ps->end && *ps->p == '?') { lazy = true; ps->p++; }
        else if (ps->p < ps->end && *ps->p == '+') {
            ps->err = "possessive quantifiers are not supported";
            return false;
        }
        rx_node *r = rx_new(ps, RX_REP);
        if (!r) return false;
        r->body = a.first;
        a.last->next = r; /* the body loops back to the repetition node */
        r->min = mn;
        r->max = mx;
        r->lazy = lazy;
        r->loop_id = ps->re->n_loops++;
        a.first = a.last = r;
    }
    *out = a;
    return true;
}

static bool rx_seq(rx_parser *ps, frag *out) {
    frag f = {NULL, NULL};
    while (ps->p < ps->end && *ps->p != '|' && *ps->p != ')') {
        frag p;
        if (!rx_piece(ps, &p)) return false;
        if (!f.first) f = p;
        else {
            f.last->next = p.first;
            f.last = p.last;
        }
    }
    if (!f.first) {
        rx_node *e = rx_new(ps, RX_EMPTY);
        if (!e) return false;
        f.first = f.last = e;
    }
    *out = f;
    return true;
}

static bool rx_alt(rx_parser *ps, frag *out) {
    frag f;
    if (!rx_seq(ps, &f)) return false;
    if (ps->p >= ps->end || *ps->p != '|') {
        *out = f;
        return true;
    }
    rx_node *alt = rx_new(ps, RX_ALT), *join = rx_new(ps, RX_EMPTY);
    if (!alt || !join) return false;
    for (;;) {
        if (alt->n_alts == alt->cap_alts) {
            if (alt->cap_alts > (1 << 28)) return false;
            int nc = alt->cap_alts ? 2 * alt->cap_alts : 4;
            rx_node **a = realloc(alt->alts, (size_t)nc * sizeof *a);
            if (!a) return false;
            alt->alts = a;
            alt->cap_alts = nc;
        }
        alt->alts[alt->n_alts++] = f.first;
        f.last->next = join;
        if (ps->p >= ps->end || *ps->p != '|') break;
        ps->p++;
        if (!rx_seq(ps, &f)) return false;
    }
    out->first = alt;
    out->last = join;
    return true;
}

void tregex_free(tregex *re) {
    if (!re) return;
    for (int i = 0; i < re->n_all; i++) {
        free(re->all[i]->items);
        free(re->all[i]->alts);
        free(re->all[i]);
    }
    free(re->all);
    free(re);
}

tregex *tregex_compile(const char *pat, size_t len, bool literal, const char **why) {
    if (utf8_validate(pat, len) != len) {
        *why = "the pattern is not UTF-8";
        return NULL;
    }
    tregex *re = calloc(1, sizeof *re);
    if (!re) {
        *why = "out of memory";
        return NULL;
    }
    rx_parser ps = {pat, pat + len, re, NULL, 0};
    frag f;
    if (literal) {
        f.first = f.last = NULL;
        while (ps.p < ps.end) {
            rx_node *n = rx_new(&ps, RX_CHAR);
            if (!n) break;
            n->c = rx_getc(&ps);
            if (!f.first) f.first = n;
            else f.last->next = n;
            f.last = n;
        }
        if (!f.first && (f.first = f.last = rx_new(&ps, RX_EMPTY)) == NULL) ps.err = "out of memory";
    } else if (rx_alt(&ps, &f) && ps.p < ps.end) {
        ps.err = "unbalanced )";
    }
    rx_node *acc = ps.err ? NULL : rx_new(&ps, RX_ACCEPT);
    if (ps.err || !acc) {
        *why = ps.err ? ps.err : "out of memory";
        tregex_free(re);
        return NULL;
    }
    f.last->next = acc;
    re->head = f.first;
    return re;
}

/* ---- matching: an iterative backtracking machine ---- */

/* A backtracking entry: a choice not taken yet, a loop's state to restore, or a lookahead's start. */
enum {
    BT_ALT,   /* try alternative aux of node n at pos (and push the next one) */
    BT_MORE,  /* loop n: one more iteration at pos */
    BT_LEAVE, /* loop n: leave it at pos */
    BT_STAR,  /* greedy loop n over one character from pos: leave after aux characters (then aux - 1, ...) */
    BT_UNDO,  /* loop n: its count back to aux, its iteration start back to pos */
    BT_LOOK,  /* lookahead n started at pos */
};

typedef struct rx_bt {
    const rx_node *n;
    size_t pos, aux;
    int kind;
} rx_bt;

typedef struct rx_run {
    const int32_t *s;
    size_t n;
    long budget;
    size_t end;        /* where the accepted match ended */
    size_t *loop_pos;  /* per repetition: where its current iteration started */
    size_t *loop_count;
    rx_bt *stk;
    size_t sp, cap, max;
} rx_run;

static bool item_has(const rx_item *it, int32_t c) {
    bool r = it->prop ? (uni_props(c) & it->prop) != 0 : (c >= it->lo && c <= it->hi);
    return it->prop && it->neg ? !r : r;
}

static bool set_has(const rx_node *n, int32_t c) {
    bool in = false;
    for (int i = 0; i < n->n_items && !in; i++) in = item_has(&n->items[i], c);
    return n->neg ? !in : in;
}

/* 1: pushed, -1: over the stack's bound or out of memory */
static int bt_push(rx_run *r, int kind, const rx_node *n, size_t pos, size_t aux) {
    if (r->sp == r->cap) {
        if (r->cap >= r->max) return -1;
        size_t nc = r->cap ? 2 * r->cap : 256;
        if (nc > r->max) nc = r->max;
        rx_bt *a = realloc(r->stk, nc * sizeof *a);
        if (!a) return -1;
        r->stk = a;
        r->cap = nc;
    }
    r->stk[r->sp++] = (rx_bt){n, pos, aux, kind};
    return 1;
}

/* one character matched by a consuming node (RX_CHAR, RX_ANY, RX_SET) at pos */
static bool rx_char_ok(rx_run *r, const rx_node *n, size_t pos) {
    if (pos >= r->n) return false;
    int32_t c = r->s[pos];
    if (n->kind == RX_CHAR) return c == n->c;
    if (n->kind == RX_ANY) return c != '\n';
    r->budget -= n->n_items;
    return set_has(n, c);
}

/* Takes an option of loop n at pos (the loop's count and iteration start as before it, saved for backtracking):
 * one more iteration, or leaving it (which resets the count for an enclosing loop's next entry). */
static int rx_rep_take(rx_run *r, const rx_node *n, size_t pos, bool more, const rx_node **next) {
    int id = n->loop_id;
    if (bt_push(r, BT_UNDO, n, r->loop_pos[id], r->loop_count[id]) < 0) return -1;
    if (more) {
        r->loop_count[id]++;
        r->loop_pos[id] = pos;
        *next = n->body;
    } else {
        r->loop_count[id] = 0;
        *next = n->next;
    }
    return 1;
}

static bool rx_single(const rx_node *n) {
    const rx_node *b = n->body;
    return !n->lazy && b->next == n && (b->kind == RX_CHAR || b->kind == RX_ANY || b->kind == RX_SET);
}

/* Matches from pos as Oniguruma does (the first match in backtracking order). 1: matched (r->end set),
 * 0: no match here, -1: budget or stack bound exhausted. Loop counts are all 0 before and after. */
static int rx_match(rx_run *r, const rx_node *n, size_t pos) {
    r->sp = 0;
    for (;;) {
        bool ok = true;
        if (--r->budget < 0) return -1;
        switch (n->kind) {
        case RX_ACCEPT:
            r->end = pos;
            while (r->sp) { /* the loops' state back to the start */
                rx_bt b = r->stk[--r->sp];
                if (b.kind == BT_UNDO) {
                    r->loop_count[b.n->loop_id] = b.aux;
                    r->loop_pos[b.n->loop_id] = b.pos;
                }
            }
            return 1;
        case RX_LACCEPT: { /* the lookahead's body matched: drop its choices, back to where it started */
            rx_bt b;
            for (;;) {
                b = r->stk[--r->sp];
                if (b.kind == BT_LOOK) break;
                if (b.kind == BT_UNDO) {
                    r->loop_count[b.n->loop_id] = b.aux;
                    r->loop_pos[b.n->loop_id] = b.pos;
                }
            }
            if (b.n->neg) ok = false;
            else {
                n = b.n->next;
                pos = b.pos;
            }
            break;
        }
        case RX_EMPTY:
            n = n->next;
            break;
        case RX_CHAR:
        case RX_ANY:
        case RX_SET:
            if (rx_char_ok(r, n, pos)) {
                pos++;
                n = n->next;
            } else {
                ok = false;
            }
            break;
        case RX_BOL: /* Oniguruma's ^: not at the end of the text, even after a newline */
            if (pos != 0 && (r->s[pos - 1] != '\n' || pos == r->n)) ok = false;
            else n = n->next;
            break;
        case RX_EOL:
            if (pos != r->n && r->s[pos] != '\n') ok = false;
            else n = n->next;
            break;
        case RX_ALT:
            if (n->n_alts > 1 && bt_push(r, BT_ALT, n, pos, 1) < 0) return -1;
            n = n->alts[0];
            break;
        case RX_LOOK:
            if (bt_push(r, BT_LOOK, n, pos, 0) < 0) return -1;
            n = n->body;
            break;
        case RX_REP: {
            int id = n->loop_id;
            size_t cnt = r->loop_count[id];
            if (cnt == 0 && rx_single(n)) {
                /* a greedy loop over one character: as many as it takes, then give back one at a time */
                size_t k = 0, mx = n->max < 0 ? SIZE_MAX : (size_t)n->max;
                while (k < mx && rx_char_ok(r, n->body, pos + k)) {
                    k++;
                    if (--r->budget < 0) return -1;
                }
                if (k < (size_t)n->min) {
                    ok = false;
                    break;
                }
                if (k > (size_t)n->min && bt_push(r, BT_STAR, n, pos, k - 1) < 0) return -1;
                pos += k;
                n = n->next;
                break;
            }
            bool can_more = (n->max < 0 || cnt < (size_t)n->max) && !(cnt > (size_t)n->min && pos == r->loop_pos[id]);
            bool can_leave = cnt >= (size_t)n->min;
            bool first_more = !n->lazy;
            bool first_ok = first_more ? can_more : can_leave, second_ok = first_more ? can_leave : can_more;
            if (!first_ok && !second_ok) {
                ok = false;
                break;
            }
            if (first_ok && second_ok && bt_push(r, first_more ? BT_LEAVE : BT_MORE, n, pos, 0) < 0) return -1;
            if (rx_rep_take(r, n, pos, first_ok ? first_more : !first_more, &n) < 0) return -1;
            break;
        }
        }
        if (ok) continue;
        /* backtrack to the latest choice */
        for (;;) {
            if (!r->sp) return 0;
            rx_bt b = r->stk[--r->sp];
            if (b.kind == BT_UNDO) {
                r->loop_count[b.n->loop_id] = b.aux;
                r->loop_pos[b.n->loop_id] = b.pos;
                continue;
            }
            if (b.kind == BT_LOOK) {
                if (!b.n->neg) continue; /* (?=...) failed: so does what led here */
                n = b.n->next;           /* (?!...) holds */
                pos = b.pos;
                break;
            }
            if (--r->budget < 0) return -1;
            pos = b.pos;
            if (b.kind == BT_ALT) {
                if (b.aux + 1 < (size_t)b.n->n_alts && bt_push(r, BT_ALT, b.n, pos, b.aux + 1) < 0) return -1;
                n = b.n->alts[b.aux];
            } else if (b.kind == BT_STAR) {
                if (b.aux > (size_t)b.n->min && bt_push(r, BT_STAR, b.n, pos, b.aux - 1) < 0) return -1;
                pos += b.aux;
                n = b.n->next;
            } else if (rx_rep_take(r, b.n, pos, b.kind == BT_MORE, &n) < 0) {
                return -1;
            }
            break;
        }
    }
}

/* onig's find_iter over s[0..n): non-overlapping matches, an empty match right after the previous one skipped.
 * Calls emit(start, end) for each; returns false, *why saying why, when the step budget or the backtracking
 * stack's bound ran out, memory did, or emit failed. */
bool tregex_find_all(const tregex *re, const int32_t *s, size_t n, bool (*emit)(void *, size_t, size_t),
                     void *ctx, const char **why) {
    return tregex_find_all_budget(re, s, n, emit, ctx, why, 2000000L + 256L * (long)(n < 1000000000 ? n : 1000000000));
}

bool tregex_find_all_budget(const tregex *re, const int32_t *s, size_t n, bool (*emit)(void *, size_t, size_t),
                            void *ctx, const char **why, long budget) {
    rx_run r = {s, n, budget, 0, NULL, NULL, NULL, 0, 0, 0};
    r.max = n < ((size_t)1 << 40) ? 4 * n + ((size_t)1 << 20) : (size_t)1 << 42;
    size_t nl = re->n_loops ? (size_t)re->n_loops : 1;
    r.loop_pos = calloc(nl, sizeof *r.loop_pos);
    r.loop_count = calloc(nl, sizeof *r.loop_count);
    bool ok = r.loop_pos && r.loop_count;
    *why = "out of memory";
    size_t last_end = 0, last_match_end = 0;
    bool have_last = false;
    while (ok && last_end <= n) {
        size_t st = last_end;
        int m = 0;
        for (; st <= n; st++) {
            m = rx_match(&r, re->head, st);
            if (m) break;
        }
        if (m < 0) {
            ok = false;
            if (r.budget < 0) *why = "the pattern ran out of steps on this input";
            else if (r.cap >= r.max) *why = "the pattern backtracks too deep on this input";
        }
        if (m <= 0) break;
        size_t e = r.end;
        if (e == st && have_last && e == last_match_end) {
            last_end = st + 1;
            continue;
        }
        last_end = last_match_end = e;
        have_last = true;
        if (!emit(ctx, st, e)) ok = false;
        if (e == n && st == e) break;
    }
    free(r.stk);
    free(r.loop_pos);
    free(r.loop_count);
    return ok;
}
