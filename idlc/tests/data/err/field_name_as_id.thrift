struct A {
  name: string
}
