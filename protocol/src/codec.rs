//! The two directions of the protocol: [`ClientMessage`] (client → server) and [`ServerMessage`]
//! (server → client). Both decode from a borrowed frame without allocating and encode into a
//! caller's buffer, so the server and the client library share one codec.

use engine::{
    AccountId, AdjustIsolatedMargin, AdvancedOrder, Amend, AmendTrigger, ApplyFunding, Cancel, Command, CommandKind,
    CreateAccount, InstrumentSpec, MassCancel, NewOrder, OrderList, QueryAccount, RevokeCredential, SetAccountStatus,
    SetCredential, SetFeeSchedule, SetInstrumentState, SetLeverage, SetMarginMode, SetMarkPrice, SetRiskTier,
    StopOrder, Transfer, WalletTransfer,
};

use crate::error::{DecodeError, EncodeError};
use crate::execution::{report_block_len, report_min_block_len, ExecReport};
use crate::field::check;
use crate::frame::{append_to_vec, encode_message, Frame, Header, Wr, HEADER_LEN, LENGTH_PREFIX_LEN};
use crate::market_data::{self, MdSnapshotRequest, MdSubscribe};
use crate::session::{Login, LoginAccepted, LoginRejected, Logout, SessionReject};
use crate::{account, admin, futures, layout, order_entry, template};

/// `LoginRejected`'s block in version 1 (version 2 appended the leader's address).
const LOGIN_REJECTED_V1_BLOCK_LEN: usize = 24;

/// Which layer a client message belongs to (and so which role may send it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageClass {
    /// Login, heartbeat, logout: any session.
    Session,
    /// Order entry, and the futures commands on the sender's own account (leverage, margin mode,
    /// isolated margin, wallet transfers): [`super::Role::Trader`] sessions only.
    OrderEntry,
    /// Administration (instruments, accounts, credentials): [`super::Role::Admin`] sessions only.
    Admin,
    /// The account query: admin sessions for any account, trader sessions for their own account
    /// only (the gateway checks the target).
    Query,
    /// Market data: `MdSubscribe` instead of a `Login`, then snapshot requests on the subscription.
    MarketData,
    /// Perpetuals' mark prices and funding: the session of the configured oracle account only
    /// (`engine.oracle_account`; the engine refuses any other sender too, `NotOracle`).
    Oracle,
}

/// A message from a client to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientMessage {
    /// `Login` (1).
    Login(Login),
    /// `Heartbeat` (4).
    Heartbeat,
    /// `Logout` (5).
    Logout(Logout),
    /// `NewOrder` (20).
    NewOrder(NewOrder),
    /// `NewStopOrder` (24).
    NewStopOrder(StopOrder),
    /// `NewAdvancedOrder` (25).
    NewAdvancedOrder(AdvancedOrder),
    /// `AmendTrigger` (26).
    AmendTrigger(AmendTrigger),
    /// `NewOrderList` (27).
    NewOrderList(OrderList),
    /// `Cancel` (21).
    Cancel(Cancel),
    /// `Amend` (22).
    Amend(Amend),
    /// `MassCancel` (23).
    MassCancel(MassCancel),
    /// `AddInstrument` (60).
    AddInstrument(InstrumentSpec),
    /// `SetInstrumentState` (61).
    SetInstrumentState(SetInstrumentState),
    /// `CreateAccount` (80).
    CreateAccount(CreateAccount),
    /// `Deposit` (81).
    Deposit(Transfer),
    /// `Withdraw` (82).
    Withdraw(Transfer),
    /// `SetAccountStatus` (83).
    SetAccountStatus(SetAccountStatus),
    /// `SetFeeSchedule` (84).
    SetFeeSchedule(SetFeeSchedule),
    /// `QueryAccount` (85).
    QueryAccount(QueryAccount),
    /// `SetCredential` (86).
    SetCredential(SetCredential),
    /// `RevokeCredential` (87).
    RevokeCredential(RevokeCredential),
    /// `AddPerpetual` (150).
    AddPerpetual(InstrumentSpec),
    /// `SetRiskTier` (151).
    SetRiskTier(SetRiskTier),
    /// `MarginDeposit` (152).
    MarginDeposit(Transfer),
    /// `MarginWithdraw` (153).
    MarginWithdraw(Transfer),
    /// `MarginDebit` (154).
    MarginDebit(Transfer),
    /// `SetLeverage` (155).
    SetLeverage(SetLeverage),
    /// `SetMarginMode` (156).
    SetMarginMode(SetMarginMode),
    /// `AdjustIsolatedMargin` (157).
    AdjustIsolatedMargin(AdjustIsolatedMargin),
    /// `WalletTransfer` (158).
    WalletTransfer(WalletTransfer),
    /// `SetMarkPrice` (159).
    SetMarkPrice(SetMarkPrice),
    /// `ApplyFunding` (160).
    ApplyFunding(ApplyFunding),
    /// `MdSubscribe` (100): subscribe to market data (instead of `Login`).
    MdSubscribe(MdSubscribe),
    /// `MdSnapshotRequest` (101), on a market-data subscription.
    MdSnapshotRequest(MdSnapshotRequest),
}

