//! `ferry`: call Ferry servers from a shell, JSON in and JSON out.
#![forbid(unsafe_code)]

mod remote;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::{Parser, Subcommand};
use ferry_cli::json::{raw_struct, Codec, Shape};
use ferry_cli::schema::{args_shape, Schema};
use ferry_idlc::model::StructKind;
use ferry_runtime::wire::{dynamic, DecodeOptions};
use ferry_runtime::{method_id, CallError};
use remote::{Connection, Latencies};
use serde_json::Value as Json;

const EXAMPLES: &str = "\
Examples:
  # Call a method; the server's reflection supplies the schema.
  ferry call 127.0.0.1:7000 Calculator.add '{\"num1\": 2, \"num2\": 3}'
  # Arguments from a file or stdin; the IDL given instead of reflection.
  ferry call 127.0.0.1:7000 calculate @work.json --idl calculator.thrift
  echo '{\"logid\": 1, \"w\": {\"num1\": 1, \"num2\": 0, \"op\": \"DIVIDE\"}}' | ferry call 127.0.0.1:7000 calculate -
  # What does the server offer?
  ferry list 127.0.0.1:7000
  # Round trips, then a small load test with a latency histogram.
  ferry ping 127.0.0.1:7000 --count 20
  ferry call 127.0.0.1:7000 add '{\"num1\": 1, \"num2\": 2}' --repeat 10000 --concurrency 16
  # Offline: JSON to bytes and back.
  ferry encode --idl calculator.thrift --type Work '{\"num1\": 1, \"num2\": 2, \"op\": \"ADD\"}' --hex
  ferry decode --idl calculator.thrift --type Work '08 02 10 04 18 02'
  ferry encode --idl calculator.thrift --args add '{\"num1\": 1}' | ferry decode --idl calculator.thrift --args add
  ferry decode 08021004   # without a schema: fields by id

Exit status: 0 success; 1 the call failed (the message says whether it ran); 2 bad
input (usage, JSON, IDL, unknown method); 3 the method raised a declared exception
(printed as JSON on stdout, its type on stderr).

JSON mapping (spec/json.md): structs are objects by field name, enums by value name
(or number), binary is base64, uuid is 8-4-4-4-12 hex, maps with string, integer, bool or
enum keys are objects (others arrays of [key, value]), fields the schema does not know
appear as \"#id\".";

/// Call, list and ping Ferry servers from a shell; encode and decode messages offline.
#[derive(Parser, Debug)]
#[command(name = "ferry", version, after_long_help = EXAMPLES, after_help = "Examples and the JSON mapping: ferry --help")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the schema comes from when not from the server's reflection.
#[derive(Clone, Debug, Default, clap::Args)]
struct Idl {
    /// IDL file to take the schema from (instead of the server's reflection); may be repeated.
    #[arg(long = "idl", short = 'I', value_name = "FILE")]
    idl: Vec<PathBuf>,
    /// Folder searched for files the IDL includes; may be repeated.
    #[arg(long = "include-dir", value_name = "DIR")]
    include_dirs: Vec<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Call METHOD (`Service.method`, or `method` if one service has it) with JSON arguments.
    Call {
        /// host:port of the server, or unix:PATH for its Unix socket.
        address: String,
        /// `Service.method`, or a method name only one service has.
        method: String,
        /// The arguments as a JSON object of parameter names; `-` reads stdin, `@FILE` a
        /// file. Default: `{}`.
        args: Option<String>,
        #[command(flatten)]
        idl: Idl,
        #[command(flatten)]
        connection: Connection,
        /// Make the call N times and report latencies instead of printing results.
        #[arg(long, value_name = "N", default_value_t = 1)]
        repeat: usize,
        /// With --repeat: calls in flight at once.
        #[arg(long, value_name = "C", default_value_t = 1)]
        concurrency: usize,
        /// Print JSON on one line.
        #[arg(long)]
        compact: bool,
    },
    /// List the server's services and their methods' signatures.
    List {
        /// host:port of the server, or unix:PATH (not contacted when --idl is given).
        address: String,
        #[command(flatten)]
        idl: Idl,
        #[command(flatten)]
        connection: Connection,
    },
    /// Measure round trips to the server: each is a call of the reserved method
    /// `ferry.ping`, which servers answer `UnknownMethod` without running anything.
    Ping {
        /// host:port of the server, or unix:PATH for its Unix socket.
        address: String,
        /// How many round trips.
        #[arg(long, short = 'c', default_value_t = 10)]
        count: usize,
        #[command(flatten)]
        connection: Connection,
    },
    /// JSON to an encoded message (the type's struct, or a method's arguments or result).
    Encode {
        #[command(flatten)]
        target: Target,
        /// The JSON value; `-` or nothing reads stdin, `@FILE` a file.
        json: Option<String>,
        /// Write hex instead of raw bytes.
        #[arg(long)]
        hex: bool,
    },
    /// An encoded message to JSON. Without --type/--args/--result: every field by id.
    Decode {
        #[command(flatten)]
        target: Target,
        /// The bytes as hex (spaces allowed); nothing reads stdin.
        input: Option<String>,
        /// Stdin holds hex instead of raw bytes.
        #[arg(long)]
        hex: bool,
        /// Print JSON on one line.
        #[arg(long)]
        compact: bool,
    },
}

