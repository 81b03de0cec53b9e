// A field without a type is reported where it is, not on the next line.
struct S {
  1: i32 a,
  2: value
  3: i32 c
}
