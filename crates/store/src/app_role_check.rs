//! The start-up check of the application's database role (SPEC §4, §5). Tenant isolation
//! rests on row-level security, which a superuser, a role with BYPASSRLS or the owner of the
//! tables (or a member of it) escapes. A misconfigured `JT_APP_DATABASE_URL` would silently
//! turn isolation off, so a process refuses to start on such a connection.

use crate::{Store, StoreError};

/// What the database says about the role the application pool logs in as.
#[derive(Debug, sqlx::FromRow)]
struct RoleFacts {
    role: String,
    superuser: bool,
    bypass_rls: bool,
    /// The owner of the `users` table (the schema owner), `None` before migrations.
    table_owner: Option<String>,
    /// The application role is the table owner or a member of it.
    member_of_owner: Option<bool>,
}

/// Refuses ([`StoreError::UnsafeAppRole`]) an application connection that row-level security
/// would not restrict, and ([`StoreError::NotMigrated`]) a database without our schema.
pub async fn verify_app_role(store: &Store) -> Result<(), StoreError> {
    let facts: RoleFacts = sqlx::query_as(
        "select r.rolname::text as role, r.rolsuper as superuser, r.rolbypassrls as bypass_rls,
                t.tableowner::text as table_owner,
                case when t.tableowner is null then null
                     else pg_has_role(current_user, t.tableowner, 'MEMBER') end as member_of_owner
         from pg_roles r
         left join pg_tables t on t.schemaname = 'public' and t.tablename = 'users'
         where r.rolname = current_user",
    )
    .fetch_one(store.unscoped_pool())
    .await?;
    let unsafe_role = |reason: String| StoreError::UnsafeAppRole {
        role: facts.role.clone(),
        reason,
    };
    if facts.superuser {
        return Err(unsafe_role("is a superuser".to_owned()));
    }
    if facts.bypass_rls {
        return Err(unsafe_role("has BYPASSRLS".to_owned()));
    }
    let Some(owner) = &facts.table_owner else {
        return Err(StoreError::NotMigrated);
    };
    if facts.member_of_owner == Some(true) {
        let reason = if *owner == facts.role {
            "owns the tables (it is the schema owner)".to_owned()
        } else {
            format!("is a member of the schema owner `{owner}`")
        };
        return Err(unsafe_role(reason));
    }
    Ok(())
}
