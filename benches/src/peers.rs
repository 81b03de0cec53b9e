//! The benchmark payload in the peers' formats, built from the same values as Ferry's.
use serde::{Deserialize, Serialize};

use crate::listing::Listing;
use crate::payload::Order;

/// protobuf via prost's derive (no protoc needed). `amount_cents` is `int64`, as in the
/// figures of ../shared/ANCHORS.md (587 bytes).
pub mod pb {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Item {
        #[prost(uint64, tag = "1")]
        pub sku: u64,
        #[prost(uint32, tag = "2")]
        pub qty: u32,
        #[prost(double, tag = "3")]
        pub price: f64,
        #[prost(string, tag = "4")]
        pub note: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Order {
        #[prost(uint64, tag = "1")]
        pub id: u64,
        #[prost(string, tag = "2")]
        pub customer: String,
        #[prost(int64, tag = "3")]
        pub amount_cents: i64,
        #[prost(string, repeated, tag = "4")]
        pub tags: Vec<String>,
        #[prost(message, repeated, tag = "5")]
        pub items: Vec<Item>,
        #[prost(bytes = "vec", tag = "6")]
        pub payload: Vec<u8>,
    }
}

/// The payload as prost's type.
pub fn prost_order(o: &Order) -> pb::Order {
    pb::Order {
        id: o.id,
        customer: o.customer.clone(),
        amount_cents: o.amount_cents,
        tags: o.tags.clone(),
        items: o
            .items
            .iter()
            .map(|i| pb::Item { sku: i.sku, qty: i.qty, price: i.price, note: i.note.clone() })
            .collect(),
        payload: o.payload.clone(),
    }
}

/// postcard with borrowed strings and bytes (serde); no field ids, so no schema evolution.
#[derive(Serialize, Deserialize, Debug)]
pub struct PcItem<'a> {
    pub sku: u64,
    pub qty: u32,
    pub price: f64,
    #[serde(borrow)]
    pub note: &'a str,
}

/// See [`PcItem`].
#[derive(Serialize, Deserialize, Debug)]
pub struct PcOrder<'a> {
    pub id: u64,
    #[serde(borrow)]
    pub customer: &'a str,
    pub amount_cents: i64,
    #[serde(borrow)]
    pub tags: Vec<&'a str>,
    #[serde(borrow)]
    pub items: Vec<PcItem<'a>>,
    #[serde(borrow)]
    pub payload: &'a [u8],
}

/// The payload as postcard's borrowed type.
pub fn postcard_order(o: &Order) -> PcOrder<'_> {
    PcOrder {
        id: o.id,
        customer: &o.customer,
        amount_cents: o.amount_cents,
        tags: o.tags.iter().map(String::as_str).collect(),
        items: o
            .items
            .iter()
            .map(|i| PcItem { sku: i.sku, qty: i.qty, price: i.price, note: &i.note })
            .collect(),
        payload: &o.payload,
    }
}

/// The listing payload as protobuf (prost derive).
pub mod pb_listing {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Entry {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(string, tag = "2")]
        pub owner: String,
        #[prost(int64, tag = "3")]
        pub size: i64,
        #[prost(int32, tag = "4")]
        pub mode: i32,
        #[prost(int64, tag = "5")]
        pub mtime: i64,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Listing {
        #[prost(string, tag = "1")]
        pub path: String,
        #[prost(message, repeated, tag = "2")]
        pub entries: Vec<Entry>,
    }
}

/// The listing as prost's type.
pub fn prost_listing(l: &Listing) -> pb_listing::Listing {
    pb_listing::Listing {
        path: l.path.clone(),
        entries: l
            .entries
            .iter()
            .map(|e| pb_listing::Entry {
                name: e.name.clone(),
                owner: e.owner.clone(),
                size: e.size,
                mode: e.mode,
                mtime: e.mtime,
            })
            .collect(),
    }
}

/// The listing for postcard, strings borrowed.
#[derive(Serialize, Deserialize, Debug)]
pub struct PcEntry<'a> {
    #[serde(borrow)]
    pub name: &'a str,
    #[serde(borrow)]
    pub owner: &'a str,
    pub size: i64,
    pub mode: i32,
    pub mtime: i64,
}

/// See [`PcEntry`].
#[derive(Serialize, Deserialize, Debug)]
pub struct PcListing<'a> {
    #[serde(borrow)]
    pub path: &'a str,
    #[serde(borrow)]
    pub entries: Vec<PcEntry<'a>>,
}

/// The listing as postcard's borrowed type.
pub fn postcard_listing(l: &Listing) -> PcListing<'_> {
    PcListing {
        path: &l.path,
        entries: l
            .entries
            .iter()
            .map(|e| PcEntry {
                name: &e.name,
                owner: &e.owner,
                size: e.size,
                mode: e.mode,
                mtime: e.mtime,
            })
            .collect(),
    }
}
