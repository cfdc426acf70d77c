"""The ingest inbox: batches by size or age, nothing lost or repeated between two threads, bounded."""

import threading
import time

from ingest.service.inbox import Inbox


def test_a_batch_is_taken_at_its_size_or_its_age_and_nothing_comes_from_an_empty_inbox():
    box: Inbox[int] = Inbox(100)
    t0 = time.monotonic()
    assert box.take(10, 0.05, 0.1) == [] and time.monotonic() - t0 >= 0.1
    box.put(list(range(7)))
    box.put(list(range(7, 25)))
    assert box.take(10, 5.0, 1.0) == list(range(10))  # full at once: no waiting for the age
    assert box.take(10, 5.0, 1.0) == list(range(10, 20))
    t0 = time.monotonic()
    assert box.take(10, 0.1, 1.0) == list(range(20, 25))  # five waited their age, then went
    assert 0.1 <= time.monotonic() - t0 < 1.0
    assert len(box) == 0


def test_a_sleeping_writer_wakes_for_the_first_message():
    box: Inbox[str] = Inbox(10)
    threading.Timer(0.1, box.put, args=(["hello"],)).start()
    t0 = time.monotonic()
    assert box.take(5, 0.0, 5.0) == ["hello"]
    assert time.monotonic() - t0 < 1.0


def test_two_threads_pass_every_message_once_in_order_and_the_inbox_stays_bounded():
    box: Inbox[int] = Inbox(500)
    n, got, most = 200_000, [], [0]

    def produce() -> None:  # in reads of 1 to 300 messages
        i = 0
        while i < n:
            size = min(1 + i % 300, n - i)
            box.put(list(range(i, i + size)))
            most[0] = max(most[0], len(box))
            i += size

    producer = threading.Thread(target=produce)
    producer.start()
    while len(got) < n:
        got.extend(box.take(300, 0.001, 5.0))
    producer.join(10)
    assert got == list(range(n)) and most[0] <= 500


def test_a_full_inbox_makes_the_sender_wait_until_there_is_room_or_it_gives_up():
    box: Inbox[int] = Inbox(2)
    box.put([1, 2])
    done = threading.Event()
    threading.Thread(target=lambda: (box.put([3]), done.set())).start()
    assert not done.wait(0.2)  # waiting for room: backpressure
    assert box.take(1, 0.0, 1.0) == [1]
    assert done.wait(2) and len(box) == 2
    stop = threading.Event()
    stop.set()
    box.put([4], stop)  # stopping: not held up (the broker redelivers what is not acknowledged)
    assert box.take(10, 0.0, 1.0) == [2, 3, 4]


def test_a_read_that_does_not_fit_waits_for_room_and_one_larger_than_the_inbox_goes_into_an_empty_one():
    box: Inbox[int] = Inbox(4)
    box.put([1, 2, 3])
    done = threading.Event()
    threading.Thread(target=lambda: (box.put([4, 5]), done.set())).start()
    assert not done.wait(0.2)  # 3 + 2 > 4: waits, nothing of the read goes in alone
    assert box.take(1, 0.0, 1.0) == [1]
    assert done.wait(2) and box.take(10, 0.0, 1.0) == [2, 3, 4, 5]
    box.put(list(range(10)))  # larger than the inbox: into an empty one at once, not forever waiting
    assert box.take(20, 0.0, 1.0) == list(range(10))
