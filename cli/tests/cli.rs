//! The `ferry` command against the demo's Calculator service, served in this process on
//! 127.0.0.1 port 0: with reflection on and off, from IDL files, over TLS, and with bad
//! input, which must name the place in the JSON and exit 2.
#![allow(clippy::unwrap_used)] // Tests: a panic is how a failure is reported.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use ferry_runtime::{
    Context, HandlerError, Listen, NoException, Server, ServerConfig, ServerTls, Service,
    ServiceError,
};

mod generated {
    ferry_runtime::include_idl!("calculator");
}
use generated::calculator::{Calculator, InvalidOperation, Operation, Work};

struct Demo;

impl Calculator::Server for Demo {
    fn add(&self, _: &Context, a: i32, b: i32) -> Result<i32, ServiceError<NoException>> {
        Ok(a.wrapping_add(b))
    }

    fn calculate(
        &self,
        ctx: &Context,
        _logid: i32,
        w: Work,
    ) -> Result<i32, ServiceError<Calculator::calculate_Exception>> {
        if let Some(tag) = ctx.metadata("tag") {
            // Echoes metadata back through the result, so the test sees it arrived.
            return Ok(tag.len() as i32);
        }
        let invalid = |why: &str| InvalidOperation { whatOp: w.op.value(), why: why.into() }.into();
        match w.op {
            Operation::ADD => Ok(w.num1.wrapping_add(w.num2)),
            Operation::DIVIDE if w.num2 == 0 => Err(invalid("cannot divide by 0")),
            Operation::DIVIDE => Ok(w.num1 / w.num2),
            _ => Err(invalid("unsupported")),
        }
    }

    fn log(&self, _: &Context, _message: String) -> Result<(), ServiceError<NoException>> {
        Ok(())
    }
}

fn serve(config: ServerConfig) -> Server {
    Server::bind("127.0.0.1:0".parse().unwrap(), Calculator::service(Arc::new(Demo)), config)
        .unwrap()
}

fn idl() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/calculator/idl/calculator.thrift")
}

