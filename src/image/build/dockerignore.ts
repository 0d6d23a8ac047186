// .dockerignore, with Docker's rules (moby/patternmatcher and its
// ignorefile reader; the reference's ".dockerignore file"): one pattern a
// line, `#` comments, surrounding white space trimmed, each pattern cleaned
// (`./a//b/` -> `a/b`, a leading `/` dropped); `*` and `?` never match `/`,
// `**` matches any number of directories, `[...]` classes, `\` escapes; `!`
// makes an exception. A path is excluded when the last pattern that matches
// it, or one of its parent directories, is not an exception. Also Go's
// filepath.Match, which COPY and ADD use for their wildcards. Pure.

import { cleanPath } from "./image_config.ts";

/** Reads a .dockerignore file into its patterns (exceptions keep their "!"). */
export function parseDockerignore(text: string): string[] {
  const out: string[] = [];
  for (const rawLine of text.replace(/^\uFEFF/, "").split("\n")) {
    if (rawLine.startsWith("#")) continue;
    let p = rawLine.trim();
    if (!p) continue;
    const invert = p.startsWith("!");
    if (invert) p = p.slice(1).trim();
    if (p) {
      p = cleanPath(p);
      if (p.length > 1 && p.startsWith("/")) p = p.slice(1);
    }
    out.push(invert ? `!${p}` : p);
  }
  return out;
}

type MatchType = "exact" | "prefix" | "suffix" | "regexp";

const REGEXP_SPECIAL = new Set([".", "+", "(", ")", "|", "{", "}", "$"]);

interface Pattern {
  exclusion: boolean;
  cleaned: string;
  type: MatchType;
  re?: RegExp;
}

/** The match type and regular expression of a cleaned pattern (patternmatcher's compile). */
function compile(pattern: string): { type: MatchType; re?: RegExp } {
  let re = "^";
  let type: MatchType = "exact";
  const cs = [...pattern];
  for (let i = 0; i < cs.length; i++) {
    const ch = cs[i]!;
    if (ch === "*") {
      if (cs[i + 1] === "*") {
        const first = i === 0;
        i++;
        if (cs[i + 1] === "/") i++;
        if (i + 1 >= cs.length) {
          if (type === "exact") type = "prefix";
          else {
            re += ".*";
            type = "regexp";
          }
        } else {
          re += "(.*/)?";
          type = "regexp";
        }
        if (first) type = "suffix";
      } else {
        re += "[^/]*";
        type = "regexp";
      }
    } else if (ch === "?") {
      re += "[^/]";
      type = "regexp";
    } else if (REGEXP_SPECIAL.has(ch)) re += `\\${ch}`;
    else if (ch === "\\") {
      if (i + 1 < cs.length) re += `\\${cs[++i]}`;
      else re += "\\\\";
    } else if (ch === "[" || ch === "]") {
      re += ch;
      type = "regexp";
    } else if (ch === "^") re += "\\^";
    else re += ch;
  }
  if (type !== "regexp") return { type };
  try {
    return { type, re: new RegExp(`${re}$`, "u") };
  } catch {
    throw new Error(`syntax error in pattern ${JSON.stringify(pattern)}`);
  }
}

function matchOne(p: Pattern, path: string): boolean {
  switch (p.type) {
    case "exact":
      return path === p.cleaned;
    case "prefix":
      return path.startsWith(p.cleaned.slice(0, -2));
    case "suffix": {
      const suffix = p.cleaned.slice(2);
      if (path.endsWith(suffix)) return true;
      return suffix.startsWith("/") && path === suffix.slice(1);
    }
    case "regexp":
      return p.re!.test(path);
  }
}

/** Patterns of a .dockerignore (or --exclude), ready to match context paths. */
export class PatternMatcher {
  readonly #patterns: Pattern[] = [];
  /** Whether any pattern is an exception ("!..."). */
  readonly hasExceptions: boolean;

