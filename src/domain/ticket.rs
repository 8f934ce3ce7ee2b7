//! Work orders (工单): kinds, states, and the state machine of DESIGN.md
//! "Tickets" as one pure function. Handlers ask [`decide`] what an action
//! does to a ticket; it answers with the next state or why not.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ids::StaffId;
use super::settings::PerKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketKind {
    /// Forgot the query password.
    PasswordReset,
    /// The initial password never arrived.
    InitialPasswordResend,
    /// The phone or e-mail on file is wrong or lost.
    ContactChange,
}

impl TicketKind {
    pub const ALL: [TicketKind; 3] =
        [TicketKind::PasswordReset, TicketKind::InitialPasswordResend, TicketKind::ContactChange];

    pub fn as_str(self) -> &'static str {
        match self {
            TicketKind::PasswordReset => "password_reset",
            TicketKind::InitialPasswordResend => "initial_password_resend",
            TicketKind::ContactChange => "contact_change",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// This kind's value of a per-kind tenant setting.
    pub fn of(self, p: PerKind) -> u32 {
        match self {
            TicketKind::PasswordReset => p.password_reset,
            TicketKind::InitialPasswordResend => p.initial_password_resend,
            TicketKind::ContactChange => p.contact_change,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    PendingReview,
    InReview,
    NeedsInfo,
    AwaitingSecondApproval,
    Resolved,
    Rejected,
    Cancelled,
    Expired,
}

impl TicketStatus {
    pub const ALL: [TicketStatus; 8] = [
        TicketStatus::PendingReview,
        TicketStatus::InReview,
        TicketStatus::NeedsInfo,
        TicketStatus::AwaitingSecondApproval,
        TicketStatus::Resolved,
        TicketStatus::Rejected,
        TicketStatus::Cancelled,
        TicketStatus::Expired,
    ];

    /// States in which a ticket still waits for someone.
    pub const OPEN: [TicketStatus; 4] = [
        TicketStatus::PendingReview,
        TicketStatus::InReview,
        TicketStatus::NeedsInfo,
        TicketStatus::AwaitingSecondApproval,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::PendingReview => "pending_review",
            TicketStatus::InReview => "in_review",
            TicketStatus::NeedsInfo => "needs_info",
            TicketStatus::AwaitingSecondApproval => "awaiting_second_approval",
            TicketStatus::Resolved => "resolved",
            TicketStatus::Rejected => "rejected",
            TicketStatus::Cancelled => "cancelled",
            TicketStatus::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// How an applicant reads the state, in their language.
    pub fn label(self, locale: super::settings::Locale) -> &'static str {
        use super::settings::Locale::{En, ZhCn};
        match (self, locale) {
            (TicketStatus::PendingReview, ZhCn) => "待审核",
            (TicketStatus::InReview, ZhCn) => "审核中",
            (TicketStatus::NeedsInfo, ZhCn) => "待补充材料",
            (TicketStatus::AwaitingSecondApproval, ZhCn) => "待复核",
            (TicketStatus::Resolved, ZhCn) => "已办结",
            (TicketStatus::Rejected, ZhCn) => "已驳回",
            (TicketStatus::Cancelled, ZhCn) => "已撤销",
            (TicketStatus::Expired, ZhCn) => "已过期",
            (TicketStatus::PendingReview, En) => "pending review",
            (TicketStatus::InReview, En) => "in review",
            (TicketStatus::NeedsInfo, En) => "waiting for more information",
            (TicketStatus::AwaitingSecondApproval, En) => "awaiting a second approval",
            (TicketStatus::Resolved, En) => "resolved",
            (TicketStatus::Rejected, En) => "rejected",
            (TicketStatus::Cancelled, En) => "cancelled",
            (TicketStatus::Expired, En) => "expired",
        }
    }

    pub fn is_open(self) -> bool {
        Self::OPEN.contains(&self)
    }
}

/// Who acts on a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The applicant, proven by the tracking code.
    Applicant,
    /// A reviewer or tenant admin.
    Reviewer(StaffId),
    /// The scheduler.
    Scheduler,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Claim,
    Release,
    RequestInfo,
    Supplement,
    Approve,
    Reject,
    Cancel,
    Expire,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Claim => "claim",
            Action::Release => "release",
            Action::RequestInfo => "request info on",
            Action::Supplement => "supplement",
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Cancel => "cancel",
            Action::Expire => "expire",
        }
    }
}

