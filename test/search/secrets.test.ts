/**
 * Secrets never leave the orchestrator, tested by effect: a search whose model and candidates leak the
 * configured keys (in the kernel, its error, its output, the model's reasoning) runs as a real `kforge`
 * process; afterwards no key, nor its base64, is anywhere in the SQLite files' raw bytes, in what
 * search/trace/runs printed, or in any prompt the scripted server received. The same model also
 * writes terminal escapes (retitle the window, erase and overwrite a line): none reaches the output.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startScriptedServer, type ScriptedServer } from "../../tools/scripted-server/server.ts";
import { CPU_TINY } from "../verifier/helpers.ts";
import { kernelModel } from "./script.ts";
import { cpuKernel } from "./cpu-kernels.ts";
import { kforgeEnv, runKforge } from "./cli-process.ts";

const KEY = "sk-kforge-7d1e9c2b4a6f8e0d3c5b";
const TOKEN = "hf_QmVhdXRpZnVsU2VjcmV0VG9rZW4";
const b64 = (s: string) => Buffer.from(s).toString("base64");

/** Every form a leak could take in the outputs. */
const FORMS = [KEY, TOKEN, b64(KEY).slice(0, 24), b64(TOKEN).slice(0, 24), KEY.slice(3, 20), TOKEN.slice(3, 20)];

/** A kernel that spills both secrets: in its source, on stdout, and in the exception it raises. */
function leakyKernel(fate: string, title: string): string {
  // (The escapes in titles shift what the scripted coder reads as the fate: match the word.)
  if (!fate.includes("leak")) return cpuKernel(fate.includes("good") ? "good" : fate, title);
  return [
    `# ${title}`,
    `SECRET = "${KEY}"`,
    `def attention(q, k, v, *, scale, cap, **params):`,
    `    print("environ:", SECRET, "${b64(TOKEN)}")`,
    `    raise RuntimeError("leaked KFORGE_API_KEY=" + SECRET + " token ${TOKEN}")`,
    ``,
  ].join("\n");
}

function leaks(text: string): string[] {
  return FORMS.filter((f) => text.includes(f));
}

describe("secrets never leave the orchestrator", () => {
  let server: ScriptedServer;
  let home: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    const model = kernelModel({ fates: ["leak", "good", "leak"], kernel: leakyKernel, sequential: true });
    // The model's own words leak too: its reasoning quotes the token; its idea titles and answers carry escapes.
    server = await startScriptedServer((req) => {
      const reply = model(req);
      const content = (reply.content ?? "").replace(/"title":"/g, '"title":"\\u001b]0;pwned\\u0007\\u001b[2K');
      return {
        ...reply,
        content: `${content}\n\x1b[1A\x1b[32mall kernels verified\x1b[0m`,
        reasoning: `${reply.reasoning ?? ""} I noticed HF_TOKEN=${TOKEN} in the log.\x1b]0;owned\x07`,
      };
    });
    home = mkdtempSync(join(tmpdir(), "kforge-secrets-"));
    env = { ...kforgeEnv(home, server.baseUrl), KFORGE_API_KEY: KEY, HF_TOKEN: TOKEN };
  });
  afterAll(async () => {
    await server.close();
    rmSync(home, { recursive: true, force: true });
  });

  it("a leaking search: nothing in the database bytes, the terminal output or the prompts", async () => {
    const search = await runKforge(["search", "--problem", CPU_TINY, "--max-nodes", "6", "--branching", "3"], env);
    expect(search.code, search.stderr).toBe(0);
    const runId = /^run (\S+)/m.exec(search.stdout)![1]!;
    const trace = await runKforge(["trace", runId], env);
    const treeJson = await runKforge(["trace", runId, "--json"], env);
    const nodes = (JSON.parse(treeJson.stdout) as { nodes: { label: string; title: string; status: string }[] }).nodes;
    const leaky = nodes.find((n) => n.title.includes("[leak]") && n.status === "runtime_error")?.label;
    expect(leaky, treeJson.stdout).toBeDefined();
    const node = await runKforge(["trace", runId, "--node", leaky!], env);
    const nodeJson = await runKforge(["trace", runId, "--node", leaky!, "--json"], env);
    const runs = await runKforge(["runs"], env);
    for (const r of [trace, treeJson, node, nodeJson, runs]) expect(r.code, r.stderr).toBe(0);

    // The leak happened and was caught: the node failed on the exception, and its texts carry the markers.
    expect(node.stdout).toMatch(/runtime_error|RuntimeError/);
    expect(node.stdout).toContain("[redacted:KFORGE_API_KEY]");
    expect(node.stdout).toContain("[redacted:HF_TOKEN]");

    const printed = [search, trace, treeJson, node, nodeJson, runs].map((r) => r.stdout + r.stderr).join("\n");
    expect(leaks(printed)).toEqual([]);
    // The escapes were recorded as the model wrote them, and reached no terminal (NO_COLOR: kforge adds none itself).
    expect(nodeJson.stdout).toContain("\\u001b]0;");
    expect(node.stdout).toContain("all kernels verified");
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the test asserts no control characters reach the terminal
    for (const r of [search, trace, node, runs]) expect(r.stdout + r.stderr).not.toMatch(/[\x1b\x07\r\x9b]/);

    // Raw bytes of the database and its WAL/shm, whatever state they were left in.
    const files = readdirSync(home).filter((f) => f.startsWith("kforge.sqlite"));
    expect(files).toContain("kforge.sqlite");
    const bytes = files.map((f) => readFileSync(join(home, f)).toString("latin1")).join("");
    expect(bytes).toContain("[redacted:KFORGE_API_KEY]");
    expect(bytes).toContain("[redacted:HF_TOKEN]");
    expect(leaks(bytes)).toEqual([]);

    // Every prompt the provider received; later prompts quote the leaky verifier feedback and kernels.
    const chats = server.requests.filter((r) => r.path.endsWith("/chat/completions"));
    expect(chats.length).toBeGreaterThan(3);
    const prompts = chats.map((r) => JSON.stringify(r.messages)).join("\n");
    expect(prompts).toContain("[redacted:");
    expect(leaks(prompts)).toEqual([]);
    // (The same prompts name the device the verifier probed, here the CPU, never a hard-coded H100.)
    expect(chats.at(-1)!.system).toMatch(/attention kernels on the CPU \(a test problem on the verifier's CPU lane, no GPU involved\)\./);
    expect(prompts).not.toContain("H100 (SXM");
  }, 300_000);
});
