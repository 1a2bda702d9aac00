//! `kassa-shop`: the demo shop, a merchant backend on Kassa's public API.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;

#[derive(Parser)]
#[command(name = "kassa-shop", about = "The Kassa demo shop: its pages, and its backend on Kassa's public API")]
struct Args {
    /// Address to listen on; port 0 picks a free port (the chosen address is printed).
    #[arg(long, env = "KASSA_SHOP_LISTEN", default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// Where Kassa answers.
    #[arg(long, env = "KASSA_URL", default_value = "http://127.0.0.1:8080")]
    kassa_url: String,
    /// The merchant's secret key.
    #[arg(long, env = "KASSA_SECRET_KEY", hide_env_values = true, required_unless_present = "secret_key_file")]
    secret_key: Option<String>,
    /// A file holding the merchant's secret key.
    #[arg(long, env = "KASSA_SECRET_KEY_FILE")]
    secret_key_file: Option<PathBuf>,
    /// The shop's own database.
    #[arg(long, env = "KASSA_SHOP_DATABASE", default_value = "sqlite://kassa-shop.db")]
    database: String,
    /// Where Kassa can reach this shop for webhooks (default: the address it listens on).
    #[arg(long, env = "KASSA_SHOP_PUBLIC_URL")]
    public_url: Option<String>,
    /// The shop's pages.
    #[arg(long, env = "KASSA_SHOP_WWW_DIR", default_value = "www/pages")]
    www_dir: PathBuf,
    /// The npm package's files, served at /sdk/ as a shop that installed it would.
    #[arg(long, env = "KASSA_SHOP_SDK_DIR", default_value = "js")]
    sdk_dir: PathBuf,
}

/// Kassa may still be starting beside the shop: waits up to 30 s for its `/healthz` to answer.
async fn wait_for_kassa(kassa_url: &str) -> Result<(), String> {
    let health = format!("{}/healthz", kassa_url.trim_end_matches('/'));
    let http = reqwest::Client::new();
    for _ in 0..120 {
        if http.get(&health).send().await.is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err(format!("Kassa did not answer at {health} within 30 s"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args = Args::parse();
    let secret_key = match (&args.secret_key, &args.secret_key_file) {
        (Some(key), _) => key.clone(),
        (None, Some(file)) => std::fs::read_to_string(file)?.trim().to_owned(),
        (None, None) => unreachable!("clap requires one"),
    };
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let addr = listener.local_addr()?;
    let config = kassa_shop::Config {
        kassa_url: args.kassa_url,
        secret_key,
        database: args.database,
        public_url: args.public_url.unwrap_or_else(|| format!("http://{addr}")),
    };
    wait_for_kassa(&config.kassa_url).await?;
    let shop = kassa_shop::prepare(&config).await?;
    println!("The demo shop is listening on http://{addr}");
    let router = kassa_shop::router(Arc::new(shop), Some(args.www_dir), Some(args.sdk_dir));
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
