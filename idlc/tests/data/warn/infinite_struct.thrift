struct Node {
  1: required Node next
}
struct A { 1: required B b }
struct B { 1: required A a }
