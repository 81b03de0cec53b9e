@0xd1f2a3b4c5d6e7f8;
# The benchmark payload for Cap'n Proto (generated at build time with capnp; never committed).
struct Item { sku @0 :UInt64; qty @1 :UInt32; price @2 :Float64; note @3 :Text; }
struct Order { id @0 :UInt64; customer @1 :Text; amountCents @2 :Int64; tags @3 :List(Text); items @4 :List(Item); payload @5 :Data; }
