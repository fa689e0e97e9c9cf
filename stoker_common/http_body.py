"""Reading an HTTP answer's body with a cap, raw and decompressed.

Every answer the agent reads is held in memory, so its size is capped twice: the bytes on the
wire (a Content-Length over the cap fails before anything is read), and the bytes a gzip or
deflate body decompresses to (a small gzip can expand a thousandfold). Past either cap the
client raises ResponseTooLarge, a TransportError, and drops the connection.
"""
from __future__ import annotations

import http.client
import zlib

# Far above any metadata document or signal answer, far below what would hurt a small guest.
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
CHUNK = 256 * 1024


class BodyError(Exception):
    """The body cannot be read as it was sent (not valid for its Content-Encoding)."""


class TooLarge(BodyError):
    def __init__(self, message: str, limit: int):
        super().__init__(message)
        self.limit = limit


def read_capped(answer: http.client.HTTPResponse, limit: int) -> bytes:
    """The whole body of an http.client answer, refusing it once it passes `limit` bytes."""
    # `length` is the Content-Length as http.client understood it: 0 for HEAD, 204 and 304 (whatever
    # the header says), None when chunked or ended by closing the connection.
    declared = answer.length
    if declared is not None and declared > limit:
        raise TooLarge(f"the answer is {declared} bytes (Content-Length), over the limit of {limit} bytes", limit)
    chunks, size = [], 0
    while True:
        chunk = answer.read(min(CHUNK, limit + 1 - size))
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"the answer is over the limit of {limit} bytes", limit)
        chunks.append(chunk)
    if answer.length:
        # read(n) takes a connection closed before the Content-Length as the end; read() did not
        raise http.client.IncompleteRead(b"", answer.length)
    return b"".join(chunks)


def decoded(data: bytes, encoding: str | None, limit: int) -> bytes:
    """`data` decoded as its Content-Encoding says (gzip, deflate or none), at most `limit` bytes."""
    encoding = (encoding or "").strip().lower()
    if encoding in ("gzip", "x-gzip"):
        return _inflate(data, 16 + zlib.MAX_WBITS, encoding, limit)
    if encoding == "deflate":
        try:
            return _inflate(data, zlib.MAX_WBITS, encoding, limit)
        except TooLarge:
            raise
        except BodyError:
            return _inflate(data, -zlib.MAX_WBITS, encoding, limit)  # raw deflate, as some servers send
    return data


def _inflate(data: bytes, wbits: int, encoding: str, limit: int) -> bytes:
    inflater = zlib.decompressobj(wbits)
    try:
        # asking for one byte more than allowed tells "exactly the limit" from "over it"
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise BodyError(f"cannot decode the {encoding} answer ({exc})") from None
    if len(out) > limit:
        raise TooLarge(f"the {encoding} answer decompresses to over the limit of {limit} bytes", limit)
    if not inflater.eof:
        raise BodyError(f"cannot decode the {encoding} answer (incomplete or truncated stream)")
    return out
