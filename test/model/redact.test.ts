/** Secrets and terminal safety as pure functions: which variables are secrets, how values are scrubbed, what makes text inert. */
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { loadConfig, loadSecrets } from "../../core/config.ts";
import { createRedactor, secretForms } from "../../core/redact.ts";
import { redactingStream } from "../../core/redacting-stream.ts";
import { inertText, inertValue } from "../../core/inert-text.ts";
import { ConfigError, describeError } from "../../core/errors.ts";

const KEY = "sk-live-4f9a8b7c6d5e4f3a2b1c";

describe("secrets of the environment", () => {
  it("takes the known keys, role keys and any *KEY/TOKEN/SECRET/PASSWORD value of 8+ characters, not kforge's own settings", () => {
    const config = loadConfig({
      KFORGE_HOME: "/tmp/kforge-redact",
      KFORGE_API_KEY: KEY,
      DEEPSEEK_API_KEY: "sk-ds-1234",
      WANDB_API_KEY: "wandb-0123456789",
      db_password: "hunter2hunter2",
      SHORT_TOKEN: "abc",
      KFORGE_MAX_REPLY_TOKENS: "123456789",
      KFORGE_ROLE_MODELS: JSON.stringify({ critic: { provider: "openai-compatible", baseUrl: "http://h/v1", model: "m", apiKey: "role-key-xyz" } }),
    });
    const byName = Object.fromEntries(config.secrets.map((s) => [s.name, s.value]));
    expect(byName).toEqual({
      KFORGE_API_KEY: KEY,
      DEEPSEEK_API_KEY: "sk-ds-1234",
      WANDB_API_KEY: "wandb-0123456789",
      db_password: "hunter2hunter2",
      "KFORGE_ROLE_MODELS.critic.apiKey": "role-key-xyz",
    });
    // Names are scrubbed from candidates' environments whatever their value.
    expect(config.secretNames).toEqual(expect.arrayContaining(["KFORGE_API_KEY", "WANDB_API_KEY", "db_password", "SHORT_TOKEN", "HF_TOKEN"]));
    expect(config.secretNames).not.toContain("KFORGE_MAX_REPLY_TOKENS");
  });

  it("finds role keys in malformed KFORGE_ROLE_MODELS too, so the error about it cannot show them", () => {
    expect(loadSecrets({ KFORGE_ROLE_MODELS: '{"coder": {"apiKey": "role-key-abc", ' })).toEqual([
      { name: "KFORGE_ROLE_MODELS.apiKey", value: "role-key-abc" },
    ]);
  });
});

describe("redactor", () => {
  const r = createRedactor([{ name: "KFORGE_API_KEY", value: KEY }]);

  it("replaces the value, its base64 and its base64 inside a longer blob at every alignment", () => {
    expect(r.text(`key=${KEY}; again ${KEY}`)).toBe("key=[redacted:KFORGE_API_KEY]; again [redacted:KFORGE_API_KEY]");
    expect(r.text(Buffer.from(KEY).toString("base64"))).not.toContain(Buffer.from(KEY).toString("base64").slice(0, 12));
    for (const prefix of ["", "x", "xy", "environ:KFORGE_API_KEY="]) {
      const blob = Buffer.from(`${prefix}${KEY}\n`).toString("base64");
      const out = r.text(`leak: ${blob}`);
      expect(out, prefix).toContain("[redacted:KFORGE_API_KEY]");
      // Nothing left decodes back to the key.
      expect(Buffer.from(out.replace(/\[redacted:[^\]]+\]/g, ""), "base64").toString("latin1")).not.toContain(KEY.slice(4, 16));
    }
    expect(r.text(Buffer.from(KEY).toString("base64url"))).toBe("[redacted:KFORGE_API_KEY]");
  });

  it("scrubs strings deep inside JSON-like values and leaves other values alone", () => {
    const v = {
      status: "runtime_error",
      message: `boom ${KEY}`,
      checks: [{ note: KEY, maxError: 1.5 }],
      phases: { totalMs: 3 },
      ok: true,
      none: null,
    };
    expect(r.value(v)).toEqual({
      status: "runtime_error",
      message: "boom [redacted:KFORGE_API_KEY]",
      checks: [{ note: "[redacted:KFORGE_API_KEY]", maxError: 1.5 }],
      phases: { totalMs: 3 },
      ok: true,
      none: null,
    });
    expect(v.message).toContain(KEY); // a copy, the input untouched
  });

  it("forms are long enough not to hit ordinary text", () => {
    for (const f of secretForms(KEY)) expect(f.length).toBeGreaterThanOrEqual(8);
    expect(createRedactor([]).empty).toBe(true);
  });

  it("a redacting stream scrubs writes and keeps the terminal's properties", () => {
    const sink = Object.assign(new PassThrough(), { isTTY: true, columns: 132 });
    const out = redactingStream(sink, r);
    out.write(`token ${KEY}\n`);
    out.write(Buffer.from(`buffer ${KEY}\n`));
    expect((out as typeof sink).isTTY).toBe(true);
    expect((out as typeof sink).columns).toBe(132);
    expect(String(sink.read())).toBe("token [redacted:KFORGE_API_KEY]\nbuffer [redacted:KFORGE_API_KEY]\n");
  });
});

describe("inert text", () => {
  it("strips CSI, OSC (title), DCS, 8-bit controls, carriage returns and bidi overrides; keeps newlines and tabs", () => {
    const hostile =
      "ok\x1b[2K\r\x1b[1A\x1b[32mall kernels verified\x1b[0m\n" + // overwrite a line in green
      "\x1b]0;pwned title\x07\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\\t" + // retitle, hyperlink
      "\x1bP+q544e\x1b\\\x9b31m\x9d2;x\x9cend\u202e\x00\x07\x08\x7f";
    expect(inertText(hostile)).toBe("okall kernels verified\nlink\tend");
    expect(inertText("line 1\r\nline 2")).toBe("line 1\nline 2");
    expect(inertText("unterminated \x1b]0;title to the end")).toBe("unterminated ");
    expect(inertValue({ a: ["\x1b[31mred"], n: 2 })).toEqual({ a: ["red"], n: 2 });
  });

  it("errors are rendered inert: a server's message cannot steer the terminal through stderr", () => {
    const err = new ConfigError("endpoint answered: \x1b]0;pwned\x07\x1b[2Kbad model", { hint: "check \x1b[8mhidden\x1b[0m" });
    expect(describeError(err)).toBe("error (user): endpoint answered: bad model\n  hint: check hidden");
  });
});
