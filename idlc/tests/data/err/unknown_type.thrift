struct Person {
  1: strng name
  2: list<Persn> friends
  3: Adress home
}
