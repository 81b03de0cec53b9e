union U {
  1: required i32 a
  2: optional string b
}
