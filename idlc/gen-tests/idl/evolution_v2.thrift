namespace rs evolution_v2

enum Status { ACTIVE = 1, SUSPENDED = 2, DELETED = 3 }

struct Address { 1: string city; 2: optional string zip }

struct Account {
  1: required i64 id
  2: string name
  3: Status status = Status.ACTIVE
  4: optional string email
  5: list<string> tags = ["new"]
  6: optional Address address
}

service Accounts {
  Account get(1: i64 id)
  list<Account> listAll(1: i32 limit = 10)
}
