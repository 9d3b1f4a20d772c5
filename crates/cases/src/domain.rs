//! Cases: their states, the moves between them, and their clocks. No I/O.

use kernel::clock::{Millis, HOUR, MINUTE};
use serde::{Deserialize, Serialize};
use triage::Urgency;

/// Where a case came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A resident, online.
    Resident,
    /// A grid worker on foot.
    GridWorker,
    /// Staff at the window.
    Window,
    /// Staff taking a phone call.
    Phone,
    /// The service vehicle.
    Vehicle,
}

impl Source {
    /// Stored code.
    pub fn code(self) -> &'static str {
        match self {
            Source::Resident => "resident",
            Source::GridWorker => "grid_worker",
            Source::Window => "window",
            Source::Phone => "phone",
            Source::Vehicle => "vehicle",
        }
    }
}

/// Where a case is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Filed, nobody has answered yet.
    New,
    /// First response given: the resident was contacted with an initial plan.
    Acknowledged,
    /// Being worked on.
    InProgress,
    /// Work is booked for a date.
    Scheduled,
    /// Handed to an outside department (with its reference).
    Referred,
    /// Done, with an after photo or note; waiting for the on-site check.
    Resolved,
    /// Checked on site (核查).
    Verified,
    /// Finished.
    Closed,
    /// Merged into another case.
    Duplicate,
    /// Not the community's responsibility.
    NotOurs,
    /// Withdrawn by the person who filed it.
    Withdrawn,
}

impl State {
    /// Every state.
    pub const ALL: [State; 11] = [
        State::New,
        State::Acknowledged,
        State::InProgress,
        State::Scheduled,
        State::Referred,
        State::Resolved,
        State::Verified,
        State::Closed,
        State::Duplicate,
        State::NotOurs,
        State::Withdrawn,
    ];
    /// Stored code.
    pub fn code(self) -> &'static str {
        match self {
            State::New => "new",
            State::Acknowledged => "acknowledged",
            State::InProgress => "in_progress",
            State::Scheduled => "scheduled",
            State::Referred => "referred",
            State::Resolved => "resolved",
            State::Verified => "verified",
            State::Closed => "closed",
            State::Duplicate => "duplicate",
            State::NotOurs => "not_ours",
            State::Withdrawn => "withdrawn",
        }
    }
    /// Parses a stored code.
    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|st| st.code() == s)
    }
    /// Whether the case is finished one way or another.
    pub fn is_final(self) -> bool {
        matches!(self, State::Closed | State::Duplicate | State::NotOurs | State::Withdrawn)
    }
    /// Whether work on the case is done (the result clock has stopped).
    pub fn has_result(self) -> bool {
        matches!(self, State::Resolved | State::Verified) || self.is_final()
    }
    /// The moves staff may make from this state.
    pub fn staff_moves(self) -> &'static [State] {
        use State::*;
        match self {
            New => &[Acknowledged, Duplicate, NotOurs],
            Acknowledged => &[InProgress, Scheduled, Referred, Resolved, Duplicate, NotOurs],
            InProgress | Scheduled | Referred => &[InProgress, Scheduled, Referred, Resolved, Duplicate, NotOurs],
            Resolved => &[Verified, InProgress],
            Verified => &[Closed],
            Closed | Duplicate | NotOurs | Withdrawn => &[],
        }
    }
    /// The moves the person who filed the case may make.
    pub fn author_moves(self) -> &'static [State] {
        use State::*;
        match self {
            New | Acknowledged | InProgress | Scheduled | Referred => &[Withdrawn],
            // "Not solved": the case reopens.
            Resolved | Verified => &[InProgress],
            Closed | Duplicate | NotOurs | Withdrawn => &[],
        }
    }
}

/// A service level: how long until the first response and until the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Sla {
    /// Time allowed for the first response, in milliseconds.
    pub first_response_ms: Millis,
    /// Time allowed for the result, in milliseconds.
    pub result_ms: Millis,
}

/// The default service levels: critical 15 min / 4 h, urgent 1 h / 24 h, normal 2 h / 24 h
/// (the seed's promise: a first reply within 2 hours, a result within 24), low 2 h / 72 h.
pub fn default_sla(u: Urgency) -> Sla {
    match u {
        Urgency::Critical => Sla { first_response_ms: 15 * MINUTE, result_ms: 4 * HOUR },
        Urgency::Urgent => Sla { first_response_ms: HOUR, result_ms: 24 * HOUR },
        Urgency::Normal => Sla { first_response_ms: 2 * HOUR, result_ms: 24 * HOUR },
        Urgency::Low => Sla { first_response_ms: 2 * HOUR, result_ms: 72 * HOUR },
    }
}

/// How a clock stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClockState {
    /// Met in time.
    Met,
    /// Met, but late.
    MetLate,
    /// Running, with more than a fifth of the time left.
    OnTrack,
    /// Running, with a fifth of the time or less left.
    AtRisk,
    /// Running and past due.
    Breached,
}

/// Where a clock stands at `now`: `started` and `due` bound it, `stopped` is when it was met.
pub fn clock_state(started: Millis, due: Millis, stopped: Option<Millis>, now: Millis) -> ClockState {
    match stopped {
        Some(at) if at <= due => ClockState::Met,
        Some(_) => ClockState::MetLate,
        None if now > due => ClockState::Breached,
        None if (due - now) * 5 <= (due - started) => ClockState::AtRisk,
        None => ClockState::OnTrack,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_promise_is_the_normal_service_level() {
        assert_eq!(default_sla(Urgency::Normal), Sla { first_response_ms: 2 * HOUR, result_ms: 24 * HOUR });
        assert_eq!(default_sla(Urgency::Critical).first_response_ms, 15 * MINUTE);
    }

    #[test]
    fn clocks_go_from_on_track_to_at_risk_to_breached() {
        let (start, due) = (0, 100 * MINUTE);
        assert_eq!(clock_state(start, due, None, 10 * MINUTE), ClockState::OnTrack);
        assert_eq!(clock_state(start, due, None, 81 * MINUTE), ClockState::AtRisk);
        assert_eq!(clock_state(start, due, None, 101 * MINUTE), ClockState::Breached);
        assert_eq!(clock_state(start, due, Some(50 * MINUTE), 200 * MINUTE), ClockState::Met);
        assert_eq!(clock_state(start, due, Some(150 * MINUTE), 200 * MINUTE), ClockState::MetLate);
    }

    #[test]
    fn only_open_cases_move_and_final_states_are_final() {
        for s in State::ALL {
            if s.is_final() {
                assert!(s.staff_moves().is_empty() && s.author_moves().is_empty(), "{s:?}");
            }
        }
        assert!(State::New.staff_moves().contains(&State::Acknowledged));
        assert!(!State::New.staff_moves().contains(&State::Resolved), "a first response comes first");
        assert_eq!(State::Resolved.author_moves(), &[State::InProgress], "not solved reopens");
    }
}
