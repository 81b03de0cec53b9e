//! No input makes the front end panic or loop: random bytes, token soup, and valid files
//! with random edits all produce diagnostics, never a crash.
#![allow(clippy::unwrap_used)] // Tests: a panic is how a failure is reported.

use std::path::Path;

use proptest::prelude::*;

fn check(text: &str) -> usize {
    let c = ferry_idlc::compile_text(Path::new("fuzz.thrift"), text, &[]);
    // Rendering must work for every problem (spans inside the text).
    let _ = c.render_plain();
    c.error_count()
}

const WORDS: &[&str] = &[
    "struct",
    "union",
    "exception",
    "enum",
    "service",
    "const",
    "typedef",
    "include",
    "namespace",
    "extends",
    "oneway",
    "throws",
    "void",
    "required",
    "optional",
    "list",
    "set",
    "map",
    "i32",
    "string",
    "Foo",
    "bar",
    "1",
    "-2",
    "0x1f",
    "1.5",
    "\"s\"",
    "'t'",
    "{",
    "}",
    "(",
    ")",
    "<",
    ">",
    "[",
    "]",
    ",",
    ";",
    ":",
    "=",
    "*",
    "&",
    "/**",
    "*/",
    "#",
    "\n",
    "ferry.timeout_ms",
    "senum",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        check(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn token_soup_never_panics(words in proptest::collection::vec(0..WORDS.len(), 0..120)) {
        let text: Vec<&str> = words.iter().map(|&i| WORDS[i]).collect();
        check(&text.join(" "));
    }

    #[test]
    fn edited_valid_files_never_panic(cut in 0usize..5000, len in 0usize..40, insert in 0..WORDS.len()) {
        let text = std::fs::read_to_string("tests/data/ok/everything.thrift").unwrap();
        let start = cut.min(text.len());
        let end = (start + len).min(text.len());
        if text.is_char_boundary(start) && text.is_char_boundary(end) {
            let edited = format!("{}{}{}", &text[..start], WORDS[insert], &text[end..]);
            check(&edited);
        }
    }
}

#[test]
fn deep_nesting_is_reported_not_a_stack_overflow() {
    let deep = format!("struct A {{ 1: {}i32{} x }}", "list<".repeat(20_000), ">".repeat(20_000));
    assert!(check(&deep) > 0);
    let deep_const = format!("const list<i32> X = {}{}", "[".repeat(20_000), "]".repeat(20_000));
    assert!(check(&deep_const) > 0);
}
