namespace rs evolution_v1

enum Status { ACTIVE = 1, SUSPENDED = 2 }

struct Account {
  1: required i64 id
  2: string name
  3: Status status = Status.ACTIVE
}

service Accounts {
  Account get(1: i64 id)
}