/// A message from the server to a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerMessage {
    /// `LoginAccepted` (2).
    LoginAccepted(LoginAccepted),
    /// `LoginRejected` (3).
    LoginRejected(LoginRejected),
    /// `Heartbeat` (4).
    Heartbeat,
    /// `Logout` (5).
    Logout(Logout),
    /// `SessionReject` (6).
    SessionReject(SessionReject),
    /// A sequenced report (40-59, 70-79, 90-99, 170-199).
    Report {
        /// The account's outbound sequence number of this message.
        seq: u64,
        /// The report.
        report: ExecReport,
    },
}

impl ClientMessage {
    /// Block length (version 1) of a client → server template, `None` if unknown in this direction.
    pub fn block_len_of(template_id: u16) -> Option<usize> {
        Some(match template_id {
            template::LOGIN => layout::login::BLOCK_LEN,
            template::HEARTBEAT => layout::heartbeat::BLOCK_LEN,
            template::LOGOUT => layout::logout::BLOCK_LEN,
            template::NEW_ORDER => layout::new_order::BLOCK_LEN,
            template::NEW_STOP_ORDER => layout::new_stop_order::BLOCK_LEN,
            template::NEW_ADVANCED_ORDER => layout::new_advanced_order::BLOCK_LEN,
            template::AMEND_TRIGGER => layout::amend_trigger::BLOCK_LEN,
            template::NEW_ORDER_LIST => layout::new_order_list::BLOCK_LEN,
            template::CANCEL => layout::cancel::BLOCK_LEN,
            template::AMEND => layout::amend::BLOCK_LEN,
            template::MASS_CANCEL => layout::mass_cancel::BLOCK_LEN,
            template::ADD_INSTRUMENT => layout::add_instrument::BLOCK_LEN,
            template::SET_INSTRUMENT_STATE => layout::set_instrument_state::BLOCK_LEN,
            template::CREATE_ACCOUNT => layout::create_account::BLOCK_LEN,
            template::DEPOSIT | template::WITHDRAW => layout::transfer::BLOCK_LEN,
            template::SET_ACCOUNT_STATUS => layout::set_account_status::BLOCK_LEN,
            template::SET_FEE_SCHEDULE => layout::set_fee_schedule::BLOCK_LEN,
            template::QUERY_ACCOUNT => layout::query_account::BLOCK_LEN,
            template::SET_CREDENTIAL => layout::set_credential::BLOCK_LEN,
            template::REVOKE_CREDENTIAL => layout::revoke_credential::BLOCK_LEN,
            template::ADD_PERPETUAL => layout::add_instrument::BLOCK_LEN,
            template::SET_RISK_TIER => layout::set_risk_tier::BLOCK_LEN,
            template::MARGIN_DEPOSIT | template::MARGIN_WITHDRAW | template::MARGIN_DEBIT => {
                layout::transfer::BLOCK_LEN
            }
            template::SET_LEVERAGE => layout::set_leverage::BLOCK_LEN,
            template::SET_MARGIN_MODE => layout::set_margin_mode::BLOCK_LEN,
            template::ADJUST_ISOLATED_MARGIN => layout::adjust_isolated_margin::BLOCK_LEN,
            template::WALLET_TRANSFER => layout::wallet_transfer::BLOCK_LEN,
            template::SET_MARK_PRICE => layout::set_mark_price::BLOCK_LEN,
            template::APPLY_FUNDING => layout::apply_funding::BLOCK_LEN,
            template::MD_SUBSCRIBE => layout::md_subscribe::BLOCK_LEN,
            template::MD_SNAPSHOT_REQUEST => layout::md_snapshot_request::BLOCK_LEN,
            _ => return None,
        })
    }

