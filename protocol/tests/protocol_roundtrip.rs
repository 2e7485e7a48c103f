//! decode(encode(x)) == x for every message, both directions, plus forward compatibility (longer
//! blocks) and the encoders' buffer handling.

mod protocol_common;

use proptest::prelude::*;
use protocol::*;
use protocol_common::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn client_roundtrip(m in client_message()) {
        let bytes = enc_client(&m);
        prop_assert_eq!(bytes.len(), m.encoded_len());
        prop_assert_eq!(client_from(&bytes), Ok(m));
    }

    #[test]
    fn server_roundtrip(m in server_message()) {
        let bytes = enc_server(&m);
        prop_assert_eq!(bytes.len(), m.encoded_len());
        prop_assert_eq!(server_from(&bytes), Ok(m));
    }

    /// A block longer than the version-1 block (fields appended by a later version) decodes to
    /// the same message; the tail is ignored.
    #[test]
    fn longer_block_is_accepted(m in client_message(), s in server_message(), tail in proptest::collection::vec(any::<u8>(), 1..64), version in 1u16..5) {
        let mut c = enc_client(&m);
        c.extend_from_slice(&tail);
        fix_lengths(&mut c);
        c[8..10].copy_from_slice(&version.to_le_bytes());
        prop_assert_eq!(client_from(&c), Ok(m));
        let mut v = enc_server(&s);
        v.extend_from_slice(&tail);
        fix_lengths(&mut v);
        prop_assert_eq!(server_from(&v), Ok(s));
    }

    /// A block shorter than the template's block is refused with BlockTooShort, except that a
    /// block that only lacks appended fields (`Fill` without `fee`, `FundingApplied` without
    /// `next_funding_time_ns`) decodes with them absent.
    #[test]
    fn shorter_block_is_rejected(m in client_message(), s in server_message(), cut in 1usize..200) {
        for (mut bytes, tid, is_client) in [(enc_client(&m), m.template_id(), true), (enc_server(&s), s.template_id(), false)] {
            let block = bytes.len() - 10;
            if block == 0 { continue; }
            let min = if is_client { block } else { ServerMessage::min_block_len_of(tid).unwrap() };
            let cut = 1 + cut % block;
            bytes.truncate(bytes.len() - cut);
            fix_lengths(&mut bytes);
            if block - cut >= min {
                // Blocks that grew by appended fields: a shorter one reads as the older version.
                match server_from(&bytes) {
                    Ok(ServerMessage::Report { report: ExecReport::Fill(f), .. }) => prop_assert_eq!(f.fee, 0),
                    Ok(ServerMessage::Report { report: ExecReport::Futures(FuturesReport::FundingApplied(f)), .. }) => {
                        prop_assert_eq!(f.funding.next_funding_time_ns, 0)
                    }
                    Ok(ServerMessage::LoginRejected(r)) => prop_assert_eq!(r.leader, None),
                    other => prop_assert!(false, "{:?}", other),
                }
                continue;
            }
            let err = if is_client { client_from(&bytes).unwrap_err() } else { server_from(&bytes).unwrap_err() };
            prop_assert_eq!(err, DecodeError::BlockTooShort { template_id: tid, block_length: (block - cut) as u16, min: min as u16 });
            prop_assert_eq!(err.reject_reason(), SessionRejectReason::BadLength);
        }
    }

    /// A stream of messages decodes message by message, whatever the read boundaries.
    #[test]
    fn stream_of_messages(ms in proptest::collection::vec(client_message(), 1..20), chunk in 1usize..64) {
        let mut wire = Vec::new();
        for m in &ms { wire.extend_from_slice(&enc_client(m)); }
        let mut got = Vec::new();
        let mut buf: Vec<u8> = Vec::new();
        for piece in wire.chunks(chunk) {
            buf.extend_from_slice(piece);
            while let Some((frame, n)) = decode_frame(&buf).unwrap() {
                got.push(ClientMessage::decode_frame(&frame).unwrap());
                buf.drain(..n);
            }
        }
        prop_assert!(buf.is_empty());
        prop_assert_eq!(got, ms);
    }

    /// encode_into_vec appends within spare capacity and never reallocates.
    #[test]
    fn encode_into_vec_respects_capacity(m in client_message(), s in server_message(), prefix in 0usize..16) {
        let need = m.encoded_len();
        let mut v = Vec::with_capacity(prefix + need);
        v.resize(prefix, 0xAA);
        let cap = v.capacity();
        prop_assert_eq!(m.encode_into_vec(&mut v), Ok(need));
        prop_assert_eq!(v.capacity(), cap);
        prop_assert_eq!(&v[prefix..], &enc_client(&m)[..]);
        // No room: error, vector untouched.
        let mut small = Vec::with_capacity(need - 1);
        let cap = small.capacity();
        if cap < need {
            let r = m.encode_into_vec(&mut small);
            prop_assert!(matches!(r, Err(EncodeError::BufferTooSmall { .. })), "{:?}", r);
            prop_assert!(small.is_empty());
            prop_assert_eq!(small.capacity(), cap);
        }
        let need = s.encoded_len();
        let mut v = Vec::with_capacity(need);
        let cap = v.capacity();
        prop_assert_eq!(s.encode_into_vec(&mut v), Ok(need));
        prop_assert_eq!(v.capacity(), cap);
        prop_assert_eq!(&v[..], &enc_server(&s)[..]);
    }

    /// A buffer one byte short is refused, never written past.
    #[test]
    fn encode_buffer_too_small(m in client_message(), s in server_message()) {
        let need = m.encoded_len();
        let mut buf = vec![0u8; need - 1];
        prop_assert_eq!(m.encode(&mut buf), Err(EncodeError::BufferTooSmall { needed: need, available: need - 1 }));
        let need = s.encoded_len();
        let mut buf = vec![0u8; need - 1];
        prop_assert_eq!(s.encode(&mut buf), Err(EncodeError::BufferTooSmall { needed: need, available: need - 1 }));
    }

    /// Reports encode the same through ExecReport::encode and ServerMessage::Report.
    #[test]
    fn report_encoders_agree(seq in any::<u64>(), r in exec_report()) {
        let mut a = [0u8; 256];
        let n = r.encode(seq, &mut a).unwrap();
        prop_assert_eq!(&a[..n], &enc_server(&ServerMessage::Report { seq, report: r })[..]);
        prop_assert_eq!(n, r.encoded_len());
    }
}

