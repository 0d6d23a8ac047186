// Environment variables as Docker handles them: env files (KEY=VALUE lines,
// comments, a bare KEY taking the caller's value) and merging where later
// lists override earlier ones by name.

import { UsageError } from "../errors.ts";

/** Parses an env file (KEY=VALUE lines; a bare KEY is skipped like Docker does when unset). */
export function parseEnvFile(text: string): string[] {
  return text.split("\n").map((l) => l.replace(/\r$/, "")).filter((l) =>
    l.trim() && !l.trimStart().startsWith("#")
  ).flatMap(
    (l) => {
      if (l.includes("=")) return [l.trimStart()];
      const v = Deno.env.get(l.trim());
      return v === undefined ? [] : [`${l.trim()}=${v}`];
    },
  );
}

/** Merges env lists: later entries replace earlier ones with the same name. */
export function mergeEnv(...lists: string[][]): string[] {
  const out = new Map<string, string>();
  for (const l of lists) {
    for (const e of l) {
      const eq = e.indexOf("=");
      const key = eq < 0 ? e : e.slice(0, eq);
      if (!key) throw new UsageError(`invalid environment variable: ${JSON.stringify(e)}`);
      if (eq < 0) {
        // "-e NAME" passes the caller's value, as Docker does.
        const v = Deno.env.get(key);
        if (v !== undefined) out.set(key, `${key}=${v}`);
      } else out.set(key, e);
    }
  }
  return [...out.values()];
}
