enum E {
  BIG = 3000000000
  NEXT
}
