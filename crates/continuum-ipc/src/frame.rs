//! Reading newline-delimited frames with a size limit. An oversized frame is
//! skipped up to its newline and reported, so the connection survives it.

use std::io;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// One unit read off the wire.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A complete line (without its newline).
    Line(Vec<u8>),
    /// A line longer than the limit was discarded.
    TooLarge,
}

/// Splits a byte stream into frames of at most `max` bytes.
pub struct FrameReader<R> {
    inner: R,
    buf: Vec<u8>,
    max: usize,
    discarding: bool,
}

impl<R: AsyncBufRead + Unpin> FrameReader<R> {
    /// Reads frames of at most `max` bytes from `inner`.
    pub fn new(inner: R, max: usize) -> Self {
        FrameReader {
            inner,
            buf: Vec::new(),
            max,
            discarding: false,
        }
    }

    /// The next non-empty frame, or `None` at end of stream.
    pub async fn next(&mut self) -> io::Result<Option<Frame>> {
        loop {
            let frame = self.next_raw().await?;
            match frame {
                Some(Frame::Line(line)) if line.iter().all(u8::is_ascii_whitespace) => continue,
                other => return Ok(other),
            }
        }
    }

    async fn next_raw(&mut self) -> io::Result<Option<Frame>> {
        loop {
            let available = self.inner.fill_buf().await?;
            if available.is_empty() {
                if self.discarding {
                    self.discarding = false;
                    return Ok(Some(Frame::TooLarge));
                }
                if self.buf.is_empty() {
                    return Ok(None);
                }
                return Ok(Some(Frame::Line(std::mem::take(&mut self.buf))));
            }
            match available.iter().position(|&b| b == b'\n') {
                Some(pos) => {
                    let frame = if self.discarding || self.buf.len() + pos > self.max {
                        self.discarding = false;
                        self.buf.clear();
                        Frame::TooLarge
                    } else {
                        self.buf.extend_from_slice(&available[..pos]);
                        if self.buf.last() == Some(&b'\r') {
                            self.buf.pop();
                        }
                        Frame::Line(std::mem::take(&mut self.buf))
                    };
                    self.inner.consume(pos + 1);
                    return Ok(Some(frame));
                }
                None => {
                    let n = available.len();
                    if !self.discarding {
                        if self.buf.len() + n > self.max {
                            self.discarding = true;
                            self.buf = Vec::new();
                        } else {
                            self.buf.extend_from_slice(available);
                        }
                    }
                    self.inner.consume(n);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn frames(input: &[u8], max: usize) -> Vec<Frame> {
        let mut reader = FrameReader::new(tokio::io::BufReader::with_capacity(4, input), max);
        let mut out = Vec::new();
        while let Some(frame) = reader.next().await.unwrap() {
            out.push(frame);
        }
        out
    }

    #[tokio::test]
    async fn splits_lines_and_skips_blank_ones() {
        let out = frames(b"{\"a\":1}\n\n{\"b\":2}\r\n{\"c\":3}", 64).await;
        assert_eq!(
            out,
            vec![
                Frame::Line(b"{\"a\":1}".to_vec()),
                Frame::Line(b"{\"b\":2}".to_vec()),
                Frame::Line(b"{\"c\":3}".to_vec())
            ]
        );
    }

    #[tokio::test]
    async fn oversized_line_is_reported_and_the_next_one_still_reads() {
        let mut input = vec![b'x'; 100];
        input.extend_from_slice(b"\nok\n");
        assert_eq!(
            frames(&input, 10).await,
            vec![Frame::TooLarge, Frame::Line(b"ok".to_vec())]
        );
    }

    #[tokio::test]
    async fn a_line_exactly_at_the_limit_is_accepted() {
        assert_eq!(
            frames(b"12345\n", 5).await,
            vec![Frame::Line(b"12345".to_vec())]
        );
        assert_eq!(frames(b"123456\n", 5).await, vec![Frame::TooLarge]);
    }
}