/// What the state machine needs to know of a ticket.
#[derive(Debug, Clone)]
pub struct Facts {
    pub status: TicketStatus,
    pub assignee: Option<StaffId>,
    /// Staff who submitted it on someone's behalf (agent or staff).
    pub submitted_by: Option<StaffId>,
    /// Reviewers who approved it so far.
    pub approvers: Vec<StaffId>,
    pub approvals_required: u32,
}

/// The outcome of an allowed action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub to: TicketStatus,
    /// The assignee afterwards.
    pub assignee: Option<StaffId>,
    /// The action records an approval.
    pub approval: bool,
}

/// Why an action is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The state does not allow it (409, naming the state).
    State(TicketStatus),
    /// Another reviewer holds the ticket (409).
    HeldByOther,
    /// The action needs the ticket claimed by the actor first (409).
    NotClaimed,
    /// The submitter, or a reviewer who already approved (403 `four_eyes`).
    FourEyes,
    /// The actor may not do this at all (403).
    NotAllowed,
}

/// The state machine: what `action` by `actor` does to a ticket.
pub fn decide(t: &Facts, actor: Actor, action: Action) -> Result<Transition, Refusal> {
    use TicketStatus::*;
    let stay = |to| Ok(Transition { to, assignee: t.assignee, approval: false });
    let move_to = |to, assignee| Ok(Transition { to, assignee, approval: false });
    let me = match actor {
        Actor::Reviewer(id) => Some(id),
        _ => None,
    };
    let holds = me.is_some() && t.assignee == me;
    match (action, actor) {
        (Action::Supplement, Actor::Applicant) => match t.status {
            NeedsInfo => move_to(PendingReview, None),
            s => Err(Refusal::State(s)),
        },
        (Action::Cancel, Actor::Applicant) => match t.status {
            s if s.is_open() => move_to(Cancelled, None),
            s => Err(Refusal::State(s)),
        },
        (Action::Expire, Actor::Scheduler) => match t.status {
            NeedsInfo => move_to(Expired, None),
            s => Err(Refusal::State(s)),
        },
        (Action::Claim, Actor::Reviewer(id)) => match t.status {
            // Holding what one may not approve would only block the others.
            AwaitingSecondApproval if t.approvers.contains(&id) => Err(Refusal::FourEyes),
            PendingReview => move_to(InReview, Some(id)),
            InReview | AwaitingSecondApproval if t.assignee.is_some_and(|a| a != id) => Err(Refusal::HeldByOther),
            AwaitingSecondApproval => move_to(AwaitingSecondApproval, Some(id)),
            InReview => stay(InReview),
            s => Err(Refusal::State(s)),
        },
        (Action::Release, Actor::Reviewer(_)) => match t.status {
            InReview | AwaitingSecondApproval if !holds => Err(Refusal::HeldByOther),
            InReview => move_to(PendingReview, None),
            AwaitingSecondApproval => move_to(AwaitingSecondApproval, None),
            s => Err(Refusal::State(s)),
        },
        (Action::RequestInfo | Action::Reject, Actor::Reviewer(_)) => match t.status {
            InReview | AwaitingSecondApproval if t.assignee.is_some() && !holds => Err(Refusal::HeldByOther),
            InReview | AwaitingSecondApproval if !holds => Err(Refusal::NotClaimed),
            InReview if action == Action::RequestInfo => move_to(NeedsInfo, None),
            InReview | AwaitingSecondApproval if action == Action::Reject => move_to(Rejected, None),
            s => Err(Refusal::State(s)),
        },
        (Action::Approve, Actor::Reviewer(id)) => {
            if !matches!(t.status, InReview | AwaitingSecondApproval) {
                return Err(Refusal::State(t.status));
            }
            if t.assignee.is_some() && !holds {
                return Err(Refusal::HeldByOther);
            }
            if t.submitted_by == Some(id) || t.approvers.contains(&id) {
                return Err(Refusal::FourEyes);
            }
            if !holds {
                return Err(Refusal::NotClaimed);
            }
            let approvals = t.approvers.len() as u32 + 1;
            let to = if approvals >= t.approvals_required { Resolved } else { AwaitingSecondApproval };
            // The next approval must come from someone else: nobody holds it.
            Ok(Transition { to, assignee: None, approval: true })
        }
        _ => Err(Refusal::NotAllowed),
    }
}

