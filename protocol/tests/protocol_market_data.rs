//! Market-data templates (100-149): round trips, version tolerance and malformed input.

mod protocol_common;

use proptest::prelude::*;
use protocol::*;
use protocol_common::md_server_message;

fn encode(m: &MdServerMessage) -> Vec<u8> {
    let mut buf = [0u8; 256];
    let n = m.encode(&mut buf).unwrap();
    assert_eq!(n, m.encoded_len());
    buf[..n].to_vec()
}

fn decode(bytes: &[u8]) -> Result<MdServerMessage, DecodeError> {
    let (frame, used) = decode_frame(bytes).unwrap().unwrap();
    assert_eq!(used, bytes.len());
    MdServerMessage::decode_frame(&frame)
}

proptest! {
    #[test]
    fn md_roundtrip(m in md_server_message()) {
        let bytes = encode(&m);
        prop_assert!(bytes.len() <= protocol::market_data::MD_MAX_MESSAGE_LEN);
        prop_assert_eq!(decode(&bytes), Ok(m));
        let mut v = Vec::with_capacity(bytes.len());
        prop_assert_eq!(m.encode_into_vec(&mut v), Ok(bytes.len()));
        prop_assert_eq!(v, bytes);
    }

    #[test]
    fn md_longer_block_is_accepted(m in md_server_message(), tail in proptest::collection::vec(any::<u8>(), 1..64)) {
        let mut bytes = encode(&m);
        bytes.extend_from_slice(&tail);
        let len = (bytes.len() - 2) as u16;
        bytes[0..2].copy_from_slice(&len.to_le_bytes());
        let block = len - 8;
        bytes[2..4].copy_from_slice(&block.to_le_bytes());
        bytes[8..10].copy_from_slice(&2u16.to_le_bytes());
        prop_assert_eq!(decode(&bytes), Ok(m));
    }

    #[test]
    fn md_shorter_block_is_rejected(m in md_server_message(), cut in 1usize..200) {
        let bytes = encode(&m);
        let block = bytes.len() - 10;
        prop_assume!(block > 0);
        let cut = cut.min(block);
        let mut short = bytes[..bytes.len() - cut].to_vec();
        let len = (short.len() - 2) as u16;
        short[0..2].copy_from_slice(&len.to_le_bytes());
        short[2..4].copy_from_slice(&(len - 8).to_le_bytes());
        let short_block = block - cut;
        match (decode(&short), m) {
            // `MdFunding` grew by its appended next funding time: a block without all of it reads
            // as the older version with a tail (ignored, as every longer block's), the time absent.
            (Ok(MdServerMessage::Funding(f)), MdServerMessage::Funding(want)) if (32..40).contains(&short_block) => {
                prop_assert_eq!(f, MdFunding { next_funding_time_ns: 0, ..want })
            }
            // `MdSnapshotEnd` grew by a perpetual's state: a field the block does not hold
            // whole reads as absent (0).
            (Ok(MdServerMessage::SnapshotEnd(e)), MdServerMessage::SnapshotEnd(want)) if (48..80).contains(&short_block) => {
                prop_assert_eq!(e, snapshot_end_in(want, short_block))
            }
            (got, _) => prop_assert!(matches!(got, Err(DecodeError::BlockTooShort { .. })), "{:?}", got),
        }
    }

    #[test]
    fn md_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..160)) {
        if let Ok(Some((frame, _))) = decode_frame(&bytes) {
            let _ = MdServerMessage::decode_frame(&frame);
        }
    }
}

#[test]
fn bad_enum_values_and_flags_are_named() {
    let level = MdServerMessage::Level(MdLevel {
        seq: 1,
        instrument: 1,
        side: engine::Side::Buy,
        price: 5,
        qty: 1,
        order_count: 1,
    });
    let mut b = encode(&level);
    b[10 + layout::md_level::SIDE] = 3;
    assert!(matches!(decode(&b), Err(DecodeError::BadField { field: "side", offset: 12, .. })));

    let sub = ClientMessage::MdSubscribe(MdSubscribe { heartbeat_interval_ms: 0, order_by_order: true });
    let mut buf = [0u8; 64];
    let n = sub.encode(&mut buf).unwrap();
    buf[10 + layout::md_subscribe::FLAGS] = 0x82;
    let (f, _) = decode_frame(&buf[..n]).unwrap().unwrap();
    assert!(matches!(ClientMessage::decode_frame(&f), Err(DecodeError::BadField { field: "flags", offset: 4, .. })));
    assert_eq!(sub.class(), MessageClass::MarketData);
    assert_eq!(sub.to_command(1, 0), None);

    // `MdTrade` byte 13 (reserved, zero, before perpetuals): bit 0 flags a liquidation's trade.
    let trade = MdTrade {
        seq: 1,
        instrument: 1,
        trade_id: 2,
        price: 5,
        qty: 1,
        aggressor: engine::Side::Sell,
        timestamp_ns: 3,
        liquidation: false,
    };
    let mut b = encode(&MdServerMessage::Trade(trade));
    assert_eq!(b[10 + layout::md_trade::FLAGS], 0);
    b[10 + layout::md_trade::FLAGS] = 1;
    assert_eq!(decode(&b), Ok(MdServerMessage::Trade(MdTrade { liquidation: true, ..trade })));
    for v in 2..=255u8 {
        b[10 + layout::md_trade::FLAGS] = v;
        let e = decode(&b);
        assert!(matches!(e, Err(DecodeError::BadField { field: "flags", offset: 13, .. })), "{v}: {e:?}");
    }
}

