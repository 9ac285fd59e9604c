/** Every fixture kernel through the harness's `static` job: the static rule the manifest names, or none. */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { KERNELS, ROOT, manifest, torchPython } from "./helpers.ts";
import { existsSync } from "node:fs";

type Verdicts = Record<string, { violations: Array<{ rule: string; line: number }> }>;
let verdicts: Verdicts;

beforeAll(() => {
  // One Python process for all fixtures: the same entry the worker uses for a `static` job.
  const script = `
import json, sys
sys.path.insert(0, ${JSON.stringify(join(ROOT, "tools", "verifier", "harness"))})
from kforge_harness.protocol import Job
from kforge_harness.jobs import static_only
out = {}
for f, device in json.loads(sys.stdin.read()):
    job = Job(mode="static", nonce="", device=device, problem={}, reference_path="", kernel_path=f)
    out[f] = static_only(job)
print(json.dumps(out))
`;
  const items = manifest()
    .filter((k) => existsSync(join(KERNELS, k.file)))
    .map((k) => [join(KERNELS, k.file), k.device]);
  const r = spawnSync(torchPython(), ["-c", script], { input: JSON.stringify(items), encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  verdicts = JSON.parse(r.stdout) as Verdicts;
});

describe("static rules on the fixture kernels", () => {
  for (const k of manifest()) {
    const rule = k.expect.rule ?? "";
    it(`${k.file}: ${rule.startsWith("static.") ? rule : "no static rule"}`, () => {
      // A fixture the manifest lists must exist: deleting a cheating kernel must fail its test, not skip it.
      expect(existsSync(join(KERNELS, k.file)), `${k.file} is listed in test/fixtures/kernels/manifest.json but missing`).toBe(true);
      const found = verdicts[join(KERNELS, k.file)]?.violations ?? [];
      if (rule.startsWith("static.")) expect(found[0]?.rule).toBe(rule);
      else expect(found).toEqual([]);
    });
  }
});
