import type { Config } from '../config/schema';
import { identityService } from '../api/identity';
import { loadCsi } from '../grpc/proto';
import { startServer, type RunningServer } from '../grpc/server';
import { buildHandlers } from '../grpc/service';
import type { Logger } from '../log/logger';

/**
 * The node endpoint as it stands before the node plugin exists: Identity only (no controller capability), and
 * every Node RPC answers UNIMPLEMENTED through the same logging edge.
 */
export async function startNodeIdentity(cfg: Config, endpoint: string, log: Logger): Promise<RunningServer> {
  const csi = loadCsi().csi.v1;
  const identity = identityService(cfg.driverName, { controller: false, checks: [] });
  return startServer(endpoint, [
    { definition: csi.Identity.service, handlers: buildHandlers(csi.Identity.service, 'Identity', identity, log) },
    { definition: csi.Node.service, handlers: buildHandlers(csi.Node.service, 'Node', {}, log) },
  ]);
}
