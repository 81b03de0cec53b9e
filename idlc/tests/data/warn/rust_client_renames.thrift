// Method names the Rust client must rename (spec/idl.md § 7): W0234 says so.
service S {
  void new()
  void get()
  void get_start()
}
