"""Frame checks refuse bad input with a clear error before any pixel is decoded."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

from vision_sidecar import samples
from vision_sidecar.decode import check_content_type, decode_frame
from vision_sidecar.errors import BadFrameError, FrameTooLargeError, UnsupportedMediaError

MAX_BYTES, MAX_PIXELS = 5 * 1024 * 1024, 4096 * 4096


def bomb_png(width: int = 20000, height: int = 20000) -> bytes:
    """A tiny, valid-looking PNG whose header announces width × height pixels."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_a_640x480_jpeg_is_decoded_grey_at_half_size():
    frame = decode_frame(samples.jpeg(samples.webcam_frame()), MAX_BYTES, MAX_PIXELS)
    assert frame.gray.shape == (240, 320) and frame.gray.dtype == np.uint8
    assert (frame.scale, frame.width, frame.height, frame.kind) == (2, 640, 480, "jpeg")


def test_a_png_is_decoded_too():
    frame = decode_frame(samples.png(samples.astronaut_bgr()), MAX_BYTES, MAX_PIXELS)
    assert frame.kind == "png" and frame.gray.shape == (512, 512)


@pytest.mark.parametrize(
    ("what", "data", "error", "says"),
    [
        ("empty body", b"", BadFrameError, "empty"),
        ("text", b"hello, this is not an image", UnsupportedMediaError, "not a JPEG or PNG"),
        ("truncated JPEG", samples.jpeg(samples.webcam_frame())[:5000], BadFrameError,
         "truncated"),
        ("JPEG header only", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", BadFrameError, "truncated"),
        ("decompression bomb PNG", bomb_png(), FrameTooLargeError, "20000×20000"),
        ("over the byte limit", b"\xff\xd8\xff" + b"\0" * MAX_BYTES, FrameTooLargeError,
         "byte limit"),
    ],
)
def test_bad_frames_are_refused_with_a_message_saying_why(what, data, error, says):
    with pytest.raises(error) as caught:
        decode_frame(data, MAX_BYTES, MAX_PIXELS)
    assert says in caught.value.message, f"{what}: {caught.value.message}"


def test_the_bomb_is_refused_without_allocating_its_pixels():
    import tracemalloc

    tracemalloc.start()
    with pytest.raises(FrameTooLargeError):
        decode_frame(bomb_png(), MAX_BYTES, MAX_PIXELS)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 10 * 1024 * 1024


@pytest.mark.parametrize("ctype", ["text/plain", "application/json", "image/gif"])
def test_wrong_content_types_are_refused(ctype):
    with pytest.raises(UnsupportedMediaError, match="image/jpeg or image/png"):
        check_content_type(ctype)


@pytest.mark.parametrize("ctype", [None, "image/jpeg", "image/png; q=1",
                                   "application/octet-stream"])
def test_image_content_types_pass(ctype):
    check_content_type(ctype)
