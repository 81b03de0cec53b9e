// A missing `)` before the next method: one error, and the annotations stay the method's.
service S {
  i32 get(1: string key (ferry.timeout_ms = "5")
  void ping()
}
