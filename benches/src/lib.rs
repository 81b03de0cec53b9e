//! Shared code for Ferry's benches: the benchmark payload, built once for every bench.
#![forbid(unsafe_code)]

/// The benchmark payload's types, hand-written in the shape idlc will generate.
/// One source file serves the wire tests and the benches.
#[path = "../../wire/tests/common/payload.rs"]
pub mod payload;

pub mod peers;

/// The benchmark payload as idlc generates it (`idl/payload.thrift`).
pub mod generated {
    ferry_runtime::include_idl!("payload");

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

pub mod idl_gen;
