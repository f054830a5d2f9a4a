#!/usr/bin/python3
"""An evaluator of exported ONNX files that shares no code with relu-repair (nor with onnxruntime):
the graph is walked node by node in float64 with numpy, and uniform samples of a VNN-LIB property's
input box are checked against its unsafe output set (issue 10: "200,000 uniform box samples, 0
violating, independent float64 evaluation of the exported ONNX").

The VNN-LIB reader is this file's own: input bounds `(assert (<= X_i c))` / `(>= X_i c)` and an
unsafe set of output comparisons `(<= Y_i Y_j)`, `(<= Y_i c)` (and `>=`), a conjunction or an
`(or (and ...) ...)` of them, which is what the ACAS Xu properties use. A sample violates when its
output lies deeper than `--depth` (default 1e-8) inside one disjunct of the unsafe set (the smallest
slack of the disjunct's rows is > depth).

Usage: /usr/bin/python3 bench/onnx-samples.py model.onnx prop.vnnlib [--samples N] [--seed S]
       [--chunk N] [--depth D] [--compare original.onnx --far N]
prints one JSON object. With --compare, N points outside the bands (more than --radius beyond a face
of the box, within half its width) are also evaluated on both files and compared bit for bit.
Needs the Debian packages python3-onnx and python3-numpy.
"""
import argparse
import json
import re
import sys
import time

import numpy as np
import onnx
from onnx import numpy_helper


def parse_sexprs(text):
    text = re.sub(r';[^\n]*', '', text)
    tokens = re.findall(r'\(|\)|[^\s()]+', text)
    stack, out = [], []
    for t in tokens:
        if t == '(':
            stack.append([])
        elif t == ')':
            e = stack.pop()
            (stack[-1] if stack else out).append(e)
        else:
            (stack[-1] if stack else out).append(t)
    return out


def read_vnnlib(path):
    """Input box (lower, upper) and the unsafe set: a list of disjuncts, each a list of rows (a, c) meaning a·y <= c."""
    lower, upper, unsafe = {}, {}, None
    n_out = 0

    def term(t):
        m = re.fullmatch(r'([XY])_(\d+)', t)
        return (m.group(1), int(m.group(2))) if m else ('c', float(t))

    def row(e):
        nonlocal n_out
        op, l, r = e[0], term(e[1]), term(e[2])
        if op == '>=':
            l, r = r, l
        elif op != '<=':
            raise ValueError(f'{path}: unsupported comparison {op}')
        # l <= r  as  a·y <= c
        a, c = {}, 0.0
        for (kind, v), s in ((l, 1.0), (r, -1.0)):
            if kind == 'Y':
                a[v] = a.get(v, 0.0) + s
                n_out = max(n_out, v + 1)
            elif kind == 'c':
                c -= s * v
            else:
                raise ValueError(f'{path}: an input in an output constraint')
        return a, c

    def disjuncts(e):
        if e[0] == 'or':
            return [d for x in e[1:] for d in disjuncts(x)]
        if e[0] == 'and':
            rows = []
            for x in e[1:]:
                ds = disjuncts(x)
                if len(ds) != 1:
                    raise ValueError(f'{path}: an or inside an and')
                rows += ds[0]
            return [rows]
        return [[row(e)]]

    for e in parse_sexprs(open(path).read()):
        if e[0] != 'assert':
            continue
        body = e[1]
        if body[0] in ('<=', '>=') and any(isinstance(t, str) and t.startswith('X_') for t in body[1:]):
            (k1, v1), (k2, v2) = term(body[1]), term(body[2])
            if k1 == 'X' and k2 == 'c':
                (upper if body[0] == '<=' else lower)[v1] = v2
            elif k2 == 'X' and k1 == 'c':
                (lower if body[0] == '<=' else upper)[v2] = v1
            else:
                raise ValueError(f'{path}: unsupported input constraint {body}')
        else:
            ds = disjuncts(body)
            unsafe = ds if unsafe is None else [a + b for a in unsafe for b in ds]
    n = max(lower) + 1
    lo = np.array([lower[i] for i in range(n)])
    hi = np.array([upper[i] for i in range(n)])
    rows = [[(np.array([a.get(o, 0.0) for o in range(n_out)]), c) for a, c in d] for d in unsafe]
    return lo, hi, rows


