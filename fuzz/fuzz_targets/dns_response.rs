//! The discovery resolver's DNS response parser fed arbitrary bytes as the answer to a
//! query: records or a precise error, never a panic, names within DNS's bounds.
#![no_main]
use ferry_runtime::discovery::dns::{self, Record};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The id the "query" had: the response's own first two bytes, so most inputs pass the
    // id check and reach the records.
    let id = data.get(..2).map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
    let name = "_echo._tcp.ferry.test";
    if let Ok(records) = dns::parse_response(id, name, data) {
        for r in records {
            let names = match &r {
                Record::Address { name, .. } => [name.len(), 0],
                Record::Srv { name, target, .. } | Record::Cname { name, target } => {
                    [name.len(), target.len()]
                }
            };
            assert!(names.iter().all(|&n| n <= 253), "{r:?}");
        }
    }
    // And the question's name, checked the same way, on any bytes as a name.
    if let Ok(name) = std::str::from_utf8(data) {
        let _ = dns::query(id, name, dns::RecordType::Srv);
    }
});
