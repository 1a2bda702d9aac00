//! `kassa-server [serve] [--listen ADDR] [--database URL]` and
//! `kassa-server merchant create --name NAME [--database URL]` and
//! `kassa-server user create --merchant ID --email EMAIL --role ROLE [--database URL]`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use kassa_server::crypto::Keyring;
use kassa_server::processor::sandbox::SandboxProcessor;
use kassa_server::rate_limit::Limits;
use kassa_server::store::{merchants as merchant_store, Store};
use kassa_server::{app_with_pages, merchants, AppState, StaticDirs};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(name = "kassa-server", version, about = "The Kassa payments server")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (the default).
    Serve(ServeArgs),
    /// Manage merchants.
    Merchant {
        #[command(subcommand)]
        command: MerchantCommand,
    },
    /// Manage the people who use the merchant console.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a console user and print them with a one-time setup link (as one JSON object) with
    /// which they choose their password.
    Create {
        /// The merchant they work for (`mer_…`).
        #[arg(long)]
        merchant: String,
        #[arg(long)]
        email: String,
        /// `owner` (everything), `manager` (every payment and order action), `staff` (no refunds,
        /// voids or resolutions) or `viewer` (sees, changes nothing).
        #[arg(long)]
        role: String,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

#[derive(Subcommand)]
enum MerchantCommand {
    /// Create a merchant and print its id and keys as one JSON object (shown only once).
    Create {
        #[arg(long)]
        name: String,
        /// Where its payments go: `sandbox` (the default) or `stripe`.
        #[arg(long, default_value = "sandbox")]
        processor: String,
        /// The processor's secret API key (Stripe: `sk_…`), sealed with the encryption key.
        #[arg(long, env = "KASSA_PROCESSOR_SECRET", hide_env_values = true)]
        processor_secret: Option<String>,
        /// The signing secret of the processor's webhooks (Stripe: `whsec_…`).
        #[arg(long, env = "KASSA_PROCESSOR_WEBHOOK_SECRET", hide_env_values = true)]
        processor_webhook_secret: Option<String>,
        #[command(flatten)]
        db: DatabaseArgs,
        #[command(flatten)]
        encryption: EncryptionArgs,
    },
}

#[derive(Args, Clone)]
struct DatabaseArgs {
    /// The database: `sqlite://FILE` (made when missing) or `postgres://USER@HOST/DB`.
    #[arg(long = "database", env = "KASSA_DATABASE_URL", default_value = "sqlite://kassa.db")]
    url: String,
    /// Connections this server opens to PostgreSQL (more than about twice the database's cores
    /// only adds switching).
    #[arg(long = "database-connections", env = "KASSA_DATABASE_CONNECTIONS", default_value_t = kassa_server::store::DEFAULT_CONNECTIONS)]
    connections: u32,
}

#[derive(Args, Clone)]
struct EncryptionArgs {
    /// The encryption key(s) for secrets at rest: 64 hex digits, or several comma-separated (the
    /// first seals, all open) while rotating.
    #[arg(long = "encryption-key", env = "KASSA_ENCRYPTION_KEY", hide_env_values = true)]
    key: Option<String>,
    /// Where the key is kept when none is given: made on first start with mode 0600 (default:
    /// beside the SQLite file, `kassa.db.key`).
    #[arg(long = "encryption-key-file", env = "KASSA_ENCRYPTION_KEY_FILE")]
    key_file: Option<PathBuf>,
}

impl EncryptionArgs {
    fn keyring(&self, database_url: &str) -> Result<Keyring, kassa_server::crypto::KeyError> {
        if let Some(keys) = &self.key {
            return Keyring::parse(keys);
        }
        let file = self.key_file.clone().unwrap_or_else(|| {
            let sqlite = database_url.strip_prefix("sqlite://").or_else(|| database_url.strip_prefix("sqlite:"));
            match sqlite.map(|rest| rest.split('?').next().unwrap_or_default()) {
                Some(path) if !path.is_empty() && path != ":memory:" => PathBuf::from(format!("{path}.key")),
                _ => PathBuf::from("kassa.key"),
            }
        });
        Keyring::from_file(&file)
    }
}

#[derive(Args, Clone)]
struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (the chosen address is printed).
    #[arg(long, env = "KASSA_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    #[command(flatten)]
    db: DatabaseArgs,
    #[command(flatten)]
    encryption: EncryptionArgs,
    /// Simulated network latency of the sandbox processor, per call.
    #[arg(long, env = "KASSA_SANDBOX_LATENCY_MS", default_value_t = 0)]
    sandbox_latency_ms: u64,
    /// Requests per second allowed to each publishable key (0: no limit).
    #[arg(long, env = "KASSA_PUBLISHABLE_RATE_LIMIT", default_value_t = 100)]
    publishable_rate_limit: u32,
    /// Card tokenizations and confirmations per second a publishable key may make from one
    /// client address (0: no limit).
    #[arg(long, env = "KASSA_CARD_ATTEMPT_RATE_LIMIT", default_value_t = 5)]
    card_attempt_rate_limit: u32,
    /// Console sign-ins and password setups per minute from one client address, which may burst
    /// to twice that (0: no limit).
    #[arg(long, env = "KASSA_SIGN_IN_RATE_LIMIT", default_value_t = 10)]
    sign_in_rate_limit: u32,
    /// Requests per minute from one client address to the 3-D Secure pages, which may burst to
    /// twice that (0: no limit).
    #[arg(long, env = "KASSA_THREE_DS_RATE_LIMIT", default_value_t = 60)]
    three_ds_rate_limit: u32,
    /// Requests per second allowed to each secret or restricted key (0: no limit).
    #[arg(long, env = "KASSA_SECRET_RATE_LIMIT", default_value_t = 0)]
    secret_rate_limit: u32,
    /// The built checkout app to serve at /checkout/ (default: checkout-app/dist when it exists).
    #[arg(long, env = "KASSA_CHECKOUT_DIR")]
    checkout_dir: Option<PathBuf>,
    /// The built merchant console to serve at /console/ (default: console-app/dist when it exists).
    #[arg(long, env = "KASSA_CONSOLE_DIR")]
    console_dir: Option<PathBuf>,
    /// The npm package's files to serve at /sdk/ (default: js when it has been built).
    #[arg(long, env = "KASSA_SDK_DIR")]
    sdk_dir: Option<PathBuf>,
    /// Test mode for webhooks: endpoints on loopback may be registered and called (the demo shop
    /// receives its webhooks on this machine).
    #[arg(long, env = "KASSA_WEBHOOKS_ALLOW_LOOPBACK")]
    webhooks_allow_loopback: bool,
    /// How long a webhook endpoint has to answer.
    #[arg(long, env = "KASSA_WEBHOOK_TIMEOUT_MS", default_value_t = 10_000)]
    webhook_timeout_ms: u64,
    /// The wait before a failed delivery's second attempt; it doubles for each after.
    #[arg(long, env = "KASSA_WEBHOOK_BACKOFF_MS", default_value_t = 5_000)]
    webhook_backoff_ms: u64,
    /// Attempts before a delivery is given up.
    #[arg(long, env = "KASSA_WEBHOOK_MAX_ATTEMPTS", default_value_t = 12)]
    webhook_max_attempts: i64,
    /// How long a processor call may take; after that its outcome is unknown until reconciled.
    #[arg(long, env = "KASSA_PROCESSOR_TIMEOUT_MS", default_value_t = 20_000)]
    processor_timeout_ms: u64,
    /// Stripe's API address (a Stripe-compatible server such as localstripe in tests).
    #[arg(long, env = "KASSA_STRIPE_API_BASE", default_value = kassa_server::processor::stripe::DEFAULT_API_BASE)]
    stripe_api_base: String,
    /// A console session unused this long ends (seconds).
    #[arg(long, env = "KASSA_SESSION_IDLE_SECONDS", default_value_t = 30 * 60)]
    session_idle_seconds: u64,
    /// A console session ends this long after sign-in, however much it is used (seconds).
    #[arg(long, env = "KASSA_SESSION_LIFETIME_SECONDS", default_value_t = 12 * 3600)]
    session_lifetime_seconds: u64,
    /// A load balancer or reverse proxy in front of this server, as an address or network
    /// (`10.0.0.0/8`, `2001:db8::/32`; repeat it, or separate them with commas): only from these
    /// peers are `X-Forwarded-For` and `Forwarded` read for the client's address, which per-address
    /// limits count.
    #[arg(long = "trusted-proxy", env = "KASSA_TRUSTED_PROXY", value_delimiter = ',', value_name = "CIDR")]
    trusted_proxy: Vec<kassa_server::http::address::Cidr>,
    /// The header those proxies write the client's address in: `x-forwarded-for` or `forwarded`
    /// (RFC 7239). Only that one is read; have the proxies drop the other, or it is ignored.
    #[arg(long, env = "KASSA_FORWARDED_HEADER", default_value = "x-forwarded-for", value_name = "HEADER")]
    forwarded_header: kassa_server::http::address::ForwardedHeader,
    /// How old a pending operation is before the reconciler asks the processor about it.
    #[arg(long, env = "KASSA_RECONCILE_AFTER_MS", default_value_t = 30_000)]
    reconcile_after_ms: u64,
    /// How long the reconciler waits before asking again about an operation the processor could
    /// not answer for; each failure doubles it, up to five minutes (ms; 0 asks every round).
    #[arg(long, env = "KASSA_RECONCILE_BACKOFF_MS", default_value_t = 5_000)]
    reconcile_backoff_ms: u64,
}

