//! Where a flow's time goes, by what each command did: cancels, new orders that rested without
//! trading, and new orders (or other commands) that traded once or more. A throughput figure
//! alone cannot tell a change that sped up the common command from one that sped up a rare
//! one; the shares say which class a change has to shorten to move the total.

/// What a command did, for [`ClassTimes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandClass {
    /// A cancel (found or rejected).
    Cancel,
    /// Any other command that traded nothing: mostly new orders that rested.
    NoTrade,
    /// A command that traded exactly once.
    OneTrade,
    /// A command that traded two or more times.
    Trades,
}

const CLASSES: [(CommandClass, &str); 4] = [
    (CommandClass::Cancel, "cancel"),
    (CommandClass::NoTrade, "no_trade"),
    (CommandClass::OneTrade, "one_trade"),
    (CommandClass::Trades, "trades"),
];

impl CommandClass {
    /// The class of a command: whether it is a cancel, else by the trades it made.
    pub fn of(is_cancel: bool, trades: u64) -> Self {
        match (is_cancel, trades) {
            (true, _) => CommandClass::Cancel,
            (false, 0) => CommandClass::NoTrade,
            (false, 1) => CommandClass::OneTrade,
            (false, _) => CommandClass::Trades,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Commands and summed nanoseconds per [`CommandClass`].
#[derive(Debug, Default, Clone)]
pub struct ClassTimes {
    commands: [u64; 4],
    ns: [u64; 4],
}

impl ClassTimes {
    /// Counts one command of `class` that took `ns`.
    pub fn record(&mut self, class: CommandClass, ns: u64) {
        self.commands[class.index()] += 1;
        self.ns[class.index()] += ns;
    }

    /// `"classes":{"cancel":{"cmds_pct":..,"mean_ns":..,"time_pct":..},..}` for a JSON object:
    /// each class's share of the commands, its mean time (timer included, as every latency figure
    /// of the bench), and its share of the summed time.
    pub fn json(&self) -> String {
        let commands: u64 = self.commands.iter().sum::<u64>().max(1);
        let ns: u64 = self.ns.iter().sum::<u64>().max(1);
        let parts: Vec<String> = CLASSES
            .iter()
            .map(|&(class, name)| {
                let (c, t) = (self.commands[class.index()], self.ns[class.index()]);
                format!(
                    "\"{name}\":{{\"cmds_pct\":{:.1},\"mean_ns\":{:.1},\"time_pct\":{:.1}}}",
                    100.0 * c as f64 / commands as f64,
                    t as f64 / c.max(1) as f64,
                    100.0 * t as f64 / ns as f64
                )
            })
            .collect();
        format!("\"classes\":{{{}}}", parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_and_means_follow_the_records() {
        let mut t = ClassTimes::default();
        t.record(CommandClass::of(true, 0), 30);
        t.record(CommandClass::of(false, 0), 10);
        t.record(CommandClass::of(false, 0), 20);
        t.record(CommandClass::of(false, 3), 40);
        let j = t.json();
        assert!(j.contains("\"cancel\":{\"cmds_pct\":25.0,\"mean_ns\":30.0,\"time_pct\":30.0}"), "{j}");
        assert!(j.contains("\"no_trade\":{\"cmds_pct\":50.0,\"mean_ns\":15.0,\"time_pct\":30.0}"), "{j}");
        assert!(j.contains("\"one_trade\":{\"cmds_pct\":0.0,\"mean_ns\":0.0,\"time_pct\":0.0}"), "{j}");
        assert!(j.contains("\"trades\":{\"cmds_pct\":25.0,\"mean_ns\":40.0,\"time_pct\":40.0}"), "{j}");
    }
}
