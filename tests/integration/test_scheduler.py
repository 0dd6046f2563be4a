"""Handing work to the broker never holds a request longer than BROKER_TIMEOUT, and a
broker that just failed is left alone for BROKER_COOLDOWN: the requests after it do not
wait on it at all (the reconciler sends their work later)."""

import threading
from uuid import uuid4

import pytest

from loadbalancers.adapters import scheduler
from portal.broker import Breaker

pytestmark = pytest.mark.django_db


class HungBroker:
    """A Celery app whose broker accepts the call and never answers."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = threading.Event()

    def send_task(self, name: str, **_: object) -> None:
        self.calls += 1
        self.release.wait(30)


@pytest.fixture
def hung(monkeypatch, settings):
    settings.BROKER_TIMEOUT = 0.1
    monkeypatch.setattr(scheduler, "BREAKER", Breaker())
    task = HungBroker()
    yield task
    task.release.set()


def send(task, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        scheduler.CeleryTaskScheduler(task).provision(uuid4())


def test_a_hung_broker_costs_one_request_its_bound_and_the_next_ones_nothing(
    hung, settings, django_capture_on_commit_callbacks, caplog
):
    settings.BROKER_COOLDOWN = 3600

    for _ in range(3):
        send(hung, django_capture_on_commit_callbacks)

    assert hung.calls == 1
    assert "did not answer within 0.1 s" in caplog.text
    assert "the broker failed just now" in caplog.text


def test_the_broker_is_asked_again_once_the_cooldown_is_over(hung, settings, django_capture_on_commit_callbacks):
    settings.BROKER_COOLDOWN = 0

    send(hung, django_capture_on_commit_callbacks)
    send(hung, django_capture_on_commit_callbacks)

    assert hung.calls == 2


def test_the_breaker_opens_for_its_cooldown():
    now = [100.0]
    breaker = Breaker(clock=lambda: now[0])
    assert breaker.allows()

    breaker.failed(10)
    now[0] = 109.9
    assert not breaker.allows()
    now[0] = 110.0
    assert breaker.allows()


def test_every_task_the_scheduler_sends_is_one_the_workers_know(django_capture_on_commit_callbacks):
    import loadbalancers.tasks  # noqa: F401 - registers the tasks, as a worker does
    from config.celery import app

    class Recorder:
        sent: list[str] = []

        def send_task(self, name: str, **_: object) -> None:
            self.sent.append(name)

    recorder = Recorder()
    sender = scheduler.CeleryTaskScheduler(recorder)
    lb_id = uuid4()
    with django_capture_on_commit_callbacks(execute=True):
        sender.provision(lb_id)
        sender.apply_update(lb_id)
        sender.deprovision(lb_id)
        sender.follow(lb_id, delay=1)

    assert len(recorder.sent) == 4
    assert set(recorder.sent) <= set(app.tasks)
