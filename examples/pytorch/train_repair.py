#!/usr/bin/python3
"""From PyTorch and back: train a small MLP on MNIST, export it to ONNX the usual ways, repair its
failures with relu-repair, and evaluate the repaired ONNX model on held-out data.

    /usr/bin/python3 examples/pytorch/train_repair.py [--work DIR] [--cli "node dist/cli.js"] [--limit 5]

Needs torch, onnx and numpy (Debian: apt-get install python3-torch python3-onnx python3-numpy) and
the relu-repair CLI (`relu-repair` on PATH, or `node dist/cli.js` in a built checkout, or --cli).
The repaired ONNX model is run with onnxruntime when Python has it, else with the small NumPy
interpreter below (the exported graph uses Gemm, MatMul, Add, Sub, Mul, Relu, Flatten).

The repository ships only the MNIST *test* set (test/fixtures/mnist): the first 8,000 images train
the model (a few seconds, seeded), the last 2,000 are held out. Steps:

1. train 784-64-10 with a fixed seed, deterministic kernels and one thread;
2. export four ONNX files: opsets 13 and 17, the input flattened by nn.Flatten or by
   x.view(x.size(0), -1), each with a dynamic batch axis;
3. per export: relu-repair find-failures (held-out failures as a points file, true labels) ->
   repair (each failure's whole linear region, minimal patches) -> compare (accuracy before/after,
   flipped predictions, changed outputs, per-class SVG chart) -> export-model (repaired ONNX);
4. load the repaired ONNX back and evaluate it on the held-out set, checking it against the
   CLI's own figures.

x.view(x.size(0), -1) with a dynamic batch exports a shape computation (Shape -> Gather ->
Unsqueeze -> Concat -> Reshape); the ONNX importer folds it to a constant reshape. An export that
fails is reported with its reason and the others go on.
"""
import argparse
import gzip
import json
import os
import shlex
import shutil
import subprocess
import sys
import time

import numpy as np
import onnx
import torch
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, '..', '..'))
MNIST = os.path.join(REPO, 'test', 'fixtures', 'mnist')
TRAIN = 8000  # the first 8,000 test images train; the rest are held out


def read_idx(path):
    """IDX (optionally gzip) as a numpy array."""
    with (gzip.open if path.endswith('.gz') else open)(path, 'rb') as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(dims)]
    assert data[2] == 0x08, 'uint8 IDX expected'
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


class FlattenMLP(torch.nn.Module):
    """The input flattened by nn.Flatten (ONNX: Flatten)."""

    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)


class ViewMLP(torch.nn.Module):
    """The same weights, flattened with x.view(x.size(0), -1) (ONNX: a shape computation + Reshape)."""

    def __init__(self, flat):
        super().__init__()
        self.fc1, self.fc2 = flat.net[1], flat.net[3]

    def forward(self, x):
        x = x.view(x.size(0), -1)
        return self.fc2(torch.relu(self.fc1(x)))


def train(images, labels, epochs, log):
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    model = FlattenMLP()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.from_numpy(images[:TRAIN].astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    y = torch.from_numpy(labels[:TRAIN].astype(np.int64))
    g = torch.Generator().manual_seed(0)
    t0 = time.time()
    for epoch in range(epochs):
        order = torch.randperm(TRAIN, generator=g)
        for i in range(0, TRAIN, 64):
            idx = order[i:i + 64]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
    model.eval()
    log(f'trained 784-64-10 on {TRAIN} images, {epochs} epochs, {time.time() - t0:.1f} s (seed 0, deterministic)')
    return model


def export(model, path, opset):
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), path, opset_version=opset, input_names=['input'], output_names=['logits'],
                      dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}})
    onnx.checker.check_model(onnx.load(path))


