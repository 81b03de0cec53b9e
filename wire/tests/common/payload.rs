//! The benchmark payload (issue 2), hand-written in the shape `idlc` generates:
//!
//! ```thrift
//! struct Item  { 1: u64 sku; 2: u32 qty; 3: double price; 4: string note }
//! struct Order { 1: u64 id = 123456789; 2: string customer = "customer-000042";
//!                3: i64 amount_cents = -98765; 4: list<string> tags = ["priority","gift","eu-west"];
//!                5: list<Item> items; 6: binary payload }
//! ```
use ferry_wire::{
    size, DecodeError, Encode, Field, ListView, Message, StructReader, View, WireType, Writer,
};

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Item {
    pub sku: u64,
    pub qty: u32,
    pub price: f64,
    pub note: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct ItemView<'a> {
    pub sku: u64,
    pub qty: u32,
    pub price: f64,
    pub note: &'a str,
}

impl Encode for Item {
    fn encode(&self, w: &mut Writer<'_>) {
        w.key(1, WireType::Varint);
        w.unsigned(self.sku);
        w.key(2, WireType::Varint);
        w.unsigned(self.qty.into());
        w.key(3, WireType::Fixed64);
        w.f64(self.price);
        w.key(4, WireType::Bytes);
        w.str(&self.note);
    }

    fn encoded_len(&self) -> usize {
        size::key(1, WireType::Varint)
            + size::unsigned(self.sku)
            + size::key(2, WireType::Varint)
            + size::unsigned(self.qty.into())
            + size::key(3, WireType::Fixed64)
            + 8
            + size::key(4, WireType::Bytes)
            + size::bytes(self.note.len())
    }
}

impl<'a> View<'a> for ItemView<'a> {
    type Owned = Item;

    fn decode_fields(mut r: StructReader<'a>) -> Result<Self, DecodeError> {
        let mut v = ItemView::default();
        if r.next_is(1, WireType::Varint) {
            v.sku = r.value()?;
        }
        if r.next_is(2, WireType::Varint) {
            v.qty = r.value()?;
        }
        if r.next_is(3, WireType::Fixed64) {
            v.price = r.value()?;
        }
        if r.next_is(4, WireType::Bytes) {
            v.note = r.value()?;
        }
        while let Some(f) = r.next_field()? {
            match f.id {
                1 => v.sku = r.read(f)?,
                2 => v.qty = r.read(f)?,
                3 => v.price = r.read(f)?,
                4 => v.note = r.read(f)?,
                _ => r.skip(f)?,
            }
        }
        Ok(v)
    }

    fn to_owned_value(&self) -> Result<Item, DecodeError> {
        Ok(Item { sku: self.sku, qty: self.qty, price: self.price, note: self.note.to_owned() })
    }
}

impl Message for Item {
    type View<'a> = ItemView<'a>;
}

#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    pub id: u64,
    pub customer: String,
    pub amount_cents: i64,
    pub tags: Vec<String>,
    pub items: Vec<Item>,
    pub payload: Vec<u8>,
}

impl Default for Order {
    fn default() -> Self {
        Order {
            id: 123456789,
            customer: "customer-000042".to_owned(),
            amount_cents: -98765,
            tags: vec!["priority".to_owned(), "gift".to_owned(), "eu-west".to_owned()],
            items: Vec::new(),
            payload: Vec::new(),
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct OrderView<'a> {
    pub id: u64,
    pub customer: &'a str,
    pub amount_cents: i64,
    pub tags: ListView<'a, &'a str>,
    pub items: ListView<'a, ItemView<'a>>,
    pub payload: &'a [u8],
}

/// The encoded default of `Order.tags`, so an absent field still views as its default.
const ORDER_TAGS_DEFAULT: &[u8] = b"\x33\x08priority\x04gift\x07eu-west";

impl Encode for Order {
    fn encode(&self, w: &mut Writer<'_>) {
        w.key(1, WireType::Varint);
        w.unsigned(self.id);
        w.key(2, WireType::Bytes);
        w.str(&self.customer);
        w.key(3, WireType::Varint);
        w.signed(self.amount_cents);
        w.key(4, WireType::List);
        w.list_header(WireType::Bytes, self.tags.len());
        self.tags.iter().for_each(|t| w.str(t));
        w.key(5, WireType::List);
        w.list_header(WireType::Struct, self.items.len());
        self.items.iter().for_each(|i| w.message(i));
        w.key(6, WireType::Bytes);
        w.bytes(&self.payload);
    }

    fn encoded_len(&self) -> usize {
        size::key(1, WireType::Varint)
            + size::unsigned(self.id)
            + size::key(2, WireType::Bytes)
            + size::bytes(self.customer.len())
            + size::key(3, WireType::Varint)
            + size::signed(self.amount_cents)
            + size::key(4, WireType::List)
            + size::list(self.tags.len(), self.tags.iter().map(|t| size::bytes(t.len())).sum())
            + size::key(5, WireType::List)
            + size::list(
                self.items.len(),
                self.items.iter().map(|i| size::delimited(i.encoded_len())).sum(),
            )
            + size::key(6, WireType::Bytes)
            + size::bytes(self.payload.len())
    }
}

impl<'a> View<'a> for OrderView<'a> {
    type Owned = Order;

    fn decode_fields(mut r: StructReader<'a>) -> Result<Self, DecodeError> {
        let mut id = 123456789;
        let mut customer = "customer-000042";
        let mut amount_cents = -98765;
        let mut tags: Option<ListView<'a, &'a str>> = None;
        let mut items = ListView::empty();
        let mut payload: &[u8] = &[];
        if r.next_is(1, WireType::Varint) {
            id = r.value()?;
        }
        if r.next_is(2, WireType::Bytes) {
            customer = r.value()?;
        }
        if r.next_is(3, WireType::Varint) {
            amount_cents = r.value()?;
        }
        if r.next_is(4, WireType::List) {
            tags = Some(r.value()?);
        }
        if r.next_is(5, WireType::List) {
            items = r.value()?;
        }
        if r.next_is(6, WireType::Bytes) {
            payload = r.value()?;
        }
        while let Some(f) = r.next_field()? {
            match f.id {
                1 => id = r.read(f)?,
                2 => customer = r.read(f)?,
                3 => amount_cents = r.read(f)?,
                4 => tags = Some(r.read(f)?),
                5 => items = r.read(f)?,
                6 => payload = r.read(f)?,
                _ => r.skip(f)?,
            }
        }
        let tags = match tags {
            Some(tags) => tags,
            None => ferry_wire::read_default(ORDER_TAGS_DEFAULT)?,
        };
        Ok(OrderView { id, customer, amount_cents, tags, items, payload })
    }

    fn to_owned_value(&self) -> Result<Order, DecodeError> {
        Ok(Order {
            id: self.id,
            customer: self.customer.to_owned(),
            amount_cents: self.amount_cents,
            tags: self.tags.to_owned_value()?,
            items: self.items.to_owned_value()?,
            payload: self.payload.to_vec(),
        })
    }
}

impl Message for Order {
    type View<'a> = OrderView<'a>;
}

/// Silences "unused" in crates that include this file but not every item.
#[allow(dead_code)]
fn _uses(_: Field) {}

/// The benchmark payload: 10 items with 8-character notes and 256 bytes of binary.
pub fn sample_order() -> Order {
    Order {
        items: (0..10)
            .map(|i| Item {
                sku: 20_000 + i,
                qty: 1 + i as u32,
                price: 9.99 + i as f64,
                note: format!("note-{i:03}"),
            })
            .collect(),
        payload: (0..=255u8).collect(),
        ..Order::default()
    }
}
