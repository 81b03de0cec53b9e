// The benchmark payload for Apache Thrift (compact protocol; generated at build time).
struct Item { 1: i64 sku; 2: i32 qty; 3: double price; 4: string note }
struct Order { 1: i64 id; 2: string customer; 3: i64 amount_cents; 4: list<string> tags; 5: list<Item> items; 6: binary payload }
