"""Queue lifecycle over AWS Query (boto3 1.26): create, get-url, list, delete, tags."""

import pytest
from botocore.exceptions import ClientError

from helpers import ACCOUNT, error_code, http_status, make_client, unique


def test_create_queue_returns_url_from_host_header(server, sqs):
    name = unique("life")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    assert url == "http://127.0.0.1:%d/%s/%s" % (server.port, ACCOUNT, name)
    # The URL's authority is the request's Host header, not a configured name.
    other = make_client("http://localhost:%d" % server.port)
    assert other.get_queue_url(QueueName=name)["QueueUrl"] == "http://localhost:%d/%s/%s" % (
        server.port,
        ACCOUNT,
        name,
    )


def test_create_queue_is_idempotent_with_identical_attributes(sqs):
    name = unique("idem")
    attrs = {"VisibilityTimeout": "45", "DelaySeconds": "3"}
    url1 = sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
    url2 = sqs.create_queue(QueueName=name, Attributes=dict(attrs))["QueueUrl"]
    assert url1 == url2
    got = sqs.get_queue_attributes(QueueUrl=url1, AttributeNames=["VisibilityTimeout", "DelaySeconds"])
    assert got["Attributes"] == attrs
    # And without attributes on both calls.
    plain = unique("idem")
    assert sqs.create_queue(QueueName=plain)["QueueUrl"] == sqs.create_queue(QueueName=plain)["QueueUrl"]


def test_create_queue_with_different_attributes_is_queue_already_exists(sqs):
    name = unique("exists")
    url = sqs.create_queue(QueueName=name, Attributes={"DelaySeconds": "1"})["QueueUrl"]
    with pytest.raises(sqs.exceptions.QueueNameExists) as e:
        sqs.create_queue(QueueName=name, Attributes={"DelaySeconds": "2"})
    assert error_code(e) == "QueueAlreadyExists"
    assert http_status(e) == 400
    # The first queue is untouched.
    got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["DelaySeconds"])["Attributes"]
    assert got == {"DelaySeconds": "1"}


def test_create_fifo_queue_with_different_attributes_is_queue_already_exists(sqs):
    name = unique("exists") + ".fifo"
    sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})
    with pytest.raises(ClientError) as e:
        sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "false"})
    assert error_code(e) == "QueueAlreadyExists"


@pytest.mark.parametrize(
    "name",
    [
        "has space",
        "bad!char",
        "dot.in.standard",
        "x" * 81,
    ],
)
def test_invalid_queue_names_are_rejected(sqs, name):
    with pytest.raises(ClientError) as e:
        sqs.create_queue(QueueName=name)
    assert error_code(e) == "InvalidParameterValue"
    assert http_status(e) == 400


def test_queue_name_of_80_characters_with_hyphens_and_underscores_is_accepted(sqs):
    name = ("a-b_" + unique("n"))[:20]
    name = name + "z" * (80 - len(name))
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    assert url.endswith("/" + name)


def test_get_queue_url(server, sqs):
    name = unique("url")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    assert sqs.get_queue_url(QueueName=name)["QueueUrl"] == url
    # With the owner account given explicitly.
    assert sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=ACCOUNT)["QueueUrl"] == url


def test_get_queue_url_of_missing_queue(sqs):
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as e:
        sqs.get_queue_url(QueueName=unique("missing"))
    assert error_code(e) == "AWS.SimpleQueueService.NonExistentQueue"
    assert http_status(e) == 400


def test_list_queues_with_prefix(sqs):
    prefix = unique("lp")
    urls = {sqs.create_queue(QueueName="%s-%d" % (prefix, i))["QueueUrl"] for i in range(3)}
    other = sqs.create_queue(QueueName=unique("other"))["QueueUrl"]
    listed = sqs.list_queues(QueueNamePrefix=prefix).get("QueueUrls", [])
    assert set(listed) == urls
    everything = sqs.list_queues().get("QueueUrls", [])
    assert urls <= set(everything)
    assert other in everything
    assert sqs.list_queues(QueueNamePrefix=unique("none")).get("QueueUrls", []) == []


def test_list_queues_pagination(sqs):
    prefix = unique("page")
    urls = {sqs.create_queue(QueueName="%s-%02d" % (prefix, i))["QueueUrl"] for i in range(7)}
    seen = []
    pages = 0
    kw = {"QueueNamePrefix": prefix, "MaxResults": 3}
    while True:
        r = sqs.list_queues(**kw)
        pages += 1
        page = r.get("QueueUrls", [])
        assert 1 <= len(page) <= 3
        seen.extend(page)
        if "NextToken" not in r:
            break
        assert pages < 10
        kw["NextToken"] = r["NextToken"]
    assert pages == 3
    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == urls
    # The paginator boto3 ships walks the same pages.
    paged = []
    for p in sqs.get_paginator("list_queues").paginate(QueueNamePrefix=prefix, PaginationConfig={"PageSize": 2}):
        paged.extend(p.get("QueueUrls", []))
    assert sorted(paged) == sorted(urls)


def test_list_queues_max_results_out_of_range(sqs):
    for bad in (0, 1001):
        with pytest.raises(ClientError) as e:
            sqs.list_queues(MaxResults=bad)
        assert error_code(e) == "InvalidParameterValue"


def test_delete_queue_then_queue_does_not_exist(sqs):
    name = unique("del")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="bye")
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName=name)
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.send_message(QueueUrl=url, MessageBody="x")
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.receive_message(QueueUrl=url)
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.delete_queue(QueueUrl=url)
    assert url not in sqs.list_queues(QueueNamePrefix=name).get("QueueUrls", [])


def test_recreating_a_queue_within_60_seconds_of_deleting_it(sqs):
    # AWS: "You must wait 60 seconds after deleting a queue before you can create another
    # queue with the same name."
    name = unique("recent")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(sqs.exceptions.QueueDeletedRecently) as e:
        sqs.create_queue(QueueName=name)
    assert error_code(e) == "AWS.SimpleQueueService.QueueDeletedRecently"


def test_tags_on_create_and_list_queue_tags(sqs):
    name = unique("tags")
    url = sqs.create_queue(QueueName=name, tags={"team": "core", "env": "test", "empty": ""})["QueueUrl"]
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "core", "env": "test", "empty": ""}


def test_tag_and_untag_queue(sqs):
    url = sqs.create_queue(QueueName=unique("tags"))["QueueUrl"]
    assert sqs.list_queue_tags(QueueUrl=url).get("Tags", {}) == {}
    sqs.tag_queue(QueueUrl=url, Tags={"a": "1", "b": "2"})
    sqs.tag_queue(QueueUrl=url, Tags={"b": "two", "c": "3"})  # overwrites b, adds c
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"a": "1", "b": "two", "c": "3"}
    sqs.untag_queue(QueueUrl=url, TagKeys=["a", "c", "not-there"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"b": "two"}
    sqs.untag_queue(QueueUrl=url, TagKeys=["b"])
    assert sqs.list_queue_tags(QueueUrl=url).get("Tags", {}) == {}


def test_tag_operations_on_missing_queue(server, sqs):
    url = server.queue_url(unique("missing"))
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.tag_queue(QueueUrl=url, Tags={"a": "1"})
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.list_queue_tags(QueueUrl=url)