/// `MdInstrument` byte 14 (reserved, zero, before perpetuals) is the perpetual flag: 0 or 1, and
/// a spot instrument's frame is the one it always was.
#[test]
fn md_instrument_carries_the_perpetual_flag_in_its_reserved_byte() {
    let spec = engine::InstrumentSpec {
        id: 3,
        symbol: engine::InstrumentSpec::symbol_from_str("BTC-PERP").unwrap(),
        base_asset: 2,
        quote_asset: 1,
        tick: 10,
        lot: 1,
        min_qty: 1,
        max_qty: 1_000,
        min_notional: 0,
        price_band_bps: 500,
        reference_price: 6_000_000,
        qty_scale: 1_000,
    };
    let spot = MdInstrument {
        seq: 1,
        order_seq: 0,
        kind: MdInstrumentKind::Added,
        state: engine::InstrumentState::Halted,
        spec,
        perpetual: false,
    };
    let mut b = encode(&MdServerMessage::Instrument(spot));
    assert_eq!(layout::md_instrument::PERPETUAL, 14);
    assert_eq!(b[10 + 14], 0);
    assert_eq!(b[10 + 15], 0);
    b[10 + 14] = 1;
    assert_eq!(decode(&b), Ok(MdServerMessage::Instrument(MdInstrument { perpetual: true, ..spot })));
    assert_eq!(b, encode(&MdServerMessage::Instrument(MdInstrument { perpetual: true, ..spot })));
    for v in 2..=255u8 {
        b[10 + 14] = v;
        let e = decode(&b);
        assert!(matches!(e, Err(DecodeError::BadField { field: "perpetual", offset: 14, .. })), "{v}: {e:?}");
    }
}

#[test]
fn md_open_interest_round_trips_and_is_a_feed_message() {
    let m = MdServerMessage::OpenInterest(MdOpenInterest { seq: 504, instrument: 3, open_interest: 737 });
    let b = encode(&m);
    assert_eq!(b.len(), 10 + 24);
    assert_eq!(u16::from_le_bytes([b[4], b[5]]), 127);
    assert_eq!(decode(&b), Ok(m));
    assert_eq!(m.instrument(), Some(3));
    assert_eq!(ServerMessage::block_len_of(template::MD_OPEN_INTEREST), None);
}

#[test]
fn md_templates_live_in_their_range_and_are_unknown_to_the_order_entry_decoder() {
    for t in [
        template::MD_SUBSCRIBE,
        template::MD_SNAPSHOT_REQUEST,
        template::MD_SUBSCRIBE_ACCEPTED,
        template::MD_SUBSCRIBE_REJECTED,
        template::MD_INSTRUMENT,
        template::MD_INSTRUMENT_STATE,
        template::MD_TRADE,
        template::MD_LEVEL,
        template::MD_TOP_OF_BOOK,
        template::MD_SNAPSHOT_LEVEL,
        template::MD_SNAPSHOT_ORDER,
        template::MD_SNAPSHOT_END,
        template::MD_SNAPSHOT_REJECTED,
        template::MD_ORDER_ADDED,
        template::MD_ORDER_EXECUTED,
        template::MD_ORDER_DELETED,
        template::MD_ORDER_MODIFIED,
        template::MD_MARK_PRICE,
        template::MD_FUNDING,
        template::MD_OPEN_INTEREST,
    ] {
        assert!(template::MARKET_DATA_RANGE.contains(&t), "{t}");
        assert_eq!(ServerMessage::block_len_of(t), None, "{t}");
    }
    // Client → server templates are not server messages, and the reverse.
    assert_eq!(MdServerMessage::block_len_of(template::MD_SUBSCRIBE), None);
    assert_eq!(ClientMessage::block_len_of(template::MD_LEVEL), None);
}

