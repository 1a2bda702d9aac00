//! The real `kassa-server` binary, started by a test on a test database, and a small HTTP client
//! to talk to it. Every server of one database shares one encryption key file, as servers behind
//! one load balancer must.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::TestDb;

pub struct ServerProcess {
    pub child: Child,
    /// `127.0.0.1:port`
    pub addr: String,
    /// What it printed before it listened.
    pub output: Vec<String>,
}

fn command(db: &TestDb) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kassa-server"));
    command.env("KASSA_DATABASE_URL", &db.url).env("KASSA_ENCRYPTION_KEY_FILE", db.dir.path().join("kassa.key"));
    command
}

/// Runs `script` with `sh` (the command given, so it may run as another user) as the supervisor of
/// a server it starts in the background: the script prints a line once it has started it, and
/// stops it when its input closes, which happens when this process ends, however it ends. Returns
/// once something listens on `port`; `log` says where to look when nothing does.
pub fn supervise(mut sh: Command, script: &str, port: u16, log: &str) {
    let mut supervisor = sh.args(["-c", script]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("start a supervisor shell");
    let mut started = String::new();
    BufReader::new(supervisor.stdout.take().unwrap()).read_line(&mut started).unwrap();
    // The pipe stays open until this process ends.
    std::mem::forget(supervisor.stdin.take());
    std::mem::forget(supervisor);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "nothing listens on port {port}; see {log}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// `kassa-server merchant create`: the new merchant's id and keys.
pub fn create_merchant(db: &TestDb, name: &str) -> Value {
    create_merchant_with(db, name, &[])
}

/// `kassa-server merchant create` with more arguments (`--processor stripe …`).
pub fn create_merchant_with(db: &TestDb, name: &str, args: &[&str]) -> Value {
    let made = command(db).args(["merchant", "create", "--name", name]).args(args).output().expect("kassa-server merchant create");
    assert!(made.status.success(), "merchant create: {}", String::from_utf8_lossy(&made.stderr));
    serde_json::from_slice(&made.stdout).expect("stdout is one JSON object")
}

impl ServerProcess {
    /// `kassa-server serve` on a free port with `args`; its log is dropped.
    pub fn start(db: &TestDb, args: &[&str]) -> ServerProcess {
        ServerProcess::start_with(db, args, &[], None)
    }

    /// The same, with extra environment and the log written to `log`.
    pub fn start_with(db: &TestDb, args: &[&str], env: &[(&str, &str)], log: Option<&Path>) -> ServerProcess {
        let mut command = command(db);
        command.args(["serve", "--listen", "127.0.0.1:0"]).args(args).envs(env.iter().copied()).stdout(Stdio::piped());
        match log {
            Some(path) => command.stderr(std::fs::File::create(path).expect("log file")),
            None => command.stderr(Stdio::null()),
        };
        let mut child = command.spawn().expect("start kassa-server");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut output = Vec::new();
        let addr = loop {
            let line = lines.next().expect("server exited before listening").unwrap();
            if let Some(addr) = line.strip_prefix("Kassa is listening on http://") {
                break addr.to_owned();
            }
            output.push(line);
        };
        // Keep draining stdout so the server never blocks on it.
        std::thread::spawn(move || for _ in lines {});
        ServerProcess { child, addr, output }
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `kill -9`: no chance to finish anything.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// `kill -TERM`, as an operator stops it, waiting up to five seconds.
    pub async fn stop(&mut self) {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        for _ in 0..100 {
            if self.child.try_wait().unwrap().is_some() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        self.kill();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One HTTP/1.1 request over a fresh connection: the status and the JSON body (`Null` when the
/// body is not JSON). `None` when the connection failed or broke (a server that died).
pub async fn try_request(
    addr: &str,
    method: &str,
    path: &str,
    key: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Option<(u16, Value)> {
    let body = body.map(Value::to_string).unwrap_or_default();
    let authorization = format!("Bearer {key}");
    let mut all = vec![("Authorization", authorization.as_str())];
    if !body.is_empty() {
        all.push(("Content-Type", "application/json"));
    }
    all.extend_from_slice(headers);
    let (status, _, text) = exchange(addr, method, path, &all, body.as_bytes()).await?;
    Some((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

/// One raw HTTP/1.1 exchange, as a browser or a client makes it: `(status, head, body)`, or
/// `None` when nothing answered.
pub async fn exchange(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Option<(u16, String, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if !body.is_empty() {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.ok()?;
    stream.write_all(body).await.ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.ok()?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    Some((head.get(9..12)?.parse().ok()?, head.to_owned(), body.to_owned()))
}

/// [`try_request`] to a server that is expected to answer.
pub async fn request(addr: &str, method: &str, path: &str, key: &str, body: Option<&Value>) -> (u16, Value) {
    try_request(addr, method, path, key, &[], body).await.unwrap_or_else(|| panic!("{method} {path} to {addr}: no answer"))
}
