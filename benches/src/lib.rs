//! Shared code for Ferry's benches: the benchmark payload, built once for every bench.
#![forbid(unsafe_code)]

/// The benchmark payload's types, hand-written in the shape idlc will generate.
/// One source file serves the wire tests and the benches.
#[path = "../../wire/tests/common/payload.rs"]
pub mod payload;

pub mod fleet_sim;
pub mod peers;

/// The benchmark payload as idlc generates it (`idl/payload.thrift`).
pub mod generated {
    ferry_runtime::include_idl!("payload");

    /// Decodes a view of the payload and reads every field and element, folding them into
    /// one number (so nothing is optimised away): the "decode + read all" measurement.
    pub fn read_every_field(bytes: &[u8]) -> u64 {
        read_every_field_with(bytes, &ferry_wire::DecodeOptions::DEFAULT)
    }

    /// [`read_every_field`] under `options` (`DecodeOptions::LAZY` for lazy validation).
    pub fn read_every_field_with(bytes: &[u8], options: &ferry_wire::DecodeOptions) -> u64 {
        let o: payload::views::Order<'_> =
            ferry_wire::decode_view_with(bytes, options).expect("valid payload");
        let mut acc = o.id ^ o.amount_cents as u64 ^ o.customer.len() as u64;
        // `if let` rather than `Option::into_iter().flatten()`: the flattening iterator
        // measured ~50% slower here.
        if let Some(tags) = o.tags {
            for tag in tags {
                acc ^= tag.expect("valid tag").len() as u64;
            }
        }
        if let Some(items) = o.items {
            for item in items {
                let i = item.expect("valid item");
                acc = crate::fold_item(acc, i.sku, u64::from(i.qty), i.price, i.note.len());
            }
        }
        acc ^ o.payload.len() as u64
    }

    /// The same values as [`crate::payload::sample_order`].
    pub fn sample_order() -> payload::Order {
        let o = crate::payload::sample_order();
        payload::Order {
            id: o.id,
            customer: o.customer,
            amount_cents: o.amount_cents,
            tags: o.tags,
            items: o
                .items
                .into_iter()
                .map(|i| payload::Item { sku: i.sku, qty: i.qty, price: i.price, note: i.note })
                .collect(),
            payload: o.payload,
        }
    }
}

pub mod e2e;
pub mod flood;
pub mod idl_gen;
pub mod listing;

/// Folds one item's fields into a read-all accumulator; every format's bench uses it.
pub fn fold_item(acc: u64, sku: u64, qty: u64, price: f64, note_len: usize) -> u64 {
    acc ^ sku ^ qty ^ price.to_bits() ^ note_len as u64
}

/// user+sys CPU seconds of a process, from /proc/PID/stat (fields 14 and 15, utime and
/// stime, are the 12th and 13th after the command name).
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Appends one machine-readable result row (tab-separated fields) to the file named by the
/// `FERRY_RESULTS` environment variable, for `report` to turn into the comparison table and
/// chart. Without the variable, nothing is written: the bench programs still print their own
/// tables.
pub fn record(fields: &[String]) {
    use std::io::Write;
    let Some(path) = std::env::var_os("FERRY_RESULTS").filter(|p| !p.is_empty()) else { return };
    let line = fields.join("\t") + "\n";
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(line.as_bytes()));
    if let Err(e) = written {
        eprintln!("cannot append to {}: {e}", std::path::Path::new(&path).display());
    }
}

/// Builds a [`record`] row from anything printable.
#[macro_export]
macro_rules! record {
    ($($field:expr),+ $(,)?) => {
        $crate::record(&[$($field.to_string()),+])
    };
}
