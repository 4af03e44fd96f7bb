//! CSV export of a recorder's signals or trades (SPEC §10), for the JSON API (bearer token)
//! and the recorder page (session). Rows are read in keyset-paged chunks, each sent before
//! the next is read (the body channel holds a few), so memory stays constant at 1 M rows;
//! times are RFC 3339 UTC and decimals unformatted.

use std::fmt::Write as _;

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::stream;
use jt_store::exports::{SignalExport, TradeExport, export_signals, export_trades};
use jt_store::state::user_time_zone;
use jt_store::{RecorderId, Store, StoreError, TenantTx, UserId, recorders};
use rust_decimal::Decimal;
use tokio::sync::{mpsc, oneshot};

use crate::date_range::parse_range;

/// Rows read by the first query (small, so the download starts at once) and by every later
/// one (a chunk of the body; about 200 bytes a row).
const FIRST_ROWS: i64 = 100;
const ROWS_PER_QUERY: i64 = 2_000;
/// Buffer size for a chunk.
const CHUNK: usize = 512 * 1024;
/// Chunks in flight between the database task and the client.
const CHUNKS_IN_FLIGHT: usize = 4;

/// Which rows to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Export {
    /// The signal log.
    Signals,
    /// Closed trades.
    Trades,
}

impl Export {
    fn name(self) -> &'static str {
        match self {
            Self::Signals => "signals",
            Self::Trades => "trades",
        }
    }
}

/// `?from=&to=` of an export.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExportQuery {
    from: Option<String>,
    to: Option<String>,
}

/// Starts the export; fails before any byte is sent when the recorder is not the user's
/// (`NotFound`) or the range is malformed (`Invalid`), so callers answer those properly.
pub(crate) async fn csv_export(
    store: Store,
    user: UserId,
    recorder: RecorderId,
    kind: Export,
    query: ExportQuery,
) -> Result<Response, StoreError> {
    let (started, start_result) = oneshot::channel();
    let (chunks, body) = mpsc::channel::<Result<Bytes, std::io::Error>>(CHUNKS_IN_FLIGHT);
    tokio::spawn(async move {
        let outcome = run_export(&store, user, recorder, kind, query, started, &chunks).await;
        if let Err(error) = outcome {
            // Headers are gone already: end the body with an error so the client sees a
            // broken transfer, never a silently short file.
            tracing::error!(%error, %recorder, "CSV export failed part-way");
            let _ = chunks
                .send(Err(std::io::Error::other("export failed")))
                .await;
        }
    });
    start_result
        .await
        .map_err(|_| StoreError::Corrupt("the export task ended before starting".into()))??;
    let body = Body::from_stream(stream::unfold(body, |mut body| async move {
        body.recv().await.map(|chunk| (chunk, body))
    }));
    let file = format!("attachment; filename=\"{}-{recorder}.csv\"", kind.name());
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, file),
        ],
        body,
    )
        .into_response())
}

/// Checks, then streams. Errors before the start go to `started`; later ones are returned.
async fn run_export(
    store: &Store,
    user: UserId,
    recorder: RecorderId,
    kind: Export,
    query: ExportQuery,
    started: oneshot::Sender<Result<(), StoreError>>,
    chunks: &mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> Result<(), StoreError> {
    let (mut tx, range) = match open_export(store, user, recorder, &query).await {
        Ok(opened) => opened,
        Err(error) => {
            let _ = started.send(Err(error));
            return Ok(());
        }
    };
    let _ = started.send(Ok(()));
    let mut out = Chunker {
        buffer: String::with_capacity(CHUNK),
        chunks,
    };
    let header = match kind {
        Export::Signals => SIGNAL_HEADER,
        Export::Trades => TRADE_HEADER,
    };
    if !out.push(header).await {
        return Ok(());
    }
    let mut after = None;
    let mut limit = FIRST_ROWS;
    loop {
        // Each chunk is read whole, written, and sent before the next is asked for.
        let (rows, last) = match kind {
            Export::Signals => {
                let rows = export_signals(&mut tx, recorder, range, after, limit).await?;
                let last = rows.last().map(SignalExport::cursor);
                rows.iter()
                    .for_each(|row| signal_line(&mut out.buffer, row));
                (rows.len(), last)
            }
            Export::Trades => {
                let rows = export_trades(&mut tx, recorder, range, after, limit).await?;
                let last = rows.last().map(TradeExport::cursor);
                rows.iter().for_each(|row| trade_line(&mut out.buffer, row));
                (rows.len(), last)
            }
        };
        if !out.flush().await {
            return Ok(()); // the client has gone
        }
        if rows < usize::try_from(limit).unwrap_or(usize::MAX) {
            break;
        }
        after = last;
        limit = ROWS_PER_QUERY;
    }
    tx.commit().await
}

async fn open_export(
    store: &Store,
    user: UserId,
    recorder: RecorderId,
    query: &ExportQuery,
) -> Result<(TenantTx, jt_store::exports::TimeRange), StoreError> {
    let mut tx = store.tenant(user).await?;
    recorders::get_recorder(&mut tx, recorder).await?;
    let zone = user_time_zone(&mut tx).await?;
    let range = parse_range(query.from.as_deref(), query.to.as_deref(), zone)
        .map_err(StoreError::Invalid)?;
    Ok((tx, range))
}

/// Gathers lines into chunks for the body channel.
struct Chunker<'a> {
    buffer: String,
    chunks: &'a mpsc::Sender<Result<Bytes, std::io::Error>>,
}

