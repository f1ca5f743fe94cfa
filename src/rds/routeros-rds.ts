/**
 * RdsPort over the RouterOS API: RouterOsClient (connection, deadlines) behind a CircuitBreaker, with every failure
 * classified once by classifyRdsError. Sentences follow docs/ARCHITECTURE.md RouterOS §2.3/§2.4. Mutations are never
 * retried here; callers (workers) retry transient errors.
 */
import type { AddDiskSpec, ExportSpec, PoolCapacity, RdsDisk, RdsFile, RdsPort } from './port';
import { CircuitBreaker, type CircuitBreakerOptions } from './circuit-breaker';
import { classifyRdsError, RdsError } from './errors';
import { RouterOsClient, type RosCaller, type RouterOsClientOptions } from './routeros-client';
import { DISK_PROPLIST, FILE_PROPLIST, parseCapacity, parseDisk, parseFile, type Row } from './parse';

export interface RouterOsRdsOptions extends RouterOsClientOptions {
  /** `mount-point` of the storage pool disk (no leading slash), e.g. `storage-pool` or `raid10`. */
  poolName: string;
  breaker?: Omit<CircuitBreakerOptions, 'target'>;
}

export interface RouterOsRdsDeps {
  /** Replaces the RouterOsClient (tests). */
  client?: RosCaller;
  breaker?: CircuitBreaker;
}

export class RouterOsRds implements RdsPort {
  readonly client: RosCaller;
  readonly breaker: CircuitBreaker;
  private readonly pool: string;
  /** Whether this RDS resolves a `/file remove` argument given as a file name; unknown until a removal shows it. */
  private fileNamesResolve: boolean | undefined;

  constructor(opts: RouterOsRdsOptions, deps: RouterOsRdsDeps = {}) {
    if (!opts.poolName || opts.poolName.startsWith('/')) {
      throw new Error(`poolName must be the pool's mount-point without a leading slash, got ${JSON.stringify(opts.poolName)}`);
    }
    this.pool = opts.poolName;
    this.client = deps.client ?? new RouterOsClient(opts);
    this.breaker = deps.breaker ?? new CircuitBreaker({ ...opts.breaker, target: `${opts.host}:${opts.port}` });
  }

  async getDisk(slot: string): Promise<RdsDisk | undefined> {
    const rows = await this.call('/disk/print', [`=.proplist=${DISK_PROPLIST}`, `?slot=${slot}`, '?type=file'], `slot=${slot}`);
    return this.parse(() => rows.filter((r) => r.slot === slot).map(parseDisk)[0]);
  }

  async listDisks(slotPrefix = ''): Promise<RdsDisk[]> {
    // The API has no regex/prefix query (RouterOS §1.6): fetch every file disk and filter here.
    const rows = await this.call('/disk/print', [`=.proplist=${DISK_PROPLIST}`, '?type=file'], `prefix=${slotPrefix}`);
    return this.parse(() => rows.filter((r) => (r.slot ?? '').startsWith(slotPrefix)).map(parseDisk));
  }

  async addDisk(spec: AddDiskSpec): Promise<RdsDisk> {
    const ctx = `slot=${spec.slot}`;
    const size = spec.fileSizeBytes;
    if (size === undefined ? !spec.copyFromId : !Number.isSafeInteger(size) || size <= 0) {
      throw invalid(`file size must be a positive whole number of bytes, got ${size} (${ctx})`);
    }
    if (!spec.slot || !spec.filePath.startsWith('/')) {
      throw invalid(`slot must be set and file-path absolute, got slot=${spec.slot} file-path=${spec.filePath}`);
    }
    const words = ['=type=file', `=slot=${spec.slot}`, `=file-path=${spec.filePath}`];
    if (size !== undefined) words.push(`=file-size=${size}`);
    if (spec.copyFromId) words.push(`=copy-from=${spec.copyFromId}`);
    if (spec.export) words.push(...exportWords(spec.export));
    if (spec.comment) words.push(`=comment=${spec.comment}`);
    await this.call('/disk/add', words, ctx, spec.timeoutMs);
    const disk = await this.getDisk(spec.slot);
    if (!disk) {
      throw new RdsError('unavailable', `RDS accepted /disk/add (${ctx}) but does not list the disk yet; retry`);
    }
    return disk;
  }

  async resizeDisk(id: string, fileSizeBytes: number): Promise<void> {
    if (!Number.isSafeInteger(fileSizeBytes) || fileSizeBytes <= 0) {
      throw invalid(`file size must be a positive whole number of bytes, got ${fileSizeBytes} (id=${id})`);
    }
    await this.call('/disk/set', [`=.id=${id}`, `=file-size=${fileSizeBytes}`], `id=${id} file-size=${fileSizeBytes}`);
  }

  async setExport(id: string, spec: ExportSpec): Promise<void> {
    await this.call('/disk/set', [`=.id=${id}`, ...exportWords(spec)], `id=${id}`);
  }

  async setComment(id: string, comment: string): Promise<void> {
    await this.call('/disk/set', [`=.id=${id}`, `=comment=${comment}`], `id=${id} comment`);
  }

