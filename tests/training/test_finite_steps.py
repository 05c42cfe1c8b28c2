import pytest
import torch

from training.losses import FiniteSteps, NonFiniteTrainingError


def backward(net: torch.nn.Module, poison: bool) -> torch.Tensor:
    net.zero_grad(set_to_none=True)
    loss = net(torch.ones(2, 4)).square().mean()
    if poison:
        loss = loss * torch.tensor(float("nan"))
    loss.backward()
    return loss


def test_a_non_finite_step_is_skipped_and_the_weights_stay_finite():
    torch.manual_seed(0)
    net = torch.nn.Linear(4, 3)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    finite = FiniteSteps(net.parameters(), patience=3)
    for step, poison in enumerate([False, True, True, False, True], start=1):
        before = [p.detach().clone() for p in net.parameters()]
        loss = backward(net, poison)
        if finite.allows(loss, step):
            optimizer.step()
        changed = any(not torch.equal(a, b) for a, b in zip(before, net.parameters()))
        assert changed == (not poison)
    assert finite.skipped == 3 and finite.in_a_row == 1
    assert all(torch.isfinite(p).all() for p in net.parameters())


def test_non_finite_steps_in_a_row_end_the_run_with_the_reason():
    net = torch.nn.Linear(4, 3)
    finite = FiniteSteps(net.parameters(), patience=2)
    assert not finite.allows(backward(net, poison=True), 7)
    with pytest.raises(NonFiniteTrainingError, match="step 8: loss or gradients non-finite for 2 steps"):
        finite.allows(backward(net, poison=True), 8)
