import type { CreateVolumeRequest__Output } from '../generated/csi/v1/CreateVolumeRequest';
import type { VolumeCapability__Output } from '../generated/csi/v1/VolumeCapability';
import { accessModeOf } from '../grpc/enums';
import { ENCRYPTION_PARAM, encryptionProblem } from '../domain/encryption';
import { Failure, invalid, outOfRange } from '../domain/failure';
import { checkMountFlagList, parseMkfsOptions } from '../domain/fs-options';
import { BACKEND_PARAM, BACKENDS_PARAM, PLACEMENT_PARAM, PLACEMENT_PARAMS, placementParamProblem } from '../domain/placement';
import { decideSize, fmt, fsMinimumBytes, type CapacityLimits, type SizeDecision } from '../domain/sizes';
import type { AccessType } from '../state/volume-record';

/**
 * Complete validation of requests before anything reaches the queue. Every rejection says what is wrong and what
 * to do instead.
 */

export const MAX_NAME_BYTES = 128;
const FS_TYPES = new Set(['', 'ext4', 'xfs']);
/** Parameters the provisioner adds with --extra-create-metadata: kept for events, not for compatibility. */
const METADATA_KEYS = {
  pvcName: 'csi.storage.k8s.io/pvc/name',
  pvcNamespace: 'csi.storage.k8s.io/pvc/namespace',
  pvName: 'csi.storage.k8s.io/pv/name',
};
/** StorageClass parameters this driver understands. */
export const DRIVER_PARAMETERS: Record<string, (v: string) => string | undefined> = {
  [ENCRYPTION_PARAM]: (v) => encryptionProblem(v),
  migrationWindowSeconds: (v) => (/^\d+$/.test(v) && +v >= 10 && +v <= 3600 ? undefined : 'must be a whole number of seconds from 10 to 3600'),
  // Checked against the file system's allow-list in mkfsOptionsProblem (it needs the capability's fs_type).
  mkfsOptions: () => undefined,
  // Where the volume goes (issue 16, src/domain/placement.ts); names are checked against the configuration later.
  [BACKEND_PARAM]: (v) => placementParamProblem(BACKEND_PARAM, v),
  [BACKENDS_PARAM]: (v) => placementParamProblem(BACKENDS_PARAM, v),
  [PLACEMENT_PARAM]: (v) => placementParamProblem(PLACEMENT_PARAM, v),
};

/**
 * The mkfsOptions parameter against the allow-list of the file system the node will make (src/domain/fs-options.ts;
 * the node checks it again). The file system is the capability's fs_type: external-provisioner turns the
 * StorageClass's `csi.storage.k8s.io/fstype` into VolumeCapability.mount.fs_type, not a parameter (pkg/controller/
 * controller.go prepareProvision: prefixedFsTypeKey → getVolumeCapabilities(claim, sc, fsType), and removePrefixedParameters strips
 * the csi.storage.k8s.io/ keys from the parameters) — unset means ext4, the node's default.
 */
function mkfsOptionsProblem(value: string, caps: CapabilitySummary): string | undefined {
  if (caps.accessType === 'block') return 'applies to filesystem volumes only; this is a block volume (volumeMode: Block), which is never formatted';
  const parsed = parseMkfsOptions(caps.fsType === 'xfs' ? 'xfs' : 'ext4', value);
  return 'problem' in parsed ? parsed.problem : undefined;
}

export interface CapabilitySummary {
  accessType: AccessType;
  fsType: string;
}

/**
 * Checks each capability on its own and that together they describe one kind of volume. `anyAccessMode`: an unset
 * access mode means "any" (GetCapacity: external-provisioner before v5 sends `{mount: {}, access_mode: {}}` as a
 * placeholder, pkg/capacity/capacity.go syncCapacity; see also docs/ARCHITECTURE.md#sidecars item 1); a mode the enum
 * does not define is still refused.
 */
