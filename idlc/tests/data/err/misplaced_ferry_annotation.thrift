struct A {
  1: i32 a (ferry.timeout_ms = "10")
} (ferry.idempotent = "true")
