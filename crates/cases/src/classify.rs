//! Classifying a report's text: the community's model when it has retrained one, else the
//! shipped one, and never a failed filing when the classifier fails.

use kernel::community::CommunityId;
use kernel::error::AppResult;
use kernel::state::AppState;

/// Classifies a text with the shipped models, as `POST /api/v1/triage` does: the triage, and
/// whether it fell back because the classifier failed (then staff must classify it).
pub fn triage(state: &AppState, text: &str) -> (triage::Triage, bool) {
    triage_or_fallback(&state.metrics, text, triage::try_classify)
}

/// Classifies a report as filing in a community does: with the community's own model when it
/// has retrained one (`crate::learning`), else the shipped one.
pub async fn triage_in(state: &AppState, community_id: CommunityId, text: &str) -> AppResult<(triage::Triage, bool)> {
    let classifier = crate::learning::classifier(state, community_id).await?;
    Ok(triage_or_fallback(&state.metrics, text, |t| triage::try_classify_with(&classifier, t)))
}

/// Classifies a report. Filing never depends on the classifier: when it fails, the report is
/// filed urgent and marked for staff to classify, and the failure is logged and counted.
fn triage_or_fallback(
    metrics: &kernel::metrics::Metrics,
    text: &str,
    classify: impl Fn(&str) -> Result<triage::Triage, triage::Failure>,
) -> (triage::Triage, bool) {
    match classify(text) {
        Ok(t) => (t, false),
        Err(failure) => {
            metrics.triage_failures.inc();
            tracing::error!(error = %failure.0, chars = text.chars().count(), "triage failed; the report is filed urgent for staff to classify");
            (triage::unclassified(), true)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use triage::Urgency;

    #[test]
    fn a_report_the_classifier_fails_on_is_filed_urgent_for_staff_to_classify_and_counted() {
        let metrics = kernel::metrics::Metrics::default();
        let (t, pending) =
            triage_or_fallback(&metrics, "楼道里有很浓的臭鸡蛋味", |_| {
                Err(triage::Failure(
                    "byte index 3 is not a char boundary".into(),
                ))
            });
        assert!(pending);
        assert!(t.urgency >= Urgency::Urgent);
        assert_eq!(metrics.triage_failures.get(), 1);
        assert!(metrics
            .render(&[])
            .contains("linli_triage_failures_total 1"));
        let (t, pending) =
            triage_or_fallback(&metrics, "楼道里有很浓的臭鸡蛋味", triage::try_classify);
        assert!(!pending && t.urgency >= Urgency::Urgent);
        assert_eq!(metrics.triage_failures.get(), 1);
    }
}
