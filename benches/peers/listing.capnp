@0xa7c3e1f2b4d65809;
# The second benchmark payload for Cap'n Proto (generated at build time with capnp).
struct Entry { name @0 :Text; owner @1 :Text; size @2 :Int64; mode @3 :Int32; mtime @4 :Int64; }
struct Listing { path @0 :Text; entries @1 :List(Entry); }
