//! Kassa's HTTP API as this shop calls it, with its secret key, as any merchant backend would.

use serde_json::Value;

use crate::error::{ShopError, ShopResult};

#[derive(Clone)]
pub struct Kassa {
    http: reqwest::Client,
    /// Where Kassa answers, e.g. `http://127.0.0.1:8080`.
    pub base: String,
    secret_key: String,
}

impl Kassa {
    pub fn new(base: &str, secret_key: &str) -> Self {
        let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build().expect("a plain HTTP client builds");
        Kassa { http, base: base.trim_end_matches('/').to_owned(), secret_key: secret_key.to_owned() }
    }

    /// `POST /api/v1{path}`; the object in the answer's `data`.
    pub async fn post(&self, path: &str, body: &Value) -> ShopResult<Value> {
        self.send(self.http.post(self.url(path)).bearer_auth(&self.secret_key).json(body)).await
    }

    pub async fn get(&self, path: &str) -> ShopResult<Value> {
        self.send(self.http.get(self.url(path)).bearer_auth(&self.secret_key)).await
    }

    /// A GET with another key and a query: the publishable key, which with a client secret proves
    /// who holds it.
    pub async fn get_with(&self, path: &str, key: &str, query: &[(&str, &str)]) -> ShopResult<Value> {
        self.send(self.http.get(self.url(path)).bearer_auth(key).query(query)).await
    }

    pub async fn delete(&self, path: &str) -> ShopResult<Value> {
        self.send(self.http.delete(self.url(path)).bearer_auth(&self.secret_key)).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> ShopResult<Value> {
        let response = request.send().await.map_err(|e| ShopError::upstream(format!("Kassa is not reachable: {e}")))?;
        let status = response.status().as_u16();
        let body: Value = response.json().await.map_err(|_| ShopError::upstream(format!("Kassa answered {status} with no JSON")))?;
        if (200..300).contains(&status) {
            Ok(body.get("data").cloned().unwrap_or(body))
        } else {
            Err(ShopError::from_kassa(status, body))
        }
    }
}
