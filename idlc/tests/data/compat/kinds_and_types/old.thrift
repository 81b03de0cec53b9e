typedef i64 Timestamp
struct Event { 1: Timestamp at; 2: i64 count; 3: u32 flags; 4: bool done; 5: binary blob; 6: double ratio }
struct Point { 1: i32 x }
service Log {
  i64 size()
  Event last()
}
