//! Case use cases: filing (triaged, clocked, deduplicated by an idempotency key), moving
//! through the workflow, and reading — with anonymity kept: an anonymous case stores no link
//! to its author, who follows it with a private token instead.
//!
//! One module per kind of use case; none calls back into one that calls it (`record` is
//! shared by the others, `reading` by those that answer with a case).

mod record;
mod reading;
mod filing;
mod steps;
mod queue;
mod clock_checks;

pub use filing::{Filed, NewCase, VISITOR_REPORTS, admit, anonymous_link, file, file_with_kept, filed_with_key};
pub use steps::{Assign, Move, Mover, Reclassify, Visibility, Wait, assign, move_case, move_case_once, reclassify, set_visibility, wait};
pub use reading::{CaseView, Event, Reporter, by_follow_token, elder_case, elders_with_cases, ensure_within_reach, is_author, mine, promised, read, read_as_staff, reporter, resident_by_phone, view, views};
pub use queue::{QueueFilter, Workload, queue, workload};
pub use clock_checks::{check_clock};
