//! Generated code at work: round trips through encode → view → owned for every construct,
//! a generated service end to end over the runtime, and schema evolution.
#![allow(clippy::unwrap_used)] // Tests: a panic is how a failure is reported.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

mod calc;

use calc::{exercise_calculator, Calc};
use ferry_idlc_gen_tests::{calculator, everything, keywords, recursive, storage, v1, v2};
use ferry_runtime::wire::{decode_view, Encode, Message, View};
use ferry_runtime::{Client, ClientConfig, Context, RpcError, Server, ServerConfig, ServiceError};

fn round_trip<M: Message + PartialEq + std::fmt::Debug>(value: &M) {
    let bytes = value.encode_to_vec();
    assert_eq!(bytes.len(), value.encoded_len(), "{value:?}");
    let view = decode_view::<M::View<'_>>(&bytes).unwrap();
    assert_eq!(&view.to_owned_value().unwrap(), value);
    assert_eq!(&M::decode(&bytes).unwrap(), value);
}

#[test]
fn idl_defaults_become_rust_defaults() {
    use everything::everything::*;
    let s = Scalars::default();
    assert!(s.flag);
    assert_eq!((s.old_byte, s.tiny, s.small, s.medium), (-1, 127, i16::MIN, i32::MAX));
    assert_eq!(
        (s.large, s.ubyte, s.ushort, s.uint, s.ulong),
        (i64::MIN, u8::MAX, u16::MAX, u32::MAX, u64::MAX)
    );
    assert_eq!((s.single, s.real, s.whole, s.exp), (1.5, -2.5e-3, 3.0, 1e10));
    assert_eq!(s.text, "tab\there \"quoted\" é");
    assert_eq!(s.blob, b"raw");
    assert_eq!(s.id[..2], [0x00, 0x00]);
    let c = Containers::default();
    assert_eq!(c.numbers, vec![1, 2, 3]);
    assert_eq!(c.names, BTreeSet::from(["a".to_owned(), "b".to_owned()]));
    assert_eq!(c.counts, BTreeMap::from([("x".to_owned(), 1), ("y".to_owned(), -2)]));
    assert_eq!(c.aliased, vec![4, 5]);
    assert_eq!(c.by_region.len(), 1);
    assert_eq!(READ_FLAG, Flags::READ);
    assert_eq!(REFERENCED, 1000);
    assert_eq!(INT32, -0x1f);
    assert_eq!(FROM_INT, -31);
    assert!(!DEFAULT_SCALARS().flag && DEFAULT_SCALARS().tiny == 1);
    assert_eq!(NESTED()["a"], vec![1, 2]);
    assert_eq!(SINGLE, "single 'quoted'");
}

#[test]
fn every_construct_round_trips() {
    use everything::everything::*;
    round_trip(&Scalars::default());
    round_trip(&Scalars {
        text: "ünïcode ✓".into(),
        blob: vec![0, 255],
        id: [7; 16],
        ..Scalars::default()
    });
    round_trip(&Containers {
        deep: vec![vec![BTreeMap::from([(1, BTreeSet::from(["x".to_owned()]))])], vec![]],
        keyed: vec![(BTreeSet::from([1, 2]), vec![Scalars::default()])],
        index: BTreeMap::from([("k".to_owned(), vec!["g1".to_owned()])]),
        ..Containers::default()
    });
    round_trip(&Requiredness {
        must: "m".into(),
        may: Some("x".into()),
        usually: "u".into(),
        negative_id: -4,
    });
    round_trip(&Shape::sides(vec![1.0, 2.0, 3.0]));
    round_trip(&Shape::Unknown);
    round_trip(&r#type {
        r#match: 1,
        Self_: "S".into(),
        self_: "s".into(),
        int: true,
        r#fn: 2,
        unsigned: "u".into(),
    });
    let flags = Flags::from_value(99);
    assert_eq!(flags, Flags::Other(99), "unknown enum values are kept");
    assert_eq!(flags.value(), 99);
}

#[test]
fn recursive_types_are_boxed_and_round_trip() {
    use recursive::recursive::*;
    let leaf = RecTree { children: vec![], item: 2 };
    round_trip(&RecTree { children: vec![leaf.clone(), leaf], item: 1 });
    let list = RecList { nextitem: Some(Box::new(RecList { nextitem: None, item: 2 })), item: 1 };
    round_trip(&list);
    round_trip(&CoRec {
        other: Some(Box::new(CoRec2 { other: Some(Box::new(CoRec::default())) })),
    });
    let expr = Expr::binop(Box::new(BinOp {
        op: "+".into(),
        left: Box::new(Expr::literal(1)),
        right: Box::new(Expr::literal(2)),
    }));
    round_trip(&expr);
}

