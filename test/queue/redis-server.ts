/**
 * A real redis-server (Debian's, /usr/bin/redis-server) for the queue tests: on a free loopback port, in a temp
 * dir, with persistence on (appendonly, fsync on every write), so a stop and a restart keep the streams.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Redis } from "ioredis";

export const REDIS_SERVER = process.env["REDIS_SERVER"] ?? "/usr/bin/redis-server";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export class RedisServer {
  readonly dir = mkdtempSync(join(tmpdir(), "kforge-redis-"));
  private child: ChildProcess | undefined;
  log = "";

  private constructor(
    readonly port: number,
    readonly password: string | undefined,
    /** TLS only (rediss://): the CA file that signed the server's certificate. */
    readonly tlsCa?: string,
  ) {
    const tls = tlsCa
      ? [
          `port 0`,
          `tls-port ${port}`,
          `tls-cert-file ${join(dirname(tlsCa), "server.pem")}`,
          `tls-key-file ${join(dirname(tlsCa), "server.key")}`,
          `tls-ca-cert-file ${tlsCa}`,
          "tls-auth-clients no",
        ]
      : [`port ${port}`];
    const conf = [
      ...tls,
      "bind 127.0.0.1",
      `dir ${this.dir}`,
      "appendonly yes",
      "appendfsync always",
      "save ''",
      "protected-mode no",
      ...(password ? [`requirepass ${password}`] : []),
    ];
    writeFileSync(join(this.dir, "redis.conf"), `${conf.join("\n")}\n`);
  }

  static async start(opts: { password?: string; tls?: boolean } = {}): Promise<RedisServer> {
    const s = new RedisServer(await freePort(), opts.password, opts.tls ? makeCertificates() : undefined);
    await s.up();
    return s;
  }

  get url(): string {
    return `${this.tlsCa ? "rediss" : "redis"}://${this.password ? `:${this.password}@` : ""}127.0.0.1:${this.port}`;
  }

  /** Starts the server (again) on the same port and data dir; resolves once it answers PING. */
  async up(): Promise<void> {
    const child = spawn(REDIS_SERVER, [join(this.dir, "redis.conf")], { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    child.stdout?.on("data", (d: Buffer) => (this.log = (this.log + d.toString()).slice(-8000)));
    child.stderr?.on("data", (d: Buffer) => (this.log = (this.log + d.toString()).slice(-8000)));
    const end = Date.now() + 10_000;
    for (;;) {
      const c = this.client({ retry: false });
      try {
        await c.ping();
        return;
      } catch (err) {
        if (Date.now() > end) throw new Error(`redis-server did not start: ${String(err)}\n${this.log}`);
        await new Promise((r) => setTimeout(r, 50));
      } finally {
        c.disconnect();
      }
    }
  }

  /** Stops the server (SIGTERM: it finishes its append-only file) and waits for it to exit. */
  async down(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null) return;
    const gone = new Promise((r) => c.once("exit", r));
    c.kill("SIGTERM");
    await gone;
  }

  /** A test's own client (the rogue worker, the inspector). */
  client(opts: { retry?: boolean } = {}): Redis {
    const c = new Redis({
      host: "127.0.0.1",
      port: this.port,
      ...(this.password ? { password: this.password } : {}),
      ...(this.tlsCa ? { tls: { ca: readFileSync(this.tlsCa) } } : {}),
      lazyConnect: false,
      maxRetriesPerRequest: opts.retry === false ? 0 : 20,
      retryStrategy: opts.retry === false ? () => null : (n) => Math.min(n * 50, 500),
    });
    c.on("error", () => {});
    return c;
  }
}

/** A throw-away CA and a server certificate for 127.0.0.1 signed by it (openssl); returns the CA file. */
function makeCertificates(): string {
  const dir = mkdtempSync(join(tmpdir(), "kforge-tls-"));
  const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=kforge-test-ca");
  ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1");
  writeFileSync(join(dir, "ext"), "subjectAltName=IP:127.0.0.1\n");
  ssl(
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.pem",
    "-days",
    "2",
    "-extfile",
    "ext",
  );
  return join(dir, "ca.pem");
}
