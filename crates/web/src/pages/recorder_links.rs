//! The recorder page's "Broker accounts" panel (`recorder_links.html`): which accounts execute
//! this recorder's signals, with multiplier, switch and max delay; and its forms.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Redirect;
use jt_store::account_links::{
    LinkSettings, create_link, delete_link, get_link, list_links, parse_max_delay,
    parse_multiplier, update_link,
};
use jt_store::broker_accounts::list_accounts;
use jt_store::{AccountLinkId, BrokerAccountId, RecorderId, StoreError, TenantTx};
use serde::Deserialize;

use super::recorder_id;
use crate::AppState;
use crate::auth::AuthUser;
use crate::page_error::PageError;

/// What the panel shows.
pub(super) struct RecorderLinks {
    pub(super) links: Vec<LinkView>,
    /// Accounts not linked yet (for the add form).
    pub(super) unlinked: Vec<(BrokerAccountId, String)>,
}

pub(super) struct LinkView {
    pub(super) id: AccountLinkId,
    pub(super) account_id: BrokerAccountId,
    pub(super) account_name: String,
    pub(super) multiplier: i32,
    pub(super) enabled: bool,
    pub(super) max_delay_secs: i32,
}

impl RecorderLinks {
    /// Reads the links and the user's accounts.
    pub(super) async fn load(tx: &mut TenantTx, recorder: RecorderId) -> Result<Self, StoreError> {
        let links: Vec<LinkView> = list_links(tx, recorder)
            .await?
            .into_iter()
            .map(|l| LinkView {
                id: l.id,
                account_id: l.account_id,
                account_name: l.account_name,
                multiplier: l.multiplier,
                enabled: l.enabled,
                max_delay_secs: l.max_delay_secs,
            })
            .collect();
        let unlinked = list_accounts(tx)
            .await?
            .into_iter()
            .filter(|a| links.iter().all(|l| l.account_id != a.id))
            .map(|a| (a.id, a.name))
            .collect();
        Ok(Self { links, unlinked })
    }
}

/// The add-link form.
#[derive(Deserialize)]
pub(super) struct LinkForm {
    #[serde(default)]
    account_id: String,
    #[serde(default)]
    multiplier: String,
    #[serde(default)]
    max_delay_secs: String,
}

fn number(field: &str, raw: &str) -> Result<Option<i64>, PageError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse()
        .map(Some)
        .map_err(|_| PageError::Invalid(format!("{field} must be a whole number")))
}

fn back(recorder: RecorderId) -> Redirect {
    Redirect::to(&format!("/recorders/{recorder}#links"))
}

/// `POST /recorders/{id}/links`.
pub(super) async fn post_link(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Form(form): Form<LinkForm>,
) -> Result<Redirect, PageError> {
    let recorder = recorder_id(&id)?;
    let account: BrokerAccountId = form
        .account_id
        .parse()
        .map_err(|_| PageError::Invalid("choose an account to link".to_owned()))?;
    let settings = LinkSettings {
        multiplier: number("multiplier", &form.multiplier)?
            .map(parse_multiplier)
            .transpose()?,
        enabled: Some(true),
        max_delay_secs: number("max delay", &form.max_delay_secs)?
            .map(parse_max_delay)
            .transpose()?,
    };
    let mut tx = state.store.tenant(user.user_id).await?;
    create_link(&mut tx, recorder, account, &settings).await?;
    tx.commit().await?;
    Ok(back(recorder))
}

fn link_id(raw: &str) -> Result<AccountLinkId, PageError> {
    raw.parse().map_err(|_| PageError::NotFound)
}

/// `POST /recorders/{id}/links/{link}/toggle`: enable or disable execution.
pub(super) async fn post_toggle(
    State(state): State<AppState>,
    user: AuthUser,
    Path((id, link)): Path<(String, String)>,
) -> Result<Redirect, PageError> {
    let recorder = recorder_id(&id)?;
    let link = link_id(&link)?;
    let mut tx = state.store.tenant(user.user_id).await?;
    let current = get_link(&mut tx, recorder, link).await?;
    let flip = LinkSettings {
        enabled: Some(!current.enabled),
        ..LinkSettings::default()
    };
    update_link(&mut tx, recorder, link, &flip).await?;
    tx.commit().await?;
    Ok(back(recorder))
}

/// `POST /recorders/{id}/links/{link}/delete`.
pub(super) async fn post_unlink(
    State(state): State<AppState>,
    user: AuthUser,
    Path((id, link)): Path<(String, String)>,
) -> Result<Redirect, PageError> {
    let recorder = recorder_id(&id)?;
    let link = link_id(&link)?;
    let mut tx = state.store.tenant(user.user_id).await?;
    delete_link(&mut tx, recorder, link).await?;
    tx.commit().await?;
    Ok(back(recorder))
}

/// An order state as the pages write it (and as its CSS class is named).
pub(super) fn status_word(status: jt_store::orders::OrderStatus) -> String {
    status.as_str().to_owned()
}
