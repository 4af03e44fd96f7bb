//! `GET /recorders/{id}`: the webhook URL and alert messages to paste into TradingView,
//! positions, statistics with charts, the signal log and trades (each paged by keyset), CSV
//! export and the settings forms. The page is made of partials; the live ones are also
//! served alone (see [`super::live_fragments`]) so the page's script can refresh them.

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use chrono_tz::Tz;
use jt_store::exports::TimeRange;
use jt_store::performance::{last_trade_id, trade_results};
use jt_store::recorders::{self, Recorder};
use jt_store::signal_log::list_signals;
use jt_store::state::{list_positions, list_trades, user_time_zone};
use jt_store::webhook_token::webhook_url;
use jt_store::{RecorderId, TenantTx};
use serde::Deserialize;

use super::recorder_id;
use super::recorder_stats::{StatsPanel, stats_panel};
use super::recorder_views::{PositionView, SignalView, TradeView, status_text};
use super::stats_cache::StatsKey;
use crate::AppState;
use crate::auth::{AuthUser, CsrfToken};
use crate::date_range::parse_range;
use crate::page_error::PageError;

/// Rows per page of the signal log and of the trades.
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
    log: SignalLog,
    trades: TradeList,
    stats: Arc<StatsPanel>,
    /// The chosen range as typed (shown again in the form).
    from: String,
    to: String,
    /// `from=…&to=…` for links that keep the range (empty without one).
    range_query: String,
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

/// A page of the signal log.
pub(super) struct SignalLog {
    pub id: RecorderId,
    pub signals: Vec<SignalView>,
    /// Cursor of the next older page, when there is one.
    pub older: Option<i64>,
    /// Whether this is an older page (a link back to the newest is shown, no live refresh).
    pub paged: bool,
}

/// A page of closed trades.
pub(super) struct TradeList {
    pub id: RecorderId,
    pub trades: Vec<TradeView>,
    pub older: Option<i64>,
    pub paged: bool,
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

/// The page's query: `before=<seq>` (older signals), `trades_before=<trade id>` (older
/// trades), `from`/`to` (statistics range: dates in the user's zone).
#[derive(Debug, Default, Deserialize)]
pub(super) struct PageQuery {
    pub before: Option<String>,
    pub trades_before: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

impl PageQuery {
    /// A cursor that is not a number points at no page.
    fn cursor(raw: Option<&String>) -> Result<Option<i64>, PageError> {
        raw.filter(|raw| !raw.is_empty())
            .map(|raw| raw.parse::<i64>().map_err(|_| PageError::NotFound))
            .transpose()
    }

    fn typed(value: Option<&String>) -> String {
        value.map(|v| v.trim().to_owned()).unwrap_or_default()
    }

    /// The statistics range, or what is wrong with it.
    pub(super) fn range(&self, zone: Tz) -> Result<(TimeRange, Option<String>), PageError> {
        let (from, to) = (
            Self::typed(self.from.as_ref()),
            Self::typed(self.to.as_ref()),
        );
        let range = parse_range(Some(&from), Some(&to), zone).map_err(PageError::Invalid)?;
        let label = match (from.as_str(), to.as_str()) {
            ("", "") => None,
            (from, "") => Some(format!("Since {from}")),
            ("", to) => Some(format!("Until {to}")),
            (from, to) => Some(format!("{from} to {to}")),
        };
        Ok((range, label))
    }

    /// `from=…&to=…` as typed, for links that keep the range.
    pub(super) fn range_query(&self) -> String {
        let (from, to) = (
            Self::typed(self.from.as_ref()),
            Self::typed(self.to.as_ref()),
        );
        if from.is_empty() && to.is_empty() {
            return String::new();
        }
        serde_urlencoded::to_string([("from", from), ("to", to)]).unwrap_or_default()
    }
}

pub(super) async fn get_recorder_page(
    State(state): State<AppState>,
    user: AuthUser,
    csrf_token: CsrfToken,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<RecorderPage, PageError> {
    let id = recorder_id(&id)?;
    load_recorder_page(&state, user, csrf_token, id, &query).await
}

/// Everything the page shows, read in one transaction. `NotFound` for other users' ids.
pub(super) async fn load_recorder_page(
    state: &AppState,
    user: AuthUser,
    csrf_token: CsrfToken,
    id: RecorderId,
    query: &PageQuery,
) -> Result<RecorderPage, PageError> {
    let before = PageQuery::cursor(query.before.as_ref())?;
    let trades_before = PageQuery::cursor(query.trades_before.as_ref())?;
    let mut tx = state.store.tenant(user.user_id).await?;
    let recorder = recorders::get_recorder(&mut tx, id).await?;
    let zone = user_time_zone(&mut tx).await?;
    let positions = read_positions(&mut tx, id).await?;
    let log = read_signal_log(&mut tx, id, before, zone).await?;
    let trades = read_trades(&mut tx, id, trades_before, zone).await?;
    let stats = read_stats(state, &mut tx, id, query, zone).await?;
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
        positions,
        log,
        trades,
        stats,
        from: PageQuery::typed(query.from.as_ref()),
        to: PageQuery::typed(query.to.as_ref()),
        range_query: query.range_query(),
        settings: SettingsForm::of(&recorder),
        settings_error: None,
        links,
    })
}

/// Every root's position.
pub(super) async fn read_positions(
    tx: &mut TenantTx,
    id: RecorderId,
) -> Result<Vec<PositionView>, PageError> {
    let rows = list_positions(tx, id).await?;
    Ok(rows.iter().map(PositionView::new).collect())
}

/// The page of the signal log before `before` (newest without).
pub(super) async fn read_signal_log(
    tx: &mut TenantTx,
    id: RecorderId,
    before: Option<i64>,
    zone: Tz,
) -> Result<SignalLog, PageError> {
    let (signals, older) = list_signals(tx, id, PAGE_SIZE, before).await?;
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
    Ok(SignalLog {
        id,
        signals,
        older,
        paged: before.is_some(),
    })
}

/// The page of trades before the trade id `before` (newest without).
pub(super) async fn read_trades(
    tx: &mut TenantTx,
    id: RecorderId,
    before: Option<i64>,
    zone: Tz,
) -> Result<TradeList, PageError> {
    let (trades, older) = list_trades(tx, id, PAGE_SIZE, before).await?;
    Ok(TradeList {
        id,
        trades: trades
            .iter()
            .map(|(_, trade)| TradeView::new(trade, zone))
            .collect(),
        older,
        paged: before.is_some(),
    })
}

/// Statistics of all time and of the query's range (from the cache while the recorder's
/// trades are unchanged).
pub(super) async fn read_stats(
    state: &AppState,
    tx: &mut TenantTx,
    id: RecorderId,
    query: &PageQuery,
    zone: Tz,
) -> Result<Arc<StatsPanel>, PageError> {
    let (range, label) = query.range(zone)?;
    let key = StatsKey::new(id, last_trade_id(tx, id).await?, range, label.clone(), zone);
    if let Some(panel) = state.caches.stats.get(&key) {
        return Ok(panel);
    }
    let results = trade_results(tx, id).await?;
    let panel = Arc::new(stats_panel(&results, range, label, zone));
    state.caches.stats.put(key, panel.clone());
    Ok(panel)
}
