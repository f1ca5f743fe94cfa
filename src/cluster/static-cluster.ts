import type { Logger } from '../log/logger';
import type { AttachmentFact, AttachmentSource, EventSink, EventType, NodeHealth, NodeHealthSource, NodeRegistry, PvcRef } from './ports';

/** Standalone mode: nodes from configuration, events as log lines, no VolumeAttachments. */
export class StaticNodes implements NodeRegistry, NodeHealthSource {
  constructor(private readonly nodes: string[]) {}

  /** Standalone: no Kubernetes to say whether a node is down (the operator has to --force). */
  health(): Promise<NodeHealth> {
    return Promise.resolve({ source: 'none' });
  }

  exists(nodeId: string): Promise<boolean> {
    return Promise.resolve(this.nodes.includes(nodeId));
  }

  list(): Promise<string[]> {
    return Promise.resolve([...this.nodes]);
  }
}

export class LogEvents implements EventSink {
  constructor(private readonly log: Logger) {}

  emit(pvc: PvcRef | undefined, type: EventType, reason: string, message: string): Promise<void> {
    this.log.info({ event: { type, reason, pvc } }, message);
    return Promise.resolve();
  }

  emitDriver(type: EventType, reason: string, message: string): Promise<void> {
    return this.emit(undefined, type, reason, message);
  }
}

export class NoAttachments implements AttachmentSource {
  list(): Promise<AttachmentFact[]> {
    return Promise.resolve([]);
  }
}
