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
    // Longer pauses than the other tests (200 ms, 1.5 s in all): a loaded machine fires timers late, and the checks below
    // hold unless a timer fires most of a second late.
    const slow = { breakerFailures: 3, breakerPauseMs: 200, breakerMaxWaitMs: 1500 };
    const r = recorder();
    const b = new EndpointBreaker(slow, r.listen);
    for (let i = 0; i < 3; i++) (await b.admit()).done("down", "HTTP 503");
    const began = Date.now();
    // A call already waiting when the outage began is the first probe (the only caller then), and it fails.
    const first = await b.admit();
    expect(Date.now() - began).toBeGreaterThanOrEqual(190);
    first.done("down", "still HTTP 503");
    // Later calls wait for their probe times; each fails, until the total wait is spent.
    const times: number[] = [];
    for (;;) {
      const p = await b.admit().catch((e: unknown) => e);
      if (p instanceof EndpointUnreachableError) break;
      times.push(Date.now() - began);
      (p as { done: (o: "down", r: string) => void }).done("down", "still HTTP 503");
    }
    const elapsed = Date.now() - began;
    expect(elapsed).toBeGreaterThanOrEqual(1500);
    // Pauses 200, 400, 800 (the last cut to what is left of 1.5 s): a handful of probes, never a busy loop, and each
    // pause at least as long as the doubled one before it (however late a timer fires, it never fires early).
    expect(times.length).toBeGreaterThanOrEqual(2);
    expect(times.length).toBeLessThanOrEqual(4);
    expect(times[0]! - 190).toBeGreaterThanOrEqual(400 - 15);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(Math.min(800, 1500 - times[0]!) - 15);
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