    /// Decodes one message from its header and body (as split by [`super::decode_frame`]).
    /// A block longer than the version-1 block is accepted and its tail ignored.
    pub fn decode(header: &Header, body: &[u8]) -> Result<ClientMessage, DecodeError> {
        let r = check(header, body, Self::block_len_of(header.template_id))?;
        Ok(match header.template_id {
            template::LOGIN => ClientMessage::Login(Login::read(&r)?),
            template::HEARTBEAT => ClientMessage::Heartbeat,
            template::LOGOUT => ClientMessage::Logout(Logout::read(&r)?),
            template::NEW_ORDER => ClientMessage::NewOrder(order_entry::read_new_order(&r)?),
            template::NEW_STOP_ORDER => ClientMessage::NewStopOrder(order_entry::read_stop_order(&r)?),
            template::NEW_ADVANCED_ORDER => ClientMessage::NewAdvancedOrder(order_entry::read_advanced_order(&r)?),
            template::AMEND_TRIGGER => ClientMessage::AmendTrigger(order_entry::read_amend_trigger(&r)?),
            template::NEW_ORDER_LIST => ClientMessage::NewOrderList(order_entry::read_order_list(&r)?),
            template::CANCEL => ClientMessage::Cancel(order_entry::read_cancel(&r)?),
            template::AMEND => ClientMessage::Amend(order_entry::read_amend(&r)?),
            template::MASS_CANCEL => ClientMessage::MassCancel(order_entry::read_mass_cancel(&r)?),
            template::ADD_INSTRUMENT => ClientMessage::AddInstrument(admin::read_spec(&r)),
            template::SET_INSTRUMENT_STATE => ClientMessage::SetInstrumentState(admin::read_set_state(&r)?),
            template::CREATE_ACCOUNT => ClientMessage::CreateAccount(account::read_create_account(&r)?),
            template::DEPOSIT => ClientMessage::Deposit(account::read_transfer(&r)),
            template::WITHDRAW => ClientMessage::Withdraw(account::read_transfer(&r)),
            template::SET_ACCOUNT_STATUS => ClientMessage::SetAccountStatus(account::read_set_account_status(&r)?),
            template::SET_FEE_SCHEDULE => ClientMessage::SetFeeSchedule(account::read_set_fee_schedule(&r)),
            template::QUERY_ACCOUNT => ClientMessage::QueryAccount(account::read_query_account(&r)),
            template::SET_CREDENTIAL => ClientMessage::SetCredential(account::read_set_credential(&r)),
            template::REVOKE_CREDENTIAL => ClientMessage::RevokeCredential(account::read_revoke_credential(&r)),
            template::ADD_PERPETUAL => ClientMessage::AddPerpetual(admin::read_spec(&r)),
            template::SET_RISK_TIER => ClientMessage::SetRiskTier(futures::read_risk_tier(&r)),
            template::MARGIN_DEPOSIT => ClientMessage::MarginDeposit(account::read_transfer(&r)),
            template::MARGIN_WITHDRAW => ClientMessage::MarginWithdraw(account::read_transfer(&r)),
            template::MARGIN_DEBIT => ClientMessage::MarginDebit(account::read_transfer(&r)),
            template::SET_LEVERAGE => ClientMessage::SetLeverage(futures::read_set_leverage(&r)),
            template::SET_MARGIN_MODE => ClientMessage::SetMarginMode(futures::read_set_margin_mode(&r)?),
            template::ADJUST_ISOLATED_MARGIN => {
                ClientMessage::AdjustIsolatedMargin(futures::read_adjust_isolated_margin(&r))
            }
            template::WALLET_TRANSFER => ClientMessage::WalletTransfer(futures::read_wallet_transfer(&r)?),
            template::SET_MARK_PRICE => ClientMessage::SetMarkPrice(futures::read_set_mark_price(&r)),
            template::APPLY_FUNDING => ClientMessage::ApplyFunding(futures::read_apply_funding(&r)?),
            template::MD_SUBSCRIBE => ClientMessage::MdSubscribe(market_data::read_subscribe(&r)?),
            template::MD_SNAPSHOT_REQUEST => ClientMessage::MdSnapshotRequest(market_data::read_snapshot_request(&r)?),
            template_id => return Err(DecodeError::UnknownTemplate { template_id }),
        })
    }

