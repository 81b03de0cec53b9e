// Misspelled base types, a transposition, an unknown enum value: each gets a suggestion or the list of valid values.
struct Entry { 1: i32 x }
enum Color { RED, GREEN }
struct S {
  1: binray a,
  2: strin b,
  3: i23 c,
  4: Entyr d,
  5: Color e = Color.BLUE,
}
