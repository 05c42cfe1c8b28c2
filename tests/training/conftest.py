import pytest

torch = pytest.importorskip("torch", reason="the training code needs torch, which is not installed")


@pytest.fixture()
def one_thread():
    """Torch on one thread: on a machine whose cores are busy, OpenMP threads spin against the other work
    and small convolutions run tens of times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
