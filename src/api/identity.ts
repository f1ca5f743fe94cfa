import type { IdentityHandlers } from '../generated/csi/v1/Identity';
import type { ServiceImpl } from '../grpc/service';
import { VERSION } from '../version';

/**
 * Identity service: plugin name and version, capabilities, and Probe, which is ready only when every dependency
 * of this process answers (for the controller: Redis and RDS).
 */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

export function identityService(
  driverName: string,
  opts: { controller: boolean; checks: ReadinessCheck[]; onNotReady?: (name: string, err: unknown) => void },
): ServiceImpl<IdentityHandlers> {
  return {
    GetPluginInfo: () => Promise.resolve({ name: driverName, vendorVersion: VERSION, manifest: {} }),
    GetPluginCapabilities: () =>
      Promise.resolve({
        capabilities: opts.controller ? [{ service: { type: 'CONTROLLER_SERVICE' } }, { volumeExpansion: { type: 'ONLINE' } }] : [],
      }),
    Probe: async () => {
      for (const c of opts.checks) {
        try {
          await c.check();
        } catch (err) {
          opts.onNotReady?.(c.name, err);
          return { ready: { value: false } };
        }
      }
      return { ready: { value: true } };
    },
  };
}
