// Schemas of the wire test vectors (valid.txt, invalid.txt). `schema = dynamic` vectors are
// read without a schema, by a generic walker that knows only wire types.
namespace rs ferry.vectors

enum Color { RED = 1, GREEN = 2, BLUE = -3 }

struct Point { 1: i32 x; 2: i32 y }

union Shape { 1: Point point; 2: double radius; 3: string label }

struct AllTypes {
  1: optional bool flag
  2: optional i8 tiny
  3: optional i16 small
  4: optional i32 medium
  5: optional i64 large
  6: optional u8 ubyte
  7: optional u16 ushort
  8: optional u32 uint
  9: optional u64 ulong
  10: optional f32 single
  11: optional double real
  12: optional string text
  13: optional binary blob
  14: optional uuid id
  15: optional Color color
  16: optional list<i32> numbers
  17: optional set<string> names
  18: optional map<string, i64> counts
  19: optional Point point
  20: optional list<list<i32>> matrix
  21: optional Shape shape
  22: optional map<i32, list<Point>> groups
  23: optional list<double> reals
}

struct Required { 1: required i32 id; 2: string name }

struct Node { 1: i32 value; 2: optional Node next }

struct PersonV1 { 1: string name; 2: i32 age }

// Thrift's implicit ids (spec/idl.md § 4): `name` is -1, `codes` -2. Canonical order is by
// signed id: codes (-2), name (-1), id (1), whatever the declaration order.
struct Legacy { string name; 1: i32 id; list<i32> codes }

struct PersonV2 {
  1: string name
  2: i32 age
  3: optional string email
  4: list<string> nicknames
  5: optional Point home
}

// The benchmark payload.
struct Item  { 1: u64 sku; 2: u32 qty; 3: double price; 4: string note }
struct Order { 1: u64 id = 123456789; 2: string customer = "customer-000042";
               3: i64 amount_cents = -98765; 4: list<string> tags = ["priority","gift","eu-west"];
               5: list<Item> items; 6: binary payload }
