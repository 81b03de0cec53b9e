//! The IDL front end on arbitrary text: never a panic (the parser's fuel turns a stuck
//! loop into one), every diagnostic renders, and a file that checks also generates Rust,
//! and C headers or a message naming what the C back end cannot express.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let c = ferry_idlc::compile_text(std::path::Path::new("fuzz.thrift"), &text, &[]);
    let _ = c.render_plain();
    if c.error_count() == 0 {
        if let Some(program) = c.model() {
            ferry_idlc::rust::generate(&program).expect("valid IDL yields valid Rust");
            if let Err(e) = ferry_idlc::c::generate(&program) {
                let message = &e.message;
                assert!(message.contains('`'), "the C back end names what it refuses: {message}");
            }
        }
    }
});
