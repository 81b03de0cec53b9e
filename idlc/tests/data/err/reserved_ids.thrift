// Ids retired with `ferry.reserved` cannot come back: a peer built from the old IDL would
// read them with their old meaning.
struct Account {
  1: string name
  3: i64 balance
  8: bool frozen
} (ferry.reserved = "2, 7-9")

enum Colour {
  RED = 1
  GREEN      // implicitly 2
  BLUE = 5
} (ferry.reserved = "2-3")

// Not a list of ids.
struct Bad {
  1: string x
} (ferry.reserved = "two")

service S {
  void f() (ferry.reserved = "1")
}

typedef i32 Number (ferry.reserved = "1")
