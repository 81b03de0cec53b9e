typedef string Timestamp
struct Event { 1: Timestamp at; 2: i16 count; 3: i32 flags; 4: i32 done; 5: string blob; 6: f32 ratio }
union Point { 1: i32 x }
service Log {
  string size()
  void last()
}
