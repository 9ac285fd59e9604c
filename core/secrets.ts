/**
 * Which environment variables hold secrets, and their values: the names are dropped from the
 * environment of generated code, the values are scrubbed from everything kforge stores or prints.
 */

/** One secret value and the name it is reported as (`[redacted:NAME]`). */
export interface Secret {
  name: string;
  value: string;
}

/** Always treated as secrets, set or not. */
export const KNOWN_SECRET_NAMES = ["DEEPSEEK_API_KEY", "KFORGE_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "HF_TOKEN"];
/** Other variables whose name says they hold a secret. */
export const SECRET_NAME_PATTERN = /KEY|TOKEN|SECRET|PASSWORD/i;
/** A value matched by name pattern only is a secret from this length (shorter ones would scrub ordinary words). */
export const MIN_PATTERN_SECRET = 8;
/** A value of a known secret variable shorter than this cannot be scrubbed without mangling text. */
export const MIN_KNOWN_SECRET = 4;

/** The secret names of `env` (known ones always) and the values worth scrubbing; `settings` are names never secret. */
export function collectSecrets(env: NodeJS.ProcessEnv, settings: readonly string[]): { names: string[]; secrets: Secret[] } {
  const names = new Set(KNOWN_SECRET_NAMES);
  const secrets: Secret[] = [];
  for (const [name, raw] of Object.entries(env)) {
    const value = raw?.trim();
    const known = KNOWN_SECRET_NAMES.includes(name);
    if (!known && (settings.includes(name) || !SECRET_NAME_PATTERN.test(name))) continue;
    names.add(name);
    if (value && value.length >= (known ? MIN_KNOWN_SECRET : MIN_PATTERN_SECRET)) secrets.push({ name, value });
  }
  secrets.push(...roleKeys(env["KFORGE_ROLE_MODELS"]));
  return { names: [...names], secrets };
}

/** API keys inside KFORGE_ROLE_MODELS, even when its JSON is malformed (the error message must not show them either). */
function roleKeys(json: string | undefined): Secret[] {
  if (!json) return [];
  const out: Secret[] = [];
  try {
    const parsed = JSON.parse(json) as unknown;
    if (parsed && typeof parsed === "object") {
      for (const [role, s] of Object.entries(parsed as Record<string, unknown>)) {
        const key = (s as { apiKey?: unknown } | null)?.apiKey;
        if (typeof key === "string" && key.length >= MIN_KNOWN_SECRET) out.push({ name: `KFORGE_ROLE_MODELS.${role}.apiKey`, value: key });
      }
    }
  } catch {
    for (const m of json.matchAll(/"apiKey"\s*:\s*"([^"]+)"/g))
      if (m[1]!.length >= MIN_KNOWN_SECRET) out.push({ name: "KFORGE_ROLE_MODELS.apiKey", value: m[1]! });
  }
  return out;
}