impl Chunker<'_> {
    /// Sends `text` at once (the header: the client sees the download start); `false` when
    /// the client has gone.
    async fn push(&mut self, text: &str) -> bool {
        self.buffer.push_str(text);
        self.flush().await
    }

    /// Sends what is buffered; `false` when the client has gone.
    async fn flush(&mut self) -> bool {
        let chunk = Bytes::from(std::mem::take(&mut self.buffer));
        self.buffer.reserve(CHUNK);
        self.chunks.send(Ok(chunk)).await.is_ok()
    }
}

const SIGNAL_HEADER: &str = "seq,received_at,status,action,ticker,contract,quantity,price,\
price_used,price_source,position_after,alert_id,alert_time,note,error\r\n";

fn signal_line(out: &mut String, row: &SignalExport) {
    let _ = write!(out, "{},{},", row.seq, time(row.received_at));
    text(out, Some(status_word(row.status)));
    for field in [&row.action, &row.ticker, &row.contract] {
        out.push(',');
        text(out, field.as_deref());
    }
    out.push(',');
    integer(out, row.quantity);
    out.push(',');
    decimal(out, row.price);
    out.push(',');
    decimal(out, row.price_used);
    out.push(',');
    text(out, row.price_source.as_deref());
    out.push(',');
    integer(out, row.position_after);
    for field in [
        &row.client_signal_id,
        &row.alert_time,
        &row.notes(),
        &row.error,
    ] {
        out.push(',');
        text(out, field.as_deref());
    }
    out.push_str("\r\n");
}

fn status_word(status: jt_store::signal_log::SignalStatus) -> &'static str {
    use jt_store::signal_log::SignalStatus;
    match status {
        SignalStatus::Accepted => "accepted",
        SignalStatus::Rejected => "rejected",
        SignalStatus::Duplicate => "duplicate",
        SignalStatus::Ignored => "ignored",
    }
}

const TRADE_HEADER: &str = "id,root,contract,side,quantity,avg_entry_price,avg_exit_price,\
realized_points,realized_pnl,commission,net_pnl,mae,mfe,opened_at,closed_at,duration_seconds\r\n";

fn trade_line(out: &mut String, row: &TradeExport) {
    let _ = write!(out, "{},", row.id);
    text(out, Some(&row.root));
    out.push(',');
    text(out, row.contract.as_deref());
    out.push(',');
    text(out, Some(&row.side));
    let _ = write!(out, ",{}", row.quantity);
    for value in [
        row.avg_entry_price,
        row.avg_exit_price,
        row.realized_points,
        row.realized_pnl,
        row.commission,
        row.net_pnl,
        row.mae,
        row.mfe,
    ] {
        out.push(',');
        decimal(out, Some(value));
    }
    let _ = write!(
        out,
        ",{},{},{}\r\n",
        time(row.opened_at),
        time(row.closed_at),
        row.duration_seconds
    );
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn integer(out: &mut String, value: Option<i64>) {
    if let Some(value) = value {
        let _ = write!(out, "{value}");
    }
}

/// A decimal as stored, without grouping or rounding (trailing zeros dropped).
fn decimal(out: &mut String, value: Option<Decimal>) {
    if let Some(value) = value {
        let _ = write!(out, "{}", value.normalize());
    }
}

/// A text field, quoted when it holds a separator, quote or line break (RFC 4180). Text that
/// a spreadsheet would run as a formula (`=`, `+`, `-`, `@` first) gets a leading `'`:
/// alert fields come from outside.
fn text(out: &mut String, value: Option<&str>) {
    let Some(value) = value else { return };
    let formula = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = formula || value.contains([',', '"', '\n', '\r']) || value.trim() != value;
    if quote {
        out.push('"');
    }
    if formula {
        out.push('\'');
    }
    for c in value.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    if quote {
        out.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(value: &str) -> String {
        let mut out = String::new();
        text(&mut out, Some(value));
        out
    }

    #[test]
    fn fields_are_quoted_only_when_needed() {
        assert_eq!(field("NQ1!"), "NQ1!");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field(" padded"), "\" padded\"");
        assert_eq!(field("=HYPERLINK(1)"), "\"'=HYPERLINK(1)\"");
    }

    #[test]
    fn decimals_and_times_are_unformatted() {
        let mut out = String::new();
        decimal(&mut out, Some(Decimal::new(-12345678, 3)));
        assert_eq!(out, "-12345.678");
        let at = DateTime::parse_from_rfc3339("2026-11-25T09:30:00.250-05:00")
            .expect("time")
            .with_timezone(&Utc);
        assert_eq!(time(at), "2026-11-25T14:30:00.250Z");
    }
}
