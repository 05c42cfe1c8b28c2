"""Run one call from several threads at once, for the tests that share a runner."""

import threading


def results_from_threads(call, count: int = 4, timeout: float = 120) -> list:
    """`call()` from `count` threads started together; a thread still running after `timeout` leaves None."""
    results = [None] * count

    def work(i):
        results[i] = call()

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return results
