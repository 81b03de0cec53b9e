//! The C client of examples/c against this demo's server (`--serve`): what
//! `examples/c/run.sh` shows, checked.
#[path = "../../../capi/tests/support/mod.rs"]
mod c_support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use c_support::{compile_source, generate_headers, scratch, Link};

#[test]
fn the_c_client_calls_the_demo_server() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let headers = scratch("examples-c");
    generate_headers(&here.join("idl/calculator.thrift"), &[], &headers);
    let client = compile_source(&here.join("../c/calculator_client.c"), Link::Static, &[&headers]);

    // Stopped when this guard drops, also when an assertion below fails.
    struct Stop(std::process::Child);
    impl Drop for Stop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut server = Stop(
        Command::new(env!("CARGO_BIN_EXE_calculator"))
            .args(["--serve", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the demo server"),
    );
    let mut lines = BufReader::new(server.0.stdout.take().expect("stdout")).lines();
    let first = lines.next().expect("a first line").expect("address");
    let address = first.trim().rsplit(' ').next().unwrap_or_default().to_string();
    // The server goes on printing what it serves: keep reading, or its prints would fail.
    let log = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());
    let output = Command::new(client).arg(&address).output().expect("run the C client");
    drop(server);
    let served = log.join().expect("server output").join("\n");
    assert!(served.contains("calculate #2 DIVIDE"), "the server saw the calls:\n{served}");

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    for expected in [
        "add(2, 3) = 5",
        "calculate(84 / 2) = 42",
        "calculate(1 / 0) failed as declared: cannot divide by 0 (op 4)",
    ] {
        assert!(stdout.contains(expected), "missing `{expected}` in:\n{stdout}");
    }
}

/// `examples/c/run.sh` itself, with this test's programs: it finishes when its output is a
/// pipe (the server holds no copy of it), and leaves no server running.
#[test]
fn run_sh_stops_its_server() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = scratch("examples-run-sh");
    generate_headers(&here.join("idl/calculator.thrift"), &[], &dir);
    let client = compile_source(&here.join("../c/calculator_client.c"), Link::Static, &[&dir]);
    // A copy of the server under a name of its own, so looking for leftovers finds only
    // this test's server.
    let server = dir.join("calculator-run-sh-test");
    std::fs::copy(env!("CARGO_BIN_EXE_calculator"), &server).expect("copy the server");
    let mut script = Command::new("bash")
        .arg(here.join("../c/run.sh"))
        .env("FERRY_DEMO_SERVER", &server)
        .env("FERRY_DEMO_CLIENT", &client)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run run.sh");
    // Reading to the end returns only when every holder of the pipe has exited.
    let (tx, rx) = std::sync::mpsc::channel();
    let mut stdout = script.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut text);
        let _ = tx.send(text);
    });
    let text = match rx.recv_timeout(std::time::Duration::from_secs(60)) {
        Ok(t) => t,
        Err(_) => {
            let _ = script.kill();
            let _ = Command::new("pkill").arg("-f").arg(&server).status();
            panic!("run.sh's output stayed open for 60 s: a process still holds it");
        }
    };
    let status = script.wait().expect("run.sh exits");
    assert!(status.success(), "run.sh failed:\n{text}");
    assert!(text.contains("add(2, 3) = 5"), "{text}");
    let left = Command::new("pgrep").arg("-f").arg(&server).output().expect("pgrep");
    if !left.stdout.is_empty() {
        // Fail, but leave nothing behind either.
        let _ = Command::new("pkill").arg("-f").arg(&server).status();
    }
    assert!(
        left.stdout.is_empty(),
        "run.sh left its server running: {}",
        String::from_utf8_lossy(&left.stdout)
    );
}
