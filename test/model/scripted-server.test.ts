import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startScriptedServer, type ScriptedServer } from "../../tools/scripted-server/server.ts";
import { ask, fastClient } from "./helpers.ts";

let server: ScriptedServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${url}/chat/completions`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });

describe("scripted server protocol", () => {
  it("lists models and streams SSE ending in [DONE] with a usage chunk", async () => {
    server = await startScriptedServer([{ content: "hello world", chunkChars: 4 }], { models: ["r1"] });
    const models = (await (await fetch(`${server.baseUrl}/models`)).json()) as { data: { id: string }[] };
    expect(models.data.map((m) => m.id)).toEqual(["r1"]);
    const res = await post(server.baseUrl, {
      model: "r1",
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "hi" }],
    });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const events = (await res.text()).split("\n\n").filter(Boolean);
    expect(events.at(-1)).toBe("data: [DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice("data: ".length)));
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("")).toBe("hello world");
    expect(chunks.at(-1).usage.completion_tokens).toBeGreaterThan(0);
  });

  it("answers non-streaming requests with one JSON completion", async () => {
    server = await startScriptedServer([{ content: "a", reasoning: "b", reasoningAs: "reasoning" }]);
    const body = (await (await post(server.baseUrl, { model: "m", messages: [] })).json()) as { choices: { message: Record<string, string> }[] };
    expect(body.choices[0]!.message).toEqual({ role: "assistant", content: "a", reasoning: "b" });
  });

  it("routes by role header and by system prompt, with repeat and fallback", async () => {
    server = await startScriptedServer({
      routes: [
        { match: { role: "planner" }, replies: [{ content: "plan A" }, { content: "plan B" }], repeat: "last" },
        { match: { system: "/you are the critic/i" }, replies: [{ content: "critique" }], repeat: "cycle" },
      ],
      fallback: { content: "fallback" },
    });
    const planner = fastClient(server.baseUrl, {}, "planner").client;
    const critic = fastClient(server.baseUrl, {}, "critic").client;
    const coder = fastClient(server.baseUrl, {}, "coder").client;
    const got = [];
    for (let i = 0; i < 3; i++) got.push((await planner.chat(ask("planner"))).content);
    got.push((await critic.chat(ask("critic"))).content, (await critic.chat(ask("critic"))).content, (await coder.chat(ask("coder"))).content);
    expect(got).toEqual(["plan A", "plan B", "plan B", "critique", "critique", "fallback"]);
    expect(server.requests.map((r) => r.role)).toEqual(["planner", "planner", "planner", "critic", "critic", "coder"]);
  });

  it("a function script sees the request; an exhausted queue answers 400 and is recorded", async () => {
    server = await startScriptedServer((req) => ({ content: `echo: ${req.lastUser}` }));
    const { client } = fastClient(server.baseUrl);
    expect((await client.chat(ask())).content).toBe("echo: Write the kernel.");
    server.setScript([]);
    await expect(client.chat(ask())).rejects.toThrow(/no scripted reply left/);
    expect(server.unscripted).toHaveLength(1);
  });

  it("runs standalone from a JSON script file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kforge-scripted-"));
    writeFileSync(join(dir, "kernel.py"), "def attention(q, k, v, *, scale):\n    return q\n");
    writeFileSync(
      join(dir, "script.json"),
      JSON.stringify({ routes: [{ match: { role: "coder" }, replies: [{ contentFile: "kernel.py", reasoning: "easy" }], repeat: "last" }] }),
    );
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "tools/scripted-server/server.ts",
        "--script",
        join(dir, "script.json"),
        "--port",
        "0",
        "--log",
        join(dir, "requests.jsonl"),
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    try {
      const baseUrl = await new Promise<string>((ok, fail) => {
        let out = "";
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          const m = /listening on (\S+)/.exec(out);
          if (m) ok(m[1]!);
        });
        child.on("exit", (code) => fail(new Error(`exited ${code}`)));
      });
      const res = await fastClient(baseUrl).client.chat(ask("coder"));
      expect(res.content).toContain("def attention");
      expect(res.reasoning).toBe("easy");
    } finally {
      child.kill("SIGTERM");
    }
  }, 20_000);
});
