//! Turns one comparison run into the table of `benches/RESULTS.md` and a chart:
//! criterion's estimates (the `peers` and `idlc` benches) plus the rows the bench binaries
//! recorded (`FERRY_RESULTS`: sizes, loopback runs, idle connections, IDL compiler runs).
//!
//! `report RESULTS.tsv CRITERION_DIR CHART.svg` prints markdown on stdout.
//! `bash benches/compare.sh` runs everything and then this.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use plotters::prelude::*;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, results, criterion, chart] = &args[..] else {
        eprintln!("usage: report RESULTS.tsv CRITERION_DIR CHART.svg");
        std::process::exit(2);
    };
    let rows = read_rows(Path::new(results));
    let estimates = read_criterion(Path::new(criterion));
    print_wire(&rows, &estimates);
    print_idl(&rows, &estimates);
    let runs = rpc_runs(&rows);
    print_rpc(&runs);
    print_idle(&rows);
    print_targets(&rows, &estimates, &runs);
    match draw_chart(&runs, Path::new(chart)) {
        Ok(()) => println!("\nChart: `{chart}` (calls/s and p50 latency against calls in flight)."),
        Err(e) => eprintln!("cannot draw {chart}: {e}"),
    }
}

/// The tab-separated rows the bench programs appended.
fn read_rows(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        eprintln!("cannot read {}: {e} (run the benches with FERRY_RESULTS set)", path.display());
        std::process::exit(1)
    });
    text.lines().map(|l| l.split('\t').map(str::to_string).collect()).collect()
}

/// Criterion medians in ns and throughput bytes, by (group, function id).
struct Estimate {
    median_ns: f64,
    bytes: Option<f64>,
}

fn read_criterion(dir: &Path) -> BTreeMap<(String, String), Estimate> {
    let mut found = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.ends_with("new/benchmark.json") {
                if let Some((key, est)) = read_estimate(&path) {
                    found.insert(key, est);
                }
            }
        }
    }
    found
}

fn read_estimate(benchmark: &Path) -> Option<((String, String), Estimate)> {
    let json = |p: PathBuf| -> Option<serde_json::Value> {
        serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()
    };
    let b = json(benchmark.to_path_buf())?;
    let e = json(benchmark.with_file_name("estimates.json"))?;
    let key = (b["group_id"].as_str()?.to_string(), b["function_id"].as_str()?.to_string());
    let bytes = b["throughput"]["Bytes"].as_f64();
    Some((key, Estimate { median_ns: e["median"]["point_estimate"].as_f64()?, bytes }))
}

const FORMATS: [(&str, &str); 9] = [
    ("ferry", "**Ferry** (idlc-generated; strict validation, the default)"),
    ("ferry_lazy", "Ferry, lazy validation (`DecodeOptions::LAZY`)"),
    ("capnp", "Cap'n Proto (unpacked)"),
    ("flatbuffers", "FlatBuffers, verifier on"),
    ("flatbuffers_unverified", "FlatBuffers, verifier off (trusted input only)"),
    ("prost", "protobuf (prost)"),
    ("postcard", "postcard (borrowed; no schema evolution)"),
    ("thrift_compact", "Thrift compact"),
    ("memcpy", "memcpy of Ferry's bytes (floor)"),
];

fn ns(v: Option<f64>) -> String {
    match v {
        None => "—".into(),
        Some(v) if v >= 10_000.0 => format!("{:.1} µs", v / 1000.0),
        Some(v) => format!("{v:.0} ns"),
    }
}

fn ratio(ferry: Option<f64>, peer: Option<f64>) -> String {
    match (ferry, peer) {
        (Some(f), Some(p)) if p > 0.0 => format!("{:.2}", f / p),
        _ => "—".into(),
    }
}

