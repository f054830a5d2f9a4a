#!/usr/bin/python3
"""Test fixtures for graph networks (test/graph-onnx.test.ts), made with Debian's python3-torch
1.13 and python3-onnx (run with /usr/bin/python3 from the repository root):

* test/fixtures/graph/{residual,maxpool}-opset{11..17}.onnx: two small PyTorch models exported at
  every opset from 11 to 17, in float32, and the same models in float64 (`-f64.onnx`). `residual`:
  input normalisation, Conv + BatchNormalization (folded by the exporter), a residual Add followed
  by BatchNormalization, a strided Conv, GlobalAveragePool and AveragePool (count_include_pad=0),
  two `x.view(x.size(0), -1)` (Shape/Gather/Unsqueeze/Concat/Reshape), Concat, Gemm. `maxpool`:
  BatchNormalization first, MaxPool 2×2 and 3×3 (stride 2, padding 1), a dilated grouped Conv,
  ConvTranspose, Clip, Transpose, LeakyRelu (slope 1/8: ONNX stores it as a float32 attribute), Max of two tensors, Slice, Pad (with its pads
  computed by a constant sub-graph), Concat, Gemm.
* test/fixtures/graph/reference.json: for each model, seeded random inputs and the float64
  PyTorch outputs (onnxruntime has no float64 Conv, so the float64 check uses PyTorch).
* test/fixtures/cnn/reference.json: real inputs of the two shared VNN-COMP CNNs (the first MNIST
  test images; the centres of the CIFAR-10 properties' boxes) and their float64 outputs, computed
  by PyTorch modules built from the ONNX initializers.

The weights are random (seeded), the BatchNormalization statistics non-trivial; everything is
deterministic for a given torch build.
"""
import json
import os
import re
import gzip

import numpy as np
import onnx
import onnx.numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GRAPH = os.path.join(ROOT, 'test', 'fixtures', 'graph')
CNN = os.path.join(ROOT, 'test', 'fixtures', 'cnn')
SHARED = os.path.join(ROOT, '..', '..', 'shared', 'data')


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 6, 3, padding=1)
        self.b1 = nn.BatchNorm2d(6)
        self.c2 = nn.Conv2d(6, 6, 3, padding=1, bias=False)
        self.b2 = nn.BatchNorm2d(6)
        self.c3 = nn.Conv2d(6, 8, 3, stride=2, padding=1)
        self.fc1 = nn.Linear(8 * 4 * 4 + 8, 16)
        self.fc2 = nn.Linear(16, 4)
        self.register_buffer('mean', torch.tensor([0.4, 0.5, 0.6]).view(1, 3, 1, 1))

    def forward(self, x):
        x = (x - self.mean) / 0.25
        h = F.relu(self.b1(self.c1(x)))
        h = F.relu(self.b2(h + self.c2(h)))
        h = F.relu(self.c3(h))
        g = F.adaptive_avg_pool2d(h, 1)
        h = F.avg_pool2d(h, 3, stride=1, padding=1, count_include_pad=False)
        h = torch.cat([h.view(h.size(0), -1), g.view(g.size(0), -1)], 1)
        return self.fc2(F.relu(self.fc1(h)))


class MaxPool(nn.Module):
    def __init__(self):
        super().__init__()
        self.b0 = nn.BatchNorm2d(1)
        self.c1 = nn.Conv2d(1, 4, 3)
        self.c2 = nn.Conv2d(4, 8, 3, padding=2, dilation=2, groups=2)
        self.t = nn.ConvTranspose2d(8, 4, 2, stride=2)
        self.fc = nn.Linear(96, 3)

    def forward(self, x):
        h = self.b0(x)
        h = F.max_pool2d(F.relu(self.c1(h)), 2)
        h = F.relu(self.c2(h))
        h = F.max_pool2d(h, 3, stride=2, padding=1)
        u = torch.clamp(self.t(h), -1.0, 2.0)
        v = F.leaky_relu(u.permute(0, 1, 3, 2), 0.125)
        w = torch.max(u, v)
        p = F.pad(w[:, :2], (1, 1, 0, 0))[:, :, :, 1:5]
        z = torch.cat([p.reshape(p.size(0), -1), w.view(w.size(0), -1)], 1)
        return self.fc(z)


def make(cls, seed):
    torch.manual_seed(seed)
    m = cls().eval()
    for b in m.modules():
        if isinstance(b, nn.BatchNorm2d):
            b.running_mean.uniform_(-0.5, 0.5)
            b.running_var.uniform_(0.5, 2.0)
            b.weight.data.uniform_(0.5, 1.5)
            b.bias.data.uniform_(-0.2, 0.2)
    return m


