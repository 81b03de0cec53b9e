include "common/types.thrift"

namespace rs base

/// Health and counters every service exposes (fb303 style).
enum Status { DEAD = 0, STARTING = 1, ALIVE = 2, STOPPING = 3, STOPPED = 4, WARNING = 5 }

service BaseService {
  string getName(),
  Status getStatus(),
  map<string, i64> getCounters(),
  i64 aliveSince(),
  oneway void reinitialize(),
  oneway void shutdown(),
  types.Timestamp now() (ferry.idempotent = "true")
}