fn print_wire(rows: &[Vec<String>], est: &BTreeMap<(String, String), Estimate>) {
    for (payload, what) in [
        ("order", "the wire issue's payload: one 256-byte blob, 10 items, 3 tags"),
        ("listing", "200 entries of two short strings and three integers"),
    ] {
        let get = |format: &str, op: &str| {
            est.get(&(payload.to_string(), format!("{format}/{op}"))).map(|e| e.median_ns)
        };
        let size = |format: &str| {
            rows.iter()
                .find(|r| r.len() == 4 && r[0] == "size" && r[1] == payload && r[2] == format)
                .map_or("—".to_string(), |r| r[3].clone())
        };
        println!("\n### Payload `{payload}` ({what})\n");
        println!(
            "| format | encode | decode + read all | decode to owned | bytes | Ferry ÷ peer, encode | Ferry ÷ peer, read all |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|");
        let (fe, fr) = (get("ferry", "encode"), get("ferry", "decode_read_all"));
        for (format, name) in FORMATS {
            let (e, r, o) = (
                get(format, "encode"),
                get(format, "decode_read_all"),
                get(format, "decode_owned"),
            );
            let (re, rr) = if format == "ferry" {
                ("—".into(), "—".into())
            } else {
                (ratio(fe, e), ratio(fr, r))
            };
            let bytes = if format == "memcpy" { "—".into() } else { size(format) };
            println!("| {name} | {} | {} | {} | {bytes} | {re} | {rr} |", ns(e), ns(r), ns(o));
        }
    }
    println!("\nRatios below 1 mean Ferry takes less time.");
}

fn print_idl(rows: &[Vec<String>], est: &BTreeMap<(String, String), Estimate>) {
    println!("\n### IDL compiler (generated 20 000-line IDL)\n");
    println!("| stage (in process) | time | throughput |");
    println!("|---|---:|---:|");
    for (id, name) in [
        ("lex_20k_lines", "lex"),
        ("parse_20k_lines", "lex + parse"),
        ("check_20k_lines", "lex + parse + resolve + check"),
        ("check_and_model_20k_lines", "… + resolved model"),
    ] {
        if let Some(e) = est.get(&("idlc".to_string(), id.to_string())) {
            let mib_s = e.bytes.map_or(0.0, |b| b / (e.median_ns / 1e9) / 1048576.0);
            println!("| {name} | {:.2} ms | {mib_s:.0} MiB/s |", e.median_ns / 1e6);
        }
    }
    let process: Vec<_> = rows.iter().filter(|r| r.len() == 4 && r[0] == "idl").collect();
    if !process.is_empty() {
        println!("\n| whole process, same file (best of 5) | wall time | peak RSS |");
        println!("|---|---:|---:|");
        for r in &process {
            println!("| {} | {} ms | {} MB |", r[1], r[2], r[3]);
        }
        let secs = |who: &str| {
            process.iter().find(|r| r[1].starts_with(who)).and_then(|r| r[2].parse::<f64>().ok())
        };
        if let (Some(i), Some(t)) = (secs("idlc"), secs("thrift")) {
            println!("\nidlc ÷ thrift wall time: {:.2}", i / t.max(1e-9));
        }
    }
}

/// One loopback run: (system, connections, in flight per connection; 0 = sequential).
#[derive(Clone, Debug)]
struct Run {
    system: String,
    conns: usize,
    in_flight: usize,
    calls_per_s: f64,
    p50_us: Option<f64>,
    p99_us: Option<f64>,
    cpu_us: f64,
}

fn rpc_runs(rows: &[Vec<String>]) -> Vec<Run> {
    rows.iter()
        .filter(|r| r.len() == 8 && r[0] == "rpc")
        .filter_map(|r| {
            Some(Run {
                system: r[1].clone(),
                conns: r[2].parse().ok()?,
                in_flight: r[3].parse().ok()?,
                calls_per_s: r[4].parse().ok()?,
                p50_us: r[5].parse().ok(),
                p99_us: r[6].parse().ok(),
                cpu_us: r[7].parse().ok()?,
            })
        })
        .collect()
}

fn find<'r>(runs: &'r [Run], system: &str, conns: usize, in_flight: usize) -> Option<&'r Run> {
    runs.iter().find(|r| r.system == system && r.conns == conns && r.in_flight == in_flight)
}

