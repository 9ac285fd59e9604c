/**
 * The one prompt renderer. A template is a string literal with `{{name}}` slots; the slot names are
 * read from the literal's type, so a missing (or misspelt) variable is a type error, and at run
 * time an unfilled slot throws instead of reaching the model as `{{name}}`.
 */

/** The `{{name}}` slot names of a template literal type. */
export type Slots<T extends string> = T extends `${string}{{${infer Name}}}${infer Rest}` ? Name | Slots<Rest> : never;

/** Fills every `{{name}}` of `template` with `vars[name]`. */
export function render<T extends string>(template: T, vars: { [K in Slots<T>]: string | number }): string {
  const values = vars as Record<string, string | number>;
  return template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`prompt variable {{${name}}} has no value`);
    return String(v);
  });
}
