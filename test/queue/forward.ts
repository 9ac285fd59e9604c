/**
 * A byte forwarder between two socket addresses (`tcp:HOST:PORT` or `unix:PATH`), the network path of a worker
 * that lives in its own network namespace: inside it, `forward.ts tcp:127.0.0.1:P unix:SOCK` (run as a program);
 * outside, the test's `Forwarder` from SOCK to Redis, which it can cut (every connection dropped, new ones
 * refused) and restore. Unix sockets cross network namespaces; nothing else links the worker to Redis.
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";

type Address = { path: string } | { host: string; port: number };

function parse(a: string): Address {
  if (a.startsWith("unix:")) return { path: a.slice(5) };
  const m = /^tcp:([^:]+):(\d+)$/.exec(a);
  if (!m) throw new Error(`bad address ${a}: tcp:HOST:PORT or unix:PATH`);
  return { host: m[1] as string, port: Number(m[2]) };
}

export class Forwarder {
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  cut = false;

  constructor(listen: string, target: string) {
    const to = parse(target);
    this.server = createServer((inbound) => {
      if (this.cut) return void inbound.destroy();
      const outbound = "path" in to ? createConnection(to.path) : createConnection(to.port, to.host);
      for (const s of [inbound, outbound]) {
        this.sockets.add(s);
        s.on("error", () => {});
        s.on("close", () => {
          this.sockets.delete(s);
          inbound.destroy();
          outbound.destroy();
        });
      }
      inbound.pipe(outbound);
      outbound.pipe(inbound);
    });
    const from = parse(listen);
    if ("path" in from) this.server.listen(from.path);
    else this.server.listen(from.port, from.host);
  }

  /** Resolves once listening. */
  ready(): Promise<void> {
    return this.server.listening ? Promise.resolve() : new Promise((r) => this.server.once("listening", () => r()));
  }

  /** The network partition: every connection through it dropped, new ones refused until restore(). */
  sever(): void {
    this.cut = true;
    for (const s of this.sockets) s.destroy();
  }

  restore(): void {
    this.cut = false;
  }

  close(): void {
    this.sever();
    this.server.close();
  }
}

// As a program (inside the namespace): forward until the parent (the worker) is gone.
if (process.argv[1] && /forward\.ts$/.test(process.argv[1])) {
  const [listen, target] = process.argv.slice(2);
  const f = new Forwarder(listen as string, target as string);
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) {
      f.close();
      process.exit(0);
    }
  }, 500);
}