/// Which message an encode or decode is of.
#[derive(Clone, Debug, Default, clap::Args)]
struct Target {
    #[command(flatten)]
    idl: Idl,
    /// A struct, union or exception: `Work`, or `calculator.Work`.
    #[arg(long = "type", value_name = "TYPE", group = "shape")]
    ty: Option<String>,
    /// A method's arguments struct: `Service.method`.
    #[arg(long, value_name = "METHOD", group = "shape")]
    args: Option<String>,
    /// A method's result struct (`success` and its exceptions): `Service.method`.
    #[arg(long, value_name = "METHOD", group = "shape")]
    result: Option<String>,
}

/// A failure and the exit status it gives.
struct Failure {
    status: u8,
    message: String,
}

fn input(status: u8) -> impl Fn(String) -> Failure {
    move |message| Failure { status, message }
}

const CALL_FAILED: u8 = 1;
const BAD_INPUT: u8 = 2;
const EXCEPTION: u8 = 3;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error: {}", f.message);
            ExitCode::from(f.status)
        }
    }
}

fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Call { address, method, args, idl, connection, repeat, concurrency, compact } => {
            let client = {
                connection.check_credentials().map_err(input(BAD_INPUT))?;
                connection.connect(&address).map_err(input(CALL_FAILED))?
            };
            let schema =
                remote::schema_for(&idl.idl, &idl.include_dirs, Some(&client), &connection)
                    .map_err(no_schema)?;
            let found = schema.method(&method).map_err(input(BAD_INPUT))?;
            let m = found.method;
            let text = read_text(args.as_deref(), "{}").map_err(input(BAD_INPUT))?;
            let json: Json = serde_json::from_str(&text).map_err(|e| Failure {
                status: BAD_INPUT,
                message: format!("the arguments are not JSON: {e}"),
            })?;
            let codec = Codec::new(&schema.program);
            let payload = codec.encode(args_shape(m), &json).map_err(|e| Failure {
                status: BAD_INPUT,
                message: format!(
                    "arguments of {}: {e}\n  signature: {}",
                    m.name,
                    schema.signature(m)
                ),
            })?;
            let mut options = connection.options();
            options.oneway = m.oneway;
            options.idempotent = m.idempotent;
            let id = method_id(&m.name);
            if repeat > 1 {
                return load(&client, id, &payload, &options, repeat, concurrency.max(1));
            }
            let reply = client.call(id, &payload, &options).map_err(call_failure)?;
            if m.oneway {
                return Ok(());
            }
            let result_fields = m.result_fields();
            let shape = Shape { fields: &result_fields, kind: StructKind::Union, owner: None };
            let decoded = codec.decode(shape, &reply).map_err(|e| Failure {
                status: CALL_FAILED,
                message: format!(
                    "the call ran but its reply does not match {}: {e}",
                    schema.origin
                ),
            })?;
            let Json::Object(fields) = decoded else {
                unreachable!("a struct decodes to an object")
            };
            if let Some(value) = fields.get("success") {
                print_json(value, compact);
                return Ok(());
            }
            if let Some((name, value)) = fields.iter().find(|(k, _)| !k.starts_with('#')) {
                let thrown =
                    m.throws.iter().find(|t| &t.name == name).expect("a declared exception");
                let mut out = serde_json::Map::new();
                out.insert(name.clone(), value.clone());
                print_json(&Json::Object(out), compact);
                return Err(Failure {
                    status: EXCEPTION,
                    message: format!(
                        "{} raised `{name}` ({})",
                        m.name,
                        codec.type_name(&thrown.ty)
                    ),
                });
            }
            if m.returns.is_none() {
                print_json(&Json::Null, compact);
                return Ok(());
            }
            Err(Failure {
                status: CALL_FAILED,
                message: "the call ran but its reply has neither a result nor a declared exception"
                    .into(),
            })
        }
        Command::List { address, idl, connection } => {
            let (schema, unlisted) = if idl.idl.is_empty() {
                let client = {
                    connection.check_credentials().map_err(input(BAD_INPUT))?;
                    connection.connect(&address).map_err(input(CALL_FAILED))?
                };
                let reflected = remote::reflect(&client, &connection).map_err(no_schema)?;
                (reflected.schema, reflected.unlisted)
            } else {
                let schema =
                    Schema::from_files(&idl.idl, &idl.include_dirs).map_err(input(BAD_INPUT))?;
                (Some(schema), Vec::new())
            };
            let mut out = String::new();
            if let Some(schema) = &schema {
                for (r, name) in schema.services() {
                    out.push_str(&format!("service {name}\n"));
                    for m in schema.methods(r) {
                        out.push_str(&format!("  {}\n", schema.signature(m)));
                    }
                }
            } else {
                out.push_str("no services with a schema (generated with --no-reflection, or hand-written handlers)\n");
            }
            if !unlisted.is_empty() {
                out.push_str(&format!("methods without a schema: {}\n", unlisted.join(", ")));
            }
            print!("{out}");
            Ok(())
        }
        Command::Ping { address, count, connection } => {
            let client = {
                connection.check_credentials().map_err(input(BAD_INPUT))?;
                connection.connect(&address).map_err(input(CALL_FAILED))?
            };
            let options = connection.options();
            let mut latencies = Latencies::default();
            for i in 0..count.max(1) {
                let (result, took) =
                    remote::timed(|| client.call(method_id("ferry.ping"), &[], &options));
                match result {
                    Ok(_) | Err(CallError::UnknownMethod(_)) => {
                        println!("round trip {}: {} µs", i + 1, took.as_micros());
                        latencies.record(took);
                    }
                    Err(e) => return Err(call_failure(e)),
                }
            }
            print!("{} round trips to {address}\n{}", latencies.len(), latencies.report());
            Ok(())
        }
        Command::Encode { target, json, hex } => {
            let schema = Schema::from_files(&target.idl.idl, &target.idl.include_dirs)
                .map_err(input(BAD_INPUT))?;
            let text = read_text(json.as_deref().or(Some("-")), "").map_err(input(BAD_INPUT))?;
            let json: Json = serde_json::from_str(&text)
                .map_err(|e| Failure { status: BAD_INPUT, message: format!("not JSON: {e}") })?;
            let codec = Codec::new(&schema.program);
            let bytes = with_shape(&schema, &codec, &target, |shape| {
                codec.encode(shape, &json).map_err(|e| e.to_string())
            })?;
            let mut stdout = std::io::stdout().lock();
            let written =
                if hex { writeln!(stdout, "{}", to_hex(&bytes)) } else { stdout.write_all(&bytes) };
            written
                .map_err(|e| Failure { status: BAD_INPUT, message: format!("cannot write: {e}") })
        }
        Command::Decode { target, input: given, hex, compact } => {
            let bytes = match given {
                Some(text) => from_hex(&text).map_err(input(BAD_INPUT))?,
                None => {
                    let mut raw = Vec::new();
                    std::io::stdin().read_to_end(&mut raw).map_err(|e| Failure {
                        status: BAD_INPUT,
                        message: format!("cannot read stdin: {e}"),
                    })?;
                    if hex {
                        from_hex(&String::from_utf8_lossy(&raw)).map_err(input(BAD_INPUT))?
                    } else {
                        raw
                    }
                }
            };
            let json = if target.ty.is_none() && target.args.is_none() && target.result.is_none() {
                let message = dynamic::decode(&bytes, &DecodeOptions::DEFAULT).map_err(|e| {
                    Failure { status: BAD_INPUT, message: format!("not a valid message: {e}") }
                })?;
                raw_struct(&message)
            } else {
                let schema = Schema::from_files(&target.idl.idl, &target.idl.include_dirs)
                    .map_err(input(BAD_INPUT))?;
                let codec = Codec::new(&schema.program);
                with_shape(&schema, &codec, &target, |shape| {
                    codec.decode(shape, &bytes).map_err(|e| e.to_string())
                })?
            };
            print_json(&json, compact);
            Ok(())
        }
    }
}

