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

fn main() {
    let ol = Onig::new(r"\A\p{L}\z").unwrap();
    let on = Onig::new(r"\A\p{N}\z").unwrap();
    let os = Onig::new(r"\A\s\z").unwrap();
    let rw = Regex::new(r"^\w$").unwrap();
    let rs = Regex::new(r"^\s$").unwrap();
    let mut flags = vec![0u16; 0x110000];
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
        flags[cp as usize] = f;
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

fn emit(flags: &[u16], lower: &[(u32, Vec<u32>)], nfd: &[(u32, Vec<u32>)], nfkd: &[(u32, Vec<u32>)],
        ccc: &[(u32, u8)], comp: &[(u32, u32, u32)], nchars: usize) {
    println!("/* Generated by tools/unicode-tables (cargo run --release); do not edit.");
    println!(" * {} code points. unicode-normalization-alignments Unicode {:?}; rustc's char methods as of the build.",
             nchars, unicode_normalization_alignments::UNICODE_VERSION);
    println!(" * Flags: see UP_* in unicode.h. */");
    // two stages: 256-code-point blocks of flag-set indices
    let mut sets: Vec<u16> = Vec::new();
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
    println!("const uint16_t up_sets[{}] = {{", sets.len());
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