fn print_rpc(runs: &[Run]) {
    let us = |v: Option<f64>| v.map_or("—".into(), |v| format!("{v:.1}"));
    println!("\n### Loopback RPC, 32-byte echo (client and server in separate processes)\n");
    println!(
        "| sequential (one blocking call at a time) | p50 µs | p99 µs | calls/s | CPU µs/call |"
    );
    println!("|---|---:|---:|---:|---:|");
    for system in ["raw TCP", "Ferry", "tonic"] {
        if let Some(r) = find(runs, system, 1, 0) {
            println!(
                "| {system} | {} | {} | {:.0} | {:.1} |",
                us(r.p50_us),
                us(r.p99_us),
                r.calls_per_s,
                r.cpu_us
            );
        }
    }
    let p50 = |s: &str| find(runs, s, 1, 0).and_then(|r| r.p50_us);
    println!(
        "\nFerry p50 ÷ raw TCP p50: {}; Ferry p50 ÷ tonic p50: {}",
        ratio(p50("Ferry"), p50("raw TCP")),
        ratio(p50("Ferry"), p50("tonic"))
    );
    println!(
        "\n| connections × in flight each | raw TCP calls/s | Ferry calls/s | tonic calls/s | Ferry ÷ tonic calls/s | Ferry CPU µs/call | tonic CPU µs/call | Ferry p50 µs | tonic p50 µs |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut keys: Vec<(usize, usize)> =
        runs.iter().filter(|r| r.in_flight > 0).map(|r| (r.conns, r.in_flight)).collect();
    keys.sort_unstable();
    keys.dedup();
    for (conns, window) in keys {
        let get = |s: &str| find(runs, s, conns, window);
        let rate = |s: &str| get(s).map_or("—".into(), |r| format!("{:.0}", r.calls_per_s));
        let cpu = |s: &str| get(s).map_or("—".into(), |r| format!("{:.2}", r.cpu_us));
        let lat = |s: &str| us(get(s).and_then(|r| r.p50_us));
        let times = match (get("Ferry"), get("tonic")) {
            (Some(f), Some(t)) if t.calls_per_s > 0.0 => {
                format!("**{:.1}×**", f.calls_per_s / t.calls_per_s)
            }
            _ => "—".into(),
        };
        println!(
            "| {conns} × {window} | {} | {} | {} | {times} | {} | {} | {} | {} |",
            rate("raw TCP"),
            rate("Ferry"),
            rate("tonic"),
            cpu("Ferry"),
            cpu("tonic"),
            lat("Ferry"),
            lat("tonic")
        );
    }
    println!(
        "\nraw TCP writes each connection's whole window in one `write` and reads it back: the \
         physical floor, with no per-message framing or dispatch."
    );
}

fn print_idle(rows: &[Vec<String>]) {
    let idle: Vec<_> = rows.iter().filter(|r| r.len() == 4 && r[0] == "idle").collect();
    if idle.is_empty() {
        return;
    }
    println!("\n### Idle connections (server RSS growth ÷ connections, handshake done)\n");
    println!("| server | connections | bytes per connection |");
    println!("|---|---:|---:|");
    for r in idle {
        println!("| {} | {} | {} |", r[1], r[2], r[3]);
    }
}

/// The targets of the wire and runtime issues, checked against this run.
fn print_targets(rows: &[Vec<String>], est: &BTreeMap<(String, String), Estimate>, runs: &[Run]) {
    println!("\n### Targets (wire and runtime issues), this run\n");
    println!("| target | figure | met |");
    println!("|---|---|---|");
    let line = |what: &str, figure: String, met: Option<bool>| {
        let m = match met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "not measured",
        };
        println!("| {what} | {figure} | {m} |");
    };
    let get = |f: &str, op: &str| {
        est.get(&("order".to_string(), format!("{f}/{op}"))).map(|e| e.median_ns)
    };
    let peers = ["capnp", "flatbuffers", "prost", "postcard", "thrift_compact"];
    for (op, what) in [
        ("encode", "encode faster than every peer"),
        ("decode_read_all", "decode + read all faster than every peer"),
    ] {
        let ferry = get("ferry", op);
        let best = peers
            .iter()
            .filter_map(|p| get(p, op).map(|v| (v, *p)))
            .min_by(|a, b| a.0.total_cmp(&b.0));
        let met = ferry.zip(best).map(|(f, (b, _))| f < b);
        let figure = match (ferry, best) {
            (Some(f), Some((b, p))) => format!("Ferry {f:.0} ns, fastest peer {p} {b:.0} ns"),
            _ => "—".into(),
        };
        line(&format!("order payload: {what}"), figure, met);
    }
    let size = |f: &str| {
        rows.iter()
            .find(|r| r.len() == 4 && r[0] == "size" && r[1] == "order" && r[2] == f)
            .and_then(|r| r[3].parse::<u64>().ok())
    };
    let (fs, ts) = (size("ferry"), size("thrift_compact"));
    line(
        "order payload: size ≤ Thrift compact",
        format!(
            "{} vs {} bytes",
            fs.map_or("—".into(), |v| v.to_string()),
            ts.map_or("—".into(), |v| v.to_string())
        ),
        fs.zip(ts).map(|(f, t)| f <= t),
    );
    let p50 = |s: &str| find(runs, s, 1, 0).and_then(|r| r.p50_us);
    let seq = p50("Ferry").zip(p50("raw TCP")).map(|(f, r)| f / r);
    line(
        "sequential p50 ≤ 1.2 × raw TCP ping-pong",
        seq.map_or("—".into(), |v| format!("{v:.2}×")),
        seq.map(|v| v <= 1.2),
    );
    let f64s = find(runs, "Ferry", 1, 64);
    let t64s = find(runs, "tonic", 1, 64);
    let times = f64s.zip(t64s).map(|(f, t)| f.calls_per_s / t.calls_per_s);
    line(
        "64 in flight, 1 connection: ≥ 10 × tonic's calls/s",
        times.map_or("—".into(), |v| format!("{v:.1}×")),
        times.map(|v| v >= 10.0),
    );
    let cpu = f64s.map(|r| r.cpu_us);
    line(
        "64 in flight, 1 connection: ≤ 3 µs CPU per call",
        cpu.map_or("—".into(), |v| format!("{v:.2} µs")),
        cpu.map(|v| v <= 3.0),
    );
    let idle = rows
        .iter()
        .find(|r| r.len() == 4 && r[0] == "idle" && r[1] == "Ferry")
        .and_then(|r| r[3].parse::<f64>().ok());
    line(
        "10 000 idle connections: ≤ 16 KiB each",
        idle.map_or("—".into(), |v| format!("{v:.0} B")),
        idle.map(|v| v <= 16384.0),
    );
}

