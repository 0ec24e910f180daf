//! Dumps, for every code point, the properties that Hugging Face tokenizers 0.23 reads, as C tables.
//! Each property comes from the very function tokenizers calls (see the comments in the output), so the
//! tables carry those crates' own Unicode versions: unicode_categories and unicode-normalization-alignments
//! are Unicode 9.0, Oniguruma and regex have their own, and Rust's char methods that of this rustc.
use onig::Regex as Onig;
use regex::Regex;
use unicode_categories::UnicodeCategories;
use unicode_normalization_alignments::char as un;

const F_RWS: u16 = 1; // char::is_whitespace (BertNormalizer, BertPreTokenizer, WhitespaceSplit, Strip)
const F_OTHER: u16 = 2; // UnicodeCategories::is_other (BertNormalizer clean_text)
const F_PUNCT: u16 = 4; // is_ascii_punctuation || is_punctuation (BertPreTokenizer, Punctuation)
const F_MN: u16 = 8; // is_mark_nonspacing (StripAccents, BertNormalizer strip_accents)
const F_OL: u16 = 16; // Oniguruma \p{L} (ByteLevel's split pattern)
const F_ON: u16 = 32; // Oniguruma \p{N}
const F_OS: u16 = 64; // Oniguruma \s
const F_W: u16 = 128; // regex \w (added tokens' single_word, Whitespace pre-tokenizer)
const F_RS: u16 = 256; // regex \s (added tokens' lstrip / rstrip, Whitespace pre-tokenizer)
const F_NUM: u16 = 512; // char::is_numeric (Digits)
const F_CM: u16 = 1024; // unicode-normalization-alignments is_combining_mark (StripAccents)
const F_OW: u16 = 2048; // Oniguruma \w (Split / Replace patterns)
const F_OD: u16 = 4096; // Oniguruma \d
const F_OP: u16 = 8192; // Oniguruma \p{P}
const F_OWC: u16 = 16384; // Oniguruma [\w] (inside a class it differs from \w on ² ³ ¹ ¼ ½ ¾)
// Above the 16 flag bits: unicode-segmentation's grapheme category (4 bits), InCB=Extend, InCB=Linker (Precompiled)
const GCB: &[&str] = &["Any", "CR", "Control", "Extend", "Extended_Pictographic", "InCB_Consonant", "L", "LF", "LV",
                       "LVT", "Prepend", "Regional_Indicator", "SpacingMark", "T", "V", "ZWJ"];

/// The grapheme tables of unicode-segmentation, read from its own source (its tables module is private).
fn grapheme_props() -> Vec<u32> {
    let home = std::env::var("CARGO_HOME").unwrap_or_else(|_| format!("{}/.cargo", std::env::var("HOME").unwrap()));
    let mut src = String::new();
    for e in std::fs::read_dir(format!("{}/registry/src", home)).unwrap() {
        let p = e.unwrap().path().join("unicode-segmentation-1.13.3/src/tables.rs");
        if p.exists() { src = std::fs::read_to_string(p).unwrap(); }
    }
    assert!(!src.is_empty(), "unicode-segmentation 1.13.3 source not found (cargo fetch)");
    let mut v = vec![0u32; 0x110000];
    let cat = &src[src.find("grapheme_cat_table: &[").unwrap()..];
    let cat = &cat[..cat.find("];").unwrap()];
    let re = Regex::new(r"\('\\u\{([0-9a-f]+)\}',\s*'\\u\{([0-9a-f]+)\}',\s*GC_(\w+)\)").unwrap();
    let n_ranges = cat.matches("GC_").count();
    assert_eq!(re.captures_iter(cat).count(), n_ranges, "a grapheme range was not parsed");
    for m in re.captures_iter(cat) {
        let (lo, hi) = (u32::from_str_radix(&m[1], 16).unwrap(), u32::from_str_radix(&m[2], 16).unwrap());
        let k = GCB.iter().position(|x| *x == &m[3]).unwrap() as u32;
        for c in lo..=hi { v[c as usize] |= k; }
    }
    let ext = &src[src.find("InCB_Extend_table: &[").unwrap()..];
    let ext = &ext[..ext.find("];").unwrap()];
    let re2 = Regex::new(r"\('\\u\{([0-9a-f]+)\}',\s*'\\u\{([0-9a-f]+)\}'\)").unwrap();
    assert_eq!(re2.captures_iter(ext).count(), ext.matches("('").count(), "an InCB range was not parsed");
    for m in re2.captures_iter(ext) {
        let (lo, hi) = (u32::from_str_radix(&m[1], 16).unwrap(), u32::from_str_radix(&m[2], 16).unwrap());
        for c in lo..=hi { v[c as usize] |= 16; }
    }
    let lk = &src[src.find("pub fn is_incb_linker").unwrap()..];
    let lk = &lk[..lk.find('}').unwrap() + 200];
    let lk = &lk[..lk.find(")\n}").unwrap_or(lk.len())];
    let re3 = Regex::new(r"'\\u\{([0-9A-Fa-f]+)\}'").unwrap();
    let mut n = 0;
    for m in re3.captures_iter(lk) { v[u32::from_str_radix(&m[1], 16).unwrap() as usize] |= 32; n += 1; }
    assert!(n >= 6);
    v
}

