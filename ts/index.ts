/**
 * relu-repair: provable repair of ReLU networks (REASSURE, Fu & Li, ICLR 2022).
 *
 *   import { init, loadModel, repair } from 'relu-repair';
 *   await init();
 *   const net = await loadModel('model.nnet');
 *   const { network, report } = await repair(net, { points, labels: 4, inputBox });
 */

export {
  type AreaMethod,
  type AreaProgress,
  type AreaRegionReport,
  type AreaRepairOptions,
  type AreaRepairReport,
  type AreaRepairResult,
  areaMethodFor,
  BOX_METHOD_ABOVE_INPUTS,
  type RepairAreaOptions,
  type RepairAreaResult,
  repairArea,
  repairAreaEnumerate,
} from './area.js';
export {
  type AreaBabOptions,
  type AreaBabPhase,
  type AreaBabProgress,
  type AreaBabReport,
  type AreaBabResult,
  AreaBabStopped,
  defaultWorkBudget,
  repairAreaBab,
  type UnprovenPart,
  unsafeDisjuncts,
} from './area-bab.js';
export { type AreaBoxOptions, type AreaBoxReport, type AreaBoxResult, repairAreaBox } from './area-box.js';
// Area certificate from the repair's proof map, without enumerating the area (issue 10)
export {
  AREA_PROOF_VERSION,
  AREA_PROOF_VERSIONS,
  type AreaProof,
  areaProof,
  areaProofFromJson,
  type BoundsHint,
  type CoverCheck,
  checkCover,
  PROOF_METHODS,
  type ProofMethod,
  type ProofPiece,
} from './area-proof.js';
export {
  type BoundMethod,
  type BoundOptions,
  intervalBounds,
  type PreActivationBounds,
  preActivationBounds,
  type RowBound,
  specRowsUpperBounds,
  specRowUpperBound,
} from './bounds.js';
export {
  type BoxLeaf,
  type BoxOutcome,
  type BoxRoot,
  type BoxStats,
  type BoxTask,
  type CoreVerifyOptions,
  DEFAULT_CORE_OPTIONS,
  type PropertyData,
  runBoxTask,
} from './box-job.js';
export {
  BandIndex,
  type BoxCertificate,
  type BoxPatchOptions,
  type BoxPatchResult,
  type BoxSearchOptions,
  bandBox,
  bandReachesBox,
  boxPatch,
  boxRows,
  certifyBox,
  certifyBoxParts,
} from './box-patch.js';
export {
  type CertificateReason,
  type CertificateReport,
  type CertificationItem,
  type CertificationProgress,
  Certifier,
  type CertifyOptions,
  certify,
  certifyItems,
  certifyRegions,
  checkSafeSetNotEmpty,
  contradictingRows,
  type RegionCertificate,
} from './certificate.js';
export { type AreaCertificate, type AreaCertifyOptions, certifyArea, type RefusedPiece } from './certificate-area.js';
export {
  certifySavedBoxes,
  isBoxPatch,
  type SavedBoxCertificate,
  type SavedBoxesReport,
  type SavedBoxOptions,
  savedBoxes,
} from './certificate-boxes.js';
// Data sets: original vs repaired, failures as a points file (issue 13)
export { type ClassComparison, type CompareOptions, type Comparison, compareModels } from './dataset/compare.js';
export { type FailuresFile, type FindFailuresOptions, findFailures, storedRangeBox } from './dataset/failures.js';
export { comparisonSvg, type PlotOptions } from './dataset/plot.js';
// Area repair and certificates (issue 4)
export {
  type Area,
  defaultMinRadius,
  type EnumeratedRegion,
  type EnumerateOptions,
  type Enumeration,
  type EnumerationProgress,
  enumerateRegions,
  MAX_AREA_BOUND,
  RegionLimitError,
} from './enumerate.js';
export { AbortError, EmptySetError, InputError, LpError, ReluRepairError, RepairError, WasmError } from './errors.js';
export { type AccuracyResult, accuracy, type Dataset, type Evaluator, parseImages, parseLabels } from './eval.js';
export { type AreaFile, areaToJson, parseAreaJson } from './formats/area.js';
export { type IdxArray, maybeGunzip, parseIdx } from './formats/idx.js';
export { NETWORK_FORMAT, networkFromJson, networkToJson, REPAIRED_FORMAT, repairedFromJson, repairedToJson } from './formats/json.js';
export type { ModelLoadOptions } from './formats/load.js';
export { loadModel, parseModel } from './formats/load.js';
export { type NnetHeader, type NnetOptions, nnetToText, parseNnet } from './formats/nnet.js';
export { type NpyArray, parseNpy } from './formats/npy.js';
export { float32BandError, networkToOnnx, type OnnxExportOptions, repairedToOnnx } from './formats/onnx/export.js';
// ---- interchange formats (issue 3) ----
export { HeadRepairedNetwork, headEvaluator, headRepairedToOnnx } from './formats/onnx/head.js';
export {
  type OnnxHead,
  type OnnxHeadOptions,
  type OnnxImportOptions,
  type OnnxModelInfo,
  parseOnnx,
  parseOnnxHead,
  SUPPORTED_OPS,
} from './formats/onnx/import.js';
export {
  loadRepairedOnnx,
  notRecognised,
  type RepairedOnnx,
  readRepairedOnnx,
  repairBaseFromOnnx,
  repairedFromOnnx,
} from './formats/onnx/readback.js';
export { REPAIRED_ONNX_KEY } from './formats/onnx/record.js';
export { type PointsFile, parsePoints } from './formats/points.js';
export { isTfjsModelJson, networkToTfjs, parseTfjs, type TfjsInfo, tfjsShardPaths } from './formats/tfjs.js';
export {
  type Instance,
  type InstanceResult,
  parseInstancesCsv,
  parseResultText,
  RESULTS_HEADER,
  type ResultFile,
  resultsCsvRow,
  resultText,
  type VnncompResult,
} from './formats/vnncomp.js';
export {
  type HPolytope,
  parseVnnlib,
  plainDecimal,
  propertyInputDomain,
  regionProperty,
  type SafeSpecResult,
  safeSpec,
  type Vnnlib,
  type VnnlibInputSet,
  type VnnlibProperty,
  vnnlibText,
  writeVnnlib,
} from './formats/vnnlib.js';
export { type HeadRepairOptions, type HeadRepairResult, type HeadReport, repairHead } from './head.js';
export { loadRepaired, saveJson } from './io.js';
export type { LpBackend, LpSolution, SparseLp } from './lp/backend.js';
export { buildFullPatchLp, type FullLp, type RegionData } from './lp/full-lp.js';
export { GlpkBackend } from './lp/glpk.js';
export { HighsBackend } from './lp/highs.js';
export { backendByName, LP_NAMES, type LpName } from './lp/select.js';
export {
  type AvgPoolOp,
  type Box,
  type ConvOp,
  type DenseLayer,
  type DenseOp,
  expandBox,
  type GatherOp,
  type GraphNode,
  type GraphTerm,
  type IdentityOp,
  type LinearOp,
  Network,
  type NetworkGraph,
  type NetworkInfo,
  type Points,
  type ScaleOp,
} from './network.js';
export { type PatchNetwork, type PatchRegionInfo, patternFromHex, patternHex, type RegionPatch, type SupportRows } from './patch.js';
// runtime (issue 6): worker pool
export { createPool, type PoolJobOptions, type PoolJobResult, type PoolOptions, RepairPool } from './pool/pool.js';
export { certifyWithRefinement, type Refinement } from './refine.js';
export { type ConstantPatchResult, type InputSet, LinearRegion, type MinimalityProof, type RegionMax, slackExcess } from './region.js';
export { type RegionOutcome, type RegionTask, type RegionTiming, solveRegion } from './region-job.js';
export { type RepairOptions, type RepairProgress, type RepairResult, repair } from './repair.js';
export { defaultRadius } from './repair-options.js';
export { type BoxGate, type Composition, type RecordBox, RepairedNetwork, type RepairRecord, recordBoxesOf } from './repaired.js';
export type { AreaBabStopReport, PatchedRegionReport, RegionReport, RepairReport } from './report.js';
export { describeSpec, intersectSpecs, labelSpec, parseSpecJson, polytopeSpec, type Spec, specViolation } from './spec.js';
export { intersectAny, isSpecUnion, type SpecUnion, unionSpec, violationOf } from './spec-union.js';
export {
  forwardFloat64,
  type ProofShares,
  type PropertyReport,
  propertyData,
  unsafeDepth,
  type VerifyCounterexample,
  type VerifyOptions,
  type VerifyProgress,
  type VerifyResult,
  type VerifyStats,
  type VerifyStatus,
  verify,
} from './verify.js';
export { VERSION } from './version.js';
export { type Flavour, getCore, type InitOptions, init, simdSupported, type WasmSource } from './wasm/raw.js';