#[test]
fn reserved_bytes_are_zero_and_ignored() {
    // Encoders write zeros in reserved bytes; decoders ignore them.
    let m = ClientMessage::Cancel(engine::Cancel { order: engine::OrderRef::Client(7) });
    let mut b = enc_client(&m);
    assert!(b[10 + 9..].iter().all(|&x| x == 0));
    for x in &mut b[10 + 9..] {
        *x = 0xFF;
    }
    assert_eq!(client_from(&b), Ok(m));
}

#[test]
fn fill_fee_is_appended_and_optional() {
    use engine::Side;
    let fill = Fill {
        account: 7,
        order_id: 88,
        client_order_id: 1001,
        trade_id: 5,
        instrument: 1,
        side: Side::Buy,
        price: 6_500_000,
        qty: 50_000,
        leaves_qty: 0,
        liquidity: Liquidity::Taker,
        timestamp_ns: 1,
        fee: -1234,
        liquidation: false,
    };
    let m = ServerMessage::Report { seq: 3, report: ExecReport::Fill(fill) };
    let bytes = enc_server(&m);
    // The fee is the last field: the first 80 bytes of the block are the fill as before it.
    assert_eq!(bytes.len(), 10 + layout::fill::BLOCK_LEN);
    assert_eq!((layout::fill::FEE, layout::fill::BLOCK_LEN), (80, 88));
    assert_eq!(&bytes[10 + 80..], &(-1234i64).to_le_bytes());
    // A sender that predates the fee sends 80 bytes: decoded with fee 0 (absent).
    let mut old = bytes[..10 + 80].to_vec();
    fix_lengths(&mut old);
    assert_eq!(
        server_from(&old),
        Ok(ServerMessage::Report { seq: 3, report: ExecReport::Fill(Fill { fee: 0, ..fill }) })
    );
    // 79 bytes are too short.
    let mut short = bytes[..10 + 79].to_vec();
    fix_lengths(&mut short);
    assert_eq!(
        server_from(&short),
        Err(DecodeError::BlockTooShort { template_id: template::FILL, block_length: 79, min: 80 })
    );
}

/// `FundingApplied` (186) grew from 64 to 72 bytes by the next funding time, appended: a server
/// before it sends 64 bytes, decoded with the time absent (0). `ApplyFunding` (160) grew from 8
/// to 16: the oracle must send it (a shorter block is too short), and 0 is refused with the
/// field's offset (the engine reads 0 as "not given", which only old journal records say).
#[test]
fn next_funding_time_is_appended_to_funding_applied_and_required_in_apply_funding() {
    let funding = engine::FundingApplied {
        instrument: 3,
        rate_ppm: 100,
        mark_price: 6_050_000,
        open_interest: 137,
        paid: 83,
        received: 82,
        residue: 1,
        next_funding_time_ns: 1_767_254_400_000_000_000,
    };
    let report = ExecReport::Futures(FuturesReport::FundingApplied(FundingReport { account: 100, funding }));
    let bytes = enc_server(&ServerMessage::Report { seq: 9, report });
    assert_eq!((layout::funding_applied::NEXT_FUNDING_TIME_NS, layout::funding_applied::BLOCK_LEN), (64, 72));
    assert_eq!(&bytes[10 + 64..], &funding.next_funding_time_ns.to_le_bytes());
    let mut old = bytes[..10 + 64].to_vec();
    fix_lengths(&mut old);
    let absent = engine::FundingApplied { next_funding_time_ns: 0, ..funding };
    let want = ExecReport::Futures(FuturesReport::FundingApplied(FundingReport { account: 100, funding: absent }));
    assert_eq!(server_from(&old), Ok(ServerMessage::Report { seq: 9, report: want }));
    let mut short = bytes[..10 + 63].to_vec();
    fix_lengths(&mut short);
    assert_eq!(
        server_from(&short),
        Err(DecodeError::BlockTooShort { template_id: template::FUNDING_APPLIED, block_length: 63, min: 64 })
    );

    let apply = engine::ApplyFunding { instrument: 3, rate_ppm: 100, next_funding_time_ns: 1 };
    let bytes = enc_client(&ClientMessage::ApplyFunding(apply));
    assert_eq!((bytes.len(), &bytes[10 + 8..]), (10 + 16, &1u64.to_le_bytes()[..]));
    let mut zero = bytes.clone();
    zero[10 + 8] = 0;
    let err = client_from(&zero).unwrap_err();
    assert_eq!(
        err,
        DecodeError::BadField {
            template_id: template::APPLY_FUNDING,
            field: "next_funding_time_ns",
            offset: 8,
            value: 0
        }
    );
    assert_eq!((err.reject_reason(), err.field_offset()), (SessionRejectReason::BadFieldValue, Some(8)));
    let mut old = bytes[..10 + 8].to_vec();
    fix_lengths(&mut old);
    assert_eq!(
        client_from(&old),
        Err(DecodeError::BlockTooShort { template_id: template::APPLY_FUNDING, block_length: 8, min: 16 })
    );
}