fn main() {
    let ol = Onig::new(r"\A\p{L}\z").unwrap();
    let on = Onig::new(r"\A\p{N}\z").unwrap();
    let os = Onig::new(r"\A\s\z").unwrap();
    let rw = Regex::new(r"^\w$").unwrap();
    let rs = Regex::new(r"^\s$").unwrap();
    let ow = Onig::new(r"\A\w\z").unwrap();
    let od = Onig::new(r"\A\d\z").unwrap();
    let op = Onig::new(r"\A\p{P}\z").unwrap();
    let owc = Onig::new(r"\A[\w]\z").unwrap();
    let gp = grapheme_props();
    let mut flags = vec![0u32; 0x110000];
    let mut lower: Vec<(u32, Vec<u32>)> = Vec::new();
    let mut nfd: Vec<(u32, Vec<u32>)> = Vec::new();
    let mut nfkd: Vec<(u32, Vec<u32>)> = Vec::new();
    let mut ccc: Vec<(u32, u8)> = Vec::new();
    let mut chars: Vec<char> = Vec::new();
    for cp in 0u32..0x110000 {
        let c = match char::from_u32(cp) { Some(c) => c, None => continue };
        chars.push(c);
        let mut s = [0u8; 4];
        let st: &str = c.encode_utf8(&mut s);
        let mut f = 0u16;
        if c.is_whitespace() { f |= F_RWS; }
        if c.is_other() { f |= F_OTHER; }
        if c.is_ascii_punctuation() || c.is_punctuation() { f |= F_PUNCT; }
        if c.is_mark_nonspacing() { f |= F_MN; }
        if ol.is_match(st) { f |= F_OL; }
        if on.is_match(st) { f |= F_ON; }
        if os.is_match(st) { f |= F_OS; }
        if rw.is_match(st) { f |= F_W; }
        if rs.is_match(st) { f |= F_RS; }
        if c.is_numeric() { f |= F_NUM; }
        if un::is_combining_mark(c) { f |= F_CM; }
        if ow.is_match(st) { f |= F_OW; }
        if od.is_match(st) { f |= F_OD; }
        if op.is_match(st) { f |= F_OP; }
        if owc.is_match(st) { f |= F_OWC; }
        flags[cp as usize] = f as u32 | gp[cp as usize] << 16;
        let lo: Vec<u32> = c.to_lowercase().map(|x| x as u32).collect();
        if lo.len() != 1 || lo[0] != cp { lower.push((cp, lo)); }
        let hangul = (0xAC00..=0xD7A3).contains(&cp); // decomposed by the algorithm, not a table
        let mut d = Vec::new();
        un::decompose_canonical(c, |x| d.push(x as u32));
        if !hangul && (d.len() != 1 || d[0] != cp) { nfd.push((cp, d)); }
        let mut k = Vec::new();
        un::decompose_compatible(c, |x| k.push(x as u32));
        if !hangul && (k.len() != 1 || k[0] != cp) { nfkd.push((cp, k)); }
        let cc = un::canonical_combining_class(c);
        if cc != 0 { ccc.push((cp, cc)); }
    }
    let mut comp: Vec<(u32, u32, u32)> = Vec::new();
    // composition is tested exhaustively on the pairs that can occur: a starter or a mark followed by a mark
    // or a starter that appears as the last element of some decomposition
    let mut seconds: Vec<u32> = nfd.iter().map(|(_, d)| *d.last().unwrap()).collect();
    seconds.extend(0x1161u32..=0x1175); // Hangul V
    seconds.extend(0x11A8u32..=0x11C2); // Hangul T
    seconds.sort();
    seconds.dedup();
    let mut firsts: Vec<u32> = nfd.iter().flat_map(|(cp, d)| vec![*cp, d[0]]).collect();
    firsts.sort();
    firsts.dedup();
    for &a in &firsts {
        for &b in &seconds {
            let (ca, cb) = (char::from_u32(a).unwrap(), char::from_u32(b).unwrap());
            if let Some(r) = un::compose(ca, cb) {
                let r = r as u32;
                if !(0xAC00..=0xD7A3).contains(&r) { comp.push((a, b, r)); }
            }
        }
    }
    comp.sort();
    comp.dedup();
    emit(&flags, &lower, &nfd, &nfkd, &ccc, &comp, chars.len());
}

