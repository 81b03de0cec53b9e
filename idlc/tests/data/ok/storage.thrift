/**
 * A wide-column store API in the style of Cassandra's: many exceptions per method,
 * binary keys, nested maps.
 */
namespace java org.example.storage
namespace rs ferry.storage

const string VERSION = "19.39.0"

struct Column {
  1: required binary name,
  2: optional binary value,
  3: optional i64 timestamp,
  4: optional i32 ttl,
}

struct SuperColumn {
  1: required binary name,
  2: required list<Column> columns,
}

enum ConsistencyLevel { ONE = 1, QUORUM = 2, LOCAL_QUORUM = 3, EACH_QUORUM = 4, ALL = 5, ANY = 6, TWO = 7, THREE = 8 }

exception NotFoundException {}
exception InvalidRequestException { 1: required string why }
exception UnavailableException {}
exception TimedOutException { 1: optional i32 acknowledged_by }

struct Mutation {
  1: optional Column column,
  2: optional SuperColumn super_column,
}

service Storage {
  void login(1: required map<string, string> credentials) throws (1: InvalidRequestException ire),
  Column get(1: required binary key, 2: required string path, 3: required ConsistencyLevel level = ConsistencyLevel.ONE)
    throws (1: InvalidRequestException ire, 2: NotFoundException nfe, 3: UnavailableException ue, 4: TimedOutException te),
  void batch_mutate(1: required map<binary, map<string, list<Mutation>>> mutation_map, 2: required ConsistencyLevel level)
    throws (1: InvalidRequestException ire, 2: UnavailableException ue, 3: TimedOutException te),
  string describe_version(),
}
