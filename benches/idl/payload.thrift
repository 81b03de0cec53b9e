// The benchmark payload (the same in every bench of the project).
namespace rs payload

struct Item { 1: u64 sku; 2: u32 qty; 3: double price; 4: string note }

struct Order {
  1: u64 id = 123456789
  2: string customer = "customer-000042"
  3: i64 amount_cents = -98765
  4: list<string> tags = ["priority", "gift", "eu-west"]
  5: list<Item> items
  6: binary payload
}

/// Handlers of the order, owned and borrowed (`cargo bench -p ferry-benches --bench wire --
/// handler`): what a handler pays to receive its arguments.
service Orders {
  i64 submit(1: Order order)
  i64 submit_borrowed(1: Order order) (ferry.borrow = "true")
}
