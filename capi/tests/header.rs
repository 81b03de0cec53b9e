//! `include/ferry.h` is generated from this crate's declarations by cbindgen and committed,
//! so C users need no Rust tooling to read it. This test regenerates it and fails if the
//! committed file drifted; `UPDATE_HEADER=1 cargo test -p ferry-capi --test header`
//! rewrites it.
use std::path::Path;

#[test]
fn committed_header_matches_the_rust_declarations() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config {
        language: cbindgen::Language::C,
        include_guard: Some("FERRY_H".into()),
        header: Some(
            "/* Ferry's C ABI (libferry.a / libferry.so). Generated from capi/src by cbindgen:\n * \
             do not edit; `UPDATE_HEADER=1 cargo test -p ferry-capi --test header` regenerates it. */"
                .into(),
        ),
        sys_includes: vec!["stdbool.h".into(), "stddef.h".into(), "stdint.h".into()],
        no_includes: true,
        documentation: true,
        documentation_style: cbindgen::DocumentationStyle::C99,
        cpp_compat: true,
        usize_is_size_t: true,
        style: cbindgen::Style::Both,
        ..Default::default()
    };
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen reads capi/src")
        .write(&mut generated);
    let generated = String::from_utf8(generated).expect("UTF-8 header");
    let path = crate_dir.join("include/ferry.h");
    if std::env::var_os("UPDATE_HEADER").is_some() {
        std::fs::write(&path, &generated).expect("write include/ferry.h");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "capi/include/ferry.h is stale: run `UPDATE_HEADER=1 cargo test -p ferry-capi --test header`"
    );
}
