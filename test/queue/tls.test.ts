/**
 * A queue over TLS (rediss://) with AUTH: a real redis-server with a certificate from a throw-away CA. With
 * KFORGE_QUEUE_TLS_CA naming that CA a worker serves and the doctor lists it; without it the certificate is refused.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Kforge, runKforge, startKforge } from "../search/cli-process.ts";
import { torchPython } from "../verifier/helpers.ts";
import { RedisServer } from "./redis-server.ts";

let redis: RedisServer;
let worker: Kforge | undefined;
const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  PATH: process.env["PATH"],
  HOME: process.env["HOME"],
  KFORGE_HOME: mkdtempSync(join(tmpdir(), "kforge-tls-home-")),
  KFORGE_PYTHON: torchPython(),
  NO_COLOR: "1",
  ...extra,
});

beforeAll(async () => {
  redis = await RedisServer.start({ password: "tls-pass", tls: true });
});
afterAll(async () => {
  worker?.child.kill("SIGTERM");
  await worker?.exited;
  await redis?.down();
});

describe("rediss:// queues", () => {
  it("serves and lists a worker over TLS with the CA configured, and refuses an unknown certificate", async () => {
    expect(redis.url).toMatch(/^rediss:\/\/:tls-pass@127\.0\.0\.1:\d+$/);
    const ca = { KFORGE_QUEUE_TLS_CA: redis.tlsCa as string };
    worker = startKforge(["worker", "--queue", redis.url, "--id", "tls-w1"], env(ca));
    const end = Date.now() + 40_000;
    while (!/serving rediss:\/\/:\*\*\*@/.test(worker.stdout())) {
      if (Date.now() > end || worker.child.exitCode !== null) throw new Error(`the worker did not start:\n${worker.stderr()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const d = JSON.parse((await runKforge(["doctor", "--queue", redis.url, "--json"], env(ca))).stdout) as Array<{
      name: string;
      status: string;
      detail: string;
    }>;
    expect(d.find((c) => c.name === "queue")?.status).toBe("ok");
    expect(d.find((c) => c.name === "worker tls-w1")?.status).toBe("ok");

    const untrusted = await runKforge(["doctor", "--queue", redis.url, "--json"], env());
    const q = (JSON.parse(untrusted.stdout) as Array<{ name: string; status: string; detail: string }>).find((c) => c.name === "queue");
    expect(q?.status).toBe("missing");
    expect(q?.detail).toMatch(/certificate/i);
  }, 90_000);
});
