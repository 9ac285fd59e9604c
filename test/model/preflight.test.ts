/** The pre-flight check before a search: what a dead, mistyped or wrong endpoint answers becomes a ConfigError naming URL, model and answer. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError } from "../../core/errors.ts";
import { preflightModels } from "../../agents/preflight.ts";
import { startScriptedServer, type ScriptedServer } from "../../tools/scripted-server/server.ts";
import { TEST_KEY, testConfig } from "./helpers.ts";

let server: ScriptedServer | undefined;
let html: Server | undefined;
afterEach(async () => {
  await server?.close();
  await new Promise<void>((ok) => (html ? html.close(() => ok()) : ok()));
  server = undefined;
  html = undefined;
});

async function refusal(baseUrl: string, extra: Record<string, string> = {}): Promise<ConfigError> {
  const err = await preflightModels(testConfig(baseUrl, extra)).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  return err as ConfigError;
}

describe("preflightModels", () => {
  it("passes a live endpoint that lists the model, without spending a completion", async () => {
    server = await startScriptedServer([], { models: ["scripted-model"] });
    await preflightModels(testConfig(server.baseUrl));
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["GET /v1/models"]);
  });

  it("connection refused: names the URL, the model and what happened", async () => {
    server = await startScriptedServer();
    const url = server.baseUrl;
    await server.close();
    server = undefined;
    const err = await refusal(url);
    expect(err.message).toContain(url);
    expect(err.message).toContain('model "scripted-model"');
    expect(err.message).toMatch(/connection refused/);
    expect(err.hint).toMatch(/curl .*\/models/);
  });

  it("a model the server does not serve: 404 from the completion after /models did not list it", async () => {
    server = await startScriptedServer([{ status: 404, errorMessage: "The model `scripted-model` does not exist." }], { models: ["other-model"] });
    const err = await refusal(server.baseUrl);
    expect(err.message).toMatch(/model "scripted-model" not found \(HTTP 404: The model `scripted-model` does not exist\.\)/);
    expect(err.hint).toMatch(/KFORGE_MODEL/);
  });

  it("a rejected key: 401, and the key itself is nowhere in the error", async () => {
    server = await startScriptedServer([{ status: 401, errorMessage: `invalid api key ${TEST_KEY}` }], { models: [] });
    const err = await refusal(server.baseUrl);
    expect(err.message).toMatch(/HTTP 401: the key was rejected/);
    expect(err.hint).toMatch(/KFORGE_API_KEY/);
    expect(`${err.message} ${err.hint} ${JSON.stringify(err.context)}`).not.toContain(TEST_KEY);
  });

  it("HTML instead of JSON (a web page at that port): says so and points at the API root", async () => {
    html = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<!doctype html><html><body>Grafana</body></html>");
    });
    await new Promise<void>((ok) => html!.listen(0, "127.0.0.1", () => ok()));
    const err = await refusal(`http://127.0.0.1:${(html.address() as AddressInfo).port}/v1`);
    expect(err.message).toMatch(/GET \/models answered an HTML page, not JSON/);
    expect(err.hint).toMatch(/API root/);
  });

  it("a web server answering 404 pages to everything is not an API, not a missing model", async () => {
    html = createServer((_req, res) => {
      res.writeHead(404, { "content-type": "text/html" });
      res.end("<html><body>Not Found</body></html>");
    });
    await new Promise<void>((ok) => html!.listen(0, "127.0.0.1", () => ok()));
    const err = await refusal(`http://127.0.0.1:${(html.address() as AddressInfo).port}/v1`);
    expect(err.message).toMatch(/a chat completion answered HTTP 404 with an HTML page, not JSON/);
    expect(err.context?.refusal?.kind).toBe("not_api");
  });

  it("checks nothing for the offline policy", async () => {
    await preflightModels(testConfig("http://127.0.0.1:9/v1", { KFORGE_PROVIDER: "offline" }));
  });
});
