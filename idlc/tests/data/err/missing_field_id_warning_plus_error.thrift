struct A {
  string no_id
  1: Unknown u
}
