//! `GET /admin`: the users list — search by e-mail, sort, keyset pages.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use jt_store::UserId;
use jt_store::admin::fold_signal_deltas;
use jt_store::admin::user_list::{UserCursor, UserListQuery, UserListRow, UserSort, list_users};
use jt_store::users::Role;
use serde::Deserialize;

use super::AdminUser;
use crate::AppState;
use crate::auth::CsrfToken;
use crate::page_error::PageError;
use crate::pages::display;

/// Users per page.
const PAGE_SIZE: i64 = 50;

/// The query string: `?q=&sort=&after=`.
#[derive(Debug, Deserialize)]
pub(super) struct UsersQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    after: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_users.html")]
pub(super) struct UsersPage {
    user: crate::auth::AuthUser,
    csrf_token: CsrfToken,
    search: String,
    sort: &'static str,
    sorts: [(&'static str, &'static str); 3],
    users: Vec<UserItem>,
    /// The next page's query string, when there is one.
    next: Option<String>,
    /// True on pages after the first.
    paged: bool,
}

struct UserItem {
    id: UserId,
    email: String,
    admin: bool,
    status: &'static str,
    created: String,
    signals: i64,
    last_signal: String,
}

impl UserItem {
    fn new(row: UserListRow) -> Self {
        Self {
            id: row.id,
            email: row.email,
            admin: row.role == Role::Admin,
            status: row.status.as_str(),
            created: display::time(row.created_at, chrono_tz::UTC),
            signals: row.signals,
            last_signal: row
                .last_signal_at
                .map_or_else(|| "none".to_owned(), |at| display::time(at, chrono_tz::UTC)),
        }
    }
}

/// The list is not a view of one user's data, so it is not audited; opening a user is.
pub(super) async fn get_users(
    State(state): State<AppState>,
    admin: AdminUser,
    csrf_token: CsrfToken,
    Query(raw): Query<UsersQuery>,
) -> Result<UsersPage, PageError> {
    let sort = UserSort::parse(&raw.sort).unwrap_or_default();
    let after = match raw.after.as_str() {
        "" => None,
        cursor => Some(cursor.parse::<UserCursor>()?),
    };
    let query = UserListQuery {
        search: raw.q.trim().to_owned(),
        sort,
        after,
        limit: PAGE_SIZE,
    };
    let mut tx = admin.begin(&state.store).await?;
    fold_signal_deltas(&mut tx).await?;
    let (rows, next) = list_users(&mut tx, &query).await?;
    tx.commit().await?;
    let next = next.map(|cursor| {
        serde_urlencoded::to_string([
            ("q", query.search.as_str()),
            ("sort", sort.as_str()),
            ("after", &cursor.to_string()),
        ])
        .unwrap_or_default()
    });
    Ok(UsersPage {
        user: admin.user,
        csrf_token,
        search: query.search,
        sort: sort.as_str(),
        sorts: [
            ("created", "newest accounts"),
            ("last_signal", "latest signal"),
            ("signals", "most signals"),
        ],
        users: rows.into_iter().map(UserItem::new).collect(),
        next,
        paged: after.is_some(),
    })
}
