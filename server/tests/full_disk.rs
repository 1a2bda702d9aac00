//! SQLite on a disk that fills up under write load: a write that cannot commit is refused with a
//! 503 in Kassa's error format, what was acknowledged stays, reads go on, and writes come back
//! when space does. The disk is a small tmpfs this test mounts (it runs as root; without the right
//! to mount it fails rather than skip). It is about SQLite, so it runs once, in the SQLite pass.

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::process::{create_merchant, try_request, ServerProcess};
use common::{card, TestDb};
use serde_json::{json, Value};

/// A tmpfs of `size` mounted on a folder of its own, unmounted (and the folder removed) on drop.
struct SmallDisk {
    dir: PathBuf,
}

impl SmallDisk {
    fn mount(size: &str) -> SmallDisk {
        let dir = tempfile::Builder::new().prefix("kassa-full-disk-").tempdir_in("/tmp").expect("temp dir").keep();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(&dir)
            .output()
            .expect("mount");
        assert!(
            mounted.status.success(),
            "this test mounts a small tmpfs to fill it, and may not (run it as root): {}",
            String::from_utf8_lossy(&mounted.stderr)
        );
        SmallDisk { dir }
    }

    /// Writes zeros to `name` until the disk is full; returns how much it wrote.
    fn fill(&self, name: &str) -> u64 {
        let mut file = std::fs::File::create(self.dir.join(name)).expect("filler");
        let chunk = vec![0u8; 4096];
        let mut written = 0;
        while file.write_all(&chunk).is_ok() {
            written += chunk.len() as u64;
        }
        let _ = file.sync_all();
        written
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        let _ = std::fs::remove_dir(&self.dir);
    }
}

fn sale(amount: i64) -> Value {
    json!({ "amountCents": amount, "currency": "USD", "card": card("4242424242424242") })
}

async fn send(addr: &str, method: &str, path: &str, sk: &str, key: Option<&str>, body: Option<&Value>) -> (u16, Value) {
    let headers: Vec<(&str, &str)> = key.map(|k| ("Idempotency-Key", k)).into_iter().collect();
    let answer = tokio::time::timeout(Duration::from_secs(30), try_request(addr, method, path, sk, &headers, body)).await;
    answer.ok().flatten().unwrap_or_else(|| panic!("{method} {path}: no answer"))
}

