//! `GET /recorders/{id}`: the webhook URL and alert messages to paste into TradingView,
//! positions, the signal log (paged with `?before=<seq>`), trades and the settings forms.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use jt_store::recorders::{self, Recorder};
use jt_store::signal_log::list_signals;
use jt_store::state::{list_positions, list_trades, user_time_zone};
use jt_store::webhook_token::webhook_url;
use jt_store::{RecorderId, TenantTx};
use serde::Deserialize;

use super::recorder_id;
use super::recorder_views::{PositionView, SignalView, TradeView, status_text};
use crate::AppState;
use crate::auth::{AuthUser, CsrfToken};
use crate::page_error::PageError;

/// Signals per page of the log, and trades shown.
const PAGE_SIZE: i64 = 50;

#[derive(Template, WebTemplate)]
#[template(path = "recorder.html")]
pub(super) struct RecorderPage {
    user: AuthUser,
    csrf_token: CsrfToken,
    id: RecorderId,
    name: String,
    status: &'static str,
    webhook_url: String,
    positions: Vec<PositionView>,
    signals: Vec<SignalView>,
    /// Cursor of the next older page of the log, when there is one.
    older: Option<i64>,
    /// Whether this is an older page (so a link back to the newest is shown).
    paged: bool,
    trades: Vec<TradeView>,
    settings: SettingsForm,
    settings_error: Option<String>,
    links: super::recorder_links::RecorderLinks,
}

impl RecorderPage {
    /// Shows `form` again as sent, with what to fix.
    pub(super) fn with_settings_error(mut self, form: SettingsForm, message: String) -> Self {
        self.settings = form;
        self.settings_error = Some(message);
        self
    }
}

/// The settings form, as sent and as shown (text, so a mistake is shown as typed).
#[derive(Debug, Deserialize)]
pub(super) struct SettingsForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub default_quantity: String,
    #[serde(default)]
    pub duplicate_window_secs: String,
    #[serde(default)]
    pub commission_per_contract: String,
}

impl SettingsForm {
    fn of(recorder: &Recorder) -> Self {
        Self {
            name: recorder.name.clone(),
            default_quantity: recorder.default_quantity.to_string(),
            duplicate_window_secs: recorder.duplicate_window_secs.to_string(),
            commission_per_contract: recorder.commission_per_contract.normalize().to_string(),
        }
    }
}

/// `?before=<seq>`: show signals older than this sequence number.
#[derive(Debug, Deserialize)]
pub(super) struct LogPage {
    before: Option<String>,
}

pub(super) async fn get_recorder_page(
    State(state): State<AppState>,
    user: AuthUser,
    csrf_token: CsrfToken,
    Path(id): Path<String>,
    Query(page): Query<LogPage>,
) -> Result<RecorderPage, PageError> {
    let id = recorder_id(&id)?;
    // A cursor that is not a number points at no page of the log.
    let before = page
        .before
        .filter(|raw| !raw.is_empty())
        .map(|raw| raw.parse::<i64>().map_err(|_| PageError::NotFound))
        .transpose()?;
    load_recorder_page(&state, user, csrf_token, id, before).await
}

/// Everything the page shows, read in one transaction. `NotFound` for other users' ids.
pub(super) async fn load_recorder_page(
    state: &AppState,
    user: AuthUser,
    csrf_token: CsrfToken,
    id: RecorderId,
    before: Option<i64>,
) -> Result<RecorderPage, PageError> {
    let mut tx = state.store.tenant(user.user_id).await?;
    let recorder = recorders::get_recorder(&mut tx, id).await?;
    let page = read_tables(&mut tx, id, before).await?;
    let links = super::recorder_links::RecorderLinks::load(&mut tx, id).await?;
    tx.commit().await?;
    Ok(RecorderPage {
        user,
        csrf_token,
        id,
        name: recorder.name.clone(),
        status: status_text(recorder.status),
        webhook_url: webhook_url(
            &state.config.base_url,
            &state.config.secret_key,
            id,
            recorder.webhook_token_version,
        ),
        positions: page.positions,
        signals: page.signals,
        older: page.older,
        paged: before.is_some(),
        trades: page.trades,
        settings: SettingsForm::of(&recorder),
        settings_error: None,
        links,
    })
}

struct Tables {
    positions: Vec<PositionView>,
    signals: Vec<SignalView>,
    older: Option<i64>,
    trades: Vec<TradeView>,
}

async fn read_tables(
    tx: &mut TenantTx,
    id: RecorderId,
    before: Option<i64>,
) -> Result<Tables, PageError> {
    let zone = user_time_zone(tx).await?;
    let positions = list_positions(tx, id).await?;
    let (signals, older) = list_signals(tx, id, PAGE_SIZE, before).await?;
    let (trades, _) = list_trades(tx, id, PAGE_SIZE, None).await?;
    let signal_ids: Vec<i64> = signals.iter().map(|row| row.id).collect();
    let orders = jt_store::orders::orders_of_signals(tx, &signal_ids).await?;
    let mut signals: Vec<SignalView> = signals
        .into_iter()
        .map(|row| SignalView::new(row, zone))
        .collect();
    for signal in &mut signals {
        signal.orders = orders
            .iter()
            .filter(|o| o.signal_id == signal.id)
            .map(|o| (o.account_id, super::recorder_links::status_word(o.status)))
            .collect();
    }
    Ok(Tables {
        positions: positions.iter().map(PositionView::new).collect(),
        signals,
        older,
        trades: trades
            .iter()
            .map(|(_, trade)| TradeView::new(trade, zone))
            .collect(),
    })
}
