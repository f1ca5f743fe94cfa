/**
 * Identity service: plugin name and version, capabilities, and Probe, which is ready only when every dependency
 * of this process answers (for the controller: Redis, and at least one RDS backend: src/rds/backend-health.ts).
 */
import type { IdentityHandlers } from '../generated/csi/v1/Identity';
import type { PluginCapability } from '../generated/csi/v1/PluginCapability';
import type { ServiceImpl } from './service';
import { VERSION } from '../version';

export interface ReadinessCheck {
  name: string;
  /**
   * Throws when the dependency is not ready. A dependency of several parts (the RDS backends) that is ready while
   * some parts are down resolves with their names: Probe still answers ready (its response has nothing else) and
   * `onDegraded` names them.
   */
  check(): Promise<void | { down: readonly string[] } | undefined>;
}

/**
 * The plugin's capabilities, the same on the controller's and the node's socket: the CSI spec (Identity,
 * GetPluginCapabilities) says all instances of one version SHALL return the same set "regardless of ... which RPCs
 * an instance is serving"; tools that read them from the node socket would otherwise skip every controller step.
 * VOLUME_ACCESSIBILITY_CONSTRAINTS: volumes are accessible from the RDS's topology segment (src/domain/topology.ts).
 */
export const PLUGIN_CAPABILITIES: PluginCapability[] = [
  { service: { type: 'CONTROLLER_SERVICE' } },
  { service: { type: 'VOLUME_ACCESSIBILITY_CONSTRAINTS' } },
  { volumeExpansion: { type: 'ONLINE' } },
];

export function identityService(
  driverName: string,
  opts: {
    checks: ReadinessCheck[];
    onNotReady?: (name: string, err: unknown) => void;
    onDegraded?: (name: string, down: readonly string[]) => void;
  },
): ServiceImpl<IdentityHandlers> {
  return {
    GetPluginInfo: () => Promise.resolve({ name: driverName, vendorVersion: VERSION, manifest: {} }),
    GetPluginCapabilities: () => Promise.resolve({ capabilities: PLUGIN_CAPABILITIES }),
    Probe: async () => {
      for (const c of opts.checks) {
        try {
          const partly = await c.check();
          if (partly?.down.length) opts.onDegraded?.(c.name, partly.down);
        } catch (err) {
          opts.onNotReady?.(c.name, err);
          return { ready: { value: false } };
        }
      }
      return { ready: { value: true } };
    },
  };
}
