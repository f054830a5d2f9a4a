/**
 * The demo job, as data (`relu-repair/demo`, a separate module so that the main bundles stay
 * small): the HCAS collision-avoidance network `HCAS_rect_v6_pra1_tau05_25HU_3000.nnet` and its
 * 50 known counterexamples (label 4 = strong right must win). See test/fixtures/PROVENANCE.md.
 */

import points from '../test/fixtures/hcas/buggy-points-pra1-tau05.json' with { type: 'json' };
import modelText from '../test/fixtures/hcas/HCAS_rect_v6_pra1_tau05_25HU_3000.nnet';

export const HCAS_DEMO = {
  modelName: 'HCAS_rect_v6_pra1_tau05_25HU_3000.nnet',
  /** The .nnet file's text (parse with `parseNnet(text, name)` or `parseModel(name, bytes)`). */
  modelText: modelText as string,
  pointsName: 'buggy-points-pra1-tau05.json',
  /** The points file (`parsePoints(doc, 3, 5)`): points, targetLabel 4, inputBox. */
  points: points as unknown,
  advisories: ['COC', 'WL', 'WR', 'SL', 'SR'] as const,
};
