// Command-line flags, Docker style: `--name value`, `--name=value`, `-e X=1`,
// `-eX=1`, bundled short booleans (`-it`), repeated list flags, and the first
// positional argument ends the flags (`run IMAGE CMD --not-a-flag`). Each
// verb declares its own table, so a flag meant for one verb is an "unknown
// flag" for another.

import { UsageError } from "../errors.ts";

/** One flag of a verb. */
export interface FlagDef {
  /** Long name without dashes, e.g. "rm". */
  name: string;
  /** One-letter alias, e.g. "i". */
  short?: string;
  type: "bool" | "string" | "list" | "int";
  /** Placeholder for help, e.g. "NAME". */
  value?: string;
  help: string;
  /** Not listed in help. */
  hidden?: boolean;
}

/** Parsed flags: bools, strings, lists and ints by long name. */
export type FlagValues = Record<string, boolean | string | string[] | number | undefined>;

/** The result of parsing a verb's arguments. */
export interface Parsed {
  flags: FlagValues;
  positionals: string[];
}

/**
 * Parses `args` against `defs`. With `interspersed` false (run, exec), the
 * first positional stops flag parsing. Throws UsageError for unknown flags.
 */
export function parseFlags(
  verb: string,
  args: readonly string[],
  defs: readonly FlagDef[],
  interspersed = false,
): Parsed {
  const byLong = new Map(defs.map((d) => [d.name, d]));
  const byShort = new Map(defs.filter((d) => d.short).map((d) => [d.short!, d]));
  const flags: FlagValues = {};
  for (const d of defs) if (d.type === "list") flags[d.name] = [];
  const positionals: string[] = [];
  const unknown = (f: string) => new UsageError(`unknown flag: ${f}\nSee 'tsbox ${verb} --help'.`);
  const set = (d: FlagDef, value: string | undefined, shown: string) => {
    if (d.type === "bool") {
      if (value === undefined || value === "true") flags[d.name] = true;
      else if (value === "false") flags[d.name] = false;
      else {throw new UsageError(
          `invalid argument ${JSON.stringify(value)} for ${shown}: expected true or false`,
        );}
      return;
    }
    if (value === undefined) {
      throw new UsageError(`flag needs an argument: ${shown}\nSee 'tsbox ${verb} --help'.`);
    }
    if (d.type === "list") (flags[d.name] as string[]).push(value);
    else if (d.type === "int") {
      if (!/^-?\d+$/.test(value)) {
        throw new UsageError(
          `invalid argument ${JSON.stringify(value)} for ${shown}: not an integer`,
        );
      }
      flags[d.name] = Number(value);
    } else flags[d.name] = value;
  };
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") {
      i++;
      break;
    }
    if (a.startsWith("--") && a.length > 2) {
      const eq = a.indexOf("=");
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const d = byLong.get(name);
      if (!d) throw unknown(`--${name}`);
      let value = eq < 0 ? undefined : a.slice(eq + 1);
      if (value === undefined && d.type !== "bool") value = args[++i];
      set(d, value, `--${name}`);
    } else if (a.startsWith("-") && a.length > 1) {
      // Bundled: -it, -p8080:80, -e=X (Docker accepts -e=X too).
      for (let j = 1; j < a.length; j++) {
        const d = byShort.get(a[j]!);
        if (!d) throw unknown(`-${a[j]}`);
        if (d.type === "bool") {
          set(d, undefined, `-${a[j]}`);
          continue;
        }
        let value = a.slice(j + 1);
        if (value.startsWith("=")) value = value.slice(1);
        set(d, value === "" ? args[++i] : value, `-${d.short}`);
        break;
      }
    } else {
      positionals.push(a);
      if (!interspersed) {
        i++;
        break;
      }
    }
  }
  positionals.push(...args.slice(i));
  return { flags, positionals };
}

/** Help text for a verb: usage, description, examples, then flags. */
export function formatHelp(
  usage: string,
  description: string,
  examples: string[],
  defs: readonly FlagDef[],
): string {
  const rows = defs.filter((d) => !d.hidden).map((d) => {
    const names = `${d.short ? `-${d.short}, ` : "    "}--${d.name}${
      d.value ? ` ${d.value}` : d.type === "bool" ? "" : " value"
    }`;
    return [names, d.help] as const;
  });
  const width = Math.max(...rows.map(([n]) => n.length), 10) + 2;
  return [
    `Usage:  tsbox ${usage}`,
    "",
    description,
    ...(examples.length ? ["", "Examples:", ...examples.map((e) => `  ${e}`)] : []),
    ...(rows.length ? ["", "Options:", ...rows.map(([n, h]) => `  ${n.padEnd(width)}${h}`)] : []),
    "",
  ].join("\n");
}

/** A string flag's value. */
export function str(f: FlagValues, name: string): string | undefined {
  const v = f[name];
  return typeof v === "string" ? v : undefined;
}

/** A list flag's values. */
export function list(f: FlagValues, name: string): string[] {
  const v = f[name];
  return Array.isArray(v) ? v : [];
}

/** A bool flag's value. */
export function bool(f: FlagValues, name: string): boolean {
  return f[name] === true;
}

/** An int flag's value. */
export function int(f: FlagValues, name: string): number | undefined {
  const v = f[name];
  return typeof v === "number" ? v : undefined;
}
