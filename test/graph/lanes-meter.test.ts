/** The lanes meter: at most `lanes` verifications at once, first come first served, and exact busy/queued/utilisation numbers. */
import { describe, expect, it } from "vitest";
import { LanesMeter } from "../../graph/lanes-meter.ts";
import { InstantVerifier } from "../fakes/instant-verifier.ts";
import { loadProblem } from "../../problems/load.ts";
import type { VerifyRequest } from "../../tools/verifier/types.ts";
import type { VerifyResult } from "../../tools/verifier/result.ts";

const problem = loadProblem("softcap");

/** A verifier whose jobs end when the test says so; the clock is the test's. */
class HeldVerifier extends InstantVerifier {
  readonly started: string[] = [];
  readonly #release = new Map<string, () => void>();
  override async verify(req: VerifyRequest): Promise<VerifyResult> {
    this.started.push(req.candidateId!);
    await new Promise<void>((r) => this.#release.set(req.candidateId!, r));
    return super.verify(req);
  }
  finish(id: string): void {
    this.#release.get(id)!();
  }
}

const tick = () => new Promise((r) => setImmediate(r));

describe("lanes meter", () => {
  it("admits `lanes` jobs, queues the rest in order, and integrates busy lane-time", async () => {
    let now = 0;
    const inner = new HeldVerifier();
    const meter = new LanesMeter(inner, 2, () => now);
    const job = (id: string) => meter.verify({ problem, source: "# verdict: ok 1.1", candidateId: id });
    const results = ["a", "b", "c", "d"].map(job);
    await tick();
    expect(inner.started).toEqual(["a", "b"]);
    expect(meter.stats()).toMatchObject({ lanes: 2, busy: 2, queued: 2, jobs: 0 });
    now = 100; // 2 lanes busy for 100
    inner.finish("a");
    await results[0];
    await tick();
    expect(inner.started).toEqual(["a", "b", "c"]); // the freed lane went to the first in line
    expect(meter.stats()).toMatchObject({ busy: 2, queued: 1, jobs: 1 });
    now = 200;
    inner.finish("b");
    inner.finish("c");
    await Promise.all(results.slice(1, 3));
    await tick();
    expect(meter.stats()).toMatchObject({ busy: 1, queued: 0, jobs: 3 });
    now = 400; // one lane busy for 200, one idle
    inner.finish("d");
    await results[3];
    const s = meter.stats();
    expect(s).toMatchObject({ busy: 0, queued: 0, jobs: 4, windowMs: 400 });
    // busy lane-time: 2×200 + 1×200 = 600 of 2×400
    expect(s.utilisation).toBeCloseTo(0.75, 10);
    expect(meter.busyLaneMs()).toBe(600);
    // waits: a 0, b 0, c 100, d 200; services: a 100, b 200, c 100, d 200
    expect(s.meanWaitMs).toBe(75);
    expect(s.meanServiceMs).toBe(150);
  });

  it("lanes that come and go: more admit the waiting jobs at once, fewer admit none until the busy ones end", async () => {
    let now = 0;
    const inner = new HeldVerifier();
    const meter = new LanesMeter(inner, 1, () => now);
    const job = (id: string) => meter.verify({ problem, source: "# verdict: ok 1.1", candidateId: id });
    const results = ["a", "b", "c", "d", "e"].map(job);
    await tick();
    expect(inner.started).toEqual(["a"]);
    now = 100; // 1 lane, busy, for 100
    meter.setLanes(3); // two workers joined
    await tick();
    expect(inner.started).toEqual(["a", "b", "c"]);
    expect(meter.stats()).toMatchObject({ lanes: 3, busy: 3, queued: 2 });
    now = 200; // 3 lanes busy for 100
    meter.setLanes(1); // they left again
    inner.finish("a");
    await results[0];
    await tick();
    expect(inner.started).toEqual(["a", "b", "c"]); // 2 busy on 1 lane: nothing new starts
    expect(meter.stats()).toMatchObject({ busy: 2, queued: 2 });
    inner.finish("b");
    await results[1];
    await tick();
    expect(inner.started).toEqual(["a", "b", "c"]); // now 1 busy on 1 lane
    inner.finish("c");
    await results[2];
    await tick();
    expect(inner.started).toEqual(["a", "b", "c", "d"]); // the lane passes to the next in line
    now = 300; // 1 lane busy for 100
    inner.finish("d");
    await results[3];
    await tick();
    inner.finish("e");
    await results[4];
    // busy: 1×100 + 3×100 + 1×100 = 500 of lane-time 1×100 + 3×100 + 1×100 = 500
    expect(meter.laneMs()).toBe(500);
    expect(meter.stats().utilisation).toBeCloseTo(1, 10);
    expect(() => meter.setLanes(0)).toThrow(/positive integer/);
  });

  it("a queued job aborted leaves the line; the lanes go on", async () => {
    const inner = new HeldVerifier();
    const meter = new LanesMeter(inner, 1);
    const first = meter.verify({ problem, source: "", candidateId: "x" });
    const controller = new AbortController();
    const second = meter.verify({ problem, source: "", candidateId: "y", signal: controller.signal });
    await tick();
    expect(meter.stats()).toMatchObject({ busy: 1, queued: 1 });
    controller.abort(new Error("stop"));
    await expect(second).rejects.toThrow("stop");
    expect(meter.stats()).toMatchObject({ busy: 1, queued: 0 });
    inner.finish("x");
    await expect(first).resolves.toMatchObject({ status: "ok" });
    expect(inner.started).toEqual(["x"]);
    expect(meter.stats()).toMatchObject({ busy: 0, jobs: 1 });
  });

  it("refuses a lane count that is not a positive integer", () => {
    expect(() => new LanesMeter(new InstantVerifier(), 0)).toThrow(/positive integer/);
  });
});
