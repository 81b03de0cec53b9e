struct NotAnError {}
service S {
  void f() throws (1: NotAnError e, 2: i32 code)
}
