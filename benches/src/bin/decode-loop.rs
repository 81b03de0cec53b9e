//! Decodes one payload in a loop, for counting instructions per decode — steadier than wall
//! time on a noisy machine:
//! `perf stat -e instructions:u target/release/decode-loop listing strict 100000`
//! (payloads `order`, `listing`; modes `strict`, `lazy`, `encode`, and `postcard`: the
//! peer's decode + read all of the same payload, for instruction ratios).
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
