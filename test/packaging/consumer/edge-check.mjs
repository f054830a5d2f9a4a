// Drives examples/edge/handler.mjs with standard Request objects (as an edge runtime would).
import { readFileSync } from 'node:fs';
import { handleRepair } from './examples/edge/handler.mjs';

const form = (fields) => {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields))
    f.set(k, typeof v === 'string' ? v : new Blob([v.bytes]), typeof v === 'string' ? undefined : v.name);
  return new Request('http://localhost/repair', { method: 'POST', body: f });
};
const model = { name: 'hcas.nnet', bytes: readFileSync('hcas.nnet') };
const points = { name: 'hcas-points.json', bytes: readFileSync('hcas-points.json') };
const out = {};

const res = await handleRepair(form({ model, points }));
const body = await res.formData();
const modelFile = body.get('model');
out.ok = {
  status: res.status,
  type: res.headers.get('content-type'),
  modelName: modelFile.name,
  reportFixed: JSON.parse(await body.get('report').text()).result.fixedPoints,
};
out.model = Buffer.from(await modelFile.arrayBuffer()).toString('base64');

const bad = (r) => r.then(async (x) => ({ status: x.status, body: await x.json() }));
const text = readFileSync('hcas.nnet', 'utf8').split('\n');
text[20] = text[20].replace(/[-0-9.e+]+,/, 'oops,');
out.badModel = await bad(handleRepair(form({ model: { name: 'bad.nnet', bytes: new TextEncoder().encode(text.join('\n')) }, points })));
out.badPoints = await bad(
  handleRepair(form({ model, points: { name: 'p.json', bytes: new TextEncoder().encode('{"points": [[1, 2]], "targetLabel": 4}') } })),
);
out.missing = await bad(handleRepair(form({ model })));
out.get = await bad(handleRepair(new Request('http://localhost/repair')));
process.stdout.write(JSON.stringify(out));
