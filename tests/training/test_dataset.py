"""The validation split depends on the seed alone; normalisation maps pixels as documented."""

import torch

from training.dataset import MNIST_MEAN, MNIST_STD, normalise, split_mnist, to_unit_float


def test_split_is_deterministic_for_a_seed(mnist):
    a = split_mnist(mnist, val_size=5000, seed=3)
    b = split_mnist(mnist, val_size=5000, seed=3)
    assert torch.equal(a.val.images, b.val.images) and torch.equal(a.train.labels, b.train.labels)


def test_other_seed_gives_another_split(mnist):
    a = split_mnist(mnist, val_size=5000, seed=0)
    b = split_mnist(mnist, val_size=5000, seed=1)
    assert not torch.equal(a.val.labels, b.val.labels)


def test_split_sizes_and_no_overlap(mnist):
    splits = split_mnist(mnist, val_size=5000, seed=0)
    assert len(splits.train) == 55000 and len(splits.val) == 5000 and len(splits.test) == 10000
    flat = lambda t: {bytes(x) for x in t.images.reshape(len(t), -1).numpy()}  # noqa: E731
    # MNIST holds a few exact duplicate images, so compare counts rather than demand disjoint sets.
    assert len(flat(splits.train) & flat(splits.val)) < 20
    assert splits.train.images.dtype == torch.uint8 and splits.train.images.shape[1:] == (1, 28, 28)


def test_train_limit_takes_a_subset(mnist):
    assert len(split_mnist(mnist, val_size=1000, seed=0, train_limit=300).train) == 300


def test_normalisation_scale():
    pixels = torch.tensor([0, 255], dtype=torch.uint8)
    unit = to_unit_float(pixels)
    assert unit.tolist() == [0.0, 1.0]
    assert torch.allclose(normalise(unit), torch.tensor([-MNIST_MEAN / MNIST_STD,
                                                         (1 - MNIST_MEAN) / MNIST_STD]))
