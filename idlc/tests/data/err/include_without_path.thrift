include shared
struct A {}