fn ferry(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferry")).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[track_caller]
fn assert_status(o: &Output, code: i32) {
    assert_eq!(o.status.code(), Some(code), "stdout:\n{}\nstderr:\n{}", stdout(o), stderr(o));
}

#[test]
fn calls_by_reflection_print_json_and_exceptions_exit_3() {
    let server = serve(ServerConfig::default());
    let addr = server.local_addr().to_string();

    let o = ferry(&["call", &addr, "Calculator.add", r#"{"num1": 2, "num2": 40}"#]);
    assert_status(&o, 0);
    assert_eq!(stdout(&o).trim(), "42");

    // A bare method name, an enum by name, a defaulted field (num1 = 0) left out.
    let o = ferry(&["call", &addr, "calculate", r#"{"logid": 1, "w": {"num2": 5, "op": "ADD"}}"#]);
    assert_status(&o, 0);
    assert_eq!(stdout(&o).trim(), "5");

    let o = ferry(&[
        "call",
        &addr,
        "calculate",
        r#"{"logid": 1, "w": {"num1": 1, "num2": 0, "op": "DIVIDE"}}"#,
        "--compact",
    ]);
    assert_status(&o, 3);
    assert_eq!(stdout(&o).trim(), r#"{"ouch":{"whatOp":4,"why":"cannot divide by 0"}}"#);
    assert!(stderr(&o).contains("raised `ouch` (InvalidOperation)"), "{}", stderr(&o));

    // Oneway and metadata.
    let o = ferry(&["call", &addr, "log", r#"{"message": "hi"}"#]);
    assert_status(&o, 0);
    let o = ferry(&["call", &addr, "calculate", r#"{"logid": 1, "w": {}}"#, "-H", "tag=abc"]);
    assert_status(&o, 0);
    assert_eq!(stdout(&o).trim(), "3");
    // A credential over plaintext is refused before anything is sent, unless allowed.
    let call = ["call", &addr, "add", r#"{"num1": 1, "num2": 2}"#];
    for header in ["authorization=Bearer s3cret", "X-Api-Key=k", "session-token=t"] {
        let o = ferry(&[&call[..], &["-H", header]].concat());
        assert_status(&o, 2);
        assert!(stderr(&o).contains("looks like a credential"), "{}", stderr(&o));
        assert!(stderr(&o).contains("--allow-plaintext-credentials"), "{}", stderr(&o));
    }
    let o = ferry(
        &[&call[..], &["-H", "authorization=Bearer s3cret", "--allow-plaintext-credentials"]]
            .concat(),
    );
    assert_status(&o, 0);
    assert!(stderr(&o).contains("warning: sending `authorization` over plaintext"));
    server.shutdown();
}

#[test]
fn list_shows_signatures_from_reflection_and_from_idl() {
    let server = serve(ServerConfig::default());
    let addr = server.local_addr().to_string();
    let expected = "service Calculator
  i32 add(1: i32 num1, 2: i32 num2)
  i32 calculate(1: i32 logid, 2: Work w) throws (1: InvalidOperation ouch)
  oneway void log(1: string message)
";
    let o = ferry(&["list", &addr]);
    assert_status(&o, 0);
    assert_eq!(stdout(&o), expected);
    // From the IDL: the server is not contacted.
    let o = ferry(&["list", "127.0.0.1:1", "--idl", idl().to_str().unwrap()]);
    assert_status(&o, 0);
    assert_eq!(stdout(&o), expected);
    server.shutdown();
}

#[test]
fn without_reflection_the_idl_is_needed_and_enough() {
    let server = serve(ServerConfig { reflection: false, ..ServerConfig::default() });
    let addr = server.local_addr().to_string();
    let o = ferry(&["call", &addr, "add", r#"{"num1": 1, "num2": 2}"#]);
    assert_status(&o, 2);
    assert!(
        stderr(&o).contains("reflection turned off: give its IDL with --idl"),
        "{}",
        stderr(&o)
    );
    let o = ferry(&[
        "call",
        &addr,
        "add",
        r#"{"num1": 1, "num2": 2}"#,
        "--idl",
        idl().to_str().unwrap(),
    ]);
    assert_status(&o, 0);
    assert_eq!(stdout(&o).trim(), "3");
    server.shutdown();

    // Hand-written handlers: reflection answers, with no schema to give.
    let service = Service::new()
        .method(7, |_: &Context, _: &[u8]| Err(HandlerError::new("unused")))
        .name(7, "hand_made");
    let server =
        Server::bind("127.0.0.1:0".parse().unwrap(), service, ServerConfig::default()).unwrap();
    let addr = server.local_addr().to_string();
    let o = ferry(&["list", &addr]);
    assert_status(&o, 0);
    assert!(stdout(&o).contains("methods without a schema: hand_made"), "{}", stdout(&o));
    let o = ferry(&["call", &addr, "hand_made"]);
    assert_status(&o, 2);
    assert!(stderr(&o).contains("lists no services with a schema"), "{}", stderr(&o));
    server.shutdown();
}

#[test]
fn bad_input_names_the_place_in_the_json_and_exits_2() {
    let server = serve(ServerConfig::default());
    let addr = server.local_addr().to_string();
    let cases: &[(&str, &str, &str)] = &[
        (
            "calculate",
            r#"{"logid": 1, "w": {"num1": "x"}}"#,
            "at $.w.num1: expected i32 (a whole number), found a string `\"x\"`",
        ),
        (
            "calculate",
            r#"{"logid": 1, "w": {"op": "DIVDE"}}"#,
            "at $.w.op: `DIVDE` is not a value of enum Operation; did you mean `DIVIDE`?",
        ),
        (
            "calculate",
            r#"{"logid": 1, "w": {"nmu2": 1}}"#,
            "at $.w.nmu2: no field `nmu2` here; did you mean `num2`?",
        ),
        ("add", r#"{"num1": 3000000000}"#, "at $.num1: 3000000000 is outside i32's range"),
        ("add", r#"[1, 2]"#, "at $: expected an object (struct), found an array"),
        ("add", r#"{"num1": 1"#, "the arguments are not JSON: EOF while parsing"),
        ("ad", "{}", "no method `ad`; did you mean `Calculator.add`?"),
        (
            "Calculator.ad",
            "{}",
            "service `Calculator` has no method `ad`; did you mean `Calculator.add`?",
        ),
    ];
    for (method, json, message) in cases {
        let o = ferry(&["call", &addr, method, json]);
        assert_status(&o, 2);
        assert!(stderr(&o).contains(message), "{method} {json}:\n{}", stderr(&o));
    }
    server.shutdown();

    // Nobody listening: the call failed (1), not the input.
    let o = ferry(&["call", &addr, "add", "{}"]);
    assert_status(&o, 1);
    assert!(stderr(&o).contains("not sent"), "{}", stderr(&o));
}

/// `unix:PATH` reaches a server's Unix domain socket, reflection included.
#[test]
fn calls_reach_a_server_on_a_unix_socket() {
    let dir = std::env::temp_dir().join(format!("ferry-cli-uds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("calc.sock");
    let listen = [Listen::Unix(path.clone())];
    let config = ServerConfig { reflection: true, ..ServerConfig::default() };
    let server = Server::bind_all(&listen, Calculator::service(Arc::new(Demo)), config).unwrap();
    let addr = format!("unix:{}", path.display());
    let o = ferry(&["call", &addr, "add", r#"{"num1": 2, "num2": 3}"#]);
    assert_status(&o, 0);
    assert_eq!(stdout(&o).trim(), "5");
    let o = ferry(&["ping", &addr, "--count", "2"]);
    assert_status(&o, 0);
    server.shutdown();
    let o = ferry(&["ping", &addr, "--count", "1"]);
    assert_status(&o, 1);
    assert!(stderr(&o).contains("calc.sock"), "{}", stderr(&o));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn ping_and_a_load_test_report_latencies() {
    let server = serve(ServerConfig::default());
    let addr = server.local_addr().to_string();
    let o = ferry(&["ping", &addr, "--count", "3"]);
    assert_status(&o, 0);
    let out = stdout(&o);
    assert!(
        out.contains("round trip 3:") && out.contains("3 round trips") && out.contains("p99"),
        "{out}"
    );

    let o = ferry(&[
        "call",
        &addr,
        "add",
        r#"{"num1": 1, "num2": 1}"#,
        "--repeat",
        "200",
        "--concurrency",
        "4",
    ]);
    assert_status(&o, 0);
    let out = stdout(&o);
    assert!(out.contains("200 calls in") && out.contains("200 ok, 0 failed"), "{out}");
    server.shutdown();
}

#[test]
fn encode_and_decode_offline_round_trip() {
    let idl = idl();
    let idl = idl.to_str().unwrap();
    let o = ferry(&[
        "encode",
        "--idl",
        idl,
        "--type",
        "Work",
        r#"{"num1": 1, "num2": 2, "op": "ADD", "comment": "é"}"#,
        "--hex",
    ]);
    assert_status(&o, 0);
    let hex = stdout(&o).trim().to_owned();
    // Fields in id order: 1 and 2 zigzag, op 1 → 2, comment as bytes.
    assert_eq!(hex, "08021004180223 02c3a9".replace(' ', ""));
    let o = ferry(&["decode", "--idl", idl, "--type", "calculator.Work", &hex, "--compact"]);
    assert_status(&o, 0);
    assert_eq!(stdout(&o).trim(), r#"{"num1":1,"num2":2,"op":"ADD","comment":"é"}"#);
    // An unknown field (id 9) is kept by id, and re-encodes to the same bytes.
    let with_unknown = format!("{hex}4805");
    let o = ferry(&["decode", "--idl", idl, "--type", "Work", &with_unknown, "--compact"]);
    assert_status(&o, 0);
    let json = stdout(&o).trim().to_owned();
    assert_eq!(json, r##"{"num1":1,"num2":2,"op":"ADD","comment":"é","#9":{"varint":5}}"##);
    let o = ferry(&["encode", "--idl", idl, "--type", "Work", &json, "--hex"]);
    assert_eq!(stdout(&o).trim(), with_unknown);
    // Schema-less.
    let o = ferry(&["decode", "0802", "--compact"]);
    assert_status(&o, 0);
    assert_eq!(stdout(&o).trim(), r##"{"#1":{"varint":2}}"##);
    // A method's arguments and result.
    let o = ferry(&["encode", "--idl", idl, "--args", "add", r#"{"num1": 1, "num2": 2}"#, "--hex"]);
    assert_eq!(stdout(&o).trim(), "08021004");
    let o = ferry(&["decode", "--idl", idl, "--result", "calculate", "0b0508081202", "--compact"]);
    assert_status(&o, 2);
    assert!(stderr(&o).contains("not a valid message"), "{}", stderr(&o));
    let o = ferry(&["decode", "--idl", idl, "--result", "calculate", "0c0408081300", "--compact"]);
    assert_status(&o, 0);
    assert_eq!(stdout(&o).trim(), r#"{"ouch":{"whatOp":4,"why":""}}"#);
    // Raw bytes on stdin, as `ferry encode` writes them.
    let raw = ferry(&["encode", "--idl", idl, "--type", "Work", r#"{"num2": 9}"#]);
    assert_status(&raw, 0);
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["decode", "--idl", idl, "--type", "Work", "--compact"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), &raw.stdout).unwrap();
    let o = child.wait_with_output().unwrap();
    assert_status(&o, 0);
    assert_eq!(stdout(&o).trim(), r#"{"num1":0,"num2":9,"op":"ADD"}"#);
    // Broken input.
    let o = ferry(&["decode", "--idl", idl, "--type", "Work", "0802zz"]);
    assert_status(&o, 2);
    assert!(stderr(&o).contains("`zz` (byte 2) is not hex"), "{}", stderr(&o));
    let o = ferry(&["decode", "--idl", idl, "--type", "Work", "0a02000000"]);
    assert_status(&o, 2);
    assert!(
        stderr(&o).contains("at $.num1: field 1 arrived as fixed32, its type i32 is varint"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn calls_over_tls_with_the_servers_ca() {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, "ferry cli test CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca = params.self_signed(&ca_key).unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = leaf.signed_by(&leaf_key, &ca, &ca_key).unwrap();
    let tls = ServerTls::from_pem(leaf.pem().as_bytes(), leaf_key.serialize_pem().as_bytes(), None)
        .unwrap();
    let server = serve(ServerConfig { tls: Some(tls), ..ServerConfig::default() });
    let addr = server.local_addr().to_string();
    let dir = std::env::temp_dir().join(format!("ferry-cli-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();

    let ca_arg = ca_file.to_str().unwrap();
    let o = ferry(&[
        "call",
        &addr,
        "add",
        r#"{"num1": 2, "num2": 2}"#,
        "--tls-ca",
        ca_arg,
        "--server-name",
        "localhost",
    ]);
    assert_status(&o, 0);
    assert_eq!(stdout(&o).trim(), "4");
    // Plaintext to a TLS server: refused, and said so.
    let o = ferry(&["call", &addr, "add", "{}"]);
    assert_status(&o, 1);
    let _ = std::fs::remove_dir_all(&dir);
    server.shutdown();
}