# ---- evaluating an ONNX graph without onnxruntime --------------------------------------------
def run_numpy(path, x):
    """Evaluates the ONNX graph at `path` on x with NumPy (float64), for the ops relu-repair exports."""
    m = onnx.load(path)
    g = m.graph
    env = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in g.initializer}
    env[g.input[0].name] = x.astype(np.float64)
    for n in g.node:
        a = {at.name: onnx.helper.get_attribute_value(at) for at in n.attribute}
        i = [env[name] for name in n.input if name]
        if n.op_type == 'Gemm':
            A = i[0].T if a.get('transA', 0) else i[0]
            B = i[1].T if a.get('transB', 0) else i[1]
            y = a.get('alpha', 1.0) * (A @ B)
            if len(i) > 2:
                y = y + a.get('beta', 1.0) * i[2]
        elif n.op_type == 'MatMul':
            y = i[0] @ i[1]
        elif n.op_type in ('Add', 'Sub', 'Mul'):
            y = {'Add': np.add, 'Sub': np.subtract, 'Mul': np.multiply}[n.op_type](i[0], i[1])
        elif n.op_type == 'Relu':
            y = np.maximum(i[0], 0.0)
        elif n.op_type == 'Flatten':
            axis = a.get('axis', 1)
            y = i[0].reshape(int(np.prod(i[0].shape[:axis])), -1)
        elif n.op_type == 'Identity':
            y = i[0]
        elif n.op_type == 'Constant':
            y = numpy_helper.to_array(a['value']).astype(np.float64)
        else:
            raise RuntimeError(f'{path}: the NumPy evaluator has no {n.op_type} (node {n.name})')
        env[n.output[0]] = y
    return env[g.output[0].name]


def run_onnx(path, x):
    """onnxruntime when Python has it, else the NumPy evaluator; returns (outputs, engine name)."""
    try:
        import onnxruntime as ort
    except ImportError:
        return run_numpy(path, x), 'numpy'
    s = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    t = s.get_inputs()[0].type
    return s.run(None, {s.get_inputs()[0].name: x.astype(np.float64 if 'double' in t else np.float32)})[0].astype(np.float64), 'onnxruntime'


