/**
 * What the importers say about an activation that is not piecewise linear. Only piecewise-linear
 * (ReLU) networks can be repaired: their linear regions are what the method patches. At the
 * output head a monotone squashing (Softmax, Sigmoid, ...) does not change the argmax, so the
 * logits are the network to repair; inside the network there is no such way out.
 */
const SMOOTH = new Set([
  'softmax',
  'logsoftmax',
  'sigmoid',
  'tanh',
  'softplus',
  'softsign',
  'elu',
  'selu',
  'celu',
  'gelu',
  'swish',
  'mish',
  'silu',
  'exp',
]);
/** Monotone per class, so the argmax of the logits is the argmax of the outputs. */
const ARGMAX_PRESERVING = new Set(['softmax', 'logsoftmax', 'sigmoid', 'tanh']);

/**
 * A parenthesised hint for an unsupported activation `op` (ONNX op type or Keras name), or ''.
 * `named: false` leaves the op's name out of the opening words (when the message shows it already).
 */
export function activationHint(op: string, atOutputHead: boolean, opts: { named?: boolean } = {}): string {
  const o = op.toLowerCase();
  if (!SMOOTH.has(o)) return '';
  const open = opts.named === false ? ' (not piecewise linear' : ` (${op} is not piecewise linear`;
  if (atOutputHead && ARGMAX_PRESERVING.has(o))
    return `${open}: export the logits, i.e. the model without its final ${op}; the argmax is the same)`;
  return `${open}: only piecewise-linear networks (ReLU activations) are supported; a ${op} ${atOutputHead ? 'output' : 'hidden layer'} cannot be repaired by this method)`;
}
