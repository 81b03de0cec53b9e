// `ferry.borrow`: handlers that receive the zero-copy view of their arguments.
namespace rs borrow

struct Item { 1: string name; 2: i64 qty }
union Pick { 1: i32 index; 2: string key }

service Blobs {
  /// Reads its arguments where they lie in the request: no copy of `data` or the strings.
  i64 digest(1: binary data, 2: list<string> tags, 3: optional Pick pick, 4: required Item item,
             5: i32 seed = 7, 6: map<string, Item> extra) (ferry.borrow = "true")
  /// The same arguments, owned.
  i64 digest_owned(1: binary data, 2: list<string> tags, 3: optional Pick pick,
                   4: required Item item, 5: i32 seed = 7, 6: map<string, Item> extra)
}