/// One identity field of a submission compared with the filing on file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    Match,
    Mismatch,
    /// Not given, or no filing to compare with.
    Absent,
}

impl Check {
    pub fn of(given: bool, equal: impl FnOnce() -> bool) -> Self {
        match (given, given && equal()) {
            (false, _) => Check::Absent,
            (true, true) => Check::Match,
            (true, false) => Check::Mismatch,
        }
    }
}

/// What reviewers see of a submission's identity data: per field, whether
/// it matches the filing, never the stored values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Verification {
    /// `match` when a filing with the number exists here, else `absent`.
    pub filing_found: Check,
    pub contact_name: Check,
    pub phone: Check,
    pub id_number: Check,
    pub email: Check,
    /// `verified` when the filing's subject submitted it signed in
    /// (`POST /api/v1/subject/tickets`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Vouched>,
    /// `verified` when a registrar console's back end (an API client)
    /// submitted it for a customer it had identified as the filing's owner
    /// (`console_verified`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console: Option<Vouched>,
}

/// Identity established before the submission, by sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Vouched {
    Verified,
}

impl Verification {
    /// Any field given that does not match (or no such filing).
    pub fn has_mismatch(&self) -> bool {
        self.filing_found != Check::Match
            || [self.contact_name, self.phone, self.id_number, self.email].contains(&Check::Mismatch)
    }
}

/// Names compared leniently: full-width to half-width, no spaces, any case.
pub fn same_name(a: &str, b: &str) -> bool {
    let norm = |s: &str| super::filing::normalize(s).to_lowercase();
    norm(a) == norm(b)
}

