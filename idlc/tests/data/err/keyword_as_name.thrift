// Thrift keywords cannot name anything; each is one error (E0009), and the keyword stands
// in for the name so the rest of the file is still checked.
struct Query {
  1: optional string service
  2: i32 limit
}

struct exception { 1: i32 code }

service Search {
  list<string> find(1: Query q, 2: bool throws)
  void ping()
}

// After the keywords, ordinary errors are still found.
struct After { 1: strng name }
