/** A ledger whose transfers ask a risk service first: services that call services. */
namespace rs ledger

exception Refused {
  1: string why
}

service Risk {
  /** Whether a transfer may go ahead; takes as long as a real scoring model. */
  bool approve(1: string source, 2: string target, 3: i64 cents)
}

service Ledger {
  /** Moves money once approved; never runs twice (at-most-once), so not idempotent. */
  i64 transfer(1: string source, 2: string target, 3: i64 cents) throws (1: Refused refused)
  i64 balance(1: string account) (ferry.idempotent = "true")
}
