"""The portal's Redis transport for Celery sends through one client per connection pool,
and what it sends arrives in order.  Needs a Redis (TEST_REDIS_URL; CI sets it)."""

import os
import uuid

import pytest
from kombu import Connection, Exchange, Producer, Queue

from portal.broker import RedisTransport

REDIS = os.environ.get("TEST_REDIS_URL", "")


@pytest.fixture
def connection():
    if not REDIS:
        pytest.skip("needs Redis (set TEST_REDIS_URL=redis://127.0.0.1:6379/15)")
    with Connection(REDIS, transport=RedisTransport) as conn:
        yield conn


@pytest.fixture
def queue(connection):
    name = f"test-broker-{uuid.uuid4().hex}"
    queue = Queue(name, Exchange(name, type="direct"), routing_key=name)
    queue(connection.default_channel).declare()
    yield queue
    queue(connection.default_channel).delete()


def _sent(connection, queue, bodies):
    producer = Producer(connection.default_channel)
    for body in bodies:
        producer.publish(body, exchange=queue.exchange, routing_key=queue.routing_key, serializer="json")


def _counting_clients(channel) -> list[object]:
    made: list[object] = []
    original = channel._create_client

    def create(*args, **kwargs):
        made.append(client := original(*args, **kwargs))
        return client

    channel._create_client = create
    return made


def test_kombus_own_channel_makes_a_client_for_every_message():
    if not REDIS:
        pytest.skip("needs Redis (set TEST_REDIS_URL=redis://127.0.0.1:6379/15)")
    name = f"test-broker-{uuid.uuid4().hex}"
    queue = Queue(name, Exchange(name, type="direct"), routing_key=name)
    with Connection(REDIS) as connection:
        queue(connection.default_channel).declare()
        try:
            made = _counting_clients(connection.default_channel)
            _sent(connection, queue, [{"n": n} for n in range(3)])
            assert len(made) >= 3  # at least one per message: what RedisTransport saves
        finally:
            queue(connection.default_channel).delete()


def test_messages_sent_through_one_client_arrive_in_order(connection, queue):
    channel = connection.default_channel
    _sent(connection, queue, [{"n": 0}])
    reused = channel._reused
    made = _counting_clients(channel)

    _sent(connection, queue, [{"n": n} for n in range(1, 5)])

    assert made == []
    assert channel._reused is reused
    with connection.SimpleQueue(queue) as simple:
        received = [simple.get(timeout=2) for _ in range(5)]
        for message in received:
            message.ack()
    assert [message.payload for message in received] == [{"n": n} for n in range(5)]


def test_a_new_connection_pool_gets_a_new_client(connection, queue):
    channel = connection.default_channel
    _sent(connection, queue, [{"n": 1}])
    first = channel._reused[1]

    old_pool, channel._pool = channel._pool, None  # as after the channel lost its pool
    old_pool.disconnect()
    _sent(connection, queue, [{"n": 2}])

    assert channel._reused[1] is not first
    assert channel._reused[0] is channel.pool
    with connection.SimpleQueue(queue) as simple:
        payloads = []
        for _ in range(2):
            message = simple.get(timeout=2)
            message.ack()
            payloads.append(message.payload)
    assert payloads == [{"n": 1}, {"n": 2}]
