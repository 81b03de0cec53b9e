//! The IDL front end on a generated ~20 000-line file: lex + parse + resolve + check.
//! `cargo bench -p ferry-benches --bench idlc`
use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn front_end(c: &mut Criterion) {
    let text = ferry_benches::idl_gen::generate(20_000);
    let lines = text.lines().count();
    eprintln!("generated IDL: {lines} lines, {} bytes", text.len());
    let check = ferry_idlc::compile_text(Path::new("big.thrift"), &text, &[]);
    assert_eq!(check.error_count(), 0, "{}", check.render_plain());
    let mut g = c.benchmark_group("idlc");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.sample_size(20);
    g.bench_function("lex_20k_lines", |b| {
        b.iter(|| ferry_idlc::syntax::lexer::lex(black_box(&text)).len())
    });
    g.bench_function("parse_20k_lines", |b| {
        b.iter(|| {
            let mut problems = Vec::new();
            ferry_idlc::syntax::parser::parse(black_box(&text), &mut problems).definitions.len()
        })
    });
    g.bench_function("check_20k_lines", |b| {
        b.iter(|| {
            ferry_idlc::compile_text(Path::new("big.thrift"), black_box(&text), &[]).error_count()
        })
    });
    g.bench_function("check_and_model_20k_lines", |b| {
        b.iter(|| {
            let c = ferry_idlc::compile_text(Path::new("big.thrift"), black_box(&text), &[]);
            c.model().map(|p| p.files.len())
        })
    });
    g.finish();
}

criterion_group!(benches, front_end);
criterion_main!(benches);
