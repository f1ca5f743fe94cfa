import http from 'node:http';
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';

/**
 * A small fake Kubernetes API server over HTTP, enough for @kubernetes/client-node: Nodes (get/list), Events
 * (create, recorded), VolumeAttachments and PersistentVolumes (list). Tests mutate `nodes`, `vas`, `pvs` directly.
 * For storage capacity tracking: Node labels (`nodeLabels`), CSINodes and StorageClasses (list), and
 * CSIStorageCapacity objects (list/create/get/update/delete in a namespace), stored as the real API server stores
 * them (see `storedCapacity`).
 */
export interface RecordedEvent {
  namespace: string;
  reason: string;
  type: string;
  message: string;
  involvedObject: { kind: string; name: string; namespace: string };
}

export class FakeKube {
  nodes = new Set<string>();
  vas: object[] = [];
  pvs: object[] = [];
  events: RecordedEvent[] = [];
  /** Labels of the Node objects in `nodes` (what the kubelet copies from NodeGetInfo's accessible_topology). */
  nodeLabels = new Map<string, Record<string, string>>();
  /** Ready condition and taints of the Node objects in `nodes` (none set: no status, no taints). */
  nodeReady = new Map<string, 'True' | 'False' | 'Unknown'>();
  nodeTaints = new Map<string, Array<{ key: string; value?: string; effect: string }>>();
  csiNodes: object[] = [];
  storageClasses: object[] = [];
  /** CSIStorageCapacity objects by "namespace/name". */
  capacities = new Map<string, StoredObject>();
  /** metadata.uid of the kube-system namespace (the driver's default cluster id); undefined = no such namespace. */
  kubeSystemUid: string | undefined = '5b0d5c1e-0f6a-4a43-9c1e-6f1f2d7c9a10';
  private uid = 0;
  private server?: http.Server;
  url = '';

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => this.route(req.method ?? 'GET', req.url ?? '/', body, res));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  writeKubeconfig(file: string): void {
    writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{ name: fake, cluster: { server: "' + this.url + '", insecure-skip-tls-verify: true } }]',
        'users: [{ name: fake, user: { token: test-token } }]',
        'contexts: [{ name: fake, context: { cluster: fake, user: fake } }]',
        'current-context: fake',
      ].join('\n'),
    );
  }

  private route(method: string, url: string, body: string, res: http.ServerResponse): void {
    const send = (code: number, obj: object): void => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(obj));
    };
    const path = url.split('?')[0];
    let m: RegExpExecArray | null;
    if (method === 'GET' && path === '/api/v1/nodes') {
      return send(200, { kind: 'NodeList', apiVersion: 'v1', metadata: {}, items: [...this.nodes].map((name) => this.node(name)) });
    }
    if (method === 'GET' && (m = /^\/api\/v1\/nodes\/([^/]+)$/.exec(path))) {
      const name = decodeURIComponent(m[1]);
      if (this.nodes.has(name)) return send(200, { kind: 'Node', apiVersion: 'v1', ...this.node(name) });
      return send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: `nodes "${name}" not found` });
    }
    if (method === 'GET' && path === '/api/v1/namespaces/kube-system') {
      if (!this.kubeSystemUid)
        return send(404, {
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          reason: 'NotFound',
          code: 404,
          message: 'namespaces "kube-system" not found',
        });
      return send(200, { kind: 'Namespace', apiVersion: 'v1', metadata: { name: 'kube-system', uid: this.kubeSystemUid } });
    }
    if (method === 'POST' && (m = /^\/api\/v1\/namespaces\/([^/]+)\/events$/.exec(path))) {
      const ev = JSON.parse(body) as RecordedEvent;
      this.events.push({ ...ev, namespace: decodeURIComponent(m[1]) });
      return send(201, { ...ev, metadata: { name: `ev-${this.events.length}` } });
    }
    if (method === 'GET' && path === '/apis/storage.k8s.io/v1/volumeattachments') {
      return send(200, { kind: 'VolumeAttachmentList', apiVersion: 'storage.k8s.io/v1', metadata: {}, items: this.vas });
    }
    if (method === 'GET' && path === '/api/v1/persistentvolumes') {
      return send(200, { kind: 'PersistentVolumeList', apiVersion: 'v1', metadata: {}, items: this.pvs });
    }
    if (method === 'GET' && path === '/apis/storage.k8s.io/v1/csinodes') {
      return send(200, { kind: 'CSINodeList', apiVersion: 'storage.k8s.io/v1', metadata: {}, items: this.csiNodes });
    }
    if (method === 'GET' && path === '/apis/storage.k8s.io/v1/storageclasses') {
      return send(200, { kind: 'StorageClassList', apiVersion: 'storage.k8s.io/v1', metadata: {}, items: this.storageClasses });
    }
    if ((m = /^\/apis\/storage\.k8s\.io\/v1\/namespaces\/([^/]+)\/csistoragecapacities(?:\/([^/]+))?$/.exec(path))) {
      return this.capacityRoute(method, decodeURIComponent(m[1]), m[2] ? decodeURIComponent(m[2]) : undefined, body, send);
    }
    return send(404, { kind: 'Status', code: 404, message: `fake kube: no route ${method} ${path}` });
  }

  private node(name: string): { metadata: { name: string; labels?: Record<string, string> }; spec?: object; status?: object } {
    const labels = this.nodeLabels.get(name);
    const ready = this.nodeReady.get(name);
    const taints = this.nodeTaints.get(name);
    return {
      metadata: labels ? { name, labels } : { name },
      ...(taints ? { spec: { taints } } : {}),
      ...(ready ? { status: { conditions: [{ type: 'Ready', status: ready, reason: 'KubeletReady' }] } } : {}),
    };
  }

  private capacityRoute(method: string, ns: string, name: string | undefined, body: string, send: (code: number, obj: object) => void): void {
    const notFound = (): void =>
      send(404, {
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        reason: 'NotFound',
        code: 404,
        message: `csistoragecapacities "${name}" not found`,
      });
    if (!name && method === 'GET') {
      const items = [...this.capacities.entries()].filter(([k]) => k.startsWith(`${ns}/`)).map(([, v]) => v);
      return send(200, { kind: 'CSIStorageCapacityList', apiVersion: 'storage.k8s.io/v1', metadata: {}, items });
    }
    if (!name && method === 'POST') {
      const obj = JSON.parse(body) as StoredObject;
      const meta = obj.metadata ?? {};
      const objName = meta.name ?? `${meta.generateName ?? 'obj-'}${(++this.uid).toString(36).padStart(5, '0')}`;
      const stored = storedCapacity({ ...obj, metadata: { ...meta, name: objName, namespace: ns, uid: `uid-${++this.uid}`, resourceVersion: '1' } });
      this.capacities.set(`${ns}/${objName}`, stored);
      return send(201, stored);
    }
    const key = `${ns}/${name}`;
    const current = this.capacities.get(key);
    if (!current) return notFound();
    if (method === 'GET') return send(200, current);
    if (method === 'PUT') {
      const obj = JSON.parse(body) as StoredObject;
      const version = String(Number(current.metadata?.resourceVersion ?? '0') + 1);
      const stored = storedCapacity({ ...obj, metadata: { ...current.metadata, ...obj.metadata, resourceVersion: version } });
      this.capacities.set(key, stored);
      return send(200, stored);
    }
    if (method === 'DELETE') {
      this.capacities.delete(key);
      return send(200, { kind: 'Status', apiVersion: 'v1', status: 'Success', code: 200 });
    }
    return send(405, { kind: 'Status', code: 405, message: `fake kube: ${method} not allowed` });
  }

  reasons(): string[] {
    return this.events.map((e) => e.reason);
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => this.server?.close(() => r()));
  }
}

export interface StoredObject {
  metadata?: {
    name?: string;
    generateName?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    ownerReferences?: object[];
  };
  [field: string]: unknown;
}

/**
 * A CSIStorageCapacity as the API server stores and returns it. metav1.LabelSelector's fields are
 * `json:"matchLabels,omitempty"` and `json:"matchExpressions,omitempty"` (k8s.io/apimachinery pkg/apis/meta/v1
 * types.go), so an empty map or list is dropped on the way in: a reader decodes nil, not an empty map.
 */
export function storedCapacity(obj: StoredObject): StoredObject {
  const out: StoredObject = { apiVersion: 'storage.k8s.io/v1', kind: 'CSIStorageCapacity', ...obj };
  const sel = obj.nodeTopology as { matchLabels?: Record<string, string>; matchExpressions?: unknown[] } | null | undefined;
  if (sel) {
    const kept: Record<string, unknown> = {};
    if (sel.matchLabels && Object.keys(sel.matchLabels).length > 0) kept.matchLabels = sel.matchLabels;
    if (sel.matchExpressions && sel.matchExpressions.length > 0) kept.matchExpressions = sel.matchExpressions;
    out.nodeTopology = kept;
  }
  return JSON.parse(JSON.stringify(out)) as StoredObject;
}