export function validateCapabilities(caps: VolumeCapability__Output[], opts: { anyAccessMode?: boolean } = {}): CapabilitySummary {
  if (!caps || caps.length === 0) throw invalid('volume_capabilities must contain at least one capability');
  let summary: CapabilitySummary | undefined;
  for (const [i, cap] of caps.entries()) {
    const problem = capabilityProblem(cap, opts);
    if (problem) throw invalid(`volume_capabilities[${i}]: ${problem}`);
    const mine: CapabilitySummary = cap.block ? { accessType: 'block', fsType: '' } : { accessType: 'mount', fsType: cap.mount?.fsType ?? '' };
    if (summary && summary.accessType !== mine.accessType) {
      throw invalid('volume_capabilities mix block and filesystem access; a volume is one or the other');
    }
    if (summary && mine.fsType && summary.fsType && mine.fsType !== summary.fsType) {
      throw invalid(`volume_capabilities ask for two filesystems (${summary.fsType}, ${mine.fsType})`);
    }
    summary = summary && !mine.fsType ? summary : mine;
  }
  return summary as CapabilitySummary;
}

/** Undefined when this driver supports the capability; otherwise the reason. The access mode is a closed set. */
export function capabilityProblem(cap: VolumeCapability__Output, opts: { anyAccessMode?: boolean } = {}): string | undefined {
  if (!cap.block && !cap.mount) return 'access_type must be block or mount';
  const access = accessModeOf(cap.accessMode);
  if (access.kind === 'invalid') return access.problem;
  if (access.kind === 'unset' && !opts.anyAccessMode) return 'access_mode must be set';
  const mode = access.kind === 'set' ? access.mode : undefined;
  if (cap.mount) {
    if (!FS_TYPES.has(cap.mount.fsType)) return `fs_type "${cap.mount.fsType}" is not supported; use ext4 or xfs`;
    const flags = checkMountFlagList(cap.mount.mountFlags ?? []);
    if (flags.error) return `mount_flags: ${flags.error}`;
    if (mode === 'MULTI_NODE_MULTI_WRITER' || mode === 'MULTI_NODE_SINGLE_WRITER') {
      return `${mode} (ReadWriteMany) is only supported with block volumes: a filesystem mounted on several nodes at once is corrupted. Use volumeMode: Block (e.g. for KubeVirt live migration)`;
    }
  }
  return undefined;
}

export interface ContentSource {
  kind: 'snapshot' | 'volume';
  id: string;
}

export interface CreateVolumeSpec {
  name: string;
  source?: ContentSource;
  sizeBytes: number;
  accessType: AccessType;
  fsType: string;
  /** Canonical compatibility key: access type + driver parameters. */
  paramsKey: string;
  context: Record<string, string>;
  /** The placement parameters (backend, backends, placement: src/domain/placement.ts), kept out of `context`. */
  placement: Record<string, string>;
  pvcName?: string;
  pvcNamespace?: string;
}

export function int64(v: string | undefined, field: string): number {
  if (v === undefined || v === '') return 0;
  if (!/^-?\d+$/.test(v)) throw invalid(`${field} must be an integer`);
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw outOfRange(`${field} ${v} is too large`);
  return n;
}

export function validateName(name: string, what = 'name'): void {
  if (!name) throw invalid(`${what} is required`);
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) throw invalid(`${what} is longer than ${MAX_NAME_BYTES} bytes`);
}

/** The content source of a CreateVolume, checked for shape only (existence is the caller's NOT_FOUND). */
export function contentSourceOf(req: CreateVolumeRequest__Output): ContentSource | undefined {
  const src = req.volumeContentSource;
  if (!src) return undefined;
  if (src.snapshot) {
    if (!src.snapshot.snapshotId) throw invalid('volume_content_source.snapshot.snapshot_id is required');
    return { kind: 'snapshot', id: src.snapshot.snapshotId };
  }
  if (src.volume) {
    if (!src.volume.volumeId) throw invalid('volume_content_source.volume.volume_id is required');
    return { kind: 'volume', id: src.volume.volumeId };
  }
  throw invalid('volume_content_source must name a snapshot or a volume');
}

/**
 * A volume that will hold xfs is made at least as big as mkfs.xfs needs (domain/sizes.ts FS_MIN_BYTES): the size
 * is rounded up within limit_bytes, and a limit below that minimum is OUT_OF_RANGE — otherwise NodeStageVolume
 * could only refuse the volume later.
 */
