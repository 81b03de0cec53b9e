// Kitex marks streaming methods with `streaming.mode`: accepted, generated as unary, and said.
service Chat {
  string talk(1: string line) (streaming.mode = "bidirectional")
  string feed(1: string topic) (streaming.mode = "server")
  string ping(1: string x) (streaming.mode = "unary")
}
