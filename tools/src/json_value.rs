//! The one rule for integers in every JSON object the tools print (`matchctl --json`,
//! `matchd-md --json`, `matchd-journal dump --json` and `export --format jsonl`; documented in
//! docs/operations.md, "JSON output"): a 64-bit integer (`u64`, `i64`: ids, sequence numbers,
//! prices, quantities, amounts, fees, timestamps) is a decimal string, because JavaScript's
//! `JSON.parse`, jq before 1.7 and every reader that keeps numbers as doubles round integers above 2^53;
//! an integer of 32 bits or fewer (account, instrument and asset ids, tiers, counts, ppm rates,
//! intervals in ms, template ids) is a number, which a double holds exactly. The field's Rust type
//! decides, never its value, so a field has the same JSON type on every line.

use std::fmt::Debug;

use engine::TimeInForce;
use serde_json::Value;

/// An integer type and how the rule writes it.
pub trait JsonInt: Copy {
    /// The integer as a JSON value: a decimal string for 64 bits, else a number.
    fn to_json(self) -> Value;
}

macro_rules! as_decimal_string {
    ($($t:ty),*) => {$(
        impl JsonInt for $t {
            fn to_json(self) -> Value {
                Value::String(self.to_string())
            }
        }
    )*};
}

macro_rules! as_number {
    ($($t:ty),*) => {$(
        impl JsonInt for $t {
            fn to_json(self) -> Value {
                Value::from(self)
            }
        }
    )*};
}

as_decimal_string!(u64, i64);
as_number!(u32, u16, u8, i32, i16, i8);

/// `v` written by the rule.
pub fn int<T: JsonInt>(v: T) -> Value {
    v.to_json()
}

/// A protocol enum value by its name in docs/protocol.md ("Enums"), which is its Rust variant
/// name for every enum but [`TimeInForce`] (see [`tif`]).
pub fn protocol_name<T: Debug>(v: T) -> Value {
    Value::String(format!("{v:?}"))
}