#[test]
fn keywords_and_prelude_names_work() {
    use keywords::keywords::*;
    let value = struct_ {
        r#type: 1,
        r#match: "m".into(),
        r#loop: r#match::Self_,
        r#unsized: Some(true),
        r#where: vec!["w".into()],
        crate_: 2,
        super_: 3,
        int: 4.5,
        char: vec![1],
    };
    round_trip(&value);
    round_trip(&enum_::r#dyn(value));
    round_trip(&Option { Some: 1, None: "n".into() });
    round_trip(&String {
        Box: Vec { String: Some(Result { Ok: Option::default(), Err: vec![] }) },
    });
}

#[test]
fn required_fields_are_enforced_when_decoding() {
    use storage::storage::*;
    // An empty message lacks Column's required `name`.
    let err = Column::decode(&[]).unwrap_err();
    assert_eq!(err.kind().code(), "missing_required_field");
    round_trip(&Column {
        name: b"n".to_vec(),
        value: Some(b"v".to_vec()),
        timestamp: Some(1),
        ttl: None,
    });
}

#[test]
fn old_and_new_schemas_read_each_other() {
    let new = v2::evolution_v2::Account {
        id: 7,
        name: "ada".into(),
        status: v2::evolution_v2::Status::DELETED,
        email: Some("a@b".into()),
        tags: vec!["vip".into()],
        address: Some(v2::evolution_v2::Address { city: "London".into(), zip: None }),
    };
    let old = v1::evolution_v1::Account::decode(&new.encode_to_vec()).unwrap();
    assert_eq!((old.id, old.name.as_str()), (7, "ada"));
    assert_eq!(old.status, v1::evolution_v1::Status::Other(3), "a value added later is kept");
    let back = v2::evolution_v2::Account::decode(&old.encode_to_vec()).unwrap();
    assert_eq!(back.tags, vec!["new".to_owned()], "an absent field takes its IDL default");
    assert_eq!((back.email, back.address), (None, None));
    assert_eq!(
        back.status,
        v2::evolution_v2::Status::DELETED,
        "the unknown value survived the old reader"
    );
}

#[test]
fn a_generated_service_works_end_to_end() {
    let server = Server::bind(
        "127.0.0.1:0".parse().unwrap(),
        calculator::tutorial::Calculator::service(Arc::new(Calc)),
        ServerConfig::default(),
    )
    .unwrap();
    exercise_calculator(&server.local_addr().to_string());
    // Generated services and clients name their methods (inherited ones too) in metrics.
    let s = server.metrics();
    assert_eq!(s["add"].calls, 1, "{s}");
    assert_eq!(s["getName"].calls, 1, "{s}");
    // A declared exception is a reply; "not implemented" (an internal error) is a failure.
    assert_eq!((s["calculate"].calls, s["calculate"].failures), (3, 1), "{s}");
    assert!(s.iter().all(|(_, m)| m.name.is_some()), "every method has its name:\n{s}");
}

#[test]
fn typed_clients_name_their_methods_in_metrics() {
    let server = Server::bind(
        "127.0.0.1:0".parse().unwrap(),
        calculator::tutorial::Calculator::service(Arc::new(Calc)),
        ServerConfig { access_log: true, ..ServerConfig::default() },
    )
    .unwrap();
    let raw = Arc::new(
        Client::connect(server.local_addr(), ferry_runtime::ClientConfig::default()).unwrap(),
    );
    let client = calculator::tutorial::Calculator::Client::new(Arc::clone(&raw));
    assert_eq!(client.add(1, 1).unwrap(), 2);
    client.ping().unwrap();
    let c = raw.metrics();
    assert_eq!((c["add"].calls, c["ping"].calls), (1, 1), "{c}");
    assert!(c.to_string().contains("add"), "{c}");
}

struct AccountsV1;
impl v1::evolution_v1::Accounts::Server for AccountsV1 {
    fn get(
        &self,
        _: &Context,
        id: i64,
    ) -> Result<v1::evolution_v1::Account, ServiceError<ferry_runtime::NoException>> {
        Ok(v1::evolution_v1::Account {
            id,
            name: "old".into(),
            status: v1::evolution_v1::Status::SUSPENDED,
        })
    }
}

struct AccountsV2;
impl v2::evolution_v2::Accounts::Server for AccountsV2 {
    fn get(
        &self,
        _: &Context,
        id: i64,
    ) -> Result<v2::evolution_v2::Account, ServiceError<ferry_runtime::NoException>> {
        Ok(v2::evolution_v2::Account {
            id,
            name: "new".into(),
            email: Some("n@e".into()),
            ..Default::default()
        })
    }
    fn listAll(
        &self,
        _: &Context,
        limit: i32,
    ) -> Result<Vec<v2::evolution_v2::Account>, ServiceError<ferry_runtime::NoException>> {
        Ok((0..i64::from(limit))
            .map(|id| v2::evolution_v2::Account { id, ..Default::default() })
            .collect())
    }
}

fn client_for(server: &Server) -> Arc<Client> {
    Arc::new(Client::connect(server.local_addr(), ClientConfig::default()).unwrap())
}

#[test]
fn v1_clients_and_v2_servers_interoperate_both_ways() {
    let local = "127.0.0.1:0".parse().unwrap();
    let new_server = Server::bind(
        local,
        v2::evolution_v2::Accounts::service(Arc::new(AccountsV2)),
        ServerConfig::default(),
    )
    .unwrap();
    let old_client = v1::evolution_v1::Accounts::Client::new(client_for(&new_server));
    let got = old_client.get(5).unwrap();
    assert_eq!(
        (got.id, got.name.as_str(), got.status),
        (5, "new", v1::evolution_v1::Status::ACTIVE)
    );

    let old_server = Server::bind(
        local,
        v1::evolution_v1::Accounts::service(Arc::new(AccountsV1)),
        ServerConfig::default(),
    )
    .unwrap();
    let new_client = v2::evolution_v2::Accounts::Client::new(client_for(&old_server));
    let got = new_client.get(6).unwrap();
    assert_eq!((got.id, got.name.as_str()), (6, "old"));
    assert_eq!(
        got.tags,
        vec!["new".to_owned()],
        "fields the old server does not know take IDL defaults"
    );
    // A method the old server lacks is refused without running, naming the method.
    match new_client.listAll(3) {
        Err(RpcError::Call(ferry_runtime::CallError::UnknownMethod(m))) => {
            assert!(m.contains("no method `listAll`"), "{m}")
        }
        other => panic!("expected an unknown-method error, got {other:?}"),
    }
}

/// `ferry.borrow`: the handler gets the arguments' view (strings, bytes and containers
/// borrowed from the request) and computes what the owned handler computes.
#[test]
fn borrowed_handlers_read_their_arguments_in_place() {
    use ferry_idlc_gen_tests::borrow::borrow::{Blobs, Item, Pick};
    use ferry_runtime::NoException;
    struct B;
    fn mix(acc: i64, bytes: &[u8]) -> i64 {
        bytes.iter().fold(acc, |a, b| a.wrapping_mul(31).wrapping_add(i64::from(*b)))
    }
    impl Blobs::Server for B {
        fn digest(
            &self,
            _: &Context,
            args: Blobs::digest_ArgsView<'_>,
        ) -> Result<i64, ServiceError<NoException>> {
            let data: &[u8] = args.data; // borrowed from the request: no copy
            let mut acc = mix(i64::from(args.seed), data);
            for tag in args.tags.into_iter().flatten() {
                acc = mix(acc, tag.map_err(|e| e.to_string())?.as_bytes());
            }
            if let Some(ferry_idlc_gen_tests::borrow::borrow::views::Pick::key(k)) = args.pick {
                acc = mix(acc, k.as_bytes());
            }
            acc = mix(acc, args.item.name.as_bytes()) ^ args.item.qty;
            Ok(acc)
        }
        fn digest_owned(
            &self,
            _: &Context,
            data: Vec<u8>,
            tags: Vec<String>,
            pick: Option<Pick>,
            item: Item,
            seed: i32,
            _extra: std::collections::BTreeMap<String, Item>,
        ) -> Result<i64, ServiceError<NoException>> {
            let mut acc = mix(i64::from(seed), &data);
            for tag in &tags {
                acc = mix(acc, tag.as_bytes());
            }
            if let Some(Pick::key(k)) = &pick {
                acc = mix(acc, k.as_bytes());
            }
            Ok(mix(acc, item.name.as_bytes()) ^ item.qty)
        }
    }
    let server = Server::bind(
        "127.0.0.1:0".parse().unwrap(),
        Blobs::service(Arc::new(B)),
        ServerConfig::default(),
    )
    .unwrap();
    let client = Blobs::Client::new(client_for(&server));
    let data: Vec<u8> = (0..1 << 20).map(|i| (i * 7) as u8).collect(); // 1 MiB
    let tags = vec!["a".to_owned(), "bé".to_owned()];
    let item = Item { name: "widget".into(), qty: 3 };
    let pick = Some(Pick::key("k".into()));
    let borrowed = client
        .digest(data.clone(), tags.clone(), pick.clone(), item.clone(), 7, Default::default())
        .unwrap();
    let owned = client.digest_owned(data, tags, pick, item, 7, Default::default()).unwrap();
    assert_eq!(borrowed, owned);
}
