//! JSON written without serde, for the one body where serde_json's general
//! path was the largest cost: the review queue's page (`tickets::queue_page_json`).
//! serde_json checks every byte of every string, keys included, one at a
//! time; here a string is checked in one pass the compiler vectorizes and
//! copied whole when nothing in it needs escaping (BENCHMARKS.md, issue 18,
//! sixteenth part). What is written is byte for byte what serde_json
//! writes: the tests that use these hold the two equal.

/// `s` as a JSON string. Copied as it is when it holds none of what
/// serde_json escapes (control characters, `"`, `\`); otherwise serde_json
/// writes it.
pub fn string(out: &mut Vec<u8>, s: &str) {
    if plain(s.as_bytes()) {
        plain_string(out, s.as_bytes());
    } else {
        serde_json::to_writer(&mut *out, s).expect("writing to a Vec does not fail");
    }
}

/// Whether nothing in `bytes` needs escaping. An OR over every byte with no
/// early exit, so that the compiler checks 16 bytes an instruction.
fn plain(bytes: &[u8]) -> bool {
    let mut escape = 0u8;
    for &b in bytes {
        escape |= u8::from(b < 0x20) | u8::from(b == b'"') | u8::from(b == b'\\');
    }
    escape == 0
}

/// Bytes known to need no escaping (digits, dashes and colons), quoted.
pub fn plain_string(out: &mut Vec<u8>, bytes: &[u8]) {
    debug_assert!(plain(bytes));
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    out.extend_from_slice(bytes);
    out.push(b'"');
}

/// An optional string: `null` when there is none.
pub fn string_or_null(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => string(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

pub fn boolean(out: &mut Vec<u8>, b: bool) {
    out.extend_from_slice(if b { b"true" } else { b"false" });
}

#[cfg(test)]
mod tests {
    use rand::Rng;

    /// serde_json is the oracle, for every character class it treats apart.
    #[test]
    fn strings_are_written_exactly_as_serde_json_writes_them() {
        let alphabet =
            ['a', 'Z', '0', ' ', '"', '\\', '/', '\n', '\t', '\u{0}', '\u{1f}', '\u{7f}', 'é', '京', '号', '😀'];
        let mut rng = rand::thread_rng();
        let mut cases: Vec<String> = vec![String::new(), "京ICP备12345678号".into(), "WO-20261129-0001".into()];
        for _ in 0..5000 {
            let len = rng.gen_range(0..80);
            cases.push((0..len).map(|_| alphabet[rng.gen_range(0..alphabet.len())]).collect());
        }
        for s in cases {
            let mut ours = Vec::new();
            super::string(&mut ours, &s);
            assert_eq!(String::from_utf8(ours).unwrap(), serde_json::to_string(&s).unwrap());
            let mut ours = Vec::new();
            super::string_or_null(&mut ours, Some(&s).filter(|s| !s.is_empty()).map(|s| s.as_str()));
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string(&Some(&s).filter(|s| !s.is_empty())).unwrap()
            );
        }
    }
}
