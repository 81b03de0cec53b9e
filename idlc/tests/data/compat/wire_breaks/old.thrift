namespace rs demo
enum Color { RED = 1, GREEN = 2, BLUE = 3 }
struct User {
  1: required i64 id
  2: string name
  3: optional string email
  4: required string team
}
union Shape { 1: double radius; 2: string label }
exception NotFound { 1: string what }
service Users {
  User get(1: i64 id) throws (1: NotFound nf)
  void touch(1: i64 id)
  oneway void log(1: string line)
  list<User> all()
}
