//! Just enough HTTP/1.1 for the load generator: one keep-alive connection that writes a
//! pre-built request and reads the answer's status line and `Content-Length` body. Our server
//! always sends a length (axum buffers every answer), so chunked bodies are not supported.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The longest response head we accept before calling the answer malformed.
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// What the load generator needs from a response head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseHead {
    /// The status code, e.g. 200.
    pub status: u16,
    /// Bytes of the head, blank line included: the body starts here.
    pub head_len: usize,
    /// Bytes of body that follow the head.
    pub content_length: usize,
    /// The server said `Connection: close`: open a new connection for the next request.
    pub close: bool,
}

/// Why a response could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ResponseError {
    /// The first line is not `HTTP/1.x NNN ...`.
    #[error("the response does not start with an HTTP/1.x status line")]
    BadStatusLine,
    /// No usable `Content-Length` on an answer that has a body.
    #[error("the response has no valid Content-Length (chunked bodies are not supported)")]
    NoContentLength,
    /// The head never ended.
    #[error("the response head is longer than {MAX_HEAD_BYTES} bytes")]
    HeadTooLong,
    /// The server closed the connection before the whole answer arrived.
    #[error("the server closed the connection before the answer was complete")]
    Closed,
    /// Socket trouble.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Parses the head at the start of `buf`: `Ok(None)` while it is incomplete.
pub fn parse_head(buf: &[u8]) -> Result<Option<ResponseHead>, ResponseError> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if buf.len() > MAX_HEAD_BYTES {
            Err(ResponseError::HeadTooLong)
        } else {
            Ok(None)
        };
    };
    let mut lines = buf[..end]
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line));
    let status = lines
        .next()
        .and_then(parse_status_line)
        .ok_or(ResponseError::BadStatusLine)?;
    let mut content_length = None;
    let mut close = false;
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if name.eq_ignore_ascii_case(b"content-length") {
            content_length = std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.parse::<usize>().ok());
            if content_length.is_none() {
                return Err(ResponseError::NoContentLength);
            }
        } else if name.eq_ignore_ascii_case(b"connection") {
            close = value.eq_ignore_ascii_case(b"close");
        }
    }
    // 1xx, 204 and 304 never have a body.
    let bodiless = status < 200 || status == 204 || status == 304;
    let content_length = match content_length {
        Some(length) => length,
        None if bodiless => 0,
        None => return Err(ResponseError::NoContentLength),
    };
    Ok(Some(ResponseHead {
        status,
        head_len: end + 4,
        content_length,
        close,
    }))
}

/// `HTTP/1.1 200 OK` → 200.
fn parse_status_line(line: &[u8]) -> Option<u16> {
    let rest = line.strip_prefix(b"HTTP/1.")?;
    let code = rest.get(2..5)?;
    if rest.get(1) != Some(&b' ') || !code.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(code).ok()?.parse().ok()
}

/// One keep-alive HTTP/1.1 connection, used for one request at a time.
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Connection {
    /// Connects without Nagle's delay (requests are written in one piece).
    pub async fn open(address: SocketAddr) -> std::io::Result<Self> {
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buf: Vec::with_capacity(4096),
        })
    }

    /// Writes `request`, a complete HTTP/1.1 request.
    pub async fn send(&mut self, request: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(request).await
    }

    /// Writes `request` and closes the connection at once, without waiting for the answer
    /// (a sender that hangs up).
    pub async fn send_and_hang_up(mut self, request: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(request).await?;
        self.stream.shutdown().await
    }

    /// Reads the next answer: its head is returned, its body read and dropped.
    pub async fn receive(&mut self) -> Result<ResponseHead, ResponseError> {
        let mut chunk = [0u8; 8192];
        loop {
            if let Some(head) = parse_head(&self.buf)? {
                let total = head.head_len + head.content_length;
                while self.buf.len() < total {
                    let read = self.stream.read(&mut chunk).await?;
                    if read == 0 {
                        return Err(ResponseError::Closed);
                    }
                    self.buf.extend_from_slice(&chunk[..read]);
                }
                self.buf.drain(..total);
                return Ok(head);
            }
            let read = self.stream.read(&mut chunk).await?;
            if read == 0 {
                return Err(ResponseError::Closed);
            }
            self.buf.extend_from_slice(&chunk[..read]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> ResponseHead {
        parse_head(text.as_bytes())
            .expect("valid head")
            .expect("complete head")
    }

    #[test]
    fn reads_status_and_content_length() {
        let text = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nContent-Length: 17\r\n\r\n{\"status\":\"ok\"}";
        let parsed = head(text);
        assert_eq!(parsed.status, 200);
        assert_eq!(parsed.content_length, 17);
        assert_eq!(parsed.head_len, text.find('{').expect("body"));
        assert!(!parsed.close);
    }

    #[test]
    fn an_incomplete_head_asks_for_more() {
        let partial = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 3";
        assert!(parse_head(partial).expect("not malformed").is_none());
        assert!(parse_head(b"").expect("not malformed").is_none());
    }

    #[test]
    fn connection_close_and_other_statuses() {
        let parsed = head(
            "HTTP/1.1 429 Too Many Requests\r\nConnection: Close\r\ncontent-length: 0\r\n\r\n",
        );
        assert_eq!((parsed.status, parsed.content_length), (429, 0));
        assert!(parsed.close);
        assert_eq!(head("HTTP/1.0 204 No Content\r\n\r\n").content_length, 0);
    }

    #[test]
    fn malformed_answers_are_errors() {
        for bad in [
            "HTTP/2 200 OK\r\ncontent-length: 0\r\n\r\n",
            "HTTP/1.1 2x0 OK\r\ncontent-length: 0\r\n\r\n",
            "SSH-2.0-OpenSSH\r\n\r\n",
        ] {
            assert!(
                matches!(
                    parse_head(bad.as_bytes()),
                    Err(ResponseError::BadStatusLine)
                ),
                "{bad:?}"
            );
        }
        for bad in [
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: lots\r\n\r\n",
        ] {
            assert!(
                matches!(
                    parse_head(bad.as_bytes()),
                    Err(ResponseError::NoContentLength)
                ),
                "{bad:?}"
            );
        }
        let endless = format!("HTTP/1.1 200 OK\r\nx: {}", "a".repeat(MAX_HEAD_BYTES));
        assert!(matches!(
            parse_head(endless.as_bytes()),
            Err(ResponseError::HeadTooLong)
        ));
    }
}