/// `WO-20261124-0001`: readable on the phone, unique per tenant and day.
pub fn ticket_number(day: chrono::NaiveDate, seq: i64) -> String {
    format!("WO-{}-{seq:04}", day.format("%Y%m%d"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use TicketStatus::*;

    fn staff() -> StaffId {
        StaffId::new()
    }

    fn facts(status: TicketStatus, assignee: Option<StaffId>) -> Facts {
        Facts { status, assignee, submitted_by: None, approvers: vec![], approvals_required: 1 }
    }

    #[test]
    fn numbers_and_names() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        assert_eq!(ticket_number(day, 1), "WO-20261124-0001");
        assert_eq!(ticket_number(day, 12345), "WO-20261124-12345");
        assert!(same_name("张 三", "张三") && same_name("Ｚhang San", "zhangsan") && !same_name("张三", "李四"));
        assert_eq!(Check::of(false, || true), Check::Absent);
        assert_eq!(Check::of(true, || false), Check::Mismatch);
    }

    #[test]
    fn the_happy_paths() {
        let (a, b) = (staff(), staff());
        let t = facts(PendingReview, None);
        assert_eq!(decide(&t, Actor::Reviewer(a), Action::Claim).unwrap().to, InReview);
        let t = facts(InReview, Some(a));
        assert_eq!(decide(&t, Actor::Reviewer(a), Action::Approve).unwrap().to, Resolved);
        assert_eq!(decide(&t, Actor::Reviewer(a), Action::RequestInfo).unwrap().to, NeedsInfo);
        assert_eq!(decide(&t, Actor::Reviewer(a), Action::Reject).unwrap().to, Rejected);
        assert_eq!(decide(&t, Actor::Reviewer(a), Action::Release).unwrap().to, PendingReview);
        let t = facts(NeedsInfo, None);
        assert_eq!(decide(&t, Actor::Applicant, Action::Supplement).unwrap().to, PendingReview);
        assert_eq!(decide(&t, Actor::Scheduler, Action::Expire).unwrap().to, Expired);

        // Two approvals: the first waits for a second reviewer.
        let mut t = facts(InReview, Some(a));
        t.approvals_required = 2;
        let first = decide(&t, Actor::Reviewer(a), Action::Approve).unwrap();
        assert_eq!((first.to, first.assignee, first.approval), (AwaitingSecondApproval, None, true));
        let mut t = Facts { status: AwaitingSecondApproval, assignee: None, approvers: vec![a], ..t };
        assert_eq!(decide(&t, Actor::Reviewer(b), Action::Claim).unwrap().to, AwaitingSecondApproval);
        t.assignee = Some(b);
        assert_eq!(decide(&t, Actor::Reviewer(b), Action::Approve).unwrap().to, Resolved);
    }

    #[test]
    fn every_refusal() {
        let (a, b) = (staff(), staff());
        for s in [Resolved, Rejected, Cancelled, Expired] {
            let t = facts(s, None);
            for (actor, action) in [
                (Actor::Reviewer(a), Action::Claim),
                (Actor::Reviewer(a), Action::Approve),
                (Actor::Reviewer(a), Action::Reject),
                (Actor::Reviewer(a), Action::RequestInfo),
                (Actor::Reviewer(a), Action::Release),
                (Actor::Applicant, Action::Cancel),
                (Actor::Applicant, Action::Supplement),
                (Actor::Scheduler, Action::Expire),
            ] {
                assert_eq!(decide(&t, actor, action), Err(Refusal::State(s)), "{action:?} on {s:?}");
            }
        }
        let held = facts(InReview, Some(a));
        for action in [Action::Claim, Action::Approve, Action::Reject, Action::RequestInfo, Action::Release] {
            assert_eq!(decide(&held, Actor::Reviewer(b), action), Err(Refusal::HeldByOther), "{action:?}");
        }
        let pending = facts(PendingReview, None);
        for action in [Action::Approve, Action::Reject, Action::RequestInfo, Action::Release] {
            assert_eq!(decide(&pending, Actor::Reviewer(a), action), Err(Refusal::State(PendingReview)));
        }
        assert_eq!(decide(&pending, Actor::Applicant, Action::Supplement), Err(Refusal::State(PendingReview)));
        assert_eq!(decide(&pending, Actor::Applicant, Action::Approve), Err(Refusal::NotAllowed));
        assert_eq!(decide(&pending, Actor::Scheduler, Action::Expire), Err(Refusal::State(PendingReview)));

        // Four eyes: not the submitter, not twice the same reviewer.
        let mut own = facts(InReview, Some(a));
        own.submitted_by = Some(a);
        assert_eq!(decide(&own, Actor::Reviewer(a), Action::Approve), Err(Refusal::FourEyes));
        let again = Facts {
            status: AwaitingSecondApproval,
            assignee: Some(a),
            submitted_by: None,
            approvers: vec![a],
            approvals_required: 2,
        };
        assert_eq!(decide(&again, Actor::Reviewer(a), Action::Approve), Err(Refusal::FourEyes));
        // The first approver cannot claim it back and block the others.
        let waiting = Facts { assignee: None, ..again.clone() };
        assert_eq!(decide(&waiting, Actor::Reviewer(a), Action::Claim), Err(Refusal::FourEyes));
        assert_eq!(decide(&waiting, Actor::Reviewer(b), Action::Claim).unwrap().assignee, Some(b));
        // A second approval is claimed first.
        let unclaimed = Facts { assignee: None, ..again };
        assert_eq!(decide(&unclaimed, Actor::Reviewer(b), Action::Approve), Err(Refusal::NotClaimed));
        assert_eq!(decide(&unclaimed, Actor::Reviewer(b), Action::RequestInfo), Err(Refusal::NotClaimed));
    }
}
