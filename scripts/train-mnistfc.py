#!/usr/bin/python3
"""Trains the mnistfc-style deep MLPs of the LP-at-depth benchmarks (issue 14) and exports them
to ONNX float32: 784-256x4-10 and 784-256x6-10, the shapes of the VNN-COMP 2021 mnistfc
networks (whose files are public but not redistributed here).

Deterministic: fixed seed, one thread, deterministic algorithms, a fixed data order. Only the
MNIST test set is in the repository, so the networks are trained on its second half (test images
5000..9999) and the first half stays held out: the "first misclassified test images" that the
benchmarks repair are then genuine generalisation errors. Inputs are raw pixels / 255 in [0, 1]
(no normalisation layer), as in mnistfc.

What makes the originals' region LPs hard is reproduced on purpose: (1) sparse activations (a few
per cent of each layer active, down to one or two neurons, so deep layers contribute families of
parallel rows), here from Adam at a large learning rate (1e-2); (2) small logits (standard
deviation 0.29 on the test set for the originals), which make every LP objective tiny next to
absolute solver tolerances: after training, the output layer is scaled so that the logits have a
standard deviation of 0.3 on the training half (the argmax, hence every prediction, is unchanged).
With both, the dense dual simplex of the core as it was failed at its iteration limit on several
of the first 20 misclassified points of the 6-layer network, as it did on the original.

    /usr/bin/python3 scripts/train-mnistfc.py [OUTDIR]   # default test/fixtures/mnistfc/*.onnx

Needs Debian's python3-torch (1.13) and python3-numpy; python3-onnx only for the size check.
"""
import gzip
import os
import sys

import numpy as np
import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
MNIST = os.path.join(ROOT, "test", "fixtures", "mnist")
OUT = os.path.join(ROOT, "test", "fixtures", "mnistfc")
EPOCHS = 8
LR = 1e-2
LOGIT_STD = 0.3
BATCH = 50
SEED = 20260


def idx(path, header):
    with gzip.open(path, "rb") as f:
        data = f.read()
    return np.frombuffer(data, dtype=np.uint8, offset=header)


def load():
    x = idx(os.path.join(MNIST, "t10k-images-idx3-ubyte.gz"), 16).reshape(10000, 784)
    y = idx(os.path.join(MNIST, "t10k-labels-idx1-ubyte.gz"), 8)
    # The same float32 inputs the benchmarks use: fround(pixel / 255).
    return torch.tensor(x.astype(np.float32) / np.float32(255.0)), torch.tensor(y.astype(np.int64))


def train(depth, x, y):
    torch.manual_seed(SEED + depth)
    layers = []
    width = 784
    for _ in range(depth):
        layers += [torch.nn.Linear(width, 256), torch.nn.ReLU()]
        width = 256
    layers.append(torch.nn.Linear(width, 10))
    net = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    xt, yt = x[5000:], y[5000:]
    gen = torch.Generator().manual_seed(SEED)
    for epoch in range(EPOCHS):
        order = torch.randperm(xt.shape[0], generator=gen)
        total = 0.0
        for b in range(0, xt.shape[0], BATCH):
            sel = order[b : b + BATCH]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(xt[sel]), yt[sel])
            loss.backward()
            opt.step()
            total += float(loss) * sel.shape[0]
        print(f"  784-256x{depth}-10 epoch {epoch + 1}: loss {total / xt.shape[0]:.4f}", file=sys.stderr)
    with torch.no_grad():
        scale = LOGIT_STD / float(net(xt).std())
        net[-1].weight.mul_(scale)
        net[-1].bias.mul_(scale)
        pred = net(x).argmax(1)
    held = float((pred[:5000] == y[:5000]).float().mean())
    seen = float((pred[5000:] == y[5000:]).float().mean())
    return net, held, seen, scale


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    x, y = load()
    out = sys.argv[1] if len(sys.argv) > 1 else OUT
    os.makedirs(out, exist_ok=True)
    for depth in (4, 6):
        net, held, seen, scale = train(depth, x, y)
        path = os.path.join(out, f"mnistfc-784-256x{depth}-10.onnx")
        torch.onnx.export(
            net.eval(),
            torch.zeros(1, 784),
            path,
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
            opset_version=13,
        )
        print(f"{path}: {os.path.getsize(path)} bytes, accuracy held-out (test 0..4999) {held:.4f}, trained-on (5000..9999) {seen:.4f}, output layer scaled by {scale:.6f}")


if __name__ == "__main__":
    main()
