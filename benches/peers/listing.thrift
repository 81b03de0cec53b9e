// The second benchmark payload for Apache Thrift (compact protocol; generated at build time).
struct Entry { 1: string name; 2: string owner; 3: i64 size; 4: i32 mode; 5: i64 mtime }
struct Listing { 1: string path; 2: list<Entry> entries }