export function withFsMinimum(limits: CapacityLimits, fsType: string): CapacityLimits {
  const min = fsMinimumBytes(fsType);
  if (min <= limits.minBytes) return limits;
  return { ...limits, minBytes: min, minReason: `an ${fsType} file system needs at least ${fmt(min)}; ask for ext4 or allow a larger volume` };
}

/** A size decision as a number of bytes; its refusal as the failure it names. */
export function decidedBytes(size: SizeDecision): number {
  if (!size.ok) throw new Failure(size.code === 'OUT_OF_RANGE' ? 'out-of-range' : 'invalid', size.message);
  return size.bytes;
}

/** A CreateVolume request checked for shape, before its content source is looked up. */
export interface CreateVolumeShape {
  spec: Omit<CreateVolumeSpec, 'sizeBytes'>;
  requiredBytes: number;
  limitBytes: number;
}

/**
 * Everything about a CreateVolume that does not depend on its content source, checked once (INVALID_ARGUMENT or
 * OUT_OF_RANGE before the source is looked up). The bounds of the capacity range are checked here as far as they do
 * not depend on the source (no maximum yet); createVolumeSpec decides the size.
 */
export function validateCreateVolume(req: CreateVolumeRequest__Output, limits: CapacityLimits): CreateVolumeShape {
  validateName(req.name);
  const caps = validateCapabilities(req.volumeCapabilities);
  const source = contentSourceOf(req);
  const requiredBytes = int64(req.capacityRange?.requiredBytes, 'capacity_range.required_bytes');
  const limitBytes = int64(req.capacityRange?.limitBytes, 'capacity_range.limit_bytes');
  decidedBytes(decideSize(requiredBytes, limitBytes, withFsMinimum({ ...limits, maxBytes: Number.MAX_SAFE_INTEGER }, caps.fsType)));

  const driverParams: Record<string, string> = {};
  for (const [key, value] of Object.entries(req.parameters ?? {})) {
    if (key.startsWith('csi.storage.k8s.io/')) continue;
    const check = DRIVER_PARAMETERS[key];
    if (!check) {
      throw invalid(`unknown StorageClass parameter "${key}"; supported: ${Object.keys(DRIVER_PARAMETERS).join(', ')}`);
    }
    const problem = key === 'mkfsOptions' ? mkfsOptionsProblem(value, caps) : check(value);
    if (problem) throw invalid(`parameter ${key}="${value.slice(0, 200)}" ${problem}`);
    driverParams[key] = value;
  }
  const canonical = Object.keys(driverParams)
    .sort()
    .map((k) => `${k}=${driverParams[k]}`);
  if (source) canonical.push(`source=${source.kind}:${source.id}`);
  const spec = {
    name: req.name,
    source,
    accessType: caps.accessType,
    fsType: caps.fsType,
    paramsKey: [`accessType=${caps.accessType}`, ...canonical].join(';'),
    // Placement parameters choose the backend; they are not part of the volume (volume_context) once it is placed.
    context: Object.fromEntries(Object.entries(driverParams).filter(([k]) => !(PLACEMENT_PARAMS as readonly string[]).includes(k))),
    placement: Object.fromEntries(Object.entries(driverParams).filter(([k]) => (PLACEMENT_PARAMS as readonly string[]).includes(k))),
    pvcName: req.parameters?.[METADATA_KEYS.pvcName],
    pvcNamespace: req.parameters?.[METADATA_KEYS.pvcNamespace],
  };
  return { spec, requiredBytes, limitBytes };
}

/**
 * The size of the new volume. `sourceBytes`: size of the snapshot or volume it is made from; the volume is at least
 * that big, and a limit below it is OUT_OF_RANGE.
 */
export function createVolumeSpec(shape: CreateVolumeShape, limits: CapacityLimits, sourceBytes = 0): CreateVolumeSpec {
  const { spec, limitBytes: limit } = shape;
  let required = shape.requiredBytes;
  if (sourceBytes > 0) {
    if (limit > 0 && limit < sourceBytes) {
      throw outOfRange(`capacity_range.limit_bytes (${limit}) is smaller than the source ${spec.source?.kind} (${sourceBytes} bytes)`);
    }
    required = Math.max(required, sourceBytes);
  }
  return { ...spec, sizeBytes: decidedBytes(decideSize(required, limit, withFsMinimum(limits, spec.fsType))) };
}
