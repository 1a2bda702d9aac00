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

/// Sets `name` to `value` if it has no value yet; false when it had one.
pub async fn claim(tx: &mut Tx, name: &str, value: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .bind(value)
        .execute(&mut *tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The value of `name`, set to `value` first if it had none (of servers starting together, the
/// first one's value is everyone's).
pub async fn get_or_init(store: &Store, name: &str, value: &str) -> Result<String, sqlx::Error> {
    let (name_owned, value_owned) = (name.to_owned(), value.to_owned());
    store.write(move |tx| Box::pin(async move { claim(tx, &name_owned, &value_owned).await })).await?;
    Ok(get(store, name).await?.unwrap_or_else(|| value.to_owned()))
}