def export(m, shape, path, opset, double):
    x = torch.rand(2, *shape)
    if double:
        m, x = m.double(), x.double()
    torch.onnx.export(m, x, path, opset_version=opset, input_names=['input'], output_names=['logits'],
                      dynamic_axes={'input': {0: 'N'}, 'logits': {0: 'N'}})
    onnx.checker.check_model(onnx.load(path))


def graph_fixtures():
    os.makedirs(GRAPH, exist_ok=True)
    ref = {}
    for name, cls, shape, seed in [('residual', Residual, (3, 8, 8), 1), ('maxpool', MaxPool, (1, 10, 10), 2)]:
        m = make(cls, seed)
        for opset in range(11, 18):
            export(m, shape, os.path.join(GRAPH, f'{name}-opset{opset}.onnx'), opset, False)
            export(make(cls, seed), shape, os.path.join(GRAPH, f'{name}-opset{opset}-f64.onnx'), opset, True)
        g = torch.Generator().manual_seed(100 + seed)
        x = torch.rand(8, *shape, generator=g, dtype=torch.float64) * 2 - 0.5
        with torch.no_grad():
            y = make(cls, seed).double()(x)
        ref[name] = {'shape': list(shape), 'inputs': x.reshape(8, -1).tolist(), 'outputs': y.tolist()}
    with open(os.path.join(GRAPH, 'reference.json'), 'w') as f:
        json.dump(ref, f)


def torch_from_onnx(path):
    """The two shared CNNs as float64 PyTorch modules built from their initializers."""
    model = onnx.load(path)
    w = {t.name: torch.from_numpy(onnx.numpy_helper.to_array(t).astype(np.float64)) for t in model.graph.initializer}
    ops = [(n.op_type, list(n.input), {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}) for n in model.graph.node]

    def forward(x):
        for op, inputs, a in ops:
            if op == 'Conv':
                p = a.get('pads', [0, 0, 0, 0])
                assert p[0] == p[2] and p[1] == p[3]
                x = F.conv2d(x, w[inputs[1]], w[inputs[2]], stride=a['strides'], padding=(p[0], p[1]), dilation=a['dilations'],
                             groups=a['group'])
            elif op == 'Relu':
                x = F.relu(x)
            elif op == 'Pad':
                assert not any(a['pads'])
            elif op == 'AveragePool':
                assert not any(a['pads'])
                x = F.avg_pool2d(x, a['kernel_shape'], stride=a['strides'])
            elif op == 'Flatten':
                x = x.reshape(x.shape[0], -1)
            elif op == 'Gemm':
                assert a.get('transB') == 1 and a.get('alpha', 1.0) == 1.0 and a.get('beta', 1.0) == 1.0
                x = x @ w[inputs[1]].T + w[inputs[2]]
            else:
                raise ValueError(op)
        return x
    return forward


def mnist_images(count):
    with gzip.open(os.path.join(SHARED, 'mnist', 't10k-images-idx3-ubyte.gz')) as f:
        data = np.frombuffer(f.read(), dtype=np.uint8, offset=16)
    return data[:count * 784].reshape(count, 784).astype(np.float64) / 255.0


def box_centre(path):
    lo, hi = {}, {}
    for m in re.finditer(r'\(assert \((<=|>=) X_(\d+) ([-+0-9.eE]+)\)\)', open(path).read()):
        (hi if m.group(1) == '<=' else lo)[int(m.group(2))] = float(m.group(3))
    n = len(lo)
    return [(lo[i] + hi[i]) / 2 for i in range(n)]


def cnn_fixtures():
    ref = {}
    verivital = torch_from_onnx(os.path.join(CNN, 'Convnet_avgpool.onnx'))
    x = mnist_images(10)
    with torch.no_grad():
        y = verivital(torch.from_numpy(x).reshape(10, 1, 28, 28))
    ref['Convnet_avgpool'] = {'shape': [1, 28, 28], 'inputs': x.tolist(), 'outputs': y.tolist(), 'inputsFrom': 'MNIST test images 0-9'}
    cifar = torch_from_onnx(os.path.join(CNN, 'cifar_base_kw.onnx'))
    props = sorted(p for p in os.listdir(os.path.join(SHARED, 'cnn', 'oval21')) if p.endswith('.vnnlib'))[:3]
    x = np.array([box_centre(os.path.join(SHARED, 'cnn', 'oval21', p)) for p in props])
    with torch.no_grad():
        y = cifar(torch.from_numpy(x).reshape(len(props), 3, 32, 32))
    ref['cifar_base_kw'] = {'shape': [3, 32, 32], 'inputs': x.tolist(), 'outputs': y.tolist(), 'inputsFrom': props}
    with open(os.path.join(CNN, 'reference.json'), 'w') as f:
        json.dump(ref, f)


if __name__ == '__main__':
    graph_fixtures()
    cnn_fixtures()
