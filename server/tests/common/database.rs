//! The database a test runs on. By default a fresh SQLite file; with `KASSA_TEST_BACKEND=postgres`
//! a fresh database on a throwaway PostgreSQL cluster that this test process starts from Debian's
//! `postgresql` package (initdb into a temporary folder as the `postgres` user when run as root,
//! a free port on 127.0.0.1, stopped and removed when the process ends); with
//! `KASSA_TEST_DATABASE_URL=postgres://…` a fresh database on that server instead.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sqlx::{AnyConnection, Connection, Row};

pub struct TestDb {
    pub url: String,
    /// A folder for the test's own files (the SQLite database lives here).
    pub dir: tempfile::TempDir,
}

/// Whether this run's server tests use PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var("KASSA_TEST_BACKEND").is_ok_and(|b| b == "postgres")
        || std::env::var("KASSA_TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty())
}

impl TestDb {
    pub async fn new() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = if on_postgres() { postgres_database().await } else { format!("sqlite://{}", dir.path().join("kassa.db").display()) };
        TestDb { url, dir }
    }

    /// A fresh database on PostgreSQL, whichever backend the run uses.
    pub async fn postgres() -> TestDb {
        TestDb { url: postgres_database().await, dir: tempfile::tempdir().expect("temp dir") }
    }

    /// A connection of its own, outside the server, as an operator's would be.
    pub async fn connect(&self) -> AnyConnection {
        sqlx::any::install_default_drivers();
        AnyConnection::connect(&self.url).await.expect("database connection")
    }

    /// Every table's name.
    pub async fn tables(&self) -> Vec<String> {
        let mut conn = self.connect().await;
        let sql = if on_postgres() {
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' AND table_name NOT LIKE '\\_sqlx%'"
        } else {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%'"
        };
        sqlx::query_scalar(sql).fetch_all(&mut conn).await.expect("tables")
    }

    /// Every value stored in every column of every table, as text (bytes read as UTF-8, lossily),
    /// with where it was found.
    pub async fn stored_values(&self) -> Vec<(String, String, String)> {
        let mut conn = self.connect().await;
        let mut found = Vec::new();
        for table in self.tables().await {
            let columns: Vec<(String, String)> = if on_postgres() {
                sqlx::query_as("SELECT column_name::text, data_type::text FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1")
                    .bind(&table)
                    .fetch_all(&mut conn)
                    .await
                    .expect("columns")
            } else {
                sqlx::query_as(&format!("SELECT name, type FROM pragma_table_info('{table}')")).fetch_all(&mut conn).await.expect("columns")
            };
            for (column, kind) in columns {
                let bytes = kind.eq_ignore_ascii_case("bytea") || kind.eq_ignore_ascii_case("blob");
                let sql =
                    if bytes { format!("SELECT {column} FROM {table}") } else { format!("SELECT CAST({column} AS TEXT) FROM {table}") };
                for row in sqlx::query(&sql).fetch_all(&mut conn).await.expect("values") {
                    let value = if bytes {
                        row.try_get::<Option<Vec<u8>>, _>(0).unwrap().map(|b| String::from_utf8_lossy(&b).into_owned())
                    } else {
                        row.try_get::<Option<String>, _>(0).unwrap()
                    };
                    if let Some(value) = value {
                        found.push((table.clone(), column.clone(), value));
                    }
                }
            }
        }
        found
    }
}

/// The PostgreSQL server's URL (to its `postgres` database), started once per test process.
fn server_url() -> &'static str {
    static SERVER: OnceLock<String> = OnceLock::new();
    SERVER.get_or_init(|| match std::env::var("KASSA_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => start_cluster(false),
    })
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..host_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

async fn postgres_database() -> String {
    create_database(server_url()).await
}

/// A new, empty database on the server at `admin`; its URL.
pub async fn create_database(admin: &str) -> String {
    sqlx::any::install_default_drivers();
    let name = format!("kassa_test_{:016x}", rand::random::<u64>());
    let started = Instant::now();
    let mut conn = loop {
        match AnyConnection::connect(admin).await {
            Ok(conn) => break conn,
            // A cluster just started may still be recovering.
            Err(e) if started.elapsed() < Duration::from_secs(30) => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("PostgreSQL at {admin} does not answer: {e}"),
        }
    };
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("CREATE DATABASE");
    conn.close().await.ok();
    with_database(admin, &name)
}

