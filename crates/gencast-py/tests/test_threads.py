"""The GIL is released while computing, and Ctrl-C stops a forecast cleanly."""

import signal
import threading
import time

import numpy as np

from conftest import DATASET, bits, fixture, model_of

D = str(fixture("tiny-mha") / DATASET)


def test_another_python_thread_runs_during_a_forecast():
    m = model_of("tiny-mha")
    result = {}
    worker = threading.Thread(
        target=lambda: result.update(ds=m.forecast(D, members=2, steps=2, progress=False))
    )
    ticks = []
    start = time.perf_counter()
    worker.start()
    while worker.is_alive():
        ticks.append(time.perf_counter())
        sum(range(1000))  # pure Python work: needs the GIL
    duration = time.perf_counter() - start
    worker.join()
    assert "ds" in result
    gaps = np.diff([start] + ticks + [start + duration])
    # With the GIL held for the whole computation the loop would stall for all of it; it must
    # keep ticking, with no pause longer than half the forecast.
    assert len(ticks) > 50, (len(ticks), duration)
    assert gaps.max() < duration / 2, (gaps.max(), duration)


def test_ctrl_c_interrupts_a_forecast_and_the_model_stays_usable():
    m = model_of("tiny-mha")
    # The first forecast on a model also prepares its network for the grid; timing a later
    # one keeps `full_s` the cost of the steps alone, so the 8x run below lasts 8x as long.
    m.forecast(D, members=1, steps=1, progress=False)
    t0 = time.perf_counter()
    full = m.forecast(D, members=1, steps=2, progress=False)
    full_s = time.perf_counter() - t0
    # A real signal from the kernel's interval timer, raising KeyboardInterrupt as Ctrl-C's
    # SIGINT does: unlike a timer thread it needs no CPU time or GIL of its own to arrive, so a
    # busy machine cannot delay it past the end of the run.
    previous = signal.signal(signal.SIGALRM, signal.default_int_handler)
    signal.setitimer(signal.ITIMER_REAL, full_s / 10)
    t0 = time.perf_counter()
    try:
        m.forecast(D, members=4, steps=4, progress=False)  # 8x the work of `full`
    except KeyboardInterrupt:
        stopped_after = time.perf_counter() - t0
    else:
        raise AssertionError("the forecast was not interrupted")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    # Stopped within a denoiser call of the interrupt, long before the 8x run would end.
    assert stopped_after < 4 * full_s, (stopped_after, full_s)
    again = m.forecast(D, members=1, steps=2, progress=False)
    for v in full.data_vars:
        assert np.array_equal(bits(again[v].values), bits(full[v].values)), v
