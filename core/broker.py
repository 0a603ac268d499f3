"""The Redis broker transport, minus the one step that crashed workers on a broker outage.

Measured (tests/faults/test_redis_outage.py, celery/kombu 5.7): when Redis
vanished while the worker held an unacknowledged message — every running task,
since tasks ack late — the consumer closed the broken connection, kombu's
channel close tried to put the unacknowledged messages back *through that
connection*, whose client was already gone, and the worker died with
"Unrecoverable error: AttributeError: 'NoneType' object has no attribute
'hostname'" (thread and prefork pools alike). ``make run`` then restarts it,
but a worker should ride out an outage rather than be restarted by it.

With that fixed, the next death came after the reconnect: a task that finished
during the outage acknowledged its message on the old, closed channel, whose
client was gone too ("'NoneType' object has no attribute 'client'").

Here the channel does not restore unacknowledged messages when it closes, and
an acknowledgement (or rejection) on a channel whose connection is gone only
forgets the message locally. Nothing depends on either step: kombu's Redis transport keeps them in its
``unacked`` hash and redelivers them after the visibility timeout, and long
before that the beat sweepers find the work itself in PostgreSQL (outbox rows,
pending deliveries, pending incoming requests) and wake it again — every task
is safe to run twice.

Selected by ``CELERY_BROKER_TRANSPORT`` whenever the broker is Redis.
"""

from __future__ import annotations

from kombu.transport import redis, virtual


class QoS(redis.QoS):
    restore_at_shutdown = False

    def _connection_gone(self) -> bool:
        transport = self.channel.connection
        return transport is None or transport.client is None

    def ack(self, delivery_tag):
        if self._connection_gone():
            virtual.QoS.ack(self, delivery_tag)  # forget it here; Redis redelivers it after the visibility timeout
            return
        super().ack(delivery_tag)

    def reject(self, delivery_tag, requeue=False):
        if self._connection_gone():
            virtual.QoS.ack(self, delivery_tag)
            return
        super().reject(delivery_tag, requeue=requeue)


class Channel(redis.Channel):
    QoS = QoS


class Transport(redis.Transport):
    Channel = Channel
