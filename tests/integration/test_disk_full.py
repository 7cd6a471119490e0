"""A disk that fills up (a 6 MiB tmpfs as the data dir): once the store cannot commit,
requests get InternalError and the server keeps serving; a queue whose creation did not
commit does not exist; after the disk grows and the server restarts, every acknowledged
message is there."""
import os
import shutil
import subprocess
import tempfile

import pytest
from botocore.exceptions import ClientError

import helpers


@pytest.fixture
def tiny_disk():
    tmp = tempfile.mkdtemp(prefix="sluice-full-")
    data = os.path.join(tmp, "data")
    os.mkdir(data)
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", data],
                           capture_output=True, text=True)
    assert mount.returncode == 0, "this test mounts a small tmpfs (needs root): " + mount.stderr
    yield data
    subprocess.run(["umount", "-l", data], capture_output=True)
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.sluice_timeout(120)
def test_full_disk_fails_cleanly_and_loses_nothing(tiny_disk):
    server = helpers.Server(tiny_disk).start()
    try:
        sqs = helpers.make_client(server.endpoint)
        url = sqs.create_queue(QueueName="fills")["QueueUrl"]
        acked = {}
        failure = None
        for i in range(5000):
            body = "%06d-" % i + "x" * 4096
            try:
                acked[sqs.send_message(QueueUrl=url, MessageBody=body)["MessageId"]] = body
            except ClientError as e:
                failure = e
                break
        assert failure is not None, "6 MiB never filled up"
        assert failure.response["Error"]["Code"] == "InternalError"
        assert failure.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        assert len(acked) > 100
        status, body = server.health()
        assert status == 200 and b'"status":"ok"' in body

        # A queue whose creation did not commit does not exist, in memory either.
        failed_name = None
        for i in range(50):
            name = "late-%d" % i
            try:
                sqs.create_queue(QueueName=name)
            except ClientError as e:
                assert e.response["Error"]["Code"] == "InternalError"
                failed_name = name
                break
            sqs.get_queue_url(QueueName=name)  # it committed: it exists
        assert failed_name is not None, "creating queues never failed on the full disk"
        with pytest.raises(sqs.exceptions.QueueDoesNotExist):
            sqs.get_queue_url(QueueName=failed_name)
        assert server.stop() == 0

        # More room, a restart: every acknowledged message is there, exactly once.
        subprocess.run(["mount", "-o", "remount,size=64m", tiny_disk], check=True)
        server.start()
        sqs = helpers.make_client(server.endpoint)
        with pytest.raises(sqs.exceptions.QueueDoesNotExist):
            sqs.get_queue_url(QueueName=failed_name)
        got = {}
        for m in helpers.drain(sqs, url, wait=1):
            assert m["MessageId"] not in got
            got[m["MessageId"]] = m["Body"]
        missing = set(acked) - set(got)
        assert not missing, "%d acknowledged messages lost" % len(missing)
        for mid, body in acked.items():
            assert got[mid] == body
    finally:
        if server.alive():
            server.stop()