  async setAllowedHosts(id: string, value: string): Promise<void> {
    await this.call('/disk/set', [`=.id=${id}`, `=nvme-tcp-server-allow-host-name=${value}`], `id=${id} allow-host-name`);
  }

  async removeDisk(id: string): Promise<void> {
    await this.absentIsSuccess(this.call('/disk/remove', [`=.id=${id}`], `id=${id}`));
  }

  async getFile(path: string): Promise<RdsFile | undefined> {
    const name = path.replace(/^\/+/, ''); // /file names have no leading slash (RouterOS §2.3)
    const rows = await this.call('/file/print', [`=.proplist=${FILE_PROPLIST}`, `?name=${name}`], `name=${name}`);
    return this.parse(() =>
      rows
        .filter((r) => r.name === name)
        .map(parseFile)
        .find(isFile),
    );
  }

  async listFiles(): Promise<RdsFile[]> {
    const rows = await this.call('/file/print', [`=.proplist=${FILE_PROPLIST}`], 'all files');
    // Disk roots, directories and other rows without a size are not files: skipped (parse.ts).
    return this.parse(() => rows.map(parseFile).filter(isFile));
  }

  async removeFile(id: string): Promise<void> {
    await this.absentIsSuccess(this.call('/file/remove', [`=.id=${id}`], `id=${id}`));
  }

  /**
   * `/file/remove =numbers=<name>`: `numbers` is the CLI's argument of `remove` (API arguments are the CLI's,
   * MikroTik "API command notes"), and the CLI resolves a `/file` item by its name (`/file remove <name>`, used on
   * RouterOS in public scripts). The API manual only says that names address items "in some places" (RouterOS
   * §1.7), so this is checked at run time: when RDS answers `no such item` (or rejects the argument) and a look-up
   * by name then finds the file, names do not resolve here and every later removal goes by id (print + remove).
   * Either way nothing but the named file can be removed: names are unique in /file.
   */
  async removeFileAt(path: string): Promise<boolean> {
    const name = path.replace(/^\/+/, '');
    if (this.fileNamesResolve !== false && name && !name.includes(',')) {
      try {
        await this.call('/file/remove', [`=numbers=${name}`], `name=${name}`);
        this.fileNamesResolve = true;
        return true;
      } catch (err) {
        if (!(err instanceof RdsError) || (err.kind !== 'not-found' && err.kind !== 'invalid')) throw err;
        if (err.kind === 'invalid') this.fileNamesResolve = false;
      }
    }
    const file = await this.getFile(name);
    if (!file) return false;
    this.fileNamesResolve = false; // the name did not resolve although the file exists
    await this.removeFile(file.id);
    return true;
  }

  async poolCapacity(): Promise<PoolCapacity> {
    // A property missing from .proplist counts as absent for a query (RouterOS §1.6), so mount-point must be listed.
    const proplist = '=.proplist=slot,mount-point,size,free';
    const rows = await this.call('/disk/print', [proplist, `?mount-point=${this.pool}`], `pool=${this.pool}`);
    const row = rows[0];
    if (!row) {
      throw new RdsError(
        'precondition',
        `RDS has no disk with mount-point=${this.pool}: the configured pool name is wrong or the pool is not mounted`,
      );
    }
    return this.parse(() => parseCapacity(row));
  }

  async ping(): Promise<void> {
    // /system/resource/print is not in the simulator; a count-only print answers with one `!done =ret=n`.
    await this.call('/disk/print', ['=count-only=', `?mount-point=${this.pool}`], 'ping');
  }

  async close(): Promise<void> {
    try {
      await this.client.close();
    } catch (err) {
      throw classifyRdsError(err, 'close');
    }
  }

  private call(command: string, words: string[], context: string, timeoutMs?: number): Promise<Row[]> {
    return this.breaker.run(() => this.client.write(command, words, timeoutMs), `${command} ${context}`);
  }

  private async absentIsSuccess(p: Promise<unknown>): Promise<void> {
    try {
      await p;
    } catch (err) {
      if (err instanceof RdsError && err.kind === 'not-found') return; // already gone
      throw err;
    }
  }

  private parse<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw classifyRdsError(err, 'parsing the RDS reply');
    }
  }
}

function isFile(f: RdsFile | undefined): f is RdsFile {
  return f !== undefined;
}

/** The export's attribute words, shared by `/disk add` and `/disk set` (RouterOS §2.2, §2.3). */
function exportWords(spec: ExportSpec): string[] {
  if (!Number.isInteger(spec.port) || spec.port < 1 || spec.port > 65535 || !spec.nqn) {
    throw invalid(`NVMe/TCP export needs a port 1-65535 and an NQN, got port=${spec.port} nqn=${spec.nqn}`);
  }
  const words = ['=nvme-tcp-export=yes', `=nvme-tcp-server-port=${spec.port}`, `=nvme-tcp-server-nqn=${spec.nqn}`];
  if (spec.allowHostName !== undefined) words.push(`=nvme-tcp-server-allow-host-name=${spec.allowHostName}`);
  return words;
}

function invalid(message: string): RdsError {
  return new RdsError('invalid', message);
}