/// A refusal for want of space: 503 in Kassa's error format, which says the request may be sent
/// again.
#[track_caller]
fn is_unavailable(status: u16, body: &Value) -> bool {
    if status != 503 {
        return false;
    }
    assert_eq!(body["error"]["code"], "SERVICE_UNAVAILABLE", "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert_eq!(body["error"]["details"]["retryable"], true, "{body}");
    true
}

fn used(path: &Path) -> String {
    let out = Command::new("df").arg("-k").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_on_a_full_disk_refuses_writes_with_503_keeps_what_it_acknowledged_and_recovers() {
    let disk = SmallDisk::mount("12m");
    let files = tempfile::tempdir().unwrap();
    let db = TestDb { url: format!("sqlite://{}", disk.path("kassa.db").display()), dir: files };
    let merchant = create_merchant(&db, "Full Disk");
    let sk = merchant["secretKey"].as_str().unwrap().to_owned();
    // A sale charged whose record could not be written is settled by the reconciler, soon.
    let args = ["--card-attempt-rate-limit", "0", "--reconcile-after-ms", "500", "--processor-timeout-ms", "2000"];
    let mut server = ServerProcess::start(&db, &args);
    let addr = server.addr.clone();

    // Eight clients write sales, each under a key of its own, until told to stop.
    let acknowledged: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let refused: Arc<Mutex<Vec<String>>> = Arc::default();
    let requests = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for c in 0..8 {
        let (addr, sk, acknowledged, refused, requests, stop) =
            (addr.clone(), sk.clone(), acknowledged.clone(), refused.clone(), requests.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                let key = format!("disk-{c}-{i}");
                requests.fetch_add(1, Ordering::SeqCst);
                let (status, body) = send(&addr, "POST", "/api/v1/payments/sale", &sk, Some(&key), Some(&sale(500))).await;
                if status == 201 {
                    acknowledged.lock().unwrap().insert(key, body["data"]["id"].as_str().unwrap().to_owned());
                } else {
                    assert!(is_unavailable(status, &body), "{key}: {status} {body}");
                    refused.lock().unwrap().push(key);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                i += 1;
            }
        }));
    }
    let wait_for = |what: &'static str, done: Box<dyn Fn() -> bool + Send>| async move {
        let started = Instant::now();
        while !done() {
            assert!(started.elapsed() < Duration::from_secs(30), "{what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let (a, r) = (acknowledged.clone(), refused.clone());
    wait_for("sales were acknowledged before the disk filled", Box::new(move || a.lock().unwrap().len() >= 40)).await;

    // The disk fills up under the load.
    let filled = tokio::task::block_in_place(|| disk.fill("filler"));
    let full = used(&disk.dir);
    wait_for("writes were refused on the full disk", Box::new(move || r.lock().unwrap().len() >= 20)).await;
    let acknowledged_on_full: usize = acknowledged.lock().unwrap().len();
    // Reads go on: every payment acknowledged so far is there, and so is the list.
    let so_far = acknowledged.lock().unwrap().clone();
    for id in so_far.values() {
        let (status, body) = send(&addr, "GET", &format!("/api/v1/payments/transactions/{id}"), &sk, None, None).await;
        assert_eq!((status, body["data"]["intent"]["status"].as_str()), (200, Some("captured")), "{body}");
    }
    let (status, listed) = send(&addr, "GET", "/api/v1/payments/transactions?limit=100", &sk, None, None).await;
    assert_eq!(status, 200, "{listed}");
    let (status, _) = send(&addr, "GET", "/healthz", "", None, None).await;
    assert_eq!(status, 200, "the database still answers");
    let refused_while_full = refused.lock().unwrap().len();

    // Space comes back: writes are served again.
    std::fs::remove_file(disk.path("filler")).unwrap();
    let freed = Instant::now();
    let a = acknowledged.clone();
    wait_for("writes came back once there was space", Box::new(move || a.lock().unwrap().len() >= acknowledged_on_full + 40)).await;
    let recovered_in = freed.elapsed();
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.await.unwrap();
    }

    // A refused sale may be sent again under its key, and is paid once.
    let refused = refused.lock().unwrap().clone();
    let mut retried_paid = 0;
    for key in &refused {
        let started = Instant::now();
        loop {
            let (status, body) = send(&addr, "POST", "/api/v1/payments/sale", &sk, Some(key), Some(&sale(500))).await;
            if status == 201 {
                retried_paid += 1;
                break;
            }
            // A sale charged whose record could not be written waits for the reconciler.
            let settling = status == 409 && body["error"]["details"]["retryable"] == true;
            assert!(settling || is_unavailable(status, &body), "{key}: {status} {body}");
            assert!(started.elapsed() < Duration::from_secs(60), "{key} never went through: {status} {body}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    // Nothing acknowledged is lost, even after the server dies and starts again on the file.
    server.kill();
    let server = ServerProcess::start(&db, &args);
    let acknowledged = acknowledged.lock().unwrap().clone();
    let mut lost = Vec::new();
    for (key, id) in &acknowledged {
        let (status, body) = send(&server.addr, "GET", &format!("/api/v1/payments/transactions/{id}"), &sk, None, None).await;
        if status != 200 || body["data"]["intent"]["status"] != "captured" {
            lost.push(key.clone());
        }
    }
    let mut conn = db.connect().await;
    let captured: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM payment_intents WHERE status = 'captured'").fetch_one(&mut conn).await.unwrap();
    let doubled = captured - (acknowledged.len() + retried_paid) as i64;
    eprintln!(
        "full disk: {} requests, {} acknowledged ({acknowledged_on_full} when the disk was full: {} KiB of zeros, df `{full}`), {refused_while_full} refused with 503 while full and {} in all, all {retried_paid} paid on retry, writes back {:.1}s after space returned, lost: {}, doubled: {doubled}",
        requests.load(Ordering::SeqCst),
        acknowledged.len(),
        filled / 1024,
        refused.len(),
        recovered_in.as_secs_f64(),
        lost.len(),
    );
    assert!(lost.is_empty(), "acknowledged, then lost: {lost:?}");
    assert_eq!(doubled, 0, "each key is one captured payment");
}
