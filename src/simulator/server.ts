/** TCP (api) or TLS (api-ssl) listener that can go down and come back up on the same port. */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { Session, type SessionDeps } from './session';

export interface ListenOptions {
  host: string;
  port: number;
  tls?: { cert: string | Buffer; key: string | Buffer };
}

export class SimServer {
  private server: net.Server | undefined;
  private readonly sessions = new Set<Session>();
  private boundPort = 0;

  constructor(
    private readonly deps: SessionDeps,
    private readonly opts: ListenOptions,
  ) {}

  get port(): number {
    return this.boundPort;
  }

  async listen(): Promise<void> {
    if (this.server) return;
    const onSocket = (socket: net.Socket): void => {
      const session = new Session(socket, this.deps);
      this.sessions.add(session);
      socket.on('close', () => this.sessions.delete(session));
      session.start();
    };
    const server = this.opts.tls ? tls.createServer({ cert: this.opts.tls.cert, key: this.opts.tls.key }, onSocket) : net.createServer(onSocket);
    server.on('tlsClientError', (err: Error) => this.deps.log({ err: err.message }, 'tls client error'));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.boundPort || this.opts.port, this.opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err: Error) => this.deps.log({ err: err.message }, 'server error'));
    this.server = server;
    this.boundPort = (server.address() as net.AddressInfo).port;
  }

  /** Stops listening and drops every open connection. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sessions) s.destroy();
    this.sessions.clear();
    if (!server) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async setDown(down: boolean): Promise<void> {
    if (down) await this.stop();
    else await this.listen();
  }
}
