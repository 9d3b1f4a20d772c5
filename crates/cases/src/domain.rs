//! Cases: their states, the moves between them, and their clocks. No I/O.

use kernel::auth::{Permission, Role};
use kernel::clock::{Millis, HOUR, MINUTE};
use serde::{Deserialize, Serialize};
use triage::Urgency;

kernel::id! {
    /// A case's id (its number, 案件编号, is its own text).
    pub struct CaseId;
}

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
        matches!(
            self,
            State::Closed | State::Duplicate | State::NotOurs | State::Withdrawn
        )
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
            // A step to the state the case is in adds a note (补充说明).
            Acknowledged => &[
                Acknowledged, InProgress, Scheduled, Referred, Resolved, Duplicate, NotOurs,
            ],
            InProgress | Scheduled | Referred => &[
                InProgress, Scheduled, Referred, Resolved, Duplicate, NotOurs,
            ],
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
    /// Counted in working hours only.
    pub working_hours: bool,
}

/// The default service levels: critical 15 min / 4 h, urgent 1 h / 24 h, normal 2 h / 24 h
/// (the seed's promise: a first reply within 2 hours, a result within 24), low 2 h / 72 h.
pub fn default_sla(u: Urgency) -> Sla {
    match u {
        Urgency::Critical => Sla {
            first_response_ms: 15 * MINUTE,
            result_ms: 4 * HOUR,
            working_hours: false,
        },
        Urgency::Urgent => Sla {
            first_response_ms: HOUR,
            result_ms: 24 * HOUR,
            working_hours: false,
        },
        Urgency::Normal => Sla {
            first_response_ms: 2 * HOUR,
            result_ms: 24 * HOUR,
            working_hours: false,
        },
        Urgency::Low => Sla {
            first_response_ms: 2 * HOUR,
            result_ms: 72 * HOUR,
            working_hours: false,
        },
    }
}

/// China Standard Time has no daylight saving: local time is UTC+8 all year.
pub const LOCAL_OFFSET: Millis = 8 * HOUR;

/// The local date of an instant.
pub fn local_date(at: Millis) -> chrono::NaiveDate {
    chrono::DateTime::from_timestamp_millis(at + LOCAL_OFFSET)
        .map(|d| d.date_naive())
        .unwrap_or_default()
}

/// The local weekday of an instant, 1 = Monday … 7 = Sunday.
pub fn local_weekday(at: Millis) -> i64 {
    use chrono::Datelike;
    i64::from(local_date(at).weekday().number_from_monday())
}

/// A working-hours calendar: windows of working time per weekday, and dates that depart from
/// the weekly pattern (public holidays off; weekend working days, 调休, on).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Calendar {
    /// (weekday 1–7, start minute, end minute), local time.
    pub windows: Vec<(i64, i64, i64)>,
    /// `YYYY-MM-DD` → working or not.
    pub days: std::collections::HashMap<String, bool>,
}

impl Calendar {
    /// Monday to Friday, 8:30–12:00 and 14:00–17:30: a community office's usual hours.
    pub fn standard() -> Calendar {
        let windows = (1..=5)
            .flat_map(|d| [(d, 8 * 60 + 30, 12 * 60), (d, 14 * 60, 17 * 60 + 30)])
            .collect();
        Calendar {
            windows,
            days: Default::default(),
        }
    }

    /// The working windows of a local date, as (start, end) instants.
    fn windows_on(&self, date: chrono::NaiveDate) -> Vec<(Millis, Millis)> {
        use chrono::Datelike;
        let weekday = i64::from(date.weekday().number_from_monday());
        let working = self.days.get(&date.format("%Y-%m-%d").to_string()).copied();
        // A weekend working day keeps Monday's hours.
        let pattern_day = match working {
            Some(false) => return Vec::new(),
            Some(true) if !self.windows.iter().any(|w| w.0 == weekday) => 1,
            _ => weekday,
        };
        let midnight = date
            .and_hms_opt(0, 0, 0)
            .map(|d| d.and_utc().timestamp_millis())
            .unwrap_or_default()
            - LOCAL_OFFSET;
        self.windows
            .iter()
            .filter(|w| w.0 == pattern_day)
            .map(|w| (midnight + w.1 * MINUTE, midnight + w.2 * MINUTE))
            .collect()
    }

    /// The instant `span` of working time after `start`. Without any working time in the next
    /// two years (a calendar with no windows), clock time.
    pub fn add(&self, start: Millis, span: Millis) -> Millis {
        let mut left = span;
        let mut date = local_date(start);
        for _ in 0..730 {
            for (from, to) in self.windows_on(date) {
                let from = from.max(start);
                if to <= from {
                    continue;
                }
                if left <= to - from {
                    return from + left;
                }
                left -= to - from;
            }
            date = date.succ_opt().unwrap_or(date);
        }
        start + span
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
    /// Stopped while waiting on the resident.
    Paused,
    /// Not running any more: the case ended (withdrawn, merged, not ours) before it was met.
    Ended,
}

impl ClockState {
    /// How a clock of a case in `state` stands: a case that ended runs no clock.
    pub fn for_case(self, state: State) -> ClockState {
        match self {
            ClockState::OnTrack | ClockState::AtRisk | ClockState::Breached | ClockState::Paused
                if state.is_final() =>
            {
                ClockState::Ended
            }
            other => other,
        }
    }
    /// Whether the clock is still counting down.
    pub fn running(self) -> bool {
        matches!(self, ClockState::OnTrack | ClockState::AtRisk | ClockState::Breached)
    }
}

/// Where a clock stands at `now`: `started` and `due` bound it, `stopped` is when it was met.
pub fn clock_state(
    started: Millis,
    due: Millis,
    stopped: Option<Millis>,
    now: Millis,
) -> ClockState {
    clock_state_paused(started, due, stopped, None, now)
}

/// Like [`clock_state`], for a case that may be waiting on the resident since `paused_at`.
pub fn clock_state_paused(
    started: Millis,
    due: Millis,
    stopped: Option<Millis>,
    paused_at: Option<Millis>,
    now: Millis,
) -> ClockState {
    match stopped {
        None if paused_at.is_some() => ClockState::Paused,
        Some(at) if at <= due => ClockState::Met,
        Some(_) => ClockState::MetLate,
        None if now > due => ClockState::Breached,
        None if (due - now) * 5 <= (due - started) => ClockState::AtRisk,
        None => ClockState::OnTrack,
    }
}

/// Handle cases: see the queue, respond, resolve.
pub const CASES_HANDLE: Permission = Permission {
    name: "cases.handle",
    roles: &[Role::Staff, Role::Admin, Role::GridWorker],
};

/// Change how the community runs its cases.
pub const CASES_CONFIGURE: Permission = Permission {
    name: "cases.configure",
    roles: &[Role::Admin],
};

/// How satisfied the resident is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Satisfaction {
    /// 满意
    Satisfied,
    /// 基本满意
    Basic,
    /// 不满意
    Unsatisfied,
}

