/*
 * Server reflection (spec/protocol.md § 4.2), normative: every Ferry server with
 * reflection on answers the method `ferry.reflect` (id 0x878530ec, FNV-1a of the name like any
 * method) with these structs, in the canonical encoding of spec/wire.md.
 */
namespace rs ferry_reflect

/// One IDL file a listed service needs.
struct SchemaFile {
  /// Unique within the reply. Its stem (`shared` for `lib/shared.thrift`) is the name other
  /// files refer to its definitions by.
  1: string name
  /// The file's text, as the server's code was generated from it.
  2: string text
  /// Its `include` statements: the path as written → the `name` of the file it names.
  3: map<string, string> includes
}

/// One service the server hosts.
struct ServiceInfo {
  /// Its name in the IDL.
  1: string name
  /// The `name` of the file that declares it.
  2: string file
  /// Its methods by IDL name, inherited ones included.
  3: list<string> methods
}

struct Reflection {
  /// Every service with an embedded schema.
  1: list<ServiceInfo> services
  /// Every file those services need (their own and what they include, directly or not).
  2: list<SchemaFile> files
  /// Methods served without a schema (handlers registered by hand), by name.
  3: list<string> unlisted_methods
}

service Reflect {
  /// `only`: describe that one service (and only the files it needs); a name the server
  /// does not host gives empty lists.
  Reflection ferry.reflect(1: optional string only)
}
