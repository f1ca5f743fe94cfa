import http from 'node:http';
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';

/**
 * A small fake Kubernetes API server over HTTP, enough for @kubernetes/client-node: Nodes (get/list), Events
 * (create, recorded), VolumeAttachments and PersistentVolumes (list). Tests mutate `nodes`, `vas`, `pvs` directly.
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
      return send(200, { kind: 'NodeList', apiVersion: 'v1', metadata: {}, items: [...this.nodes].map((name) => ({ metadata: { name } })) });
    }
    if (method === 'GET' && (m = /^\/api\/v1\/nodes\/([^/]+)$/.exec(path))) {
      const name = decodeURIComponent(m[1]);
      if (this.nodes.has(name)) return send(200, { kind: 'Node', apiVersion: 'v1', metadata: { name } });
      return send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: `nodes "${name}" not found` });
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
    return send(404, { kind: 'Status', code: 404, message: `fake kube: no route ${method} ${path}` });
  }

  reasons(): string[] {
    return this.events.map((e) => e.reason);
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => this.server?.close(() => r()));
  }
}
