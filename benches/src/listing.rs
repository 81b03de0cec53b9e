//! The second benchmark payload: a directory listing of 200 entries, each two short strings
//! and three integers (`idl/listing.thrift`), through idlc-generated code.

ferry_runtime::include_idl!("listing");

pub use listing::{Entry, Listing};

/// How many entries the sample listing holds.
pub const ENTRIES: usize = 200;

/// The sample listing: names of 9–16 bytes, owners from a small set, sizes and times of
/// every varint width from one to five bytes.
pub fn sample_listing() -> Listing {
    const STEMS: [&str; 7] = ["main", "lib", "config", "README", "index", "data-set", "a"];
    const EXTS: [&str; 5] = ["rs", "toml", "md", "json", "tar.gz"];
    const OWNERS: [&str; 4] = ["root", "alice", "www-data", "build-bot"];
    Listing {
        path: "/srv/projects/ferry/target/release/deps".into(),
        entries: (0..ENTRIES)
            .map(|i| Entry {
                name: format!("{}-{i:03}.{}", STEMS[i % STEMS.len()], EXTS[i % EXTS.len()]),
                owner: OWNERS[i % OWNERS.len()].into(),
                size: ((i as i64) * 7919).pow(2) % 50_000_000,
                mode: if i % 9 == 0 { 0o40755 } else { 0o100644 },
                mtime: 1_764_000_000 + (i as i64) * 37,
            })
            .collect(),
    }
}

/// Folds one entry's fields into a read-all accumulator; every format's bench uses it.
pub fn fold_entry(
    acc: u64,
    name_len: usize,
    owner_len: usize,
    size: i64,
    mode: i32,
    mtime: i64,
) -> u64 {
    acc ^ (name_len as u64) ^ ((owner_len as u64) << 8) ^ size as u64 ^ mode as u64 ^ mtime as u64
}

/// Decodes a view of the listing and reads every field of every entry.
pub fn read_every_field(bytes: &[u8]) -> u64 {
    read_every_field_with(bytes, &ferry_wire::DecodeOptions::DEFAULT)
}

/// [`read_every_field`] under `options` (`DecodeOptions::LAZY` for lazy validation).
pub fn read_every_field_with(bytes: &[u8], options: &ferry_wire::DecodeOptions) -> u64 {
    let l: listing::views::Listing<'_> =
        ferry_wire::decode_view_with(bytes, options).expect("valid listing");
    let mut acc = l.path.len() as u64;
    if let Some(entries) = l.entries {
        for e in entries {
            let e = e.expect("valid entry");
            acc = fold_entry(acc, e.name.len(), e.owner.len(), e.size, e.mode, e.mtime);
        }
    }
    acc
}
