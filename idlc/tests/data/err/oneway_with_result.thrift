service S {
  oneway i32 count()
}
