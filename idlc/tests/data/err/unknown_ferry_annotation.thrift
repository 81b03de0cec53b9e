service S {
  void f() (ferry.timout_ms = "100", ferry.retries = "3")
}