/// A [`TimeInForce`] by its name in docs/protocol.md: `GTC`, `IOC`, `FOK`, `PostOnly`.
pub fn tif(t: TimeInForce) -> Value {
    Value::String(
        match t {
            TimeInForce::Gtc => "GTC",
            TimeInForce::Ioc => "IOC",
            TimeInForce::Fok => "FOK",
            TimeInForce::PostOnly => "PostOnly",
        }
        .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first integer a double cannot hold exactly.
    const ABOVE_2_POW_53: u64 = (1 << 53) + 1;

    #[test]
    fn sixty_four_bit_integers_are_strings_that_round_trip() {
        for v in [0, 1, ABOVE_2_POW_53, u64::MAX] {
            let text = serde_json::json!({ "v": int(v) }).to_string();
            let back: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(back["v"].as_str().unwrap().parse::<u64>().unwrap(), v, "{text}");
        }
        for v in [i64::MIN, -1, i64::MAX] {
            assert_eq!(int(v), Value::String(v.to_string()));
        }
    }

    /// The `(value, name)` rows of `### <enum_name>` in docs/protocol.md's "Enums" (the name is
    /// the cell's first word: "Maker (the order was resting)" names `Maker`).
    fn documented(doc: &str, enum_name: &str) -> Vec<(u16, String)> {
        let enums = &doc[doc.find("\n## Enums").expect("an Enums section")..];
        let start = enums.find(&format!("\n### {enum_name}\n")).unwrap_or_else(|| panic!("### {enum_name}")) + 1;
        let body = &enums[start..];
        let body = &body[..body[4..].find("\n#").map_or(body.len(), |e| e + 4)];
        body.lines()
            .filter_map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                let value = cells.get(1)?.parse().ok()?;
                Some((value, cells.get(2)?.split_whitespace().next()?.to_string()))
            })
            .collect()
    }

    #[test]
    fn enum_names_are_the_ones_docs_protocol_md_documents() {
        use engine::*;
        use protocol::*;
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/protocol.md")).unwrap();
        let byte = |v: u16| u8::try_from(v).ok();
        let commands = [
            CommandType::NewOrder,
            CommandType::Cancel,
            CommandType::Amend,
            CommandType::MassCancel,
            CommandType::AddInstrument,
            CommandType::SetInstrumentState,
            CommandType::CreateAccount,
            CommandType::Deposit,
            CommandType::Withdraw,
            CommandType::SetAccountStatus,
            CommandType::SetFeeSchedule,
            CommandType::QueryAccount,
            CommandType::SetCredential,
            CommandType::RevokeCredential,
            CommandType::NewStopOrder,
            CommandType::NewAdvancedOrder,
            CommandType::AmendTrigger,
            CommandType::NewOrderList,
            CommandType::AddPerpetual,
            CommandType::SetRiskTier,
            CommandType::SetLeverage,
            CommandType::SetMarginMode,
            CommandType::AdjustIsolatedMargin,
            CommandType::MarginDeposit,
            CommandType::MarginWithdraw,
            CommandType::MarginDebit,
            CommandType::WalletTransfer,
            CommandType::SetMarkPrice,
            CommandType::ApplyFunding,
        ];
        type Decode<'a> = &'a dyn Fn(u16) -> Option<Value>;
        let tables: [(&str, Decode); 24] = [
            ("Side", &|v| byte(v).and_then(Side::from_u8).map(protocol_name)),
            ("OrderType", &|v| byte(v).and_then(OrderType::from_u8).map(protocol_name)),
            ("TimeInForce", &|v| byte(v).and_then(TimeInForce::from_u8).map(tif)),
            ("StpMode", &|v| byte(v).and_then(StpMode::from_u8).map(protocol_name)),
            ("InstrumentState", &|v| byte(v).and_then(InstrumentState::from_u8).map(protocol_name)),
            ("Role", &|v| byte(v).and_then(Role::from_u8).map(protocol_name)),
            ("Liquidity", &|v| byte(v).and_then(Liquidity::from_u8).map(protocol_name)),
            ("CommandType", &|v| commands.iter().find(|c| **c as u16 == v).map(|c| protocol_name(*c))),
            ("RejectReason", &|v| RejectReason::from_code(v).map(protocol_name)),
            ("AccountStatus", &|v| byte(v).and_then(AccountStatus::from_u8).map(protocol_name)),
            ("BalanceReason", &|v| byte(v).and_then(BalanceReason::from_u8).map(protocol_name)),
            ("CancelReason", &|v| byte(v).and_then(CancelReason::from_u8).map(protocol_name)),
            ("TriggerKind", &|v| byte(v).and_then(TriggerKind::from_u8).map(protocol_name)),
            ("TriggerSource", &|v| byte(v).and_then(TriggerSource::from_u8).map(protocol_name)),
            ("ListKind", &|v| byte(v).and_then(ListKind::from_u8).map(protocol_name)),
            ("MdRejectReason", &|v| byte(v).and_then(MdRejectReason::from_u8).map(protocol_name)),
            ("MdSnapshotRejectReason", &|v| byte(v).and_then(MdSnapshotRejectReason::from_u8).map(protocol_name)),
            ("MdInstrumentKind", &|v| byte(v).and_then(MdInstrumentKind::from_u8).map(protocol_name)),
            ("MdDeleteReason", &|v| byte(v).and_then(MdDeleteReason::from_u8).map(protocol_name)),
            ("LoginRejectReason", &|v| byte(v).and_then(LoginRejectReason::from_u8).map(protocol_name)),
            ("LogoutReason", &|v| byte(v).and_then(LogoutReason::from_u8).map(protocol_name)),
            ("SessionRejectReason", &|v| byte(v).and_then(SessionRejectReason::from_u8).map(protocol_name)),
            ("MarginMode", &|v| byte(v).and_then(MarginMode::from_u8).map(protocol_name)),
            ("AdlRole", &|v| byte(v).and_then(AdlRole::from_u8).map(protocol_name)),
        ];
        // Every value the code knows is documented (the last ones added included).
        assert_eq!(documented(&doc, "CommandType").len(), commands.len());
        assert_eq!(documented(&doc, "RejectReason").len(), RejectReason::ALL.len());
        assert_eq!(documented(&doc, "CancelReason").len(), (1..=u8::MAX).filter_map(CancelReason::from_u8).count());
        assert_eq!(documented(&doc, "BalanceReason").len(), (1..=u8::MAX).filter_map(BalanceReason::from_u8).count());
        for (enum_name, decode) in tables {
            let rows = documented(&doc, enum_name);
            assert!(rows.len() >= 2, "{enum_name}: {rows:?}");
            for (v, want) in rows {
                assert_eq!(decode(v), Some(Value::String(want.clone())), "{enum_name} {v} is {want} in the docs");
            }
        }
    }

    #[test]
    fn narrower_integers_are_numbers() {
        assert_eq!(int(u32::MAX), Value::from(4_294_967_295u64));
        assert_eq!(int(-5i32), Value::from(-5));
        assert_eq!(int(7u8), Value::from(7));
        assert_eq!(int(0x4D44u16), Value::from(0x4D44));
    }
}
