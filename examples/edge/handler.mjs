// An edge-function-style handler: a Request with a model and points in, a Response with the
// repaired model and the report out. Standard Request/Response/FormData only, so the same
// handler runs in Node (tested), Deno (`Deno.serve(handleRepair)`), Bun and edge runtimes
// (there, import 'relu-repair/slim' and pass the wasm: `await init({ wasm })`).
//
// POST multipart/form-data
//   model   file: .nnet or relu-repair .json network
//   points  file or text: a points file ({ points, targetLabel | labels, inputBox? })
//   label   optional: the label every point must get (overrides the points file)
// 200  multipart/form-data: "model" (the repaired network, see serializeRepaired) + "report" (JSON)
// 422  application/json report: some point could not be fixed (no model)
// 400  application/json { error, file, field }: bad input, nothing repaired
import { float32BandError, InputError, init, parseModel, parsePoints, ReluRepairError, repair, repairedToOnnx } from 'relu-repair';

/**
 * The one place that turns a repaired network into the response's model file: one standard ONNX
 * graph (original + patch networks). float32 unless float32 cannot resolve the patch bands of
 * this model (inputs far larger than the radii, as in HCAS), then float64 (ONNX DOUBLE).
 */
export function serializeRepaired(network) {
  const precision = float32BandError(network).some((e) => e > 1e-2) ? 'float64' : 'float32';
  return { name: 'repaired.onnx', type: 'application/onnx', bytes: repairedToOnnx(network, { precision }), precision };
}

const json = (status, body) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

async function field(form, name, required) {
  const v = form.get(name);
  if (v === null) {
    if (required) throw new InputError(`missing form field "${name}"`, { field: name });
    return undefined;
  }
  return typeof v === 'string'
    ? { name, bytes: new TextEncoder().encode(v) }
    : { name: v.name || name, bytes: new Uint8Array(await v.arrayBuffer()) };
}

export async function handleRepair(request, opts = {}) {
  if (request.method !== 'POST') return json(405, { error: 'POST a multipart form with "model" and "points"' });
  try {
    await init();
    let form;
    try {
      form = await request.formData();
    } catch (e) {
      throw new InputError(`the body is not multipart/form-data: ${e.message}`, { field: 'body' });
    }
    const model = await field(form, 'model', true);
    const pointsFile = await field(form, 'points', true);
    const net = parseModel(model.name, model.bytes);
    let doc;
    try {
      doc = JSON.parse(new TextDecoder().decode(pointsFile.bytes));
    } catch (e) {
      throw new InputError(`is not valid JSON: ${e.message}`, { file: pointsFile.name });
    }
    const pts = parsePoints(doc, net.inputSize, net.outputSize, pointsFile.name);
    const labelText = form.get('label');
    const labels = labelText !== null ? Number(labelText) : pts.labels;
    const { network, report } = await repair(net, {
      points: pts.points,
      labels,
      inputBox: pts.inputBox,
      signal: opts.signal ?? request.signal,
    });
    if (report.result.status === 'failed') return json(422, report);
    const out = serializeRepaired(network);
    const body = new FormData();
    body.set('model', new Blob([out.bytes], { type: out.type }), out.name);
    body.set('report', new Blob([JSON.stringify(report)], { type: 'application/json' }), 'report.json');
    return new Response(body, { status: 200 });
  } catch (e) {
    if (e instanceof InputError) return json(400, { error: e.message, file: e.file, field: e.field });
    if (e instanceof ReluRepairError) return json(500, { error: e.message, code: e.code });
    throw e;
  }
}

export default { fetch: handleRepair };
