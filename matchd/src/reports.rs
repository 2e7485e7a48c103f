//! [`Reports`]: every account's execution-report stream and its numbering. Built by the startup
//! replay (and the journal tool's), then owned by the publisher thread.

use engine::{Event, NO_ACCOUNT};
use protocol::execution_reports;

use crate::account_stream::{AccountStream, ReportStateError};

/// Every account's report stream. Built by replay at startup, then owned by
/// the publisher thread.
pub struct Reports {
    accounts: Vec<AccountStream>,
    /// The engine config's `oracle_account`: its stream gets the mark and funding reports.
    oracle_account: u32,
}

impl Reports {
    /// Streams for `max_accounts` accounts, each retaining `retained` reports.
    pub fn new(max_accounts: u32, retained: u64) -> Self {
        Self { accounts: (0..max_accounts).map(|_| AccountStream::new(retained)).collect(), oracle_account: NO_ACCOUNT }
    }

    /// Sends the mark and funding reports (whose events name no account) to `account`'s stream:
    /// the engine config's `oracle_account`, the journal's, set before its first command is
    /// replayed so that a replay numbers them as the live run did (`NO_ACCOUNT`: nobody's).
    pub fn route_oracle_reports_to(&mut self, account: u32) {
        self.oracle_account = account;
    }

    /// Numbers and retains the reports an event yields; calls `touched` with
    /// each account that got one.
    #[inline]
    pub fn record(&mut self, event: &Event, mut touched: impl FnMut(u32)) {
        let accounts = &mut self.accounts;
        execution_reports(event, self.oracle_account, |account, report| {
            if let Some(stream) = accounts.get_mut(account as usize) {
                stream.append(report);
                touched(account);
            }
        });
    }

    /// Every account's report numbering and its newest `keep` reports, for a
    /// snapshot's publisher section: `count u32`, then per account with any
    /// report `account u32` and [`AccountStream::export`].
    pub fn export_state(&self, keep: u64) -> Vec<u8> {
        let mut out = Vec::new();
        let active: Vec<usize> = (0..self.accounts.len()).filter(|&a| self.accounts[a].highest() > 0).collect();
        out.extend_from_slice(&(active.len() as u32).to_le_bytes());
        for a in active {
            out.extend_from_slice(&(a as u32).to_le_bytes());
            self.accounts[a].export(keep, &mut out);
        }
        out
    }

    /// Restores what [`Reports::export_state`] saved (into fresh streams).
    pub fn import_state(&mut self, bytes: &[u8]) -> Result<(), ReportStateError> {
        let word = |at: usize| -> Result<u32, ReportStateError> {
            bytes
                .get(at..at + 4)
                .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
                .ok_or(ReportStateError::Truncated(at))
        };
        let count = word(0)?;
        let mut at = 4;
        for _ in 0..count {
            let account = word(at)? as usize;
            let stream = self
                .accounts
                .get_mut(account)
                .ok_or(ReportStateError::Invalid { at, what: "account beyond engine.max_accounts" })?;
            at += 4;
            at += stream.import(&bytes[at..], at)?;
        }
        if at != bytes.len() {
            return Err(ReportStateError::Invalid { at, what: "trailing bytes" });
        }
        Ok(())
    }

    /// Accounts with a stream (the engine's `max_accounts`).
    pub fn account_count(&self) -> usize {
        self.accounts.len()
    }

    /// One account's stream.
    pub fn account(&self, account: u32) -> Option<&AccountStream> {
        self.accounts.get(account as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::{EventKind, MarkPriceSet};

    /// Marks (and funding) name no account: they are numbered on the oracle's stream once it is
    /// known, on nobody's before.
    #[test]
    fn mark_reports_go_to_the_oracle_stream() {
        let mut r = Reports::new(16, 8);
        let mark = Event { seq: 5, kind: EventKind::MarkPriceSet(MarkPriceSet { instrument: 3, mark_price: 7 }) };
        let mut touched = Vec::new();
        r.record(&mark, |a| touched.push(a));
        assert!(touched.is_empty());
        r.route_oracle_reports_to(9);
        r.record(&mark, |a| touched.push(a));
        assert_eq!(touched, vec![9]);
        assert_eq!(r.account(9).map(AccountStream::highest), Some(1));
    }
}
