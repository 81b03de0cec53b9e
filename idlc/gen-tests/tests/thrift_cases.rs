//! Small cases reduced from real-world Thrift files that Apache Thrift accepts
//! (`idl/thrift_cases/cases.thrift`): the Rust code they generate is compiled into this
//! crate and its values checked here; the C header is compiled as C11 and C++17 with
//! `-Werror`, with a program that uses what the cases generate.
#![allow(clippy::unwrap_used)] // Tests: a panic is how a failure is reported.
#[path = "../../../capi/tests/support/mod.rs"]
mod c_support;

use std::path::Path;

use c_support::{compile_as, generate_headers, scratch, Lang, Link};
use ferry_idlc_gen_tests::thrift_cases::{cases, types};

#[test]
fn the_rust_values_are_apache_thrifts() {
    // 1 and 2: enum defaults qualified by the enum's own name and by a typedef's.
    assert_eq!(cases::S1::default().e, types::E::B);
    assert_eq!(cases::S2::default().t, cases::Local::B);
    // 4: the list<i32> constant converted into the list<i64> field.
    assert_eq!(cases::s4().longs, Some(vec![1i64, 2, 3]));
    // 5: an enum value where an i32 belongs is its number.
    assert_eq!(cases::m().get("c"), Some(&3));
}

#[test]
fn the_c_header_compiles_as_c11_and_cxx17_with_werror() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("idl/thrift_cases");
    let headers = scratch("thrift-cases-c");
    generate_headers(&dir.join("cases.thrift"), &[&dir], &headers);
    let source = headers.join("use_cases.c");
    std::fs::write(
        &source,
        r#"#include "cases.h"
#include <stdio.h>
#include <string.h>

int main(void) {
  /* 7: an optional argument has its has_ flag, so a caller can leave it absent. */
  cases_Bank_transfer_args args;
  memset(&args, 0, sizeof args);
  args.amount = 5;
  args.has_memo = false;
  /* 1, 2: the defaults of enum fields qualified by the enum's and a typedef's name. */
  cases_S1 s1 = cases_S1_DEFAULTS;
  cases_S2 s2 = cases_S2_DEFAULTS;
  printf("%d %d %d\n", (int)args.amount, (int)s1.e, (int)s2.t);
  return 0;
}
"#,
    )
    .unwrap();
    for lang in [Lang::C11, Lang::Cxx17] {
        let exe = compile_as(lang, &source, Link::Static, &[&headers], &[]);
        let out = std::process::Command::new(&exe).output().unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stdout), "5 2 2\n");
    }
}
