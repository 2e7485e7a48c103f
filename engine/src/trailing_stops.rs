//! Trailing stops: armed conditional orders whose trigger follows the best last trade price
//! since arming by a delta (docs/matching.md, "Trailing stops"). Everything else about them
//! (funding, cancel, amend, expiry, firing) is a conditional order's (`stop_orders.rs`); this
//! module keeps them in their instrument's [`TrailingBook`](crate::trailing_book::TrailingBook)
//! instead of the trigger book, and finds the next to fire.

use crate::engine::Engine;
use crate::event::RejectReason;
use crate::order_pool::{Slot, TRAILING};
use crate::trail_table::TrailEntry;
use crate::trailing_book::{TrailGroup, MAX_TRAIL_GROUPS};
use crate::trigger_book::fires;
use crate::types::*;

impl Engine {
    /// Whether a trailing stop of `trailing` fits on side `rise` of instrument `ii`: its delta in
    /// range (`InvalidField`), its group existing or room for one (`CapacityReached`).
    pub(crate) fn validate_trailing(&self, ii: usize, rise: bool, trailing: Trailing) -> Result<(), RejectReason> {
        let bps_ok = trailing.unit != TrailUnit::Bps || trailing.delta <= MAX_TRAIL_BPS;
        if trailing.delta == 0 || !bps_ok {
            return Err(RejectReason::InvalidField);
        }
        let side = self.instruments[ii].triggers.trailing.side(rise);
        if side.group(trailing).is_none() && side.groups.len() >= MAX_TRAIL_GROUPS {
            return Err(RejectReason::CapacityReached);
        }
        Ok(())
    }

    /// The trigger price a trailing stop of `trailing` would have if armed now.
    pub(crate) fn initial_trail_trigger(&self, ii: usize, rise: bool, trailing: Trailing) -> Price {
        let inst = &self.instruments[ii];
        trailing.trigger_price(rise, inst.reference_price, inst.spec.tick)
    }

    /// Arms a validated slot as a trailing stop: in the current epoch of its side's track, at the
    /// back of its delta's group.
    pub(crate) fn attach_trailing(&mut self, ii: usize, slot: Slot, rise: bool, trailing: Trailing) {
        self.observe_trailing(ii);
        let inst = &mut self.instruments[ii];
        let (last, tick) = (inst.reference_price, inst.spec.tick);
        // Nothing is due at the last price (the last check said so, or nothing was armed).
        inst.triggers.trailing.checked_price = last;
        let side = inst.triggers.trailing.side_mut(rise);
        let epoch = side.track.arm(last);
        let level = match side.group(trailing) {
            Some(g) => side.groups[g].level,
            None => {
                let level = self.levels.alloc(0);
                let trigger = trailing.trigger_price(rise, last, tick);
                let group = TrailGroup { trailing, level, head_epoch: epoch, trigger };
                self.instruments[ii].triggers.trailing.side_mut(rise).groups.push(group);
                level
            }
        };
        self.orders.get_mut(slot).flags |= TRAILING;
        self.append_to_level(slot, level);
        self.trails.insert(TrailEntry { slot, trailing, epoch });
    }

    /// Unlinks a trailing stop from its group and its track (dropping the group if it empties);
    /// returns its trigger price at this moment. The slot stays allocated.
    pub(crate) fn detach_trailing(&mut self, ii: usize, slot: Slot, rise: bool) -> Price {
        let trigger_price = self.trail_trigger(ii, slot, rise);
        let t = self.trails.remove(slot);
        let level = self.orders.get(slot).level;
        let was_head = self.levels.get(level).head == slot;
        self.detach_from_level(slot);
        self.orders.get_mut(slot).flags &= !TRAILING;
        let side = self.instruments[ii].triggers.trailing.side_mut(rise);
        side.track.remove(t.epoch);
        let g = side.group_of_level(level);
        if self.levels.get(level).order_count == 0 {
            // `remove`, not `swap_remove`: the groups' order is snapshot order.
            side.groups.remove(g);
            self.levels.free(level);
        } else if was_head {
            self.refresh_trail_group(ii, rise, g);
        }
        trigger_price
    }

    /// Recomputes group `g`'s cached head epoch and trigger from its head.
    fn refresh_trail_group(&mut self, ii: usize, rise: bool, g: usize) {
        let level = self.instruments[ii].triggers.trailing.side(rise).groups[g].level;
        let head = self.levels.get(level).head;
        let head_epoch = self.trails.get(head).epoch;
        let trigger = self.trail_trigger(ii, head, rise);
        let group = &mut self.instruments[ii].triggers.trailing.side_mut(rise).groups[g];
        group.head_epoch = head_epoch;
        group.trigger = trigger;
    }

