//! `GET /admin/health`: signals per minute (from the database, all servers), webhook answer
//! times of this process, totals, and execution: jobs queued and running, orders of the
//! last hour by state, broker trouble of the last hour, lock-outs, open discrepancies.

use std::time::Duration;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use jt_store::admin::execution_health::load_execution_health;
use jt_store::admin::fold_signal_deltas;
use jt_store::admin::system_health::{Totals, signals_per_minute, totals};

use super::AdminUser;
use super::execution_views::ExecutionHealthView;
use crate::AppState;
use crate::auth::{AuthUser, CsrfToken};
use crate::metrics::webhook_latency;
use crate::page_error::PageError;
use crate::pages::display;

/// Minutes of signal rate shown.
const RATE_MINUTES: i32 = 15;

#[derive(Template, WebTemplate)]
#[template(path = "admin_health.html")]
pub(super) struct HealthPage {
    user: AuthUser,
    csrf_token: CsrfToken,
    minutes: Vec<(String, i64)>,
    latency_count: usize,
    p50: String,
    p99: String,
    max: String,
    totals: Totals,
    execution: ExecutionHealthView,
}

pub(super) async fn get_health(
    State(state): State<AppState>,
    admin: AdminUser,
    csrf_token: CsrfToken,
) -> Result<HealthPage, PageError> {
    let mut tx = admin.begin(&state.store).await?;
    fold_signal_deltas(&mut tx).await?;
    let minutes = signals_per_minute(&mut tx, RATE_MINUTES).await?;
    let totals = totals(&mut tx).await?;
    let execution = load_execution_health(&mut tx).await?;
    tx.commit().await?;
    let latency = webhook_latency();
    Ok(HealthPage {
        user: admin.user,
        csrf_token,
        minutes: minutes
            .into_iter()
            .map(|m| (display::time(m.minute, chrono_tz::UTC), m.signals))
            .collect(),
        latency_count: latency.count,
        p50: millis(latency.p50),
        p99: millis(latency.p99),
        max: millis(latency.max),
        totals,
        execution: ExecutionHealthView::new(execution),
    })
}

fn millis(latency: Option<Duration>) -> String {
    latency.map_or_else(
        || "—".to_owned(),
        |d| format!("{:.1} ms", d.as_secs_f64() * 1000.0),
    )
}