/// The given folder, or the default one when it exists.
fn page_dir(given: Option<PathBuf>, default: &str) -> Option<PathBuf> {
    given.or_else(|| Some(PathBuf::from(default)).filter(|d| d.join("index.html").is_file()))
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_env("KASSA_LOG").unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Merchant {
            command: MerchantCommand::Create { name, processor, processor_secret, processor_webhook_secret, db, encryption },
        }) => {
            let request = kassa::api::UpdateProcessorRequest {
                processor: match kassa::api::ProcessorKind::parse(&processor) {
                    Some(kind) => kind,
                    None => {
                        eprintln!("kassa-server: --processor is `sandbox` or `stripe`");
                        std::process::exit(2);
                    }
                },
                secret_key: processor_secret,
                webhook_secret: processor_webhook_secret,
            };
            create_merchant(&db.url, &encryption, &name, &request).await
        }
        Some(Command::User { command: UserCommand::Create { merchant, email, role, db } }) => {
            create_user(&db.url, &merchant, &email, &role).await
        }
        Some(Command::Serve(args)) => serve(args).await,
        None => serve(cli.serve).await,
    };
    if let Err(e) = result {
        eprintln!("kassa-server: {e}");
        std::process::exit(1);
    }
}

async fn create_merchant(
    url: &str,
    encryption: &EncryptionArgs,
    name: &str,
    processor: &kassa::api::UpdateProcessorRequest,
) -> Result<(), Box<dyn std::error::Error>> {
    let credentials = kassa_server::merchants::processor::check_request(processor).map_err(|e| e.message)?;
    let keyring = encryption.keyring(url)?;
    let store = Store::connect(url).await?;
    check_encryption_key(&store, &keyring).await?;
    let created = merchants::create_with_processor(&store, &keyring, name, processor.processor, credentials.as_ref()).await?;
    println!("{}", serde_json::to_string(&created)?);
    store.close().await;
    Ok(())
}

