//! The benchmark payload through Ferry's wire format, with a memcpy floor.
//! `cargo bench -p ferry-benches --bench wire`
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use ferry_benches::payload::{sample_order, Order, OrderView};
use ferry_benches::peers::{pb, postcard_order, prost_order, PcOrder};
use ferry_wire::{decode_view, Encode, Message, Reader, Writer};

fn read_every_field(bytes: &[u8]) -> u64 {
    let order: OrderView<'_> = decode_view(bytes).expect("valid payload");
    let mut acc = order.id ^ order.amount_cents as u64 ^ order.customer.len() as u64;
    for tag in order.tags {
        acc ^= tag.expect("valid tag").len() as u64;
    }
    for item in order.items {
        let item = item.expect("valid item");
        acc = ferry_benches::fold_item(
            acc,
            item.sku,
            u64::from(item.qty),
            item.price,
            item.note.len(),
        );
    }
    acc ^ order.payload.len() as u64
}

fn payload(c: &mut Criterion) {
    let order = sample_order();
    let bytes = order.encode_to_vec();
    eprintln!("ferry payload: {} bytes", bytes.len());
    let mut g = c.benchmark_group("payload");
    let mut buf = Vec::with_capacity(1024);
    g.bench_function("ferry/encode", |b| {
        b.iter(|| {
            buf.clear();
            black_box(&order).encode(&mut Writer::new(&mut buf));
            black_box(buf.len())
        })
    });
    g.bench_function("ferry/decode_view_read_all", |b| {
        b.iter(|| read_every_field(black_box(&bytes)))
    });
    g.bench_function("ferry/decode_owned", |b| {
        b.iter(|| Order::decode(black_box(&bytes)).expect("valid"))
    });

    // protobuf (prost): decoding parses into owned values; "read all" then reads them.
    let pb_order = prost_order(&order);
    let pb_bytes = prost::Message::encode_to_vec(&pb_order);
    eprintln!("prost payload: {} bytes", pb_bytes.len());
    g.bench_function("prost/encode", |b| {
        b.iter(|| {
            buf.clear();
            prost::Message::encode(black_box(&pb_order), &mut buf).expect("capacity");
            black_box(buf.len())
        })
    });
    g.bench_function("prost/decode_read_all", |b| {
        b.iter(|| {
            let o: pb::Order = prost::Message::decode(black_box(&pb_bytes[..])).expect("valid");
            let mut acc = o.id ^ o.amount_cents as u64 ^ o.customer.len() as u64;
            o.tags.iter().for_each(|t| acc ^= t.len() as u64);
            for i in &o.items {
                acc ^= i.sku ^ u64::from(i.qty) ^ i.price.to_bits() ^ i.note.len() as u64;
            }
            acc ^ o.payload.len() as u64
        })
    });

    // postcard with borrowed strings: the fastest schema-less peer.
    let pc_order = postcard_order(&order);
    let pc_bytes = postcard::to_allocvec(&pc_order).expect("encodes");
    eprintln!("postcard payload: {} bytes", pc_bytes.len());
    let mut pc_buf = vec![0u8; 2048];
    g.bench_function("postcard/encode", |b| {
        b.iter(|| postcard::to_slice(black_box(&pc_order), &mut pc_buf).expect("fits").len())
    });
    g.bench_function("postcard/decode_read_all", |b| {
        b.iter(|| {
            let o: PcOrder<'_> = postcard::from_bytes(black_box(&pc_bytes)).expect("valid");
            let mut acc = o.id ^ o.amount_cents as u64 ^ o.customer.len() as u64;
            o.tags.iter().for_each(|t| acc ^= t.len() as u64);
            for i in &o.items {
                acc ^= i.sku ^ u64::from(i.qty) ^ i.price.to_bits() ^ i.note.len() as u64;
            }
            acc ^ o.payload.len() as u64
        })
    });

    // The same payload through idlc-generated code: must match the hand-written stand-in.
    let gen_order = ferry_benches::generated::sample_order();
    let gen_bytes = gen_order.encode_to_vec();
    assert_eq!(gen_bytes, bytes, "generated and hand-written encodings agree");
    g.bench_function("ferry_generated/encode", |b| {
        b.iter(|| {
            buf.clear();
            black_box(&gen_order).encode(&mut Writer::new(&mut buf));
            black_box(buf.len())
        })
    });
    g.bench_function("ferry_generated/decode_view_read_all", |b| {
        b.iter(|| ferry_benches::generated::read_every_field(black_box(&bytes)))
    });
    g.bench_function("ferry_generated/decode_owned", |b| {
        b.iter(|| {
            ferry_benches::generated::payload::Order::decode(black_box(&bytes)).expect("valid")
        })
    });

    // What a handler pays to receive the order as its argument: owned (every string,
    // list and the 256-byte blob copied) or `ferry.borrow` (the view), then read in full.
    {
        use ferry_benches::generated::payload::Orders;
        let args = Orders::submit_Args { order: gen_order.clone() };
        let arg_bytes = args.encode_to_vec();
        g.bench_function("handler/owned_args", |b| {
            b.iter(|| {
                let a = Orders::decode_submit_args(black_box(&arg_bytes)).expect("valid");
                let o = &a.order;
                let mut acc = o.id ^ o.customer.len() as u64 ^ o.payload.len() as u64;
                for i in &o.items {
                    acc = ferry_benches::fold_item(
                        acc,
                        i.sku,
                        u64::from(i.qty),
                        i.price,
                        i.note.len(),
                    );
                }
                acc ^ o.tags.len() as u64
            })
        });
        g.bench_function("handler/borrowed_args", |b| {
            b.iter(|| {
                let a: Orders::submit_borrowed_ArgsView<'_> =
                    ferry_wire::decode_view(black_box(&arg_bytes)).expect("valid");
                let o = a.order.expect("present");
                let mut acc = o.id ^ o.customer.len() as u64 ^ o.payload.len() as u64;
                if let Some(items) = o.items {
                    for i in items {
                        let i = i.expect("valid");
                        acc = ferry_benches::fold_item(
                            acc,
                            i.sku,
                            u64::from(i.qty),
                            i.price,
                            i.note.len(),
                        );
                    }
                }
                acc ^ o.tags.map_or(0, |t| t.len()) as u64
            })
        });
    }

    let mut copy = vec![0u8; bytes.len()];
    g.bench_function("memcpy", |b| {
        b.iter(|| {
            copy.copy_from_slice(black_box(&bytes));
            black_box(copy[0])
        })
    });
    g.finish();
}

