"""Request bodies the upload tests build by hand: multipart/form-data and chunked
Transfer-Encoding (the test client and the SDKs hide both, and the tests of the body
guard and of the production server need the exact bytes on the wire)."""

from __future__ import annotations

import uuid


def multipart(fields: dict, data: bytes, filename: str = "photo.jpg",
              content_type: str = "application/octet-stream") -> tuple[bytes, str]:
    """(body, Content-Type header) of a form with `fields` and one file field "file"."""
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 f"Content-Type: {content_type}\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def chunk(body: bytes, size: int = 700) -> bytes:
    """`body` in chunked Transfer-Encoding, `size` bytes a chunk, with the closing chunk."""
    parts = [b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size]) for i in range(0, len(body), size)]
    return b"".join(parts) + b"0\r\n\r\n"