/// Two panels against calls in flight per connection (log scale): calls/s, and p50 latency.
fn draw_chart(runs: &[Run], path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (1200, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(600);
    let series: Vec<(String, RGBColor, Vec<&Run>)> =
        [("Ferry", BLUE), ("tonic", RED), ("raw TCP", RGBColor(120, 120, 120))]
            .into_iter()
            .flat_map(|(system, color)| {
                [1usize, 4].into_iter().map(move |conns| {
                    let mut points: Vec<&Run> = runs
                        .iter()
                        .filter(|r| r.system == system && r.conns == conns && r.in_flight > 0)
                        .collect();
                    points.sort_by_key(|r| r.in_flight);
                    let shade = if conns == 1 { color } else { blend(color) };
                    (format!("{system}, {conns} conn."), shade, points)
                })
            })
            .filter(|(_, _, p)| !p.is_empty())
            .collect();
    let max_rate = runs.iter().map(|r| r.calls_per_s).fold(1.0, f64::max) * 2.0;
    let lat: Vec<f64> = runs.iter().filter(|r| r.in_flight > 0).filter_map(|r| r.p50_us).collect();
    let (min_lat, max_lat) =
        lat.iter().fold((f64::MAX, 1.0f64), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    for (area, title, y_desc, top, bottom) in [
        (&left, "Throughput", "calls/s", max_rate, 1_000.0),
        (&right, "Latency (p50)", "µs", max_lat * 2.0, (min_lat / 2.0).max(1.0)),
    ] {
        let mut chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d((1f64..256f64).log_scale(), (bottom..top).log_scale())?;
        chart
            .configure_mesh()
            .x_desc("calls in flight per connection")
            .y_desc(y_desc)
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| short(*v))
            .draw()?;
        for (name, color, points) in &series {
            let value =
                |r: &Run| if title == "Throughput" { Some(r.calls_per_s) } else { r.p50_us };
            let xy: Vec<(f64, f64)> =
                points.iter().filter_map(|r| Some((r.in_flight as f64, value(r)?))).collect();
            let color = *color;
            chart
                .draw_series(LineSeries::new(xy.clone(), color.stroke_width(2)))?
                .label(name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                });
            chart.draw_series(xy.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
    }
    root.present()?;
    Ok(())
}

/// The 4-connection shade of a series colour.
fn blend(c: RGBColor) -> RGBColor {
    let mix = |v: u8| ((u16::from(v) + 2 * 200) / 3) as u8;
    RGBColor(mix(c.0), mix(c.1), mix(c.2))
}

fn short(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.0}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.0}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}
