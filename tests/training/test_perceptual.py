import pytest
import torch
from safetensors.torch import save_file

from golf_rt.errors import CheckpointError
from training.losses import PerceptualLoss, vgg11_bn_features
from training.train_config import TrainConfig


def test_loads_a_vgg11_bn_state_dict_with_torchvision_keys(tmp_path):
    torch.manual_seed(0)
    state = {f"features.{k}": v for k, v in vgg11_bn_features().state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(2, 2)  # the full torchvision dict also holds these
    path = tmp_path / "vgg11_bn.safetensors"
    save_file(state, str(path))
    loss = PerceptualLoss(path).train()
    assert not loss.features.training
    assert all(not p.requires_grad for p in loss.parameters())
    x = torch.rand(1, 3, 64, 64, requires_grad=True)
    value = loss(x, torch.rand(1, 3, 64, 64))
    value.backward()
    assert value.item() > 0 and x.grad is not None
    assert loss(x, x).item() == 0.0
    pth = tmp_path / "vgg11_bn.pth"
    torch.save(state, pth)
    PerceptualLoss(pth)


def test_rejects_a_wrong_state_dict(tmp_path):
    path = tmp_path / "wrong.safetensors"
    save_file({"features.0.weight": torch.zeros(8, 3, 3, 3)}, str(path))
    with pytest.raises(CheckpointError, match="vgg11_bn"):
        PerceptualLoss(path)
    with pytest.raises(CheckpointError, match="not found"):
        PerceptualLoss(tmp_path / "absent.pth")


def test_perceptual_loss_without_weights_is_a_clear_error():
    with pytest.raises(ValueError, match="--vgg-weights"):
        TrainConfig(lambda_p=5e-6)
    TrainConfig(lambda_p=0.0)
