struct A {
  1: i32 count = "many"
  2: list<string> tags = ["a", 3]
  3: double ratio = "half"
}
