enum E {
  A = 1,
  B = 2,
  A = 3
}
