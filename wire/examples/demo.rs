//! The wire format in action: encode the benchmark order, show its size and bytes, read it
//! back through a zero-copy view, and walk it without a schema.
//!
//! `cargo run -p ferry-wire --example demo`
#[path = "../tests/common/payload.rs"]
mod payload;

use ferry_wire::{decode_view, dynamic, DecodeOptions, Encode};
use payload::{sample_order, OrderView};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let order = sample_order();
    let bytes = order.encode_to_vec();
    println!("Order with {} items encodes to {} bytes:\n", order.items.len(), bytes.len());
    for (row, chunk) in bytes.chunks(16).enumerate() {
        let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        let text: String =
            chunk.iter().map(|&b| if b.is_ascii_graphic() { b as char } else { '.' }).collect();
        println!("{:04x}  {:<47}  {text}", row * 16, hex.join(" "));
    }

    let view: OrderView<'_> = decode_view(&bytes)?;
    println!(
        "\nzero-copy view: id {} customer {:?} amount {}",
        view.id, view.customer, view.amount_cents
    );
    for item in view.items.iter().take(3) {
        let item = item?;
        println!(
            "  item sku {} qty {} price {} note {:?}",
            item.sku, item.qty, item.price, item.note
        );
    }
    println!(
        "  … {} items, {} tags, {} payload bytes",
        view.items.len(),
        view.tags.len(),
        view.payload.len()
    );

    let walked = dynamic::decode(&bytes, &DecodeOptions::DEFAULT)?;
    let text = walked.to_string();
    println!("\nschema-less walk (first lines):");
    for line in text.lines().take(12) {
        println!("  {line}");
    }

    let mut corrupt = bytes.clone();
    corrupt.truncate(100);
    match decode_view::<OrderView<'_>>(&corrupt) {
        Ok(_) => println!("\ntruncated input decoded?!"),
        Err(e) => println!("\ntruncated to 100 bytes: {e}"),
    }
    Ok(())
}
