//! Secrets at rest: what Kassa must keep readable (webhook signing secrets, stored idempotent
//! replies that hold a new key or client secret) is sealed with XChaCha20-Poly1305 under the
//! server's encryption key.
//!
//! The key comes from `KASSA_ENCRYPTION_KEY` (64 hex digits), or from a key file the server makes
//! on first start with mode 0600. Several keys may be given, comma-separated: the first seals,
//! every one opens, so a key can be rotated without losing what the old one sealed.
//!
//! The same keys also make keyed digests ([`Keyring::mac`]): what must be compared later but never
//! read back, and may be derived from card data (an idempotent request's fingerprint), is kept only
//! as an HMAC under a key that is not in the database (PCI DSS 3.3.1, 3.5.1).

use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

const VERSION: u8 = 1;
const KEY_ID_LEN: usize = 4;
const NONCE_LEN: usize = 24;
/// How sealed text starts, so text sealed and text not yet sealed can be told apart.
const TEXT_PREFIX: &str = "enc:v1:";
/// How a keyed digest starts: `mac:v1:`, the key's id in hex, `:`, the HMAC-SHA-256 in hex.
const MAC_PREFIX: &str = "mac:v1:";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("an encryption key must be 64 hexadecimal digits (32 bytes)")]
    Malformed,
    #[error("the key file {0}: {1}")]
    File(String, std::io::Error),
}

#[derive(Debug, thiserror::Error)]
#[error("a sealed value could not be opened: no key opens it, or it was altered")]
pub struct OpenError;

struct Key {
    id: [u8; KEY_ID_LEN],
    cipher: XChaCha20Poly1305,
    /// Derived from the key, so that no digest ever uses the sealing key itself.
    mac_key: [u8; 32],
}

/// The server's encryption keys: the first seals, all open.
pub struct Keyring {
    keys: Vec<Key>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring").field("keys", &self.keys.len()).finish()
    }
}

impl Keyring {
    /// A keyring from raw 32-byte keys, the sealing key first.
    pub fn new(keys: &[[u8; 32]]) -> Keyring {
        assert!(!keys.is_empty(), "a keyring needs a key");
        let keys = keys
            .iter()
            .map(|bytes| {
                let digest = Sha256::digest([b"kassa-key-id:".as_slice(), bytes].concat());
                let mut id = [0u8; KEY_ID_LEN];
                id.copy_from_slice(&digest[..KEY_ID_LEN]);
                let mut kdf = <Hmac<Sha256> as Mac>::new_from_slice(bytes).expect("HMAC takes a key of any length");
                kdf.update(b"kassa-mac-key");
                Key { id, cipher: XChaCha20Poly1305::new(bytes.into()), mac_key: kdf.finalize().into_bytes().into() }
            })
            .collect();
        Keyring { keys }
    }

    /// A keyring with one new random key (tests, and a first start).
    pub fn random() -> Keyring {
        Keyring::new(&[rand::random()])
    }

    /// Keys written as hex, comma-separated, the sealing key first.
    pub fn parse(text: &str) -> Result<Keyring, KeyError> {
        let keys = text
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(|k| {
                let bytes = hex::decode(k).map_err(|_| KeyError::Malformed)?;
                <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| KeyError::Malformed)
            })
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(KeyError::Malformed);
        }
        Ok(Keyring::new(&keys))
    }

    /// The keys in `path`; when there is no such file, a new random key written there with mode
    /// 0600 (two servers starting together agree on whichever file was made first).
    pub fn from_file(path: &Path) -> Result<Keyring, KeyError> {
        let fail = |e| KeyError::File(path.display().to_string(), e);
        match std::fs::read_to_string(path) {
            Ok(text) => Keyring::parse(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // Written whole under a name of its own, then linked into place in one step: a
                // server starting beside this one finds either no file or the complete key.
                let key: [u8; 32] = rand::random();
                let draft = path.with_extension(format!("new-{:016x}", rand::random::<u64>()));
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let written = options.open(&draft).and_then(|mut file| {
                    std::io::Write::write_all(&mut file, format!("{}\n", hex::encode(key)).as_bytes())?;
                    file.sync_all()
                });
                let linked = written.and_then(|()| std::fs::hard_link(&draft, path));
                let _ = std::fs::remove_file(&draft);
                match linked {
                    Ok(()) => Ok(Keyring::new(&[key])),
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        Keyring::parse(&std::fs::read_to_string(path).map_err(fail)?)
                    }
                    Err(e) => Err(fail(e)),
                }
            }
            Err(e) => Err(fail(e)),
        }
    }

    /// Seals `plain`; `context` (say, the column and row it belongs to) must be given again to
    /// open it, so a sealed value cannot be moved to another place.
    pub fn seal(&self, plain: &[u8], context: &[u8]) -> Vec<u8> {
        let key = &self.keys[0];
        let nonce: [u8; NONCE_LEN] = rand::random();
        let sealed = key
            .cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad: context })
            .expect("XChaCha20-Poly1305 seals any message of this size");
        let mut out = Vec::with_capacity(1 + KEY_ID_LEN + NONCE_LEN + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&key.id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, OpenError> {
        let header = 1 + KEY_ID_LEN + NONCE_LEN;
        if sealed.len() < header || sealed[0] != VERSION {
            return Err(OpenError);
        }
        let id = &sealed[1..1 + KEY_ID_LEN];
        let nonce = XNonce::from_slice(&sealed[1 + KEY_ID_LEN..header]);
        let key = self.keys.iter().find(|k| k.id == id).ok_or(OpenError)?;
        key.cipher.decrypt(nonce, Payload { msg: &sealed[header..], aad: context }).map_err(|_| OpenError)
    }

    /// Seals text into text (`enc:v1:` and hex), for TEXT columns.
    pub fn seal_text(&self, plain: &str, context: &str) -> String {
        format!("{TEXT_PREFIX}{}", hex::encode(self.seal(plain.as_bytes(), context.as_bytes())))
    }

    pub fn open_text(&self, sealed: &str, context: &str) -> Result<String, OpenError> {
        let bytes = sealed.strip_prefix(TEXT_PREFIX).and_then(|h| hex::decode(h).ok()).ok_or(OpenError)?;
        String::from_utf8(self.open(&bytes, context.as_bytes())?).map_err(|_| OpenError)
    }

    /// Whether `text` is sealed with the current sealing key (not: plain, or an older key).
    pub fn is_current(&self, text: &str) -> bool {
        let bytes = text.strip_prefix(TEXT_PREFIX).and_then(|h| hex::decode(h).ok());
        bytes.is_some_and(|b| b.len() > KEY_ID_LEN && b[1..1 + KEY_ID_LEN] == self.keys[0].id)
    }

    pub fn is_sealed_text(text: &str) -> bool {
        text.starts_with(TEXT_PREFIX)
    }

    /// A keyed digest of `data` for `purpose`, under the current key: it can be compared with
    /// [`Keyring::mac_matches`], but without the key it says nothing about `data`.
    pub fn mac(&self, purpose: &str, data: &[u8]) -> String {
        let key = &self.keys[0];
        format!("{MAC_PREFIX}{}:{}", hex::encode(key.id), hex::encode(keyed(&key.mac_key, purpose, data).finalize().into_bytes()))
    }

    /// Whether `stored` is the keyed digest of `data` for `purpose` under any of the keys (an older
    /// one too, while it is kept), compared in constant time.
    pub fn mac_matches(&self, purpose: &str, data: &[u8], stored: &str) -> bool {
        let Some((id, digest)) = stored.strip_prefix(MAC_PREFIX).and_then(|rest| rest.split_once(':')) else {
            return false;
        };
        let (Ok(id), Ok(digest)) = (hex::decode(id), hex::decode(digest)) else {
            return false;
        };
        self.keys.iter().find(|k| k.id[..] == id[..]).is_some_and(|key| keyed(&key.mac_key, purpose, data).verify_slice(&digest).is_ok())
    }

    pub fn is_mac(text: &str) -> bool {
        text.starts_with(MAC_PREFIX)
    }
}

