//! [`LoginThrottle`]: failed logins are limited per account and per source address, so a password
//! cannot be guessed at network speed. Once a key's budget is spent, its logins are refused
//! without checking the credential until the budget refills; an unknown account id is throttled
//! exactly like a known one, so throttling does not tell which accounts exist.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// The address the login limits count a peer under: an IPv4 address (also when it arrives
/// IPv4-mapped on a dual-stack socket), or an IPv6 /64, the smallest block one host is usually
/// given (counting single IPv6 addresses would let one host use 2^64 budgets).
pub fn address_key(ip: IpAddr) -> IpAddr {
    match canonical_ip(ip) {
        IpAddr::V6(v6) => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        v4 => v4,
    }
}

/// An IPv4 peer on a dual-stack socket arrives as `::ffff:a.b.c.d`; limits and allowlists name
/// it as IPv4.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Keys remembered per table. Beyond it the idle (fully refilled) entries go first, then the one
/// refilled longest ago: an attacker spraying addresses cannot grow the table without bound.
pub const THROTTLE_TABLE_CAPACITY: usize = 4096;

/// Which budget refused a login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleScope {
    /// Too many failures for this account id.
    Account,
    /// Too many failures from this source address.
    Address,
}

/// A budget of `capacity` failures that refills at `capacity` per minute.
#[derive(Debug, Clone, Copy)]
struct Budget {
    left: u32,
    /// The time up to which refills have been counted (only whole failures move it).
    counted_to: Instant,
}

impl Budget {
    fn refill(&mut self, capacity: u32, now: Instant) {
        let per_failure = Duration::from_secs(60) / capacity.max(1);
        let elapsed = now.saturating_duration_since(self.counted_to);
        let earned = (elapsed.as_nanos() / per_failure.as_nanos().max(1)).min(capacity as u128) as u32;
        if earned == 0 {
            return;
        }
        self.left = self.left.saturating_add(earned).min(capacity);
        self.counted_to = if self.left == capacity { now } else { self.counted_to + per_failure * earned };
        debug_assert!(self.left <= capacity);
    }
}

/// Failure budgets of one kind of key, bounded in size.
#[derive(Debug)]
struct Table<K> {
    capacity_per_minute: u32,
    budgets: HashMap<K, Budget>,
}

impl<K: Hash + Eq + Copy> Table<K> {
    fn new(capacity_per_minute: u32) -> Self {
        Self { capacity_per_minute, budgets: HashMap::new() }
    }

    fn is_spent(&mut self, key: K, now: Instant) -> bool {
        let cap = self.capacity_per_minute;
        match self.budgets.get_mut(&key) {
            Some(b) => {
                b.refill(cap, now);
                b.left == 0
            }
            None => false,
        }
    }

    /// Spends one failure; returns true when that spent the last of the budget.
    fn spend(&mut self, key: K, now: Instant) -> bool {
        let cap = self.capacity_per_minute;
        if !self.budgets.contains_key(&key) && self.budgets.len() >= THROTTLE_TABLE_CAPACITY {
            self.make_room(now);
        }
        let b = self.budgets.entry(key).or_insert(Budget { left: cap, counted_to: now });
        b.refill(cap, now);
        b.left = b.left.saturating_sub(1);
        b.left == 0
    }

    fn make_room(&mut self, now: Instant) {
        let cap = self.capacity_per_minute;
        self.budgets.retain(|_, b| {
            b.refill(cap, now);
            b.left < cap
        });
        if self.budgets.len() >= THROTTLE_TABLE_CAPACITY {
            let oldest = self.budgets.iter().min_by_key(|(_, b)| b.counted_to).map(|(k, _)| *k);
            if let Some(k) = oldest {
                self.budgets.remove(&k);
            }
        }
        debug_assert!(self.budgets.len() < THROTTLE_TABLE_CAPACITY);
    }
}

/// Failed-login budgets per account id and per source address.
#[derive(Debug)]
pub struct LoginThrottle {
    accounts: Table<u32>,
    addresses: Table<IpAddr>,
}

impl LoginThrottle {
    /// Budgets of `per_account` and `per_address` failures per minute (each at least 1).
    pub fn new(per_account_per_minute: u32, per_address_per_minute: u32) -> Self {
        assert!(per_account_per_minute > 0 && per_address_per_minute > 0, "validated with the config");
        Self { accounts: Table::new(per_account_per_minute), addresses: Table::new(per_address_per_minute) }
    }

    /// Whether a login for `account` from `address` may be checked now.
    pub fn check(&mut self, account: u32, address: IpAddr, now: Instant) -> Result<(), ThrottleScope> {
        if self.addresses.is_spent(address_key(address), now) {
            return Err(ThrottleScope::Address);
        }
        if self.accounts.is_spent(account, now) {
            return Err(ThrottleScope::Account);
        }
        Ok(())
    }

    /// Counts a failed login; returns the scopes whose budget this failure used up.
    pub fn record_failure(&mut self, account: u32, address: IpAddr, now: Instant) -> [Option<ThrottleScope>; 2] {
        let account_spent = self.accounts.spend(account, now);
        let address_spent = self.addresses.spend(address_key(address), now);
        [account_spent.then_some(ThrottleScope::Account), address_spent.then_some(ThrottleScope::Address)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn an_account_is_throttled_after_its_budget_and_refills_over_a_minute() {
        let t0 = Instant::now();
        let mut t = LoginThrottle::new(3, 1000);
        for i in 0..3 {
            assert_eq!(t.check(7, A, t0), Ok(()), "failure {i}");
            t.record_failure(7, A, t0);
        }
        assert_eq!(t.check(7, A, t0), Err(ThrottleScope::Account));
        assert_eq!(t.check(7, B, t0), Err(ThrottleScope::Account), "from any address");
        assert_eq!(t.check(8, A, t0), Ok(()), "other accounts are not affected");
        assert_eq!(t.check(7, A, t0 + Duration::from_secs(19)), Err(ThrottleScope::Account));
        assert_eq!(t.check(7, A, t0 + Duration::from_secs(21)), Ok(()), "one failure refilled after 20 s");
    }

    #[test]
    fn an_address_is_throttled_across_accounts() {
        let t0 = Instant::now();
        let mut t = LoginThrottle::new(1000, 2);
        t.record_failure(1, A, t0);
        let spent = t.record_failure(2, A, t0);
        assert_eq!(spent, [None, Some(ThrottleScope::Address)]);
        assert_eq!(t.check(3, A, t0), Err(ThrottleScope::Address));
        assert_eq!(t.check(3, B, t0), Ok(()));
    }

    #[test]
    fn addresses_count_per_ipv4_host_and_per_ipv6_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(address_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn the_tables_stay_bounded_under_an_address_spray() {
        let t0 = Instant::now();
        let mut t = LoginThrottle::new(5, 5);
        for i in 0..(THROTTLE_TABLE_CAPACITY as u32 * 3) {
            let addr = IpAddr::V4(std::net::Ipv4Addr::from(0x0A00_0000 + i));
            t.record_failure(i, addr, t0 + Duration::from_micros(i as u64));
        }
        assert!(t.accounts.budgets.len() <= THROTTLE_TABLE_CAPACITY);
        assert!(t.addresses.budgets.len() <= THROTTLE_TABLE_CAPACITY);
    }
}
