// The second benchmark payload: a directory listing, 200 small structs each holding two
// short strings. Where the order payload is dominated by one blob and a few fields, this
// one stresses per-element costs: many keys, many length prefixes, many UTF-8 checks.
namespace rs listing

struct Entry { 1: string name; 2: string owner; 3: i64 size; 4: i32 mode; 5: i64 mtime }

struct Listing {
  1: string path
  2: list<Entry> entries
}