/// HMAC-SHA-256 under `key` of `purpose`, a zero byte, and `data`.
fn keyed(key: &[u8; 32], purpose: &str, data: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(purpose.as_bytes());
    mac.update(&[0]);
    mac.update(data);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_context() {
        let ring = Keyring::random();
        let sealed = ring.seal(b"whsec_abc", b"webhook:we_1");
        assert!(!sealed.windows(9).any(|w| w == b"whsec_abc"));
        assert_eq!(ring.open(&sealed, b"webhook:we_1").unwrap(), b"whsec_abc");
        assert!(ring.open(&sealed, b"webhook:we_2").is_err());
        assert!(Keyring::random().open(&sealed, b"webhook:we_1").is_err());
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert!(ring.open(&altered, b"webhook:we_1").is_err());
    }

    #[test]
    fn a_rotated_keyring_opens_what_the_old_key_sealed() {
        let (old, new): ([u8; 32], [u8; 32]) = (rand::random(), rand::random());
        let sealed = Keyring::new(&[old]).seal_text("secret", "ctx");
        let rotated = Keyring::parse(&format!("{}, {}", hex::encode(new), hex::encode(old))).unwrap();
        assert_eq!(rotated.open_text(&sealed, "ctx").unwrap(), "secret");
        assert!(!rotated.is_current(&sealed));
        assert!(rotated.is_current(&rotated.seal_text("secret", "ctx")));
        assert!(Keyring::parse("abcd").is_err());
    }

    #[test]
    fn a_keyed_digest_matches_only_its_data_purpose_and_keys() {
        let (old, new): ([u8; 32], [u8; 32]) = (rand::random(), rand::random());
        let before = Keyring::new(&[old]).mac("fingerprint", b"4242424242424242");
        assert!(!before.contains(&hex::encode(Sha256::digest(b"4242424242424242"))));
        let rotated = Keyring::new(&[new, old]);
        assert!(rotated.mac_matches("fingerprint", b"4242424242424242", &before), "an older key still compares");
        assert_ne!(rotated.mac("fingerprint", b"4242424242424242"), before, "the current key makes the new ones");
        assert!(!rotated.mac_matches("fingerprint", b"4000000000000002", &before));
        assert!(!rotated.mac_matches("other", b"4242424242424242", &before));
        assert!(!Keyring::new(&[new]).mac_matches("fingerprint", b"4242424242424242", &before), "a retired key no longer compares");
        assert!(!rotated.mac_matches("fingerprint", b"4242424242424242", "not a digest"));
    }

    #[test]
    fn a_key_file_is_made_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kassa.key");
        let first = Keyring::from_file(&path).unwrap();
        let sealed = first.seal(b"x", b"");
        let again = Keyring::from_file(&path).unwrap();
        assert_eq!(again.open(&sealed, b"").unwrap(), b"x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }

    #[test]
    fn servers_starting_together_agree_on_one_key_file() {
        for _ in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("kassa.key");
            let rings: Vec<Keyring> = std::thread::scope(|scope| {
                let starts: Vec<_> = (0..4).map(|_| scope.spawn(|| Keyring::from_file(&path).unwrap())).collect();
                starts.into_iter().map(|s| s.join().unwrap()).collect()
            });
            let sealed = rings[0].seal(b"x", b"");
            for ring in &rings {
                assert_eq!(ring.open(&sealed, b"").unwrap(), b"x");
            }
            assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no draft is left behind");
        }
    }
}
