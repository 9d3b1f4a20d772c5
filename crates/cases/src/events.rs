//! What the needs express announces to other capabilities (kernel::events): each is published
//! in the transaction of the change it reports. Payloads carry ids and codes, never a report's
//! words or a person's contact: a subscriber that needs more asks this crate's functions.

use kernel::auth::UserId;
use registry::ResidentId;
use crate::domain::{CaseId, State};
use kernel::events::DomainEvent;
use serde::{Deserialize, Serialize};
use triage::{Category, Urgency};

/// A case was filed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseFiled {
    /// The case.
    pub case_id: CaseId,
    /// Its urgency as filed.
    pub urgency: Urgency,
    /// Its category as filed.
    pub category: Category,
    /// The registry resident it is about, if named.
    pub resident_id: Option<ResidentId>,
    /// The login that filed it under a name, if any (none when anonymous).
    pub author_user_id: Option<UserId>,
}

impl DomainEvent for CaseFiled {
    const NAME: &'static str = "cases.filed";
}

/// A case moved from one state to another (`resolved`, `closed`, reopened to `in_progress` …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseMoved {
    /// The case.
    pub case_id: CaseId,
    /// Where it was.
    pub from: State,
    /// Where it is now.
    pub to: State,
    /// Moved by staff (or a grid worker); otherwise by its filer.
    pub by_staff: bool,
}

impl DomainEvent for CaseMoved {
    const NAME: &'static str = "cases.moved";
}

/// A case's filer rated its result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseRated {
    /// The case.
    pub case_id: CaseId,
    /// Whether the problem was solved.
    pub solved: bool,
    /// How satisfied the filer is.
    pub satisfaction: crate::domain::Satisfaction,
}

impl DomainEvent for CaseRated {
    const NAME: &'static str = "cases.rated";
}
