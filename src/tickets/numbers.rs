//! Ticket numbers handed out from blocks each instance reserves per tenant
//! and day, so that most submissions take their number without a round
//! trip and without the tenant's counter row. The first block of a tenant's
//! day is one number, each next one twice the last, up to [`MAX_BLOCK`]:
//! a quiet tenant's numbers follow each other as before, a busy one asks
//! the database once per 64 submissions. Numbers never repeat across
//! instances; an instance that stops forgets the rest of its block (a gap,
//! as a submission that fails after taking its number leaves; one refused
//! inside its transaction, before writing anything, gives it back), and two
//! instances' numbers of one day interleave rather than follow submission
//! order (the queue orders by ticket id, not number).

use std::collections::HashMap;
use std::sync::Mutex;

use crate::db::{self, DbConnection};
use crate::domain::ids::TenantId;

/// The largest block an instance reserves at once.
pub const MAX_BLOCK: i64 = 64;

#[derive(Default)]
struct Day {
    /// Numbers reserved and not handed out yet, as inclusive ranges.
    free: Vec<(i64, i64)>,
    /// The size of the last block reserved.
    last_block: i64,
}

/// One instance's reserved numbers, by tenant, for the current day only.
#[derive(Default)]
pub struct NumberBlocks {
    days: Mutex<(String, HashMap<TenantId, Day>)>,
}

impl NumberBlocks {
    /// The tenant's next number of `day` (`YYYYMMDD`): from this
    /// instance's block, or from a new block reserved in a statement of its
    /// own (outside any transaction: see `db::tickets::take_numbers`).
    pub fn next(&self, conn: &mut DbConnection, tenant: TenantId, day: &str) -> diesel::QueryResult<i64> {
        let size = {
            let mut guard = self.days.lock().unwrap_or_else(|p| p.into_inner());
            let (current, tenants) = &mut *guard;
            if current != day {
                // A new day: yesterday's blocks are of no use any more.
                *current = day.to_owned();
                tenants.clear();
            }
            let d = tenants.entry(tenant).or_default();
            if let Some(n) = take(&mut d.free) {
                return Ok(n);
            }
            d.last_block = (d.last_block * 2).clamp(1, MAX_BLOCK);
            d.last_block
        };
        // Reserved without the lock held: two threads may each reserve a
        // block; both are used.
        let last = db::tickets::take_numbers(conn, tenant, day, size)?;
        let first = last - size + 1;
        if size > 1 {
            let mut guard = self.days.lock().unwrap_or_else(|p| p.into_inner());
            let (current, tenants) = &mut *guard;
            if current == day {
                tenants.entry(tenant).or_default().free.push((first + 1, last));
            }
        }
        Ok(first)
    }

    /// Hands `n`, taken by [`NumberBlocks::next`] for `day` and written
    /// nowhere, out again (the next submission gets it, being the lowest):
    /// an attempt refused after its number was taken leaves no gap. A
    /// number from a day that is over is of no use and is dropped.
    pub fn give_back(&self, tenant: TenantId, day: &str, n: i64) {
        let mut guard = self.days.lock().unwrap_or_else(|p| p.into_inner());
        let (current, tenants) = &mut *guard;
        if current == day {
            tenants.entry(tenant).or_default().free.push((n, n));
        }
    }
}

/// The lowest free number, removed from `free`.
fn take(free: &mut Vec<(i64, i64)>) -> Option<i64> {
    let (i, &(first, last)) = free.iter().enumerate().min_by_key(|(_, r)| r.0)?;
    if first == last {
        free.remove(i);
    } else {
        free[i].0 = first + 1;
    }
    Some(first)
}

#[cfg(test)]
mod tests {
    use super::{take, NumberBlocks};
    use crate::domain::ids::TenantId;

    #[test]
    fn free_numbers_are_handed_out_lowest_first_and_once() {
        let mut free = vec![(8, 9), (3, 4)];
        let taken: Vec<_> = std::iter::from_fn(|| take(&mut free)).collect();
        assert_eq!(taken, [3, 4, 8, 9]);
        assert!(free.is_empty());
    }

    #[test]
    fn a_number_given_back_is_the_next_handed_out_on_its_day_only() {
        let blocks = NumberBlocks::default();
        let tenant = TenantId::parse("00000000-0000-7000-8000-000000000001").unwrap();
        {
            let mut days = blocks.days.lock().unwrap();
            days.0 = "20261128".to_owned();
            days.1.entry(tenant).or_default().free.push((5, 9));
        }
        blocks.give_back(tenant, "20261128", 4);
        blocks.give_back(tenant, "20261127", 1);
        let mut days = blocks.days.lock().unwrap();
        let free = &mut days.1.get_mut(&tenant).unwrap().free;
        let taken: Vec<_> = std::iter::from_fn(|| take(free)).collect();
        assert_eq!(taken, [4, 5, 6, 7, 8, 9], "yesterday's number is not handed out today");
    }
}