fn emit_map(name: &str, m: &[(u32, Vec<u32>)]) {
    let mut pool: Vec<u32> = Vec::new();
    println!("static const uint32_t {}_key[{}] = {{", name, m.len());
    for (i, (cp, _)) in m.iter().enumerate() {
        print!("0x{:x},", cp);
        if i % 12 == 11 { println!(); }
    }
    println!("}};");
    // value: offset << 5 | length
    println!("static const uint32_t {}_val[{}] = {{", name, m.len());
    for (i, (_, v)) in m.iter().enumerate() {
        assert!(v.len() < 32);
        print!("{},", (pool.len() << 5) | v.len());
        pool.extend(v);
        if i % 12 == 11 { println!(); }
    }
    println!("}};");
    println!("static const uint32_t {}_pool[{}] = {{", name, pool.len());
    for (i, x) in pool.iter().enumerate() {
        print!("0x{:x},", x);
        if i % 12 == 11 { println!(); }
    }
    println!("}};");
}

fn emit(flags: &[u32], lower: &[(u32, Vec<u32>)], nfd: &[(u32, Vec<u32>)], nfkd: &[(u32, Vec<u32>)],
        ccc: &[(u32, u8)], comp: &[(u32, u32, u32)], nchars: usize) {
    println!("/* Generated by tools/unicode-tables (cargo run --release); do not edit.");
    println!(" * {} code points. unicode-normalization-alignments Unicode {:?}; rustc's char methods as of the build.",
             nchars, unicode_normalization_alignments::UNICODE_VERSION);
    println!(" * Flags: see UP_* in unicode.h. */");
    // two stages: 256-code-point blocks of flag-set indices
    let mut sets: Vec<u32> = Vec::new();
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    let mut stage1: Vec<u16> = Vec::new();
    for b in 0..(0x110000 / 256) {
        let mut blk = Vec::with_capacity(256);
        for i in 0..256 {
            let f = flags[b * 256 + i];
            let idx = match sets.iter().position(|&x| x == f) { Some(p) => p, None => { sets.push(f); sets.len() - 1 } };
            blk.push(idx as u8);
        }
        let bi = match blocks.iter().position(|x| *x == blk) { Some(p) => p, None => { blocks.push(blk); blocks.len() - 1 } };
        stage1.push(bi as u16);
    }
    assert!(sets.len() < 256);
    println!("const uint32_t up_sets[{}] = {{", sets.len());
    for s in &sets { print!("{},", s); }
    println!("}};");
    println!("const uint16_t up_stage1[{}] = {{", stage1.len());
    for (i, s) in stage1.iter().enumerate() { print!("{},", s); if i % 24 == 23 { println!(); } }
    println!("}};");
    println!("const uint8_t up_stage2[{}][256] = {{", blocks.len());
    for b in &blocks {
        print!("{{");
        for (i, x) in b.iter().enumerate() { print!("{},", x); if i % 32 == 31 && i != 255 { println!(); } }
        println!("}},");
    }
    println!("}};");
    emit_map("un_lower", lower);
    emit_map("un_nfd", nfd);
    emit_map("un_nfkd", nfkd);
    println!("static const uint32_t un_ccc_key[{}] = {{", ccc.len());
    for (i, (cp, _)) in ccc.iter().enumerate() { print!("0x{:x},", cp); if i % 12 == 11 { println!(); } }
    println!("}};");
    println!("static const uint8_t un_ccc_val[{}] = {{", ccc.len());
    for (i, (_, v)) in ccc.iter().enumerate() { print!("{},", v); if i % 24 == 23 { println!(); } }
    println!("}};");
    println!("static const uint64_t un_comp_key[{}] = {{", comp.len());
    for (i, (a, b, _)) in comp.iter().enumerate() { print!("0x{:x},", ((*a as u64) << 21) | *b as u64); if i % 8 == 7 { println!(); } }
    println!("}};");
    println!("static const uint32_t un_comp_val[{}] = {{", comp.len());
    for (i, (_, _, r)) in comp.iter().enumerate() { print!("0x{:x},", r); if i % 12 == 11 { println!(); } }
    println!("}};");
}
