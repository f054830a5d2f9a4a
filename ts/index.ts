/**
 * relu-repair: provable repair of ReLU networks (REASSURE, Fu & Li, ICLR 2022).
 *
 *   import { init, loadModel, repair } from 'relu-repair';
 *   await init();
 *   const net = await loadModel('model.nnet');
 *   const { network, report } = await repair(net, { points, labels: 4, inputBox });
 */
export { init, simdSupported, getCore, type Flavour, type InitOptions, type WasmSource } from './wasm/raw.js';
export { Network, type DenseLayer, type Box, type NetworkInfo, type Points, expandBox } from './network.js';
export { LinearRegion, slackExcess, type RegionMax, type ConstantPatchResult, type MinimalityProof, type InputSet } from './region.js';
export { type PatchNetwork, type RegionPatch, type PatchRegionInfo, type SupportRows, patternHex, patternFromHex } from './patch.js';
export { RepairedNetwork, type BoxGate, type Composition } from './repaired.js';
export { repair, type RepairOptions, type RepairResult, type RepairProgress } from './repair.js';
export { solveRegion, type RegionTask, type RegionOutcome, type RegionTiming } from './region-job.js';
export { defaultRadius } from './repair-options.js';
export type { RepairReport, RegionReport, PatchedRegionReport } from './report.js';
export { labelSpec, polytopeSpec, intersectSpecs, specViolation, describeSpec, parseSpecJson, type Spec } from './spec.js';
export { parseNnet, type NnetHeader } from './formats/nnet.js';
export { networkFromJson, networkToJson, repairedFromJson, repairedToJson, NETWORK_FORMAT, REPAIRED_FORMAT } from './formats/json.js';
export { parsePoints, type PointsFile } from './formats/points.js';
export { parseNpy, type NpyArray } from './formats/npy.js';
export { parseIdx, maybeGunzip, type IdxArray } from './formats/idx.js';
export { parseModel, loadModel } from './formats/load.js';
export { saveJson, loadRepaired } from './io.js';
export { GlpkBackend } from './lp/glpk.js';
export { HighsBackend } from './lp/highs.js';
export { backendByName, LP_NAMES, type LpName } from './lp/select.js';
export { buildFullPatchLp, type RegionData, type FullLp } from './lp/full-lp.js';
export type { LpBackend, SparseLp, LpSolution } from './lp/backend.js';
export { ReluRepairError, InputError, LpError, WasmError, RepairError, AbortError } from './errors.js';
export { VERSION } from './version.js';
// ---- interchange formats (issue 3) ----
export { parseOnnx, SUPPORTED_OPS, type OnnxModelInfo, type OnnxImportOptions } from './formats/onnx/import.js';
export { networkToOnnx, repairedToOnnx, float32BandError, type OnnxExportOptions } from './formats/onnx/export.js';
export {
  parseVnnlib,
  writeVnnlib,
  safeSpec,
  regionProperty,
  propertyInputDomain,
  plainDecimal,
  type Vnnlib,
  type VnnlibProperty,
  type VnnlibInputSet,
  type HPolytope,
  type SafeSpecResult,
} from './formats/vnnlib.js';
export { parseTfjs, networkToTfjs, isTfjsModelJson, tfjsShardPaths, type TfjsInfo } from './formats/tfjs.js';
export { nnetToText, type NnetOptions } from './formats/nnet.js';
export type { ModelLoadOptions } from './formats/load.js';
export { unionSpec, isSpecUnion, violationOf, intersectAny, type SpecUnion } from './spec-union.js';
export { accuracy, parseImages, parseLabels, type Dataset, type AccuracyResult, type Evaluator } from './eval.js';
// runtime (issue 6): worker pool
export { RepairPool, createPool, type PoolOptions, type PoolJobOptions, type PoolJobResult } from './pool/pool.js';
// Area repair and certificates (issue 4)
export {
  enumerateRegions,
  defaultEps,
  RegionLimitError,
  type Area,
  type Enumeration,
  type EnumeratedRegion,
  type EnumerateOptions,
  type EnumerationProgress,
} from './enumerate.js';
export {
  certify,
  certifyRegions,
  certifyItems,
  Certifier,
  type CertifyOptions,
  type CertificateReport,
  type RegionCertificate,
  type CertificationItem,
  type CertificationProgress,
} from './certificate.js';
export { certifyWithRefinement, type Refinement } from './refine.js';
export {
  repairArea,
  type AreaRepairOptions,
  type AreaRepairReport,
  type AreaRepairResult,
  type AreaRegionReport,
  type AreaProgress,
} from './area.js';
export { parseAreaJson, areaToJson, type AreaFile } from './formats/area.js';
// Data sets: original vs repaired, failures as a points file (issue 13)
export { compareModels, type Comparison, type ClassComparison, type CompareOptions } from './dataset/compare.js';
export { findFailures, storedRangeBox, type FailuresFile, type FindFailuresOptions } from './dataset/failures.js';
export { comparisonSvg, type PlotOptions } from './dataset/plot.js';