# ---- the CLI ------------------------------------------------------------------------------------
def find_cli(arg):
    if arg:
        return shlex.split(arg)
    if os.environ.get('RELU_REPAIR_CLI'):
        return shlex.split(os.environ['RELU_REPAIR_CLI'])
    if shutil.which('relu-repair'):
        return ['relu-repair']
    built = os.path.join(REPO, 'dist', 'cli.js')
    if os.path.exists(built):
        return ['node', built]
    sys.exit('relu-repair CLI not found: install it (npm install -g relu-repair), build this checkout (npm run build), or pass --cli')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--work', default=os.path.join(REPO, 'examples', 'pytorch', 'out'), help='folder for the models and results')
    ap.add_argument('--cli', help='how to run relu-repair (default: relu-repair on PATH, else node dist/cli.js)')
    ap.add_argument('--limit', type=int, default=5, help='failures to repair per export (default 5)')
    ap.add_argument('--epochs', type=int, default=2)
    ap.add_argument('--json', help='also write a summary of every export as JSON here')
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    cli = find_cli(args.cli)
    log = lambda s: print(s, flush=True)  # noqa: E731

    def relu_repair(*a):
        r = subprocess.run(cli + list(a), capture_output=True, text=True)
        return r.returncode, r.stdout, r.stderr

    images = read_idx(os.path.join(MNIST, 't10k-images-idx3-ubyte.gz'))
    labels = read_idx(os.path.join(MNIST, 't10k-labels-idx1-ubyte.gz'))
    held_x = os.path.join(args.work, 'heldout-images.npy')
    held_y = os.path.join(args.work, 'heldout-labels.npy')
    np.save(held_x, images[TRAIN:])  # uint8: the CLI scales by 1/255, as ToTensor does
    np.save(held_y, labels[TRAIN:])
    model = train(images, labels, args.epochs, log)
    x_held = images[TRAIN:].astype(np.float64).reshape(-1, 1, 28, 28) / 255.0
    y_held = labels[TRAIN:].astype(np.int64)
    with torch.no_grad():
        torch_pred = model(torch.from_numpy(x_held.astype(np.float32))).argmax(1).numpy()
    log(f'held-out accuracy in PyTorch: {100 * np.mean(torch_pred == y_held):.2f} % ({len(y_held)} images)')

    variants = [('flatten', FlattenMLP, 13), ('flatten', FlattenMLP, 17), ('view', ViewMLP, 13), ('view', ViewMLP, 17)]
    summary = []
    for kind, _, opset in variants:
        name = f'{kind}-opset{opset}'
        onnx_path = os.path.join(args.work, f'mlp-{name}.onnx')
        export(model if kind == 'flatten' else ViewMLP(model), onnx_path, opset)
        ops = [n.op_type for n in onnx.load(onnx_path).graph.node]
        log(f'\n== {name}: exported {os.path.basename(onnx_path)} ({" ".join(ops)})')
        entry = {'export': name, 'ops': ops}
        failures = os.path.join(args.work, f'failures-{name}.json')
        code, out, err = relu_repair('find-failures', '--model', onnx_path, '--data', held_x, '--labels', held_y, '--limit', str(args.limit), '--out', failures)
        if code != 0:
            entry.update(status='not imported', exit=code, reason=err.strip())
            log('FAILED: ' + err.strip())
            summary.append(entry)
            continue
        log(err.strip())
        fdoc = json.load(open(failures))
        repaired = os.path.join(args.work, f'repaired-{name}.json')
        report = os.path.join(args.work, f'report-{name}.json')
        code, out, err = relu_repair('repair', '--model', onnx_path, '--points', failures, '--out', repaired, '--report', report)
        log(err.strip())
        if code != 0:
            entry.update(status='repair failed', exit=code, reason=err.strip())
            summary.append(entry)
            continue
        cmp_json = os.path.join(args.work, f'compare-{name}.json')
        plot = os.path.join(args.work, f'compare-{name}.svg')
        code, out, err = relu_repair('compare', '--model', onnx_path, '--repaired', repaired, '--data', held_x, '--labels', held_y, '--out', cmp_json, '--plot', plot)
        log(out.strip())
        if code != 0:
            entry.update(status='compare failed', exit=code, reason=err.strip())
            summary.append(entry)
            continue
        repaired_onnx = os.path.join(args.work, f'repaired-{name}.onnx')
        # The repaired network as one ONNX graph with the original's input shape (N, 1, 28, 28).
        code, out, err = relu_repair('export-model', '--model', repaired, '--out', repaired_onnx, '--input-shape', '1,28,28')
        log(err.strip())
        if code != 0:
            entry.update(status='export failed', exit=code, reason=err.strip())
            summary.append(entry)
            continue
        # Back in Python: the repaired ONNX model on the held-out set.
        y_onnx, engine = run_onnx(repaired_onnx, x_held)
        pred = y_onnx.argmax(1)
        cmp = json.load(open(cmp_json))
        fixed = [int(i) for i in fdoc['indices'] if pred[i] == y_held[i]]
        acc = float(np.mean(pred == y_held))
        log(f'repaired ONNX in {engine}: held-out accuracy {100 * acc:.2f} % '
            f'(relu-repair compare: {100 * cmp["accuracy"]["after"]:.2f} %); {len(fixed)}/{len(fdoc["indices"])} repaired failures now right; '
            f'predictions differ from PyTorch on {int(np.sum(pred != torch_pred))} images')
        entry.update(status='repaired', failures=fdoc['failures'], repairedPoints=len(fdoc['indices']), fixedInOnnx=len(fixed),
                     accuracyTorch=float(np.mean(torch_pred == y_held)), accuracyBefore=cmp['accuracy']['before'],
                     accuracyAfterCli=cmp['accuracy']['after'], accuracyAfterOnnx=acc, engine=engine,
                     changedOutputs=cmp['outputChanges']['changed'], rightToWrong=len(cmp['predictions']['rightToWrong']),
                     predictionsDifferFromTorch=int(np.sum(pred != torch_pred)), repairedOnnx=repaired_onnx, plot=plot)
        summary.append(entry)

    log('\n== summary')
    for e in summary:
        if e['status'] == 'repaired':
            log(f"{e['export']:16} repaired {e['repairedPoints']} of {e['failures']} held-out failures; accuracy "
                f"{100 * e['accuracyBefore']:.2f} % -> {100 * e['accuracyAfterOnnx']:.2f} % (repaired ONNX, {e['engine']})")
        else:
            log(f"{e['export']:16} {e['status']}")
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(summary, f, indent=1)
    ok = all(e['status'] == 'repaired' for e in summary)
    sys.exit(0 if ok else 1)


if __name__ == '__main__':
    main()
