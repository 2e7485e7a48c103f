//! [`PendingLogins`]: the budget of connections that have not logged in yet, in total and per
//! source address. It is apart from the logged-in sessions' budget (`server.max_connections`), so
//! idle unauthenticated sockets can never take a trader's place.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::login_throttle::address_key;

/// Counts of connections waiting to log in.
#[derive(Debug)]
pub struct PendingLogins {
    max_total: usize,
    max_per_address: usize,
    total: usize,
    /// Only addresses with a connection waiting: at most `max_total` entries.
    per_address: HashMap<IpAddr, usize>,
}

impl PendingLogins {
    /// A budget of `max_total` connections, `max_per_address` from one address.
    pub fn new(max_total: usize, max_per_address: usize) -> Self {
        assert!(max_total > 0 && max_per_address > 0 && max_per_address <= max_total, "validated with the config");
        Self { max_total, max_per_address, total: 0, per_address: HashMap::new() }
    }

    /// Connections waiting from `address` (counted per [`address_key`]).
    pub fn at_address(&self, address: IpAddr) -> usize {
        self.per_address.get(&address_key(address)).copied().unwrap_or(0)
    }

    /// The per-address limit.
    pub fn max_per_address(&self) -> usize {
        self.max_per_address
    }

    /// Connections waiting in all.
    pub fn total(&self) -> usize {
        self.total
    }

    /// No room for another without closing one.
    pub fn is_full(&self) -> bool {
        self.total >= self.max_total
    }

    /// A connection from `address` starts waiting.
    pub fn add(&mut self, address: IpAddr) {
        *self.per_address.entry(address_key(address)).or_insert(0) += 1;
        self.total += 1;
        debug_assert!(self.total <= self.max_total, "the caller makes room first");
        debug_assert!(self.at_address(address) <= self.max_per_address);
    }

    /// A connection from `address` stops waiting (logged in, subscribed or closed).
    pub fn remove(&mut self, address: IpAddr) {
        let address = address_key(address);
        let Some(n) = self.per_address.get_mut(&address) else {
            debug_assert!(false, "removing an address that has no waiting connection");
            return;
        };
        *n -= 1;
        if *n == 0 {
            self.per_address.remove(&address);
        }
        self.total -= 1;
        debug_assert_eq!(self.total, self.per_address.values().sum::<usize>());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_address_and_forgets_idle_addresses() {
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let mut p = PendingLogins::new(3, 2);
        p.add(a);
        p.add(a);
        p.add(b);
        assert_eq!((p.at_address(a), p.at_address(b), p.total()), (2, 1, 3));
        assert!(p.is_full());
        p.remove(a);
        p.remove(a);
        assert_eq!(p.at_address(a), 0);
        assert!(!p.per_address.contains_key(&a));
        assert!(!p.is_full());
    }

    #[test]
    fn ipv6_hosts_of_one_64_share_a_budget_and_mapped_ipv4_counts_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let mut p = PendingLogins::new(8, 2);
        p.add(a);
        p.add(b);
        assert_eq!(p.at_address("2001:db8:1:2::77".parse().unwrap()), 2);
        p.add("::ffff:192.0.2.1".parse().unwrap());
        assert_eq!(p.at_address("192.0.2.1".parse().unwrap()), 1);
        p.remove(b);
        assert_eq!(p.at_address(a), 1);
    }
}