/// Runs `f` on the shape `target` names.
fn with_shape<T>(
    schema: &Schema,
    codec: &Codec<'_>,
    target: &Target,
    f: impl FnOnce(Shape<'_>) -> Result<T, String>,
) -> Result<T, Failure> {
    let bad = input(BAD_INPUT);
    if let Some(ty) = &target.ty {
        let r = schema.struct_named(ty).map_err(&bad)?;
        return f(codec.shape(r).expect("a struct")).map_err(bad);
    }
    if let Some(m) = &target.args {
        let m = schema.method(m).map_err(&bad)?.method;
        return f(args_shape(m)).map_err(bad);
    }
    if let Some(m) = &target.result {
        let m = schema.method(m).map_err(&bad)?.method;
        let fields = m.result_fields();
        return f(Shape { fields: &fields, kind: StructKind::Union, owner: None }).map_err(bad);
    }
    Err(bad("say which message: --type TYPE, --args METHOD or --result METHOD".into()))
}

/// `N` calls, `concurrency` at a time on the one connection (one thread keeps that many
/// started, as an asynchronous client would), then the latency report.
fn load(
    client: &Arc<ferry_runtime::Client>,
    id: u32,
    payload: &[u8],
    options: &ferry_runtime::CallOptions,
    repeat: usize,
    concurrency: usize,
) -> Result<(), Failure> {
    let mut latencies = Latencies::default();
    let mut failures: Vec<String> = Vec::new();
    let mut in_flight = std::collections::VecDeque::with_capacity(concurrency);
    let (mut started, begun) = (0, Instant::now());
    while started < repeat || !in_flight.is_empty() {
        while started < repeat && in_flight.len() < concurrency {
            in_flight.push_back((Instant::now(), client.start(id, payload, options)));
            started += 1;
        }
        if let Some((t, handle)) = in_flight.pop_front() {
            match handle.wait() {
                Ok(_) => latencies.record(t.elapsed()),
                Err(e) => failures.push(e.to_string()),
            }
        }
    }
    let elapsed = begun.elapsed();
    println!(
        "{repeat} calls in {:.2} s ({:.0} calls/s), {concurrency} in flight: {} ok, {} failed",
        elapsed.as_secs_f64(),
        repeat as f64 / elapsed.as_secs_f64(),
        latencies.len(),
        failures.len()
    );
    print!("{}", latencies.report());
    if let Some(first) = failures.first() {
        return Err(Failure {
            status: CALL_FAILED,
            message: format!("{} calls failed; the first: {first}", failures.len()),
        });
    }
    Ok(())
}

fn no_schema(e: remote::NoSchema) -> Failure {
    Failure { status: if e.reachable { BAD_INPUT } else { CALL_FAILED }, message: e.message }
}

fn call_failure(e: CallError) -> Failure {
    Failure { status: CALL_FAILED, message: e.to_string() }
}

/// The text of an argument: inline, `-` for stdin, `@FILE`; `default` when absent.
fn read_text(arg: Option<&str>, default: &str) -> Result<String, String> {
    match arg {
        None => Ok(default.to_owned()),
        Some("-") => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| format!("cannot read stdin: {e}"))?;
            Ok(s)
        }
        Some(a) if a.starts_with('@') => {
            std::fs::read_to_string(&a[1..]).map_err(|e| format!("cannot read `{}`: {e}", &a[1..]))
        }
        Some(a) => Ok(a.to_owned()),
    }
}

fn print_json(value: &Json, compact: bool) {
    let text = if compact {
        value.to_string()
    } else {
        serde_json::to_string_pretty(value).expect("JSON values serialize")
    };
    println!("{text}");
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() % 2 != 0 {
        return Err(format!("hex input has an odd number of digits ({})", digits.len()));
    }
    digits
        .chunks(2)
        .enumerate()
        .map(|(i, pair)| {
            let s: String = pair.iter().collect();
            u8::from_str_radix(&s, 16).map_err(|_| format!("`{s}` (byte {i}) is not hex"))
        })
        .collect()
}
