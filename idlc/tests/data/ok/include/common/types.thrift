// Shared vocabulary, found through `-I tests/data/ok/include`.
namespace rs common.types
namespace java com.example.common

typedef string Guid
typedef i64 Timestamp

/** Where a request came from. */
enum Region {
  US_EAST = 1,
  US_WEST,
  EU_WEST = 0x10,
  AP_SOUTH = -1, // negative values are legal
}

const i32 MAX_PAGE_SIZE = 1000
const Region DEFAULT_REGION = Region.EU_WEST

struct Page {
  1: i32 offset = 0
  2: i32 limit = MAX_PAGE_SIZE
}

exception NotFound {
  1: string what
  2: optional Guid id
}
