//! Send budgets: at most `limit` messages in any window of each length.
//! A message over budget is scheduled for the first moment it fits.

use chrono::{Duration, NaiveDateTime};

use super::settings::SendBudget;

/// The windows and limits of a budget.
pub fn windows(b: SendBudget) -> [(Duration, usize); 3] {
    [
        (Duration::minutes(1), b.per_minute as usize),
        (Duration::hours(1), b.per_hour as usize),
        (Duration::days(1), b.per_day as usize),
    ]
}

/// The earliest time at or after `earliest` (and after every time already
/// taken, so messages keep their order) when one more message fits in every
/// window: fewer than `limit` taken times in `(t - window, t]`.
pub fn next_slot(earliest: NaiveDateTime, taken: &[NaiveDateTime], budget: SendBudget) -> NaiveDateTime {
    let mut taken = taken.to_vec();
    taken.sort();
    let mut t = taken.last().map_or(earliest, |last| earliest.max(*last));
    loop {
        let mut moved = false;
        for (window, limit) in windows(budget) {
            let inside: Vec<&NaiveDateTime> = taken.iter().filter(|x| **x > t - window && **x <= t).collect();
            if inside.len() >= limit {
                // Wait until enough of them leave the window.
                t = *inside[inside.len() - limit] + window;
                moved = true;
            }
        }
        if !moved {
            return t;
        }
    }
}

/// How long an informational SMS may wait for its budget: past this it is
/// not sent at all (its e-mail twin still goes), rather than arriving hours
/// after the news it brings.
pub const INFORMATIONAL_WAIT: Duration = Duration::minutes(10);

/// The share of a carrier budget informational SMS may use: the carrier's
/// per-minute rate, but only half of each hour and day (rounded down), so the
/// other half is always left for credentials. A zero means none at all.
pub fn informational(carrier: SendBudget) -> SendBudget {
    SendBudget { per_minute: carrier.per_minute, per_hour: carrier.per_hour / 2, per_day: carrier.per_day / 2 }
}

/// An SMS already in a budget (to this phone, or about this filing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub id: String,
    pub at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    /// A credential, or a security notice (contacts changed): never moved
    /// or dropped for news.
    pub priority: bool,
    /// Still waiting and in no sender's hands: may be moved or withdrawn.
    pub waiting: bool,
    pub ticket: Option<String>,
}

/// The SMS being placed.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    /// A credential or a security notice; the rest is news.
    pub priority: bool,
    pub ticket: Option<&'a str>,
}

/// Where the new SMS goes, and what it does to the ones waiting.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Placement {
    /// When it goes; `None`: it does not go (over the informational budget).
    pub at: Option<NaiveDateTime>,
    /// Waiting informational SMS moved after a credential.
    pub moves: Vec<(String, NaiveDateTime)>,
    /// Waiting informational SMS that will not go: the same ticket's news
    /// that a credential overtook (they would arrive out of order), or news
    /// moved past [`INFORMATIONAL_WAIT`].
    pub dropped: Vec<String>,
}

/// The first time at or after `earliest` that fits every `(taken, budget)`.
fn first_fit(earliest: NaiveDateTime, constraints: &[(&[NaiveDateTime], SendBudget)]) -> Option<NaiveDateTime> {
    if constraints.iter().any(|(_, b)| b.per_minute == 0 || b.per_hour == 0 || b.per_day == 0) {
        return None;
    }
    let mut t = earliest;
    loop {
        let next = constraints.iter().fold(t, |t, (taken, b)| next_slot(t, taken, *b));
        if next == t {
            return Some(t);
        }
        t = next;
    }
}