    /// [`ClientMessage::decode`] of a frame.
    #[inline]
    pub fn decode_frame(frame: &Frame<'_>) -> Result<ClientMessage, DecodeError> {
        Self::decode(&frame.header, frame.body)
    }

    /// Template id.
    pub fn template_id(&self) -> u16 {
        match self {
            ClientMessage::Login(_) => template::LOGIN,
            ClientMessage::Heartbeat => template::HEARTBEAT,
            ClientMessage::Logout(_) => template::LOGOUT,
            ClientMessage::NewOrder(_) => template::NEW_ORDER,
            ClientMessage::NewStopOrder(_) => template::NEW_STOP_ORDER,
            ClientMessage::NewAdvancedOrder(_) => template::NEW_ADVANCED_ORDER,
            ClientMessage::AmendTrigger(_) => template::AMEND_TRIGGER,
            ClientMessage::NewOrderList(_) => template::NEW_ORDER_LIST,
            ClientMessage::Cancel(_) => template::CANCEL,
            ClientMessage::Amend(_) => template::AMEND,
            ClientMessage::MassCancel(_) => template::MASS_CANCEL,
            ClientMessage::AddInstrument(_) => template::ADD_INSTRUMENT,
            ClientMessage::SetInstrumentState(_) => template::SET_INSTRUMENT_STATE,
            ClientMessage::CreateAccount(_) => template::CREATE_ACCOUNT,
            ClientMessage::Deposit(_) => template::DEPOSIT,
            ClientMessage::Withdraw(_) => template::WITHDRAW,
            ClientMessage::SetAccountStatus(_) => template::SET_ACCOUNT_STATUS,
            ClientMessage::SetFeeSchedule(_) => template::SET_FEE_SCHEDULE,
            ClientMessage::QueryAccount(_) => template::QUERY_ACCOUNT,
            ClientMessage::SetCredential(_) => template::SET_CREDENTIAL,
            ClientMessage::RevokeCredential(_) => template::REVOKE_CREDENTIAL,
            ClientMessage::AddPerpetual(_) => template::ADD_PERPETUAL,
            ClientMessage::SetRiskTier(_) => template::SET_RISK_TIER,
            ClientMessage::MarginDeposit(_) => template::MARGIN_DEPOSIT,
            ClientMessage::MarginWithdraw(_) => template::MARGIN_WITHDRAW,
            ClientMessage::MarginDebit(_) => template::MARGIN_DEBIT,
            ClientMessage::SetLeverage(_) => template::SET_LEVERAGE,
            ClientMessage::SetMarginMode(_) => template::SET_MARGIN_MODE,
            ClientMessage::AdjustIsolatedMargin(_) => template::ADJUST_ISOLATED_MARGIN,
            ClientMessage::WalletTransfer(_) => template::WALLET_TRANSFER,
            ClientMessage::SetMarkPrice(_) => template::SET_MARK_PRICE,
            ClientMessage::ApplyFunding(_) => template::APPLY_FUNDING,
            ClientMessage::MdSubscribe(_) => template::MD_SUBSCRIBE,
            ClientMessage::MdSnapshotRequest(_) => template::MD_SNAPSHOT_REQUEST,
        }
    }