class Graph:
    """The ONNX graph, evaluated in float64 node by node (each intermediate freed after its last use)."""

    def __init__(self, path):
        m = onnx.load(path)
        g = m.graph
        self.init = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in g.initializer}
        self.input = [i.name for i in g.input if i.name not in self.init][0]
        self.output = g.output[0].name
        self.nodes = list(g.node)
        self.last = {}
        for k, nd in enumerate(self.nodes):
            for i in nd.input:
                self.last[i] = k
        self.ops = sorted({nd.op_type for nd in self.nodes})

    def run(self, x):
        env = {self.input: x}
        get = lambda name: env[name] if name in env else self.init[name]
        for k, nd in enumerate(self.nodes):
            a = {at.name: onnx.helper.get_attribute_value(at) for at in nd.attribute}
            ins = [get(i) for i in nd.input if i != '']
            op = nd.op_type
            if op == 'Flatten':
                ax = a.get('axis', 1)
                y = ins[0].reshape(int(np.prod(ins[0].shape[:ax])), -1)
            elif op == 'Gemm':
                A, B = ins[0], ins[1]
                if a.get('transA', 0):
                    A = A.T
                if a.get('transB', 0):
                    B = B.T
                y = a.get('alpha', 1.0) * (A @ B)
                if len(ins) > 2:
                    y = y + a.get('beta', 1.0) * ins[2]
            elif op == 'MatMul':
                y = ins[0] @ ins[1]
            elif op == 'Add':
                y = ins[0] + ins[1]
            elif op == 'Sub':
                y = ins[0] - ins[1]
            elif op == 'Mul':
                y = ins[0] * ins[1]
            elif op == 'Div':
                y = ins[0] / ins[1]
            elif op == 'Neg':
                y = -ins[0]
            elif op == 'Relu':
                y = np.maximum(ins[0], 0.0)
            elif op == 'Min':
                y = ins[0]
                for t in ins[1:]:
                    y = np.minimum(y, t)
            elif op == 'Max':
                y = ins[0]
                for t in ins[1:]:
                    y = np.maximum(y, t)
            elif op == 'Identity':
                y = ins[0]
            elif op == 'Reshape':
                y = ins[0].reshape([int(v) if v != 0 else ins[0].shape[i] for i, v in enumerate(ins[1])])
            else:
                raise ValueError(f'unsupported ONNX op {op} (node {nd.name})')
            env[nd.output[0]] = y
            for i in nd.input:
                if self.last.get(i) == k and i != self.output and i in env:
                    del env[i]
        return env[self.output].reshape(x.shape[0], -1)


def depth(y, unsafe):
    """Per row of y: the largest over disjuncts of the smallest slack c − a·y (> 0: strictly inside)."""
    best = np.full(y.shape[0], -np.inf)
    for d in unsafe:
        s = np.full(y.shape[0], np.inf)
        for a, c in d:
            s = np.minimum(s, c - y @ a)
        best = np.maximum(best, s)
    return best


def main():
    p = argparse.ArgumentParser()
    p.add_argument('model')
    p.add_argument('vnnlib')
    p.add_argument('--samples', type=int, default=200_000)
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--chunk', type=int, default=50_000)
    p.add_argument('--depth', type=float, default=1e-8)
    p.add_argument('--compare')
    p.add_argument('--far', type=int, default=0)
    p.add_argument('--radius', type=float, default=0.0)
    o = p.parse_args()
    lo, hi, unsafe = read_vnnlib(o.vnnlib)
    t0 = time.time()
    g = Graph(o.model)
    shape_tail = [1, 1, len(lo)]
    rng = np.random.default_rng(o.seed)
    t1 = time.time()
    violating, deepest, done = 0, -np.inf, 0
    while done < o.samples:
        c = min(o.chunk, o.samples - done)
        x = lo + (hi - lo) * rng.random((c, len(lo)))
        y = g.run(x.reshape([c] + shape_tail))
        d = depth(y, unsafe)
        violating += int(np.sum(d > o.depth))
        deepest = max(deepest, float(d.max()))
        done += c
    out = {
        'model': o.model,
        'ops': g.ops,
        'nodes': len(g.nodes),
        'samples': o.samples,
        'violating': violating,
        'deepestDepth': deepest,
        'loadSeconds': round(t1 - t0, 2),
        'samplesSeconds': round(time.time() - t1, 2),
    }
    if o.compare and o.far > 0:
        h = Graph(o.compare)
        w = hi - lo
        pts = []
        while len(pts) < o.far:
            x = lo - 0.5 * w + 2 * w * rng.random((o.far, len(lo)))
            out_band = np.any((x < lo - o.radius) | (x > hi + o.radius), axis=1)
            pts.extend(x[out_band])
        x = np.array(pts[: o.far])
        a = g.run(x.reshape([o.far] + shape_tail))
        b = h.run(x.reshape([o.far] + shape_tail))
        out['farPoints'] = o.far
        out['farPointsNotBitIdentical'] = int(np.sum(np.any(a.view(np.int64) != b.view(np.int64), axis=1)))
    print(json.dumps(out))


if __name__ == '__main__':
    sys.exit(main())