/// Credentials first. A credential (or security notice) counts only what it
/// cannot pass: other such messages, and news already sent or in a sender's
/// hands; the news still
/// waiting for this phone moves after it (first come first served among
/// themselves), or is dropped if it is the same ticket's. News fits both the
/// carrier's budget and its own share ([`informational`]) — by phone and by
/// filing — within [`INFORMATIONAL_WAIT`], or does not go.
pub fn place(
    now: NaiveDateTime,
    new: Incoming<'_>,
    by_recipient: &[Queued],
    by_filing: &[Queued],
    carrier: SendBudget,
) -> Placement {
    let news = informational(carrier);
    let times = |v: &[&Queued]| v.iter().map(|q| q.at).collect::<Vec<_>>();
    let news_times = |v: &[&Queued]| v.iter().filter(|q| !q.priority).map(|q| q.at).collect::<Vec<_>>();
    let fits_news = |earliest: NaiveDateTime, deadline: NaiveDateTime, r: &[&Queued], f: &[&Queued]| {
        let (rt, ft, rn, fn_) = (times(r), times(f), news_times(r), news_times(f));
        first_fit(earliest, &[(&rt, carrier), (&ft, carrier), (&rn, news), (&fn_, news)]).filter(|t| *t <= deadline)
    };
    let all_r: Vec<&Queued> = by_recipient.iter().collect();
    let all_f: Vec<&Queued> = by_filing.iter().collect();
    if !new.priority {
        return Placement { at: fits_news(now, now + INFORMATIONAL_WAIT, &all_r, &all_f), ..Placement::default() };
    }
    // This phone's waiting news may move; everything else (other phones'
    // messages counted for the filing included) stays put.
    let mut movable: Vec<&Queued> = by_recipient.iter().filter(|q| q.waiting && !q.priority).collect();
    let stays = |q: &&Queued| !movable.iter().any(|m| m.id == q.id);
    let fixed_r: Vec<&Queued> = by_recipient.iter().filter(stays).collect();
    let fixed_f: Vec<&Queued> = by_filing.iter().filter(stays).collect();
    let (rt, ft) = (times(&fixed_r), times(&fixed_f));
    let at = first_fit(now, &[(&rt, carrier), (&ft, carrier)]).unwrap_or(now);
    let placed = Queued {
        id: String::new(),
        at,
        created_at: now,
        priority: true,
        waiting: true,
        ticket: new.ticket.map(str::to_owned),
    };
    let mut placement = Placement { at: Some(at), ..Placement::default() };
    movable.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    let mut owned: Vec<Queued> = Vec::new();
    for m in movable {
        if new.ticket.is_some() && m.ticket.as_deref() == new.ticket {
            placement.dropped.push(m.id.clone());
            continue;
        }
        let mut r: Vec<&Queued> = fixed_r.clone();
        let mut f: Vec<&Queued> = fixed_f.clone();
        r.push(&placed);
        f.push(&placed);
        r.extend(owned.iter());
        f.extend(owned.iter().filter(|o| by_filing.iter().any(|x| x.id == o.id)));
        match fits_news(now.max(m.created_at), m.created_at + INFORMATIONAL_WAIT, &r, &f) {
            Some(slot) => {
                if slot != m.at {
                    placement.moves.push((m.id.clone(), slot));
                }
                owned.push(Queued { at: slot, ..m.clone() });
            }
            None => placement.dropped.push(m.id.clone()),
        }
    }
    placement
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(min: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap().naive_utc() + Duration::minutes(min)
    }

    const CARRIER: SendBudget = SendBudget { per_minute: 1, per_hour: 5, per_day: 10 };

    #[test]
    fn a_first_message_goes_at_once() {
        assert_eq!(next_slot(at(0), &[], CARRIER), at(0));
    }

    #[test]
    fn messages_are_spread_a_minute_apart_then_an_hour_then_a_day() {
        let mut taken = Vec::new();
        for _ in 0..11 {
            let t = next_slot(at(0), &taken, CARRIER);
            taken.push(t);
        }
        assert_eq!(&taken[..5], &[at(0), at(1), at(2), at(3), at(4)]);
        // The sixth waits until the first leaves the hour window.
        assert_eq!(taken[5], at(60));
        // The eleventh waits for the day window.
        assert_eq!(taken[10], at(24 * 60));
        for w in taken.windows(2) {
            assert!(w[1] > w[0]);
        }
    }

    #[test]
    fn old_messages_do_not_hold_up_new_ones() {
        assert_eq!(next_slot(at(120), &[at(0), at(1)], CARRIER), at(120));
    }

    fn q(id: &str, at: NaiveDateTime, priority: bool, waiting: bool, ticket: Option<&str>) -> Queued {
        Queued { id: id.into(), at, created_at: at, priority, waiting, ticket: ticket.map(Into::into) }
    }

    const NEWS: Incoming<'static> = Incoming { priority: false, ticket: None };
    const CREDENTIAL: Incoming<'static> = Incoming { priority: true, ticket: None };

    #[test]
    fn news_sent_all_day_never_holds_a_credential_more_than_a_minute() {
        let mut sent: Vec<Queued> = Vec::new();
        let mut worst = Duration::zero();
        // A hostile stream: one piece of news every 30 s for two days, and a
        // credential every five hours (within the half news leaves).
        for half_minute in 0..(2 * 24 * 120) {
            let now = at(0) + Duration::seconds(30 * half_minute);
            let incoming = if half_minute % 600 == 599 { CREDENTIAL } else { NEWS };
            // What has not left yet still waits, and may be moved.
            for q in &mut sent {
                q.waiting = q.at > now;
            }
            let p = place(now, incoming, &sent, &sent, CARRIER);
            sent.retain(|q| !p.dropped.contains(&q.id));
            for (id, t) in &p.moves {
                sent.iter_mut().filter(|q| q.id == *id).for_each(|q| q.at = *t);
            }
            if let Some(t) = p.at {
                if incoming.priority {
                    worst = worst.max(t - now);
                }
                assert!(t - now <= INFORMATIONAL_WAIT || incoming.priority);
                sent.push(q(&format!("{half_minute}"), t, incoming.priority, false, None));
            } else {
                assert!(!incoming.priority, "a credential always goes");
            }
        }
        assert!(worst <= Duration::minutes(1), "a credential waited {worst}");
        // The carrier's budget held in every window, and news kept to its half.
        let times: Vec<NaiveDateTime> = sent.iter().map(|q| q.at).collect();
        for t in &times {
            for (window, limit) in windows(CARRIER) {
                assert!(times.iter().filter(|x| **x > *t - window && **x <= *t).count() <= limit);
            }
            let news = sent.iter().filter(|q| !q.priority && q.at > *t - Duration::days(1) && q.at <= *t).count();
            assert!(news <= 5, "{news} pieces of news in a day");
        }
    }

    #[test]
    fn news_over_its_share_does_not_go() {
        let sent: Vec<Queued> = (0..2).map(|i| q(&i.to_string(), at(i), false, false, None)).collect();
        // Two pieces of news this hour: the third would wait an hour.
        assert_eq!(place(at(3), NEWS, &sent, &[], CARRIER).at, None);
        assert_eq!(place(at(61), NEWS, &sent, &[], CARRIER).at, Some(at(61)));
        // A credential still goes at once.
        assert_eq!(place(at(3), CREDENTIAL, &sent, &[], CARRIER).at, Some(at(3)));
        // A carrier allowing one SMS an hour leaves news nothing.
        let tight = SendBudget { per_minute: 1, per_hour: 1, per_day: 10 };
        assert_eq!(place(at(0), NEWS, &[], &[], tight).at, None);
    }

    #[test]
    fn a_credential_moves_waiting_news_and_drops_its_own_tickets() {
        let now = at(0);
        let waiting = vec![
            q("own", now, false, true, Some("t1")),
            q("other", now + Duration::minutes(1), false, true, Some("t2")),
            q("sending", now - Duration::seconds(30), false, false, Some("t3")),
        ];
        let p = place(now, Incoming { priority: true, ticket: Some("t1") }, &waiting, &[], CARRIER);
        // The one in a sender's hands keeps its minute.
        assert_eq!(p.at, Some(now + Duration::seconds(30)));
        assert_eq!(p.dropped, vec!["own".to_owned()]);
        assert_eq!(p.moves, vec![("other".to_owned(), now + Duration::seconds(90))]);
    }
}