    /// Which layer the message belongs to.
    pub fn class(&self) -> MessageClass {
        match self {
            ClientMessage::Login(_) | ClientMessage::Heartbeat | ClientMessage::Logout(_) => MessageClass::Session,
            ClientMessage::NewOrder(_)
            | ClientMessage::NewStopOrder(_)
            | ClientMessage::NewAdvancedOrder(_)
            | ClientMessage::AmendTrigger(_)
            | ClientMessage::NewOrderList(_)
            | ClientMessage::Cancel(_)
            | ClientMessage::Amend(_)
            | ClientMessage::MassCancel(_)
            | ClientMessage::SetLeverage(_)
            | ClientMessage::SetMarginMode(_)
            | ClientMessage::AdjustIsolatedMargin(_)
            | ClientMessage::WalletTransfer(_) => MessageClass::OrderEntry,
            ClientMessage::AddInstrument(_)
            | ClientMessage::SetInstrumentState(_)
            | ClientMessage::CreateAccount(_)
            | ClientMessage::Deposit(_)
            | ClientMessage::Withdraw(_)
            | ClientMessage::SetAccountStatus(_)
            | ClientMessage::SetFeeSchedule(_)
            | ClientMessage::SetCredential(_)
            | ClientMessage::RevokeCredential(_)
            | ClientMessage::AddPerpetual(_)
            | ClientMessage::SetRiskTier(_)
            | ClientMessage::MarginDeposit(_)
            | ClientMessage::MarginWithdraw(_)
            | ClientMessage::MarginDebit(_) => MessageClass::Admin,
            ClientMessage::SetMarkPrice(_) | ClientMessage::ApplyFunding(_) => MessageClass::Oracle,
            ClientMessage::QueryAccount(_) => MessageClass::Query,
            ClientMessage::MdSubscribe(_) | ClientMessage::MdSnapshotRequest(_) => MessageClass::MarketData,
        }
    }

    /// Block length (version 1).
    pub fn block_len(&self) -> usize {
        Self::block_len_of(self.template_id()).unwrap_or(0)
    }

    /// Bytes of the whole encoded message (length prefix included).
    pub fn encoded_len(&self) -> usize {
        LENGTH_PREFIX_LEN + HEADER_LEN + self.block_len()
    }