  /** Throws on an illegal pattern ("!" alone, a bad class). */
  constructor(patterns: readonly string[]) {
    let exceptions = false;
    for (const raw of patterns) {
      let p = raw.trim();
      if (!p) continue;
      p = cleanPath(p);
      const exclusion = p.startsWith("!");
      if (exclusion) {
        if (p.length === 1) throw new Error(`illegal exclusion pattern: "!"`);
        p = p.slice(1);
        exceptions = true;
      }
      goMatch(p, "."); // syntax check, as patternmatcher does
      this.#patterns.push({ exclusion, cleaned: p, ...compile(p) });
    }
    this.hasExceptions = exceptions;
  }

  /** Whether there are no patterns at all. */
  get empty(): boolean {
    return this.#patterns.length === 0;
  }

  /** Whether `path` (relative, "/"-separated, clean) is excluded, itself or through a parent. */
  excludes(path: string): boolean {
    let matched = false;
    const parts = path.split("/");
    for (const p of this.#patterns) {
      if (p.exclusion !== matched) continue;
      let m = matchOne(p, path);
      for (let i = 1; !m && i < parts.length; i++) m = matchOne(p, parts.slice(0, i).join("/"));
      if (m) matched = !p.exclusion;
    }
    return matched;
  }
}

/**
 * Go's filepath.Match: whether `name` matches the shell pattern `pattern`
 * (`*` and `?` do not match "/", `[a-z]`, `[^x]`, `\` escapes). Throws
 * "syntax error in pattern" for a malformed one.
 */
export function goMatch(pattern: string, name: string): boolean {
  const p = [...pattern], s = [...name];
  const bad = () => new Error(`syntax error in pattern ${JSON.stringify(pattern)}`);
  // Matches a class at p[pi] ('[' already consumed) against c; returns [matched, next index].
  const cls = (pi: number, c: string | undefined): [boolean, number] => {
    let negated = false;
    if (p[pi] === "^") (negated = true, pi++);
    let ok = false;
    let n = 0;
    for (;;) {
      if (p[pi] === "]" && n > 0) {
        pi++;
        break;
      }
      let lo = p[pi];
      if (lo === undefined) throw bad();
      if (lo === "\\") lo = p[++pi];
      if (lo === undefined) throw bad();
      pi++;
      let hi: string | undefined = lo;
      if (p[pi] === "-" && p[pi + 1] !== "]" && p[pi + 1] !== undefined) {
        hi = p[++pi]!;
        if (hi === "\\") hi = p[++pi];
        if (hi === undefined) throw bad();
        pi++;
      }
      if (c !== undefined && lo <= c && c <= hi) ok = true;
      n++;
    }
    return [c !== undefined && c !== "/" && ok !== negated, pi];
  };
  const rec = (pi: number, si: number): boolean => {
    while (pi < p.length) {
      const c = p[pi]!;
      if (c === "*") {
        while (p[pi] === "*") pi++;
        for (let k = si; k <= s.length; k++) {
          if (rec(pi, k)) return true;
          if (s[k] === "/") break;
        }
        // Still check the rest of the pattern's syntax.
        if (pi < p.length) checkSyntax(pi);
        return false;
      }
      if (si >= s.length) {
        checkSyntax(pi);
        return false;
      }
      if (c === "?") {
        if (s[si] === "/") return false;
        pi++, si++;
      } else if (c === "[") {
        const [ok, next] = cls(pi + 1, s[si]);
        if (!ok) return false;
        pi = next, si++;
      } else if (c === "\\") {
        if (pi + 1 >= p.length) throw bad();
        if (p[pi + 1] !== s[si]) return false;
        pi += 2, si++;
      } else {
        if (c !== s[si]) return false;
        pi++, si++;
      }
    }
    return si === s.length;
  };
  const checkSyntax = (pi: number) => {
    for (; pi < p.length; pi++) {
      if (p[pi] === "\\") {
        if (++pi >= p.length) throw bad();
      } else if (p[pi] === "[") pi = cls(pi + 1, undefined)[1] - 1;
    }
  };
  return rec(0, 0);
}

/** Whether a COPY/ADD source has wildcards (`*`, `?`, `[`). */
export function hasWildcards(path: string): boolean {
  return /[*?[]/.test(path);
}
