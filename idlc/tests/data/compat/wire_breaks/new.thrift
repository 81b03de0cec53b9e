namespace rs demo
enum Color { RED = 1, GREEN = 5, AZURE = 3 }
struct User {
  1: required i64 id
  2: string full_name
  3: required string email
  5: required i32 age
  6: required i32 x (ferry.compat.allow = "C0103")
}
union Shape { 1: double radius }
exception NotFound { 1: i32 what }
exception Denied { 1: string why }
service Users {
  User get(1: string id) throws (1: NotFound nf, 2: Denied d)
  void touch(1: i64 id)
  void log(1: string line)
}
