#!/usr/bin/python3
"""The head-repair fixture (test/head-repair.test.ts): an MNIST classifier whose feature
extractor is not piecewise linear, followed by a ReLU head.

    input [N, 1, 28, 28] -> Conv 4x4/4 (4 channels) -> Sigmoid -> Flatten -> Linear(196, 16)
                         -> Tanh = "latent" [N, 16]
    latent -> Linear(16, 32) -> ReLU -> Linear(32, 32) -> ReLU -> Linear(32, 10) = "logits"

Head repair starts at the tensor "latent" (`--from latent`): the prefix (Conv, Sigmoid, Tanh) is a
fixed feature extractor, the tail a piecewise-linear network of 16 inputs.

Trained deterministically (fixed seed, one thread, deterministic algorithms) on MNIST test images
5000..9999 (the only MNIST data in the repository), inputs fround(pixel / 255); the images 0..4999
are held out, so its mistakes there are genuine. Writes

* test/fixtures/head/sigmoid-head.onnx: float32, opset 13, dynamic batch, the latent tensor
  renamed "latent" (the exporter's name is an implementation detail of torch);
* test/fixtures/head/reference.json: the first 8 held-out images' latent points and logits
  computed by PyTorch in float64 from the same float32 weights (the prefix evaluator's oracle),
  the held-out accuracy, and the first 20 misclassified held-out images.

    /usr/bin/python3 scripts/make-head-fixture.py [OUTDIR]

Needs Debian's python3-torch (1.13), python3-onnx and python3-numpy.
"""
import gzip
import json
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
MNIST = os.path.join(ROOT, "test", "fixtures", "mnist")
OUT = os.path.join(ROOT, "test", "fixtures", "head")
SEED = 20261
EPOCHS = 12
BATCH = 50
LR = 3e-3


def idx(path, header):
    with gzip.open(path, "rb") as f:
        data = f.read()
    return np.frombuffer(data, dtype=np.uint8, offset=header)


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 4, stride=4)
        self.fc0 = nn.Linear(196, 16)
        self.fc1 = nn.Linear(16, 32)
        self.fc2 = nn.Linear(32, 32)
        self.fc3 = nn.Linear(32, 10)

    def latent(self, x):
        return torch.tanh(self.fc0(torch.flatten(torch.sigmoid(self.conv(x)), 1)))

    def forward(self, x):
        h = torch.relu(self.fc1(self.latent(x)))
        return self.fc3(torch.relu(self.fc2(h)))


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(SEED)
    out = sys.argv[1] if len(sys.argv) > 1 else OUT
    os.makedirs(out, exist_ok=True)
    x = idx(os.path.join(MNIST, "t10k-images-idx3-ubyte.gz"), 16).reshape(10000, 1, 28, 28)
    y = torch.tensor(idx(os.path.join(MNIST, "t10k-labels-idx1-ubyte.gz"), 8).astype(np.int64))
    x = torch.tensor(x.astype(np.float32) / np.float32(255.0))
    net = Head()
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    xt, yt = x[5000:], y[5000:]
    gen = torch.Generator().manual_seed(SEED)
    for epoch in range(EPOCHS):
        order = torch.randperm(xt.shape[0], generator=gen)
        for b in range(0, xt.shape[0], BATCH):
            sel = order[b : b + BATCH]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(xt[sel]), yt[sel]).backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        pred = net(x[:5000]).argmax(1)
    held = float((pred == y[:5000]).float().mean())
    wrong = [int(i) for i in torch.nonzero(pred != y[:5000]).flatten()[:20]]

    path = os.path.join(out, "sigmoid-head.onnx")
    torch.onnx.export(
        net, torch.zeros(1, 1, 28, 28), path, input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, opset_version=13,
    )
    # Name the Tanh output "latent" wherever it appears.
    model = onnx.load(path)
    tanh = [n for n in model.graph.node if n.op_type == "Tanh"]
    assert len(tanh) == 1
    old = tanh[0].output[0]
    for n in model.graph.node:
        n.input[:] = ["latent" if i == old else i for i in n.input]
        n.output[:] = ["latent" if o == old else o for o in n.output]
    onnx.checker.check_model(model)
    onnx.save(model, path)

    double = Head().double()
    double.load_state_dict({k: v.double() for k, v in net.state_dict().items()})
    with torch.no_grad():
        xs = x[:8].double()
        ref = {
            "inputs": xs.reshape(8, -1).tolist(),
            "latent": double.latent(xs).tolist(),
            "logits": double(xs).tolist(),
            "heldOutAccuracy": held,
            "firstMisclassified": wrong,
            "labels": [int(v) for v in y[wrong]],
        }
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(ref, f)
    print(f"{path}: {os.path.getsize(path)} bytes, held-out accuracy {held:.4f}, first misclassified {wrong}")


if __name__ == "__main__":
    main()