async fn create_user(url: &str, merchant: &str, email: &str, role: &str) -> Result<(), Box<dyn std::error::Error>> {
    let Some(role) = kassa::api::Role::parse(role) else {
        eprintln!("kassa-server: --role is `owner`, `manager`, `staff` or `viewer`");
        std::process::exit(2);
    };
    let Ok(merchant) = merchant.parse::<kassa::id::MerchantId>() else {
        eprintln!("kassa-server: --merchant is a merchant's id, `mer_…`");
        std::process::exit(2);
    };
    let store = Store::connect(url).await?;
    let created = kassa_server::users::create(&store, &merchant, email, role, &Default::default(), kassa_server::clock::now_ms())
        .await
        .map_err(|e| e.message)?;
    println!("{}", serde_json::to_string(&created)?);
    store.close().await;
    Ok(())
}

async fn serve(args: ServeArgs) -> Result<(), Box<dyn std::error::Error>> {
    let keyring = args.encryption.keyring(&args.db.url)?;
    let store = Store::connect_with(&args.db.url, args.db.connections).await?;
    // A new database gets a first merchant; of servers starting together, one makes it.
    let first = if merchant_store::count_merchants(&store).await? == 0 {
        merchants::create_once(&store, "first_merchant_id", "First merchant").await?
    } else {
        None
    };
    if let Some(first) = first {
        println!("Created the first merchant {} (these keys are shown only once):", first.merchant_id);
        println!("  secret key:      {}", first.secret_key);
        println!("  publishable key: {}", first.publishable_key);
    }
    check_encryption_key(&store, &keyring).await?;
    let processor = Arc::new(SandboxProcessor::for_installation(&store, &keyring, Duration::from_millis(args.sandbox_latency_ms)).await?);
    let limits = Limits {
        publishable_per_second: args.publishable_rate_limit,
        secret_per_second: args.secret_rate_limit,
        card_attempts_per_address_per_second: args.card_attempt_rate_limit,
        sign_ins_per_address_per_minute: args.sign_in_rate_limit,
        three_ds_per_address_per_minute: args.three_ds_rate_limit,
    };
    let mut state = AppState::with_limits(store.clone(), processor.clone(), limits);
    state.processors = Arc::new(kassa_server::processor::registry::Processors::new(processor, &args.stripe_api_base));
    state.keyring = Arc::new(keyring);
    state.processor_timeout = Duration::from_millis(args.processor_timeout_ms);
    state.reconcile_backoff = Arc::new(kassa_server::caches::Backoff::new(Duration::from_millis(args.reconcile_backoff_ms)));
    state.allow_loopback_webhooks = args.webhooks_allow_loopback;
    state.console.idle = Duration::from_secs(args.session_idle_seconds.max(1));
    state.console.lifetime = Duration::from_secs(args.session_lifetime_seconds.max(1));
    state.trusted_proxies = args.trusted_proxy.into();
    state.forwarded_header = args.forwarded_header;
    let resealed = kassa_server::webhooks::seal_secrets(&state).await.map_err(|e| format!("sealing webhook secrets: {e}"))?;
    if resealed > 0 {
        tracing::info!(resealed, "webhook signing secrets sealed with the current encryption key");
    }
    let keyed = kassa_server::idempotency::key_stored_fingerprints(&store, &state.keyring)
        .await
        .map_err(|e| format!("keying idempotency fingerprints: {e}"))?;
    if keyed > 0 {
        tracing::info!(keyed, "idempotency fingerprints kept unkeyed are keyed with the encryption key");
    }
    let resealed = kassa_server::processor::registry::reseal_all(&store, &state.keyring)
        .await
        .map_err(|e| format!("sealing processor credentials: {e}"))?;
    if resealed > 0 {
        tracing::info!(resealed, "processor credentials sealed with the current encryption key");
    }
    kassa_server::payments::spawn_reconciler(
        state.clone(),
        Duration::from_secs(5).min(Duration::from_millis(args.reconcile_after_ms)),
        Duration::from_millis(args.reconcile_after_ms.max(args.processor_timeout_ms)),
    );
    kassa_server::webhooks::spawn_worker(
        state.clone(),
        kassa_server::webhooks::Settings {
            timeout: Duration::from_millis(args.webhook_timeout_ms),
            first_backoff: Duration::from_millis(args.webhook_backoff_ms),
            max_attempts: args.webhook_max_attempts.max(1),
            allow_loopback: state.allow_loopback_webhooks,
            ..Default::default()
        },
    );
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let addr = listener.local_addr()?;
    println!("Kassa is listening on http://{addr}");
    tracing::info!(%addr, "listening");
    let pages = StaticDirs {
        checkout: page_dir(args.checkout_dir, "checkout-app/dist"),
        console: page_dir(args.console_dir, "console-app/dist"),
        sdk: args.sdk_dir.or_else(|| Some(PathBuf::from("js")).filter(|d| d.join("wasm/kassa_bg.wasm").is_file())),
    };
    axum::serve(listener, app_with_pages(state, &pages).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    store.close().await;
    Ok(())
}

/// Servers that share a database must share its encryption key: the first to start seals a known
/// value with its key, and a server whose keys cannot open it refuses to start, before it writes
/// anything the others could not read.
async fn check_encryption_key(store: &Store, keyring: &Keyring) -> Result<(), Box<dyn std::error::Error>> {
    const CONTEXT: &str = "settings.encryption_check";
    let check = kassa_server::store::settings::get_or_init(store, "encryption_check", &keyring.seal_text("kassa", CONTEXT)).await?;
    if keyring.open_text(&check, CONTEXT).is_err() {
        return Err("this database's secrets were sealed with another encryption key: give every server of one database the same \
                    --encryption-key or --encryption-key-file"
            .into());
    }
    if !keyring.is_current(&check) {
        // Sealed again under the current key, so that the old one can be retired.
        let sealed = keyring.seal_text("kassa", CONTEXT);
        store.write(move |tx| Box::pin(async move { kassa_server::store::settings::set(tx, "encryption_check", &sealed).await })).await?;
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
}
