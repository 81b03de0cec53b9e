// Removed members' ids retired, the rest in use: no diagnostic.
struct Account {
  1: string name
  3: i64 balance
  10: bool frozen
} (ferry.reserved = "2, 7-9")

enum Colour {
  RED = 1
  BLUE = 5
} (ferry.reserved = "2-4")
