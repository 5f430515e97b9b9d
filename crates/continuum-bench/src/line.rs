//! One blocking request/response client over any byte stream whose replies
//! are `\n`-terminated lines: a Unix socket, or a child's stdin and stdout.
//! Framing, buffers and timing are the same whatever the codec.

use crate::codec::{Codec, Reply};
use anyhow::{bail, Result};
use hdrhistogram::Histogram;
use std::io::{BufRead, Write};
use std::time::Instant;

/// A connection: where requests go, where replies come from, and the codec
/// that writes the one and checks the other.
pub struct LineClient<R, W> {
    reader: R,
    writer: W,
    codec: Box<dyn Codec>,
    request: Vec<u8>,
    reply: Vec<u8>,
    notifications: u64,
}

impl<R: BufRead, W: Write> LineClient<R, W> {
    /// A client reading replies from `reader` and writing requests to `writer`.
    pub fn new(reader: R, writer: W, codec: Box<dyn Codec>) -> LineClient<R, W> {
        LineClient {
            reader,
            writer,
            codec,
            request: Vec::with_capacity(512),
            reply: Vec::with_capacity(512),
            notifications: 0,
        }
    }

    /// Sends one ping and waits for its checked reply, skipping any
    /// notification the server sends in between.
    pub fn ping(&mut self) -> Result<()> {
        self.request.clear();
        self.codec.encode_ping(&mut self.request)?;
        self.writer.write_all(&self.request)?;
        self.writer.flush()?;
        loop {
            self.reply.clear();
            if self.reader.read_until(b'\n', &mut self.reply)? == 0 {
                bail!("server closed the connection");
            }
            match self.codec.check_reply(&self.reply)? {
                Reply::Answer => return Ok(()),
                Reply::Notification => self.notifications += 1,
            }
        }
    }

    /// Pings `n` times, unmeasured.
    pub fn warm_up(&mut self, n: u64) -> Result<()> {
        (0..n).try_for_each(|_| self.ping())
    }

    /// One ping, timed into `histogram` (nanoseconds).
    pub fn timed_ping(&mut self, histogram: &mut Histogram<u64>) -> Result<()> {
        let began = Instant::now();
        self.ping()?;
        histogram.saturating_record(began.elapsed().as_nanos() as u64);
        Ok(())
    }

    /// Notifications skipped so far.
    pub fn notifications(&self) -> u64 {
        self.notifications
    }

    /// The reader and writer, for messages outside the codec (a handshake).
    pub fn parts(&mut self) -> (&mut R, &mut W) {
        (&mut self.reader, &mut self.writer)
    }

    /// Gives the reader and writer back (dropping the writer closes a pipe).
    pub fn into_parts(self) -> (R, W) {
        (self.reader, self.writer)
    }
}