/// Evidence for spec/wire.md § Integers: varints against fixed-width little-endian for the
/// values a schema typically carries (ids, counts, small amounts).
fn integer_encodings(c: &mut Criterion) {
    let values: Vec<u64> = (0..256u64).map(|i| (i * 2_654_435_761) % (1 << (i % 40))).collect();
    let mut varints = Vec::new();
    values.iter().for_each(|&v| Writer::new(&mut varints).unsigned(v));
    let fixed: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    eprintln!("256 integers: varint {} bytes, fixed {} bytes", varints.len(), fixed.len());
    let mut g = c.benchmark_group("integers");
    let mut buf = Vec::with_capacity(4096);
    g.bench_function("varint/encode", |b| {
        b.iter(|| {
            buf.clear();
            let mut w = Writer::new(&mut buf);
            black_box(&values).iter().for_each(|&v| w.unsigned(v));
            black_box(buf.len())
        })
    });
    g.bench_function("fixed/encode", |b| {
        b.iter(|| {
            buf.clear();
            black_box(&values).iter().for_each(|&v| buf.extend_from_slice(&v.to_le_bytes()));
            black_box(buf.len())
        })
    });
    g.bench_function("varint/decode", |b| {
        b.iter(|| {
            let mut r = Reader::new(black_box(&varints));
            let mut acc = 0;
            while !r.is_empty() {
                acc ^= r.varint().expect("valid");
            }
            acc
        })
    });
    g.bench_function("fixed/decode", |b| {
        b.iter(|| {
            let mut r = Reader::new(black_box(&fixed));
            let mut acc = 0;
            while !r.is_empty() {
                acc ^= u64::from_le_bytes(r.array().expect("valid"));
            }
            acc
        })
    });
    g.finish();
}

criterion_group!(benches, payload, integer_encodings);
criterion_main!(benches);
