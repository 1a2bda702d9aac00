use super::{Store, Tx};

pub async fn get(store: &Store, name: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT value FROM settings WHERE name = $1").bind(name).fetch_optional(store.reader()).await
}

pub async fn set(tx: &mut Tx, name: &str, value: &str) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value")
        .bind(name)
        .bind(value)
        .execute(&mut *tx)
        .await?;
    Ok(())
}
