//! `tributary reload --admin ADDR`: asks a running listener to reload by
//! posting `/reload` to its admin endpoint (plain HTTP, as on loopback),
//! with hyper's client.

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use std::time::Duration;
use tokio::net::TcpStream;

/// How long the whole exchange may take: a reload waits for the writer,
/// which may be retrying a failing output.
const TIMEOUT: Duration = Duration::from_secs(60);

/// Why `tributary reload` failed.
#[derive(Debug, thiserror::Error)]
pub enum ReloadClientError {
    /// Nothing answered at the address.
    #[error(
        "cannot reach the admin endpoint at {addr}: {source} (is the listener running with --admin {addr}?)"
    )]
    Connect {
        /// The address given.
        addr: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The HTTP exchange failed.
    #[error("the admin endpoint at {addr} did not answer: {source}")]
    Http {
        /// The address given.
        addr: String,
        /// Why.
        #[source]
        source: hyper::Error,
    },
    /// No answer within the time allowed.
    #[error("the admin endpoint at {addr} did not answer within {}s", TIMEOUT.as_secs())]
    TimedOut {
        /// The address given.
        addr: String,
    },
    /// The listener answered, refusing the reload (or the request).
    #[error("{answer}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// What the listener said.
        answer: String,
    },
}

/// Posts `/reload` to the admin endpoint at `addr` (`HOST:PORT`); returns
/// what the listener says it did.
pub async fn request_reload(addr: &str) -> Result<String, ReloadClientError> {
    tokio::time::timeout(TIMEOUT, exchange(addr))
        .await
        .map_err(|_| ReloadClientError::TimedOut {
            addr: addr.to_owned(),
        })?
}

async fn exchange(addr: &str) -> Result<String, ReloadClientError> {
    let http = |source| ReloadClientError::Http {
        addr: addr.to_owned(),
        source,
    };
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|source| ReloadClientError::Connect {
            addr: addr.to_owned(),
            source,
        })?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(http)?;
    let driver = tokio::spawn(connection);
    let request = hyper::Request::post("/reload")
        .header(hyper::header::HOST, addr)
        .body(Empty::<Bytes>::new())
        .map_err(|e| ReloadClientError::Refused {
            status: 0,
            answer: format!("cannot build the request for {addr}: {e}"),
        })?;
    let response = sender.send_request(request).await.map_err(http)?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(http)?
        .to_bytes();
    driver.abort();
    let answer = String::from_utf8_lossy(&body).trim_end().to_owned();
    if status.is_success() {
        Ok(answer)
    } else {
        Err(ReloadClientError::Refused {
            status: status.as_u16(),
            answer: format!("{answer} (HTTP {status})"),
        })
    }
}
