enum E {
  A = "one",
  B = 2
}
