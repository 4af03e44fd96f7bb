//! The admin users list: search by e-mail, three sort orders, keyset paging (never OFFSET),
//! so every page is an index walk whatever the number of users.

use chrono::{DateTime, Utc};

use crate::users::{Role, UserStatus};
use crate::{AdminTx, StoreError, UserId};

/// Largest page the list serves.
pub const MAX_PAGE_SIZE: i64 = 200;

/// How the list is ordered (always descending: newest, most recent, most signals first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserSort {
    /// By sign-up time.
    #[default]
    Created,
    /// By the arrival of the user's newest signal; users without signals last.
    LastSignal,
    /// By the number of signals stored for the user.
    Signals,
}

impl UserSort {
    /// The name used in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::LastSignal => "last_signal",
            Self::Signals => "signals",
        }
    }

    /// Parses the URL name; `None` for anything else.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "created" => Some(Self::Created),
            "last_signal" => Some(Self::LastSignal),
            "signals" => Some(Self::Signals),
            _ => None,
        }
    }

    /// The sort key (an index expression), as SQL over the `admin_user_list` view.
    fn key_sql(self) -> &'static str {
        match self {
            Self::Created => "created_at",
            Self::LastSignal => "coalesce(last_signal_at, 'epoch'::timestamptz)",
            Self::Signals => "signals",
        }
    }

    /// The id column that breaks ties, from the same table as the key (so one index
    /// serves both).
    fn id_sql(self) -> &'static str {
        match self {
            Self::Created => "id",
            Self::LastSignal | Self::Signals => "stats_user_id",
        }
    }

    /// The SQL type of the key, for the cursor's bind parameter.
    fn key_type(self) -> &'static str {
        match self {
            Self::Created | Self::LastSignal => "timestamptz",
            Self::Signals => "bigint",
        }
    }
}

/// Where a page starts: after the row with this sort key and id. The key is an integer
/// (microseconds since 1970 for the time sorts, the count for `Signals`), so it prints and
/// parses exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserCursor {
    key: i64,
    id: UserId,
}

impl std::fmt::Display for UserCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}_{}", self.key, self.id)
    }
}

impl std::str::FromStr for UserCursor {
    type Err = StoreError;

    fn from_str(raw: &str) -> Result<Self, StoreError> {
        let bad = || {
            StoreError::Invalid(
                "the page link is broken; go back to the first page of the users list".into(),
            )
        };
        let (key, id) = raw.split_once('_').ok_or_else(bad)?;
        Ok(Self {
            key: key.parse().map_err(|_| bad())?,
            id: id.parse().map_err(|_| bad())?,
        })
    }
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct UserListQuery {
    /// Part of the e-mail address (case-insensitive); empty lists everyone.
    pub search: String,
    /// Order.
    pub sort: UserSort,
    /// Start after this row (from the previous page's `next`).
    pub after: Option<UserCursor>,
    /// Rows per page (1 to [`MAX_PAGE_SIZE`]).
    pub limit: i64,
}

/// One user as the list shows them.
#[derive(Debug, Clone)]
pub struct UserListRow {
    /// The user.
    pub id: UserId,
    /// E-mail address.
    pub email: String,
    /// Admin or trader.
    pub role: Role,
    /// Active or disabled.
    pub status: UserStatus,
    /// Signed up.
    pub created_at: DateTime<Utc>,
    /// Signals stored for them, all statuses.
    pub signals: i64,
    /// Arrival of their newest signal.
    pub last_signal_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: UserId,
    email: String,
    role: String,
    status: String,
    created_at: DateTime<Utc>,
    signals: i64,
    last_signal_at: Option<DateTime<Utc>>,
}

/// One page of users, and the cursor of the next page when there is one. Call
/// [`super::fold_signal_deltas`] first in the same transaction for exact counts.
pub async fn list_users(
    tx: &mut AdminTx,
    query: &UserListQuery,
) -> Result<(Vec<UserListRow>, Option<UserCursor>), StoreError> {
    let sort = query.sort;
    let limit = query.limit.clamp(1, MAX_PAGE_SIZE);
    let (key, id, key_type) = (sort.key_sql(), sort.id_sql(), sort.key_type());
    // Only static fragments and the clamped limit are formatted in; the search text and the
    // cursor are bind parameters. Each shape of the query is its own statement with a
    // literal limit, so PostgreSQL's cached generic plan is the index walk too (a `$n is
    // null or …` condition or a parameter limit can make it sort the whole table).
    let search = query.search.trim();
    let mut conditions = Vec::new();
    if !search.is_empty() {
        conditions.push("strpos(lower(email), lower($1)) > 0".to_owned());
    }
    if query.after.is_some() {
        let (key_param, id_param) = if search.is_empty() { (1, 2) } else { (2, 3) };
        conditions.push(format!(
            "({key}, {id}) < (${key_param}::{key_type}, ${id_param})"
        ));
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("where {}", conditions.join(" and "))
    };
    let sql = format!(
        "select id, email, role, status, created_at, signals, last_signal_at
         from admin_user_list
         {filter}
         order by {key} desc, {id} desc
         limit {}",
        limit + 1
    );
    let mut statement = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql));
    if !search.is_empty() {
        statement = statement.bind(search);
    }
    if let Some(cursor) = query.after {
        statement = match sort {
            UserSort::Signals => statement.bind(cursor.key),
            UserSort::Created | UserSort::LastSignal => statement.bind(micros_to_time(cursor.key)?),
        };
        statement = statement.bind(cursor.id);
    }
    let mut rows = statement.fetch_all(tx.conn()).await?;
    let next = if rows.len() > usize::try_from(limit).unwrap_or(0) {
        rows.truncate(usize::try_from(limit).unwrap_or(0));
        rows.last().map(|row| cursor_of(sort, row))
    } else {
        None
    };
    let users = rows
        .into_iter()
        .map(|row| {
            Ok(UserListRow {
                id: row.id,
                email: row.email,
                role: Role::from_column(&row.role)?,
                status: UserStatus::from_column(&row.status)?,
                created_at: row.created_at,
                signals: row.signals,
                last_signal_at: row.last_signal_at,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok((users, next))
}

fn cursor_of(sort: UserSort, row: &Row) -> UserCursor {
    let key = match sort {
        UserSort::Created => row.created_at.timestamp_micros(),
        UserSort::LastSignal => row.last_signal_at.map_or(0, |at| at.timestamp_micros()),
        UserSort::Signals => row.signals,
    };
    UserCursor { key, id: row.id }
}

fn micros_to_time(micros: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(micros).ok_or_else(|| {
        StoreError::Invalid(
            "the page link is broken; go back to the first page of the users list".into(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_print_and_parse_back() {
        let cursor = UserCursor {
            key: 1_764_072_000_123_456,
            id: UserId::new(),
        };
        assert_eq!(cursor.to_string().parse::<UserCursor>().ok(), Some(cursor));
        assert!("12".parse::<UserCursor>().is_err());
        assert!("x_y".parse::<UserCursor>().is_err());
    }

    #[test]
    fn sorts_round_trip_through_their_url_names() {
        for sort in [UserSort::Created, UserSort::LastSignal, UserSort::Signals] {
            assert_eq!(UserSort::parse(sort.as_str()), Some(sort));
        }
        assert_eq!(UserSort::parse("email"), None);
    }
}