/// The newest installed PostgreSQL's programs (Debian keeps them per major version).
fn postgres_bin() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin): &(u32, PathBuf)| bin.join("initdb").is_file())
        .collect();
    versions.sort();
    match versions.pop() {
        Some((version, bin)) if version >= 15 => bin,
        _ => {
            panic!("PostgreSQL 15 or newer is needed: install Debian's postgresql package (npm test does), or set KASSA_TEST_DATABASE_URL")
        }
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `program args…`, as the `postgres` user when this process is root (initdb refuses root).
fn as_postgres(root: bool, program: &Path) -> Command {
    if root {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

/// A new cluster's data folder, made by `initdb` (as the `postgres` user when this runs as root,
/// which `initdb` refuses to be), in a temporary folder named after `prefix`, and a free port
/// for it.
struct Initialized {
    bin: PathBuf,
    root: bool,
    dir: PathBuf,
    data: PathBuf,
    port: u16,
}

fn initialized(prefix: &str) -> Initialized {
    let bin = postgres_bin();
    let root = is_root();
    let dir = tempfile::Builder::new().prefix(prefix).tempdir().expect("temp dir").keep();
    if root {
        let chown = Command::new("chown").args(["-R", "postgres:postgres"]).arg(&dir).status().expect("chown");
        assert!(chown.success(), "chown of {} failed", dir.display());
    }
    let data = dir.join("data");
    let initdb = as_postgres(root, &bin.join("initdb"))
        .arg("-D")
        .arg(&data)
        .args(["-U", "kassa", "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions"])
        .output()
        .expect("initdb");
    assert!(initdb.status.success(), "initdb failed: {}", String::from_utf8_lossy(&initdb.stderr));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    Initialized { bin, root, dir, data, port }
}

/// Starts a throwaway cluster that lives as long as this process: its supervisor shell waits on
/// a pipe from us, and when we exit (however we exit) the pipe closes, the shell stops the server
/// and removes its folder. A `durable` cluster flushes every commit to disk, as in production (for
/// benchmarks); the tests' does not.
pub fn start_cluster(durable: bool) -> String {
    let Initialized { bin, root, dir, data, port } = initialized("kassa-pg-");
    // Durability is not what the tests measure (the server's own kill -9 tests stop the server,
    // not PostgreSQL), so their cluster skips fsync.
    let settings = if durable {
        "-c fsync=on -c synchronous_commit=on -c shared_buffers=256MB"
    } else {
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=64MB"
    };
    let script = format!(
        "'{postgres}' -D '{data}' -p {port} -k '{dir}' -c listen_addresses=127.0.0.1 -c max_connections=500 {settings} \
         < /dev/null > '{dir}/postgres.log' 2>&1 & pid=$!; echo started; read _; kill -INT $pid; wait $pid; rm -rf '{dir}'",
        postgres = bin.join("postgres").display(),
        data = data.display(),
        dir = dir.display(),
    );
    super::process::supervise(as_postgres(root, Path::new("sh")), &script, port, &format!("{}/postgres.log", dir.display()));
    format!("postgres://kassa@127.0.0.1:{port}/postgres")
}

/// A PostgreSQL cluster of one test's own, which the test stops and starts again as an operator
/// (or a crash) would, with `pg_ctl`. Unlike the shared cluster it waits for each commit's WAL to
/// be written (`synchronous_commit`), as production does: a server killed with `-m immediate`
/// keeps every commit it acknowledged. (It skips `fsync`: the machine does not crash, only
/// PostgreSQL, so what is written to the operating system survives.) It is stopped and removed
/// when this process ends, however it ends.
pub struct Cluster {
    /// Its `postgres` database.
    pub url: String,
    pg_ctl: PathBuf,
    data: PathBuf,
    log: PathBuf,
    options: String,
    root: bool,
}

impl Cluster {
    pub fn start() -> Cluster {
        let Initialized { bin, root, dir, data, port } = initialized("kassa-pg-own-");
        let options = format!(
            "-p {port} -k {dir} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off -c full_page_writes=off -c synchronous_commit=on -c shared_buffers=32MB",
            dir = dir.display()
        );
        let (pg_ctl, log) = (bin.join("pg_ctl"), dir.join("postgres.log"));
        let script = format!(
            "'{pg_ctl}' -D '{data}' -l '{log}' -o \"{options}\" -w -t 60 start > /dev/null 2>&1; echo started; read _; \
             '{pg_ctl}' -D '{data}' -m immediate stop > /dev/null 2>&1; rm -rf '{dir}'",
            pg_ctl = pg_ctl.display(),
            data = data.display(),
            log = log.display(),
            dir = dir.display(),
        );
        super::process::supervise(as_postgres(root, Path::new("sh")), &script, port, &log.display().to_string());
        Cluster { url: format!("postgres://kassa@127.0.0.1:{port}/postgres"), pg_ctl, data, log, options, root }
    }

    fn pg_ctl(&self, args: &[&str]) {
        let status = as_postgres(self.root, &self.pg_ctl)
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(&self.log)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("pg_ctl");
        assert!(status.success(), "pg_ctl {args:?} failed; see {}", self.log.display());
    }

    /// The first half of `pg_ctl restart -m immediate`: every PostgreSQL process is ended at
    /// once, with no checkpoint and no goodbye to its clients, as in a crash.
    pub fn stop_immediately(&self) {
        self.pg_ctl(&["-m", "immediate", "-w", "stop"]);
    }

    /// The second half: PostgreSQL starts again on the same port and data (recovering from its
    /// WAL), and this returns once it takes connections.
    pub fn start_again(&self) {
        self.pg_ctl(&["-o", &self.options, "-w", "-t", "60", "start"]);
    }
}
