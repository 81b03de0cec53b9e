//! Decodes one payload in a loop, for counting instructions per decode — steadier than wall
//! time on a noisy machine:
//! `perf stat -e instructions:u target/release/decode-loop listing strict 100000`
//! (payloads `order`, `listing`; modes `strict`, `lazy`, `encode`, and `postcard`: the
//! peer's decode + read all of the same payload, for instruction ratios).
//!
//! `decode-loop PAYLOAD race ROUNDS` times strict, lazy and postcard decode + read all in
//! alternating batches of about a millisecond, so the machine's slow spells fall on all
//! three alike, and prints each one's fastest and median batch per decode and its ratio to
//! postcard's.
use std::hint::black_box;

use ferry_benches::peers::{self, PcListing, PcOrder};
use ferry_benches::{generated, listing};
use ferry_wire::{DecodeOptions, Encode};

/// Decodes a payload and reads every field under the given options.
type ReadAll = fn(&[u8], &DecodeOptions) -> u64;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (payload, mode) = (
        args.get(1).map_or("listing", String::as_str),
        args.get(2).map_or("strict", String::as_str),
    );
    let n: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let options = match mode {
        "lazy" => DecodeOptions::LAZY,
        _ => DecodeOptions::DEFAULT,
    };
    let (bytes, read): (Vec<u8>, ReadAll) = match payload {
        "order" => (generated::sample_order().encode_to_vec(), generated::read_every_field_with),
        _ => (listing::sample_listing().encode_to_vec(), listing::read_every_field_with),
    };
    let mut acc = 0u64;
    if mode == "race" {
        race(payload, &bytes, read, n.min(10_000));
        return;
    }
    if mode == "postcard" {
        let list = listing::sample_listing();
        let bytes = if payload == "order" {
            postcard::to_allocvec(&peers::postcard_order(&ferry_benches::payload::sample_order()))
        } else {
            postcard::to_allocvec(&peers::postcard_listing(&list))
        }
        .expect("encodes");
        for _ in 0..n {
            acc ^= if payload == "order" {
                postcard_order_read_all(black_box(&bytes))
            } else {
                postcard_listing_read_all(black_box(&bytes))
            };
        }
    } else if mode == "encode" {
        let (order, list) = (generated::sample_order(), listing::sample_listing());
        let mut buf = Vec::with_capacity(bytes.len() * 2);
        for _ in 0..n {
            buf.clear();
            if payload == "order" {
                order.encode(&mut ferry_wire::Writer::new(&mut buf));
            } else {
                list.encode(&mut ferry_wire::Writer::new(&mut buf));
            }
            acc ^= black_box(&buf).len() as u64;
        }
    } else {
        for _ in 0..n {
            acc ^= read(black_box(&bytes), &options);
        }
    }
    println!("{acc}");
}

/// As in `benches/peers.rs`.
fn postcard_listing_read_all(bytes: &[u8]) -> u64 {
    let l: PcListing<'_> = postcard::from_bytes(bytes).expect("valid");
    l.entries.iter().fold(l.path.len() as u64, |acc, e| {
        listing::fold_entry(acc, e.name.len(), e.owner.len(), e.size, e.mode, e.mtime)
    })
}

/// As in `benches/peers.rs`.
fn postcard_order_read_all(bytes: &[u8]) -> u64 {
    let o: PcOrder<'_> = postcard::from_bytes(bytes).expect("valid");
    let mut acc = o.id ^ o.amount_cents as u64 ^ o.customer.len() as u64;
    o.tags.iter().for_each(|t| acc ^= t.len() as u64);
    for i in &o.items {
        acc = ferry_benches::fold_item(acc, i.sku, u64::from(i.qty), i.price, i.note.len());
    }
    acc ^ o.payload.len() as u64
}

/// One decode + read all, as timed by [`race`].
type Contender<'a> = Box<dyn Fn() -> u64 + 'a>;

/// See the module docs: `rounds` alternating batches of each contender.
fn race(payload: &str, bytes: &[u8], read: ReadAll, rounds: usize) {
    let postcard_bytes = if payload == "order" {
        postcard::to_allocvec(&peers::postcard_order(&ferry_benches::payload::sample_order()))
    } else {
        postcard::to_allocvec(&peers::postcard_listing(&listing::sample_listing()))
    }
    .expect("encodes");
    let postcard_read: fn(&[u8]) -> u64 =
        if payload == "order" { postcard_order_read_all } else { postcard_listing_read_all };
    let contenders: [(&str, Contender<'_>); 3] = [
        ("ferry strict", Box::new(|| read(black_box(bytes), &DecodeOptions::DEFAULT))),
        ("ferry lazy", Box::new(|| read(black_box(bytes), &DecodeOptions::LAZY))),
        ("postcard", Box::new(|| postcard_read(black_box(&postcard_bytes)))),
    ];
    // Batch size: about a millisecond of the first contender.
    let start = std::time::Instant::now();
    let mut calibration = 0;
    while start.elapsed().as_micros() < 1000 {
        black_box((contenders[0].1)());
        calibration += 1;
    }
    let batch = calibration.max(1);
    let mut per_op: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); contenders.len()];
    for _ in 0..rounds {
        for (times, (_, run)) in per_op.iter_mut().zip(&contenders) {
            let start = std::time::Instant::now();
            for _ in 0..batch {
                black_box(run());
            }
            times.push(start.elapsed().as_nanos() as f64 / batch as f64);
        }
    }
    let summary: Vec<(f64, f64)> = per_op
        .iter_mut()
        .map(|t| {
            t.sort_by(f64::total_cmp);
            (t[0], t[t.len() / 2])
        })
        .collect();
    let (pc_min, pc_median) = summary[2];
    println!("{payload}: {rounds} rounds of {batch} decodes each");
    for ((name, _), (min, median)) in contenders.iter().zip(&summary) {
        println!(
            "  {name:<13} fastest {min:>9.1} ns ({:.2} x postcard)   median {median:>9.1} ns ({:.2} x)",
            min / pc_min,
            median / pc_median
        );
    }
}
