struct A {
  40000: i32 a
  -40000: i32 b
}