    /// Encodes the message into the front of `buf`; returns the bytes written.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        encode_message(self.template_id(), self.block_len(), buf, |w| self.write(w))
    }

    /// Appends the encoded message to `out` within its spare capacity (never reallocates).
    pub fn encode_into_vec(&self, out: &mut Vec<u8>) -> Result<usize, EncodeError> {
        append_to_vec(out, self.encoded_len(), |b| self.encode(b))
    }

    fn write(&self, w: &mut Wr<'_>) {
        match self {
            ClientMessage::Login(m) => m.write(w),
            ClientMessage::Heartbeat => {}
            ClientMessage::Logout(m) => m.write(w),
            ClientMessage::NewOrder(m) => order_entry::write_new_order(m, w),
            ClientMessage::NewStopOrder(m) => order_entry::write_stop_order(m, w),
            ClientMessage::NewAdvancedOrder(m) => order_entry::write_advanced_order(m, w),
            ClientMessage::AmendTrigger(m) => order_entry::write_amend_trigger(m, w),
            ClientMessage::NewOrderList(m) => order_entry::write_order_list(m, w),
            ClientMessage::Cancel(m) => order_entry::write_cancel(m, w),
            ClientMessage::Amend(m) => order_entry::write_amend(m, w),
            ClientMessage::MassCancel(m) => order_entry::write_mass_cancel(m, w),
            ClientMessage::AddInstrument(m) => admin::write_spec(m, w),
            ClientMessage::SetInstrumentState(m) => admin::write_set_state(m, w),
            ClientMessage::CreateAccount(m) => account::write_create_account(m, w),
            ClientMessage::Deposit(m) | ClientMessage::Withdraw(m) => account::write_transfer(m, w),
            ClientMessage::SetAccountStatus(m) => account::write_set_account_status(m, w),
            ClientMessage::SetFeeSchedule(m) => account::write_set_fee_schedule(m, w),
            ClientMessage::QueryAccount(m) => account::write_query_account(m, w),
            ClientMessage::SetCredential(m) => account::write_set_credential(m, w),
            ClientMessage::RevokeCredential(m) => account::write_revoke_credential(m, w),
            ClientMessage::AddPerpetual(m) => admin::write_spec(m, w),
            ClientMessage::SetRiskTier(m) => futures::write_risk_tier(m, w),
            ClientMessage::MarginDeposit(m) | ClientMessage::MarginWithdraw(m) | ClientMessage::MarginDebit(m) => {
                account::write_transfer(m, w)
            }
            ClientMessage::SetLeverage(m) => futures::write_set_leverage(m, w),
            ClientMessage::SetMarginMode(m) => futures::write_set_margin_mode(m, w),
            ClientMessage::AdjustIsolatedMargin(m) => futures::write_adjust_isolated_margin(m, w),
            ClientMessage::WalletTransfer(m) => futures::write_wallet_transfer(m, w),
            ClientMessage::SetMarkPrice(m) => futures::write_set_mark_price(m, w),
            ClientMessage::ApplyFunding(m) => futures::write_apply_funding(m, w),
            ClientMessage::MdSubscribe(m) => market_data::write_subscribe(m, w),
            ClientMessage::MdSnapshotRequest(m) => market_data::write_snapshot_request(m, w),
        }
    }

    /// The engine command for an order-entry or admin message sent on `account`'s session,
    /// stamped with the gateway receive time; `None` for session and market-data messages.
    #[inline]
    pub fn to_command(&self, account: AccountId, timestamp_ns: u64) -> Option<Command> {
        let kind = match *self {
            ClientMessage::NewOrder(m) => CommandKind::NewOrder(m),
            ClientMessage::NewStopOrder(m) => CommandKind::NewStopOrder(m),
            ClientMessage::NewAdvancedOrder(m) => CommandKind::NewAdvancedOrder(m),
            ClientMessage::AmendTrigger(m) => CommandKind::AmendTrigger(m),
            ClientMessage::NewOrderList(m) => CommandKind::NewOrderList(m),
            ClientMessage::Cancel(m) => CommandKind::Cancel(m),
            ClientMessage::Amend(m) => CommandKind::Amend(m),
            ClientMessage::MassCancel(m) => CommandKind::MassCancel(m),
            ClientMessage::AddInstrument(m) => CommandKind::AddInstrument(m),
            ClientMessage::SetInstrumentState(m) => CommandKind::SetInstrumentState(m),
            ClientMessage::CreateAccount(m) => CommandKind::CreateAccount(m),
            ClientMessage::Deposit(m) => CommandKind::Deposit(m),
            ClientMessage::Withdraw(m) => CommandKind::Withdraw(m),
            ClientMessage::SetAccountStatus(m) => CommandKind::SetAccountStatus(m),
            ClientMessage::SetFeeSchedule(m) => CommandKind::SetFeeSchedule(m),
            ClientMessage::QueryAccount(m) => CommandKind::QueryAccount(m),
            ClientMessage::SetCredential(m) => CommandKind::SetCredential(m),
            ClientMessage::RevokeCredential(m) => CommandKind::RevokeCredential(m),
            ClientMessage::AddPerpetual(m) => CommandKind::AddPerpetual(m),
            ClientMessage::SetRiskTier(m) => CommandKind::SetRiskTier(m),
            ClientMessage::MarginDeposit(m) => CommandKind::MarginDeposit(m),
            ClientMessage::MarginWithdraw(m) => CommandKind::MarginWithdraw(m),
            ClientMessage::MarginDebit(m) => CommandKind::MarginDebit(m),
            ClientMessage::SetLeverage(m) => CommandKind::SetLeverage(m),
            ClientMessage::SetMarginMode(m) => CommandKind::SetMarginMode(m),
            ClientMessage::AdjustIsolatedMargin(m) => CommandKind::AdjustIsolatedMargin(m),
            ClientMessage::WalletTransfer(m) => CommandKind::WalletTransfer(m),
            ClientMessage::SetMarkPrice(m) => CommandKind::SetMarkPrice(m),
            ClientMessage::ApplyFunding(m) => CommandKind::ApplyFunding(m),
            ClientMessage::Login(_)
            | ClientMessage::Heartbeat
            | ClientMessage::Logout(_)
            | ClientMessage::MdSubscribe(_)
            | ClientMessage::MdSnapshotRequest(_) => return None,
        };
        Some(Command { account, timestamp_ns, kind })
    }
}

