service S {
  void f() (ferry.timeout_ms = "-5")
  void g() (ferry.idempotent = "yes")
  void h() (ferry.timeout_ms = "0")
}
