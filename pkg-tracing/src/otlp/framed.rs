//! The export request's body made of the batch's own buffers: the gRPC message prefix and the
//! request's head, the spans' chunks as they were queued, and the tail, handed to HTTP/2 as they
//! are.
//!
//! Why: tonic's codecs write every message into a buffer of their own, which copied each batch
//! once more on its way out (~2.5 k instructions a request per service, a tenth of what tracing
//! cost). [`FramedChannel`] is the channel with one difference: a request that carries a
//! [`Framed`] body in its extensions is sent with that body instead of the one tonic encoded
//! (an empty message). Everything else — headers, deadlines, the answer, its status and
//! trailers — stays tonic's.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tonic::codegen::{Service, http};
use tonic::transport::Channel;
use tonic::transport::channel::ResponseFuture;

use super::encode::RequestParts;

/// One length-prefixed gRPC message, uncompressed, in pieces (empty ones left out).
#[derive(Debug, Clone)]
pub(crate) struct Framed {
    pieces: VecDeque<Bytes>,
    len: u64,
}

impl Framed {
    /// `parts` as one gRPC message: a flag byte (not compressed) and the length, then the
    /// bytes. `None` past the 4 GiB a gRPC message can say it has.
    pub(crate) fn new(parts: RequestParts) -> Option<Self> {
        let RequestParts { head, spans, tail } = parts;
        let spans_len: usize = spans.iter().map(Vec::len).sum();
        let message_len = u32::try_from(head.len() + spans_len + tail.len()).ok()?;
        let mut first = Vec::with_capacity(5 + head.len());
        first.push(0);
        first.extend_from_slice(&message_len.to_be_bytes());
        first.extend_from_slice(&head);
        let pieces: VecDeque<Bytes> = std::iter::once(first)
            .chain(spans)
            .chain([tail])
            .filter(|piece| !piece.is_empty())
            .map(Bytes::from)
            .collect();
        Some(Self { pieces, len: 5 + u64::from(message_len) })
    }
}

impl http_body::Body for Framed {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        let piece = this.pieces.pop_front();
        if let Some(piece) = &piece {
            this.len -= piece.len() as u64;
        }
        Poll::Ready(piece.map(|piece| Ok(Frame::data(piece))))
    }

    fn is_end_stream(&self) -> bool {
        self.pieces.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.len)
    }
}

/// The channel, sending a request's [`Framed`] body in place of tonic's.
#[derive(Debug, Clone)]
pub(crate) struct FramedChannel(pub(crate) Channel);

impl Service<http::Request<tonic::body::Body>> for FramedChannel {
    type Response = http::Response<tonic::body::Body>;
    type Error = tonic::transport::Error;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<tonic::body::Body>) -> Self::Future {
        if let Some(body) = request.extensions_mut().remove::<Framed>() {
            *request.body_mut() = tonic::body::Body::new(body);
        }
        self.0.call(request)
    }
}

#[cfg(test)]
mod tests {
    use std::task::Waker;

    use http_body::Body as _;

    use super::*;

    /// The pieces, read as HTTP/2 would read them, are one gRPC message: not compressed, its
    /// length, then the head, the spans' chunks and the tail, in order; the size hint counts
    /// them all.
    #[test]
    fn the_body_is_one_length_prefixed_message_of_the_three_parts() {
        let spans = vec![vec![7; 300], vec![], vec![8; 2]];
        let parts = RequestParts { head: b"head".to_vec(), spans, tail: b"tail!".to_vec() };
        let mut body = Framed::new(parts).unwrap();
        assert_eq!(body.size_hint().exact(), Some(5 + 4 + 302 + 5));
        let mut cx = Context::from_waker(Waker::noop());
        let mut sent = Vec::new();
        while let Poll::Ready(Some(frame)) = Pin::new(&mut body).poll_frame(&mut cx) {
            sent.extend_from_slice(frame.unwrap().data_ref().unwrap());
        }
        assert!(body.is_end_stream());
        let mut expected = vec![0, 0, 0, 1, 55];
        expected.extend_from_slice(b"head");
        expected.extend_from_slice(&[7; 300]);
        expected.extend_from_slice(&[8; 2]);
        expected.extend_from_slice(b"tail!");
        assert_eq!(sent, expected);
    }
}
