/** The environment a candidate gets. */
import { describe, expect, it } from "vitest";
import { scrubbedEnv } from "../../tools/verifier/sandbox-env.ts";

describe("scrubbedEnv", () => {
  const from = {
    PATH: "/usr/bin",
    LANG: "C.UTF-8",
    DEEPSEEK_API_KEY: "sk-1",
    HF_TOKEN: "hf",
    AWS_SECRET_ACCESS_KEY: "x",
    LD_LIBRARY_PATH: "/cuda/lib",
    DB_PASSWORD: "p",
    HOME: "/root",
    SSH_AUTH_SOCK: "/tmp/ssh",
    GITHUB_TOKEN: "g",
  };

  it("keeps only what Python and CUDA need, with HOME and the caches in the temp dir", () => {
    const env = scrubbedEnv({ workdir: "/tmp/cand", secretNames: ["DEEPSEEK_API_KEY"], cudaVisibleDevices: "1", from });
    expect(env).toMatchObject({
      PATH: "/usr/bin",
      LANG: "C.UTF-8",
      LD_LIBRARY_PATH: "/cuda/lib",
      HOME: "/tmp/cand",
      TMPDIR: "/tmp/cand",
      CUDA_VISIBLE_DEVICES: "1",
    });
    expect(env["TRITON_CACHE_DIR"]).toBe("/tmp/cand/triton");
    for (const secret of ["DEEPSEEK_API_KEY", "HF_TOKEN", "AWS_SECRET_ACCESS_KEY", "DB_PASSWORD", "SSH_AUTH_SOCK", "GITHUB_TOKEN"])
      expect(env).not.toHaveProperty(secret);
  });

  it("drops a configured secret name even if it were whitelisted", () => {
    const env = scrubbedEnv({ workdir: "/w", secretNames: ["LANG"], cudaVisibleDevices: "", from });
    expect(env).not.toHaveProperty("LANG");
  });
});
