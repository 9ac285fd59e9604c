/** The endpoint breaker on its own: opens after N failures in a row, lets one probe through per pause, closes on success, gives up after the total wait. */
import { describe, expect, it } from "vitest";
import { EndpointBreaker } from "../../agents/breaker.ts";
import { EndpointUnreachableError } from "../../core/errors.ts";

const settings = { breakerFailures: 3, breakerPauseMs: 40, breakerMaxWaitMs: 300 };

function recorder() {
  const events: string[] = [];
  return { events, listen: (kind: string) => void events.push(kind) };
}

describe("EndpointBreaker", () => {
  it("stays closed below N failures in a row, and a success resets the count", async () => {
    const r = recorder();
    const b = new EndpointBreaker(settings, r.listen);
    for (const outcome of ["down", "down", "up", "down", "down"] as const) (await b.admit()).done(outcome, "refused");
    const began = Date.now();
    (await b.admit()).done("up");
    expect(Date.now() - began).toBeLessThan(20);
    expect(r.events).toEqual([]);
  });

  it("when open, holds calls for the pause, sends one probe, and releases everyone when it succeeds", async () => {
    const r = recorder();
    const b = new EndpointBreaker(settings, r.listen);
    for (let i = 0; i < 3; i++) (await b.admit()).done("down", "ECONNREFUSED");
    expect(r.events).toEqual(["breaker_open"]);
    const began = Date.now();
    const admitted: string[] = [];
    const calls = ["a", "b"].map((name) =>
      b.admit().then((p) => {
        admitted.push(name);
        return p;
      }),
    );
    // Whichever call wakes first is the probe; the other waits for its outcome.
    const first = await Promise.race(calls);
    expect(Date.now() - began).toBeGreaterThanOrEqual(35);
    await new Promise((ok) => setTimeout(ok, 30));
    expect(admitted).toHaveLength(1);
    first.done("up");
    const both = await Promise.all(calls);
    for (const p of both) p.done("up");
    expect(admitted).toHaveLength(2);
    expect(r.events).toEqual(["breaker_open", "breaker_probe", "breaker_closed"]);
  });

  it("failed probes double the pause; past the total wait every waiting and later call throws EndpointUnreachableError", async () => {
    const r = recorder();
    const b = new EndpointBreaker(settings, r.listen);
    for (let i = 0; i < 3; i++) (await b.admit()).done("down", "HTTP 503");
    const began = Date.now();
    // A call already waiting when the outage began: it becomes the first probe, which fails.
    const waiting = b.admit().then(
      (p) => {
        p.done("down", "still HTTP 503");
        return "admitted";
      },
      (e: unknown) => e,
    );
    let probes = 0;
    for (;;) {
      const p = await b.admit().catch((e: unknown) => e);
      if (p instanceof EndpointUnreachableError) break;
      probes++;
      (p as { done: (o: "down", r: string) => void }).done("down", "still HTTP 503");
    }
    const elapsed = Date.now() - began;
    expect(elapsed).toBeGreaterThanOrEqual(300);
    expect(elapsed).toBeLessThan(2000);
    // Pauses 40, 80, 160 (capped by what is left of 300 ms): a handful of probes, not a busy loop.
    expect(probes + 1).toBeGreaterThanOrEqual(3);
    expect(probes + 1).toBeLessThanOrEqual(5);
    expect(await waiting).toBe("admitted");
    await expect(b.admit()).rejects.toThrow(/model endpoint unreachable: still HTTP 503/);
    expect(r.events.at(-1)).toBe("endpoint_unreachable");
  });

  it("an abort ends a wait at once", async () => {
    const b = new EndpointBreaker(settings);
    for (let i = 0; i < 3; i++) (await b.admit()).done("down", "x");
    const controller = new AbortController();
    const pending = b.admit(controller.signal);
    controller.abort(new Error("Ctrl-C"));
    await expect(pending).rejects.toThrow("Ctrl-C");
  });
});