/// `MdFunding` (126) grew from 32 to 40 bytes by the next funding time, appended: a server
/// before it sends 32 bytes, decoded with the time absent (0); 31 are too short.
#[test]
fn md_funding_next_funding_time_is_appended_and_optional() {
    let funding = MdFunding {
        seq: 502,
        instrument: 3,
        rate_ppm: 100,
        mark_price: 6_050_000,
        open_interest: 137,
        next_funding_time_ns: 1_767_254_400_000_000_000,
    };
    let bytes = encode(&MdServerMessage::Funding(funding));
    assert_eq!((layout::md_funding::NEXT_FUNDING_TIME_NS, layout::md_funding::BLOCK_LEN), (32, 40));
    assert_eq!(&bytes[10 + 32..], &1_767_254_400_000_000_000u64.to_le_bytes());
    let cut = |n: usize| {
        let mut b = bytes[..10 + n].to_vec();
        b[0..2].copy_from_slice(&(8 + n as u16).to_le_bytes());
        b[2..4].copy_from_slice(&(n as u16).to_le_bytes());
        decode(&b)
    };
    assert_eq!(cut(32), Ok(MdServerMessage::Funding(MdFunding { next_funding_time_ns: 0, ..funding })));
    assert_eq!(
        cut(31),
        Err(DecodeError::BlockTooShort { template_id: template::MD_FUNDING, block_length: 31, min: 32 })
    );
}

/// What a `block`-byte `MdSnapshotEnd` (48 to 80) says of `full`: the appended fields it does
/// not hold whole are absent (0).
fn snapshot_end_in(full: MdSnapshotEnd, block: usize) -> MdSnapshotEnd {
    use layout::md_snapshot_end::*;
    let has = |offset: usize, size: usize| block >= offset + size;
    MdSnapshotEnd {
        mark_price: if has(MARK_PRICE, 8) { full.mark_price } else { 0 },
        open_interest: if has(OPEN_INTEREST, 8) { full.open_interest } else { 0 },
        funding_rate_ppm: if has(FUNDING_RATE_PPM, 4) { full.funding_rate_ppm } else { 0 },
        next_funding_time_ns: if has(NEXT_FUNDING_TIME_NS, 8) { full.next_funding_time_ns } else { 0 },
        ..full
    }
}

/// `MdSnapshotEnd` (132) grew from 48 to 80 bytes by a perpetual's state as of the snapshot
/// (mark, open interest, last announced funding), appended: a server before it sends 48 bytes,
/// decoded with the four fields absent (0); 47 are too short.
#[test]
fn md_snapshot_end_perpetual_state_is_appended_and_optional() {
    let end = MdSnapshotEnd {
        seq: 505,
        order_seq: 212,
        feed_epoch: 1_767_225_600_000_000_000,
        instrument: 3,
        state: engine::InstrumentState::Trading,
        truncated: false,
        orders_included: false,
        bid_levels: 1,
        ask_levels: 1,
        orders: 0,
        mark_price: 6_050_000,
        open_interest: 737,
        funding_rate_ppm: -100,
        next_funding_time_ns: 1_767_254_400_000_000_000,
    };
    let bytes = encode(&MdServerMessage::SnapshotEnd(end));
    use layout::md_snapshot_end::*;
    assert_eq!((MARK_PRICE, OPEN_INTEREST, FUNDING_RATE_PPM, NEXT_FUNDING_TIME_NS, BLOCK_LEN), (48, 56, 64, 72, 80));
    assert_eq!(&bytes[10 + 48..10 + 56], &6_050_000u64.to_le_bytes());
    assert_eq!(&bytes[10 + 64..10 + 72], &[0x9c, 0xff, 0xff, 0xff, 0, 0, 0, 0], "rate, then 4 reserved zero bytes");
    let cut = |n: usize| {
        let mut b = bytes[..10 + n].to_vec();
        b[0..2].copy_from_slice(&(8 + n as u16).to_le_bytes());
        b[2..4].copy_from_slice(&(n as u16).to_le_bytes());
        decode(&b)
    };
    let absent = MdSnapshotEnd { mark_price: 0, open_interest: 0, funding_rate_ppm: 0, next_funding_time_ns: 0, ..end };
    assert_eq!(cut(48), Ok(MdServerMessage::SnapshotEnd(absent)));
    assert_eq!(cut(72), Ok(MdServerMessage::SnapshotEnd(MdSnapshotEnd { next_funding_time_ns: 0, ..end })));
    assert_eq!(
        cut(47),
        Err(DecodeError::BlockTooShort { template_id: template::MD_SNAPSHOT_END, block_length: 47, min: 48 })
    );
}