impl Satisfaction {
    /// Stored code.
    pub fn code(self) -> &'static str {
        match self {
            Satisfaction::Satisfied => "satisfied",
            Satisfaction::Basic => "basic",
            Satisfaction::Unsatisfied => "unsatisfied",
        }
    }
    /// Parses a form value.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Satisfaction::Satisfied,
            Satisfaction::Basic,
            Satisfaction::Unsatisfied,
        ]
        .into_iter()
        .find(|x| x.code() == s)
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_promise_is_the_normal_service_level() {
        assert_eq!(
            default_sla(Urgency::Normal),
            Sla {
                first_response_ms: 2 * HOUR,
                result_ms: 24 * HOUR,
                working_hours: false
            }
        );
        assert_eq!(
            default_sla(Urgency::Critical).first_response_ms,
            15 * MINUTE
        );
    }

    #[test]
    fn working_hours_skip_nights_weekends_and_holidays() {
        let cal = Calendar::standard();
        // Friday 2026-11-27 16:30 local (08:30 UTC): two working hours end Monday 09:30 local.
        let fri = chrono::NaiveDate::from_ymd_opt(2026, 11, 27)
            .unwrap()
            .and_hms_opt(8, 30, 0)
            .unwrap()
            .and_utc()
            .timestamp_millis();
        let due = cal.add(fri, 2 * HOUR);
        assert_eq!(local_date(due).to_string(), "2026-11-30");
        assert_eq!((due + LOCAL_OFFSET) % (24 * HOUR), 9 * HOUR + 30 * MINUTE);
        // Over lunch: 11:30 + 1 h = 14:30.
        let late_morning = fri - 5 * HOUR; // 11:30 local
        assert_eq!(cal.add(late_morning, HOUR), late_morning + 3 * HOUR);
        // A Monday holiday moves it to Tuesday; a working Saturday pulls it forward.
        let mut holiday = cal.clone();
        holiday.days.insert("2026-11-30".into(), false);
        assert_eq!(
            local_date(holiday.add(fri, 2 * HOUR)).to_string(),
            "2026-12-01"
        );
        let mut makeup = cal.clone();
        makeup.days.insert("2026-11-28".into(), true);
        assert_eq!(
            local_date(makeup.add(fri, 2 * HOUR)).to_string(),
            "2026-11-28"
        );
        assert_eq!(local_weekday(fri), 5);
        // No working time at all: clock time.
        assert_eq!(Calendar::default().add(fri, HOUR), fri + HOUR);
    }

    #[test]
    fn clocks_go_from_on_track_to_at_risk_to_breached() {
        let (start, due) = (0, 100 * MINUTE);
        assert_eq!(
            clock_state(start, due, None, 10 * MINUTE),
            ClockState::OnTrack
        );
        assert_eq!(
            clock_state(start, due, None, 81 * MINUTE),
            ClockState::AtRisk
        );
        assert_eq!(
            clock_state(start, due, None, 101 * MINUTE),
            ClockState::Breached
        );
        assert_eq!(
            clock_state(start, due, Some(50 * MINUTE), 200 * MINUTE),
            ClockState::Met
        );
        assert_eq!(
            clock_state(start, due, Some(150 * MINUTE), 200 * MINUTE),
            ClockState::MetLate
        );
    }

    #[test]
    fn a_case_that_ended_runs_no_clock() {
        assert_eq!(ClockState::Breached.for_case(State::Withdrawn), ClockState::Ended);
        assert_eq!(ClockState::OnTrack.for_case(State::Duplicate), ClockState::Ended);
        assert_eq!(ClockState::Met.for_case(State::Withdrawn), ClockState::Met);
        assert_eq!(ClockState::Breached.for_case(State::InProgress), ClockState::Breached);
        assert!(!ClockState::Ended.running());
    }

    #[test]
    fn only_open_cases_move_and_final_states_are_final() {
        for s in State::ALL {
            if s.is_final() {
                assert!(
                    s.staff_moves().is_empty() && s.author_moves().is_empty(),
                    "{s:?}"
                );
            }
        }
        assert!(State::New.staff_moves().contains(&State::Acknowledged));
        assert!(
            !State::New.staff_moves().contains(&State::Resolved),
            "a first response comes first"
        );
        assert_eq!(
            State::Resolved.author_moves(),
            &[State::InProgress],
            "not solved reopens"
        );
    }
}