    /// Snapshot restore: every group's cache from its head, and the checked price (a snapshot is
    /// taken between commands: nothing is due at the last price).
    pub(crate) fn refresh_trailing(&mut self, ii: usize) {
        for rise in [true, false] {
            for g in 0..self.instruments[ii].triggers.trailing.side(rise).groups.len() {
                self.refresh_trail_group(ii, rise, g);
            }
        }
        let inst = &mut self.instruments[ii];
        inst.triggers.trailing.checked_price = inst.reference_price;
    }

    /// A trailing stop's trigger price now.
    pub(crate) fn trail_trigger(&self, ii: usize, slot: Slot, rise: bool) -> Price {
        let t = self.trails.get(slot);
        let inst = &self.instruments[ii];
        let peak = inst.triggers.trailing.side(rise).track.peak(t.epoch);
        t.trailing.trigger_price(rise, peak, inst.spec.tick)
    }

    /// Feeds the last trade price to the instrument's trailing tracks (before any firing check):
    /// the groups whose head's run it reached get the trigger of that new peak.
    #[inline]
    pub(crate) fn observe_trailing(&mut self, ii: usize) {
        let inst = &mut self.instruments[ii];
        let (last, tick) = (inst.reference_price, inst.spec.tick);
        for rise in [true, false] {
            let side = inst.triggers.trailing.side_mut(rise);
            if side.groups.is_empty() {
                continue;
            }
            if let Some(from_epoch) = side.track.observe(last) {
                for g in side.groups.iter_mut().filter(|g| g.head_epoch >= from_epoch) {
                    g.trigger = g.trailing.trigger_price(rise, last, tick);
                }
            }
        }
    }

    /// The trailing stop of side `rise` that fires first at `last`, with its trigger price: the
    /// group heads that fire, the trigger the price passed first (lowest on a rise, highest on a
    /// fall), then the lower order id.
    pub(crate) fn next_trailing(&self, ii: usize, rise: bool, last: Price) -> Option<(Price, Slot)> {
        let side = self.instruments[ii].triggers.trailing.side(rise);
        let mut best: Option<(Price, &TrailGroup)> = None;
        for g in &side.groups {
            debug_assert_eq!(g.trigger, self.trail_trigger(ii, self.levels.get(g.level).head, rise));
            if !fires(rise, g.trigger, last) {
                continue;
            }
            best = match best {
                Some((p, b)) if p == g.trigger => {
                    // Rare (two deltas at one trigger price): the older head first.
                    let id = |g: &TrailGroup| self.orders.get(self.levels.get(g.level).head).order_id;
                    Some(if id(g) < id(b) { (p, g) } else { (p, b) })
                }
                Some((p, b)) if !(if rise { g.trigger < p } else { g.trigger > p }) => Some((p, b)),
                _ => Some((g.trigger, g)),
            };
        }
        best.map(|(p, g)| (p, self.levels.get(g.level).head))
    }

    /// Whether armed order `a` (trigger price, slot) fires before `b` on side `rise`: the price
    /// passed its trigger first, or the same trigger and it arrived first.
    pub(crate) fn fires_before(&self, rise: bool, a: (Price, Slot), b: (Price, Slot)) -> bool {
        if a.0 != b.0 {
            return if rise { a.0 < b.0 } else { a.0 > b.0 };
        }
        self.orders.get(a.1).order_id < self.orders.get(b.1).order_id
    }

    /// Snapshot restore: appends a slot (already armed and indexed) to its delta's group with its
    /// recorded epoch. The groups and their orders must come in the order a snapshot lists them:
    /// `false` if the group is not the side's newest, the epoch is older than the group's newest
    /// order's, or there is no room for another group.
    pub(crate) fn restore_trailing(
        &mut self,
        ii: usize,
        slot: Slot,
        rise: bool,
        trailing: Trailing,
        epoch: u64,
    ) -> bool {
        let side = self.instruments[ii].triggers.trailing.side(rise);
        let level = match side.group(trailing) {
            Some(g) if g + 1 != side.groups.len() => return false,
            Some(g) => {
                let tail = self.levels.get(side.groups[g].level).tail;
                if self.trails.get(tail).epoch > epoch {
                    return false;
                }
                side.groups[g].level
            }
            None if side.groups.len() >= MAX_TRAIL_GROUPS => return false,
            None => {
                let level = self.levels.alloc(0);
                // The cache is filled once every order is back (`refresh_trailing`).
                let group = TrailGroup { trailing, level, head_epoch: epoch, trigger: 0 };
                self.instruments[ii].triggers.trailing.side_mut(rise).groups.push(group);
                level
            }
        };
        self.orders.get_mut(slot).flags |= TRAILING;
        self.append_to_level(slot, level);
        self.trails.insert(TrailEntry { slot, trailing, epoch });
        true
    }
}
