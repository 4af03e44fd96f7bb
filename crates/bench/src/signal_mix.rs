//! The alerts the benchmark sends: what TradingView strategies send (JSON as `text/plain`,
//! quantities and prices as text), pre-built as complete HTTP requests with a fixed-width
//! `id` slot that is overwritten per send, so the load generator formats nothing.

/// Hex digits of the `id` slot: unique per signal (sender in the high bits, count below).
pub const ID_DIGITS: usize = 16;

/// A few roots with a realistic price and tick, in hundredths (`CL1!` 61.42, tick 0.01).
const ROOTS: [(&str, u64, u64); 5] = [
    ("NQ1!", 2_560_025, 25),
    ("ES1!", 665_050, 25),
    ("MNQ1!", 2_559_875, 25),
    ("CL1!", 6_142, 1),
    ("GC1!", 408_030, 10),
];

/// One strategy's cycle, from flat back to flat: entries, a scale-in, a partial exit, a
/// close, a short, and a strategy-style cover with its `position_size` target.
const STEPS: [&str; 6] = [
    r#""action":"buy","ticker":"{T}","quantity":"1","price":"{P}""#,
    r#""action":"buy","ticker":"{T}","quantity":"2","price":"{P}""#,
    r#""action":"sell","ticker":"{T}","quantity":"1","price":"{P}""#,
    r#""action":"close","ticker":"{T}","price":"{P}""#,
    r#""action":"sell","ticker":"{T}","quantity":"2","price":"{P}""#,
    r#""action":"buy","ticker":"{T}","quantity":"2","position_size":"0","price":"{P}""#,
];

/// A complete request whose `id` value is rewritten before each send.
#[derive(Debug, Clone)]
pub struct SignalRequest {
    bytes: Vec<u8>,
    id_at: usize,
}

impl SignalRequest {
    /// `POST {path}` with `fields` (JSON members without braces) plus the `id` slot.
    fn new(host: &str, path: &str, fields: &str) -> Self {
        let body = format!(r#"{{{fields},"id":"{}"}}"#, "0".repeat(ID_DIGITS));
        let head = format!(
            "POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: text/plain; charset=utf-8\r\n\
             content-length: {}\r\n\r\n",
            body.len()
        );
        let id_at = head.len() + body.len() - ID_DIGITS - 2;
        Self {
            bytes: [head.into_bytes(), body.into_bytes()].concat(),
            id_at,
        }
    }

    /// The request with `id` (as 16 hex digits) in its slot.
    pub fn with_id(&mut self, id: u64) -> &[u8] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let slot = &mut self.bytes[self.id_at..self.id_at + ID_DIGITS];
        for (i, digit) in slot.iter_mut().enumerate() {
            *digit = HEX[((id >> (4 * (ID_DIGITS - 1 - i))) & 0xf) as usize];
        }
        &self.bytes
    }
}

/// One recorder's alerts, sent in order and cycling.
#[derive(Debug, Clone)]
pub struct RecorderScript {
    /// Index of the recorder in the run (for per-recorder counts).
    pub recorder: usize,
    requests: Vec<SignalRequest>,
    next_step: usize,
}

impl RecorderScript {
    /// The cycle for recorder number `recorder`, whose webhook path is `path`; the root
    /// rotates with the recorder number.
    pub fn new(host: &str, path: &str, recorder: usize) -> Self {
        let (ticker, base, tick) = ROOTS[recorder % ROOTS.len()];
        let requests = STEPS
            .iter()
            .zip(0u64..)
            .map(|(step, offset)| {
                let price = base + offset * tick;
                let price = format!("{}.{:02}", price / 100, price % 100);
                let fields = step.replace("{T}", ticker).replace("{P}", &price);
                SignalRequest::new(host, path, &fields)
            })
            .collect();
        Self {
            recorder,
            requests,
            next_step: 0,
        }
    }

    /// The next alert of the cycle, carrying `id`.
    pub fn next_request(&mut self, id: u64) -> &[u8] {
        let step = self.next_step;
        self.next_step = (step + 1) % self.requests.len();
        self.requests[step].with_id(id)
    }
}

/// Which recorders each of `senders` sends to: recorder r belongs to sender r mod senders
/// (one sender per recorder keeps each recorder's alerts in order). With fewer recorders
/// than senders, senders share them.
pub fn assign_recorders(recorders: usize, senders: usize) -> Vec<Vec<usize>> {
    (0..senders)
        .map(|sender| {
            if recorders >= senders {
                (sender..recorders).step_by(senders).collect()
            } else {
                vec![sender % recorders.max(1)]
            }
        })
        .collect()
}

/// The unique `id` of signal number `count` of `sender`.
pub fn signal_id(sender: usize, count: u64) -> u64 {
    ((sender as u64) << 40) | (count & ((1 << 40) - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(bytes: &[u8]) -> String {
        String::from_utf8(bytes.to_vec()).expect("ASCII request")
    }

    #[test]
    fn requests_are_complete_http_with_the_id_in_place() {
        let mut script = RecorderScript::new("127.0.0.1:1", "/webhook/abc", 0);
        let first = text(script.next_request(0xab));
        let (head, body) = first.split_once("\r\n\r\n").expect("head and body");
        assert!(head.starts_with("POST /webhook/abc HTTP/1.1\r\n"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        assert_eq!(
            body,
            r#"{"action":"buy","ticker":"NQ1!","quantity":"1","price":"25600.25","id":"00000000000000ab"}"#
        );
        let second = text(script.next_request(0xcd));
        assert!(second.ends_with(r#""quantity":"2","price":"25600.50","id":"00000000000000cd"}"#));
        for _ in 0..4 {
            script.next_request(1);
        }
        assert!(
            text(script.next_request(2))
                .contains(r#""action":"buy","ticker":"NQ1!","quantity":"1""#)
        );
    }

    #[test]
    fn every_recorder_has_one_sender_when_there_are_enough() {
        let plan = assign_recorders(10, 4);
        assert_eq!(
            plan,
            vec![vec![0, 4, 8], vec![1, 5, 9], vec![2, 6], vec![3, 7]]
        );
        assert_eq!(assign_recorders(2, 3), vec![vec![0], vec![1], vec![0]]);
    }

    #[test]
    fn ids_are_unique_across_senders() {
        assert_ne!(signal_id(1, 0), signal_id(0, 1));
        assert_eq!(format!("{:016x}", signal_id(3, 7)), "0000030000000007");
    }
}