impl ServerMessage {
    /// The shortest block the decoder accepts for a server → client template: its block length,
    /// except for blocks that grew by appended fields (see [`report_min_block_len`]).
    pub fn min_block_len_of(template_id: u16) -> Option<usize> {
        match template_id {
            // Version 1's block, before the leader's address was appended.
            template::LOGIN_REJECTED => Some(LOGIN_REJECTED_V1_BLOCK_LEN),
            template::LOGIN_ACCEPTED | template::HEARTBEAT | template::LOGOUT | template::SESSION_REJECT => {
                Self::block_len_of(template_id)
            }
            t => report_min_block_len(t),
        }
    }

    /// Block length of a server → client template as this code encodes it, `None` if unknown in
    /// this direction.
    pub fn block_len_of(template_id: u16) -> Option<usize> {
        Some(match template_id {
            template::LOGIN_ACCEPTED => layout::login_accepted::BLOCK_LEN,
            template::LOGIN_REJECTED => layout::login_rejected::BLOCK_LEN,
            template::HEARTBEAT => layout::heartbeat::BLOCK_LEN,
            template::LOGOUT => layout::logout::BLOCK_LEN,
            template::SESSION_REJECT => layout::session_reject::BLOCK_LEN,
            t => return report_block_len(t),
        })
    }

    /// Decodes one message from its header and body (as split by [`super::decode_frame`]).
    /// A block longer than the version-1 block is accepted and its tail ignored.
    pub fn decode(header: &Header, body: &[u8]) -> Result<ServerMessage, DecodeError> {
        let r = check(header, body, Self::min_block_len_of(header.template_id))?;
        Ok(match header.template_id {
            template::LOGIN_ACCEPTED => ServerMessage::LoginAccepted(LoginAccepted::read(&r)?),
            template::LOGIN_REJECTED => ServerMessage::LoginRejected(LoginRejected::read(&r)?),
            template::HEARTBEAT => ServerMessage::Heartbeat,
            template::LOGOUT => ServerMessage::Logout(Logout::read(&r)?),
            template::SESSION_REJECT => ServerMessage::SessionReject(SessionReject::read(&r)?),
            t => {
                let (seq, report) = ExecReport::read(t, &r)?;
                ServerMessage::Report { seq, report }
            }
        })
    }

    /// [`ServerMessage::decode`] of a frame.
    #[inline]
    pub fn decode_frame(frame: &Frame<'_>) -> Result<ServerMessage, DecodeError> {
        Self::decode(&frame.header, frame.body)
    }

    /// Template id.
    pub fn template_id(&self) -> u16 {
        match self {
            ServerMessage::LoginAccepted(_) => template::LOGIN_ACCEPTED,
            ServerMessage::LoginRejected(_) => template::LOGIN_REJECTED,
            ServerMessage::Heartbeat => template::HEARTBEAT,
            ServerMessage::Logout(_) => template::LOGOUT,
            ServerMessage::SessionReject(_) => template::SESSION_REJECT,
            ServerMessage::Report { report, .. } => report.template_id(),
        }
    }

    /// The sequence number, for a sequenced report.
    pub fn seq(&self) -> Option<u64> {
        match self {
            ServerMessage::Report { seq, .. } => Some(*seq),
            _ => None,
        }
    }

    /// Block length (version 1).
    pub fn block_len(&self) -> usize {
        Self::block_len_of(self.template_id()).unwrap_or(0)
    }

    /// Bytes of the whole encoded message (length prefix included).
    pub fn encoded_len(&self) -> usize {
        LENGTH_PREFIX_LEN + HEADER_LEN + self.block_len()
    }

    /// Encodes the message into the front of `buf`; returns the bytes written.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        if let ServerMessage::Report { seq, report } = self {
            return report.encode(*seq, buf);
        }
        encode_message(self.template_id(), self.block_len(), buf, |w| match self {
            ServerMessage::LoginAccepted(m) => m.write(w),
            ServerMessage::LoginRejected(m) => m.write(w),
            ServerMessage::Logout(m) => m.write(w),
            ServerMessage::SessionReject(m) => m.write(w),
            ServerMessage::Heartbeat | ServerMessage::Report { .. } => {}
        })
    }

    /// Appends the encoded message to `out` within its spare capacity (never reallocates).
    pub fn encode_into_vec(&self, out: &mut Vec<u8>) -> Result<usize, EncodeError> {
        append_to_vec(out, self.encoded_len(), |b| self.encode(b))
    }
}
