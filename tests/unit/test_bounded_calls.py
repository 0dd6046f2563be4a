"""call_within: a bounded wait on a call, run by a thread that is reused from call to
call and abandoned to a call that overruns."""

import threading

import pytest

from portal.broker import BrokerTimeout, call_within


def test_the_result_and_the_call_s_own_error_come_back():
    assert call_within(5, lambda: 42, what="answering") == 42
    with pytest.raises(KeyError, match="nope"):
        call_within(5, lambda: {}["nope"], what="failing")


def test_one_thread_runs_the_calls_of_a_thread_one_after_the_other():
    ran_on = {call_within(5, threading.get_ident, what="asking") for _ in range(20)}

    assert len(ran_on) == 1
    assert ran_on != {threading.get_ident()}


def test_an_overrunning_call_is_abandoned_and_the_next_one_gets_a_new_thread():
    release = threading.Event()
    before = call_within(5, threading.get_ident, what="asking")

    with pytest.raises(BrokerTimeout, match=r"hanging: the broker did not answer within 0\.05 s"):
        call_within(0.05, release.wait, what="hanging")
    after = call_within(5, threading.get_ident, what="asking")
    release.set()

    assert after != before
    assert call_within(5, threading.get_ident, what="asking") == after


def test_each_calling_thread_has_its_own_runner():
    found = {}

    def ask(name):
        found[name] = call_within(5, threading.get_ident, what="asking")

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(set(found.values())) == 3
