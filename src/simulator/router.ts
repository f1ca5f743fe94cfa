/** Command path → handler, and the `no such command or directory (<word>)` answer for everything else. */
import type { Handler } from './command';
import { TrapError } from './errors';
import type { EmptyMode } from './faults';
import { diskAdd, diskPrint, diskRemove, diskSet } from './model/disks';
import { filePrint, fileRemove } from './model/files';
import type { SimModel } from './model/model';

export class Router {
  private readonly dirs = new Set<string>();

  constructor(private readonly handlers: Record<string, Handler>) {
    for (const p of Object.keys(handlers)) {
      const parts = p.split('/');
      for (let i = 2; i < parts.length; i++) this.dirs.add(parts.slice(0, i).join('/'));
    }
  }

  /** The handler, or a TrapError naming the first unknown word of the path. */
  resolve(path: string): Handler {
    const h = this.handlers[path];
    if (h) return h;
    const parts = path.split('/');
    let word = parts[parts.length - 1] || path;
    for (let i = 2; i <= parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (!this.dirs.has(prefix) && !this.handlers[prefix]) {
        word = parts[i - 1];
        break;
      }
    }
    throw new TrapError(`no such command or directory (${word})`, 0);
  }
}

/** The RouterOS menus the simulator knows. `print` also answers as `getall`. */
export function modelHandlers(model: SimModel, emptyMode: () => EmptyMode): Record<string, Handler> {
  const h: Record<string, Handler> = {
    '/disk/print': (cmd) => diskPrint(model, cmd),
    '/disk/add': (cmd) => diskAdd(model, cmd),
    '/disk/set': (cmd) => diskSet(model, cmd),
    '/disk/remove': (cmd) => diskRemove(model, cmd),
    '/file/print': (cmd) => filePrint(model, cmd),
    '/file/remove': (cmd) => fileRemove(model, cmd),
    '/system/resource/print': () => ({
      rows: [
        {
          version: emptyMode() === 'legacy' ? '7.16.2 (stable)' : '7.18.2 (stable)',
          'board-name': 'RDS2216 (simulator)',
          'architecture-name': 'arm64',
          platform: 'MikroTik',
        },
      ],
    }),
    '/system/identity/print': () => ({ rows: [{ name: 'rds-simulator' }] }),
  };
  h['/disk/getall'] = h['/disk/print'];
  h['/file/getall'] = h['/file/print'];
  return h;
}
