// Variable substitution in Dockerfile words, as Docker's builder does it
// (BuildKit frontend/dockerfile/shell, "Environment replacement" in the
// Dockerfile reference): $VAR and ${VAR}; ${VAR:-word} ${VAR-word}
// ${VAR:+word} ${VAR+word} ${VAR:?msg} ${VAR?msg}; ${VAR#pat} ${VAR##pat}
// ${VAR%pat} ${VAR%%pat} ${VAR/pat/repl} ${VAR//pat/repl}. Single quotes keep
// everything literal; in double quotes the escape character escapes only
// `"`, `$` and itself; outside quotes it escapes any character. Words split
// on unquoted white space (also white space that an expansion produced).
// Pure: no I/O.

/** How a variable is looked up: its value, or undefined when it is not set. */
export type Lookup = (name: string) => string | undefined;

/** Options of one lexer. */
export interface LexOptions {
  /** The escape character (parser directive `# escape=`): "\\" or "`". */
  escape?: string;
  /** Leave unset variables as they were written (heredoc detection). */
  skipUnsetEnv?: boolean;
  /** Keep quote characters in the result. */
  rawQuotes?: boolean;
  /** Keep escape characters in the result. */
  rawEscapes?: boolean;
  /** Quotes are ordinary characters (heredoc content). */
  skipProcessQuotes?: boolean;
}

/** The result of one expansion. */
export interface Expanded {
  /** The whole result, as one string. */
  word: string;
  /** The result split into words on unquoted white space. */
  words: string[];
  /** Names that were looked up and set. */
  matched: Set<string>;
  /** Names that were looked up and not set. */
  unmatched: Set<string>;
}

/** A substitution error ("bad substitution", an unterminated quote, `${X:?msg}`). */
export class LexError extends Error {
  override readonly name = "LexError";
}

const EOF = "";
const SPECIAL_PARAMS = new Set(["@", "*", "#", "?", "-", "$", "!", "0"]);
const isSpace = (c: string) => /^\s$/u.test(c);
const isNameChar = (c: string) => /^[\p{L}\p{Nd}_]$/u.test(c);
const isDigit = (c: string) => /^\p{Nd}$/u.test(c);

class Words {
  word = "";
  words: string[] = [];
  inWord = false;

  addChar(c: string): void {
    if (isSpace(c)) {
      if (this.inWord && this.word.length) {
        this.words.push(this.word);
        this.word = "";
        this.inWord = false;
      }
    } else this.addRaw(c);
  }
  addRaw(s: string): void {
    this.word += s;
    this.inWord = true;
  }
  addString(s: string): void {
    for (const c of s) this.addChar(c);
  }
  get(): string[] {
    if (this.word.length) {
      this.words.push(this.word);
      this.word = "";
      this.inWord = false;
    }
    return this.words;
  }
}

class Scanner {
  readonly chars: string[];
  pos = 0;
  constructor(s: string) {
    this.chars = [...s];
  }
  peek(): string {
    return this.chars[this.pos] ?? EOF;
  }
  next(): string {
    return this.chars[this.pos++] ?? EOF;
  }
}

/** A shell-word lexer with Docker's rules. */
export class ShellLex {
  readonly escape: string;
  readonly opts: LexOptions;

  constructor(opts: LexOptions = {}) {
    this.opts = opts;
    this.escape = opts.escape ?? "\\";
  }

  /** Expands `src` into one string (quotes removed, variables replaced). Throws LexError. */
  processWord(src: string, lookup: Lookup): string {
    return this.process(src, lookup).word;
  }

  /** Expands `src` into words split on unquoted white space. Throws LexError. */
  processWords(src: string, lookup: Lookup): string[] {
    return this.process(src, lookup).words;
  }

  /** Expands `src`, also saying which variables it used. Throws LexError. */
  process(src: string, lookup: Lookup): Expanded {
    const run = new Run(this, new Scanner(src), lookup);
    try {
      const { word, words } = run.stopOn(EOF, this.opts.rawEscapes ?? false);
      return { word, words, matched: run.matched, unmatched: run.unmatched };
    } catch (e) {
      if (e instanceof LexError) throw new LexError(`failed to process "${src}": ${e.message}`);
      throw e;
    }
  }
}

class Run {
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();
  rawEscapes: boolean;

  constructor(readonly lex: ShellLex, readonly sc: Scanner, readonly lookup: Lookup) {
    this.rawEscapes = lex.opts.rawEscapes ?? false;
  }

  get(name: string): string | undefined {
    const v = this.lookup(name);
    (v === undefined ? this.unmatched : this.matched).add(name);
    return v;
  }

  stopOn(stop: string, rawEscapes: boolean): { word: string; words: string[] } {
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      return this.#stopOn(stop);
    } finally {
      this.rawEscapes = saved;
    }
  }

  #stopOn(stop: string): { word: string; words: string[] } {
    const sc = this.sc;
    let result = "";
    const words = new Words();
    while (sc.peek() !== EOF) {
      const c = sc.peek();
      if (stop !== EOF && c === stop) {
        sc.next();
        return { word: result, words: words.get() };
      }
      if (c === "$") {
        const v = this.dollar();
        result += v;
        words.addString(v);
      } else if (c === "'" && !this.lex.opts.skipProcessQuotes) {
        const v = this.singleQuote();
        result += v;
        words.addRaw(v);
      } else if (c === '"' && !this.lex.opts.skipProcessQuotes) {
        const v = this.doubleQuote();
        result += v;
        words.addRaw(v);
      } else {
        let ch = sc.next();
        if (ch === this.lex.escape) {
          if (this.rawEscapes) {
            words.addRaw(ch);
            result += ch;
          }
          ch = sc.next();
          if (ch === EOF) break;
          words.addRaw(ch);
        } else words.addChar(ch);
        result += ch;
      }
    }
    if (stop !== EOF) {
      throw new LexError(`unexpected end of statement while looking for matching ${stop}`);
    }
    return { word: result, words: words.get() };
  }

  singleQuote(): string {
    const sc = this.sc;
    const raw = this.lex.opts.rawQuotes ?? false;
    sc.next();
    let out = raw ? "'" : "";
    for (;;) {
      const c = sc.next();
      if (c === EOF) {
        throw new LexError("unexpected end of statement while looking for matching single-quote");
      }
      if (c === "'") return raw ? out + "'" : out;
      out += c;
    }
  }

  doubleQuote(): string {
    const sc = this.sc;
    const raw = this.lex.opts.rawQuotes ?? false;
    sc.next();
    let out = raw ? '"' : "";
    for (;;) {
      const c = sc.peek();
      if (c === EOF) {
        throw new LexError("unexpected end of statement while looking for matching double-quote");
      }
      if (c === '"') {
        sc.next();
        return raw ? out + '"' : out;
      }
      if (c === "$") {
        out += this.dollar();
        continue;
      }
      let ch = sc.next();
      if (ch === this.lex.escape) {
        if (this.rawEscapes) out += ch;
        const n = sc.peek();
        if (n === EOF) continue;
        if (n === '"' || n === "$" || n === this.lex.escape) ch = sc.next();
      }
      out += ch;
    }
  }

  name(): string {
    const sc = this.sc;
    let name = "";
    while (sc.peek() !== EOF) {
      const c = sc.peek();
      if (!name && isDigit(c)) {
        while (sc.peek() !== EOF && isDigit(sc.peek())) name += sc.next();
        return name;
      }
      if (!name && SPECIAL_PARAMS.has(c)) return sc.next();
      if (!isNameChar(c)) break;
      name += sc.next();
    }
    return name;
  }

  dollar(): string {
    const sc = this.sc;
    const skip = this.lex.opts.skipUnsetEnv ?? false;
    sc.next();
    if (sc.peek() !== "{") {
      const name = this.name();
      if (!name) return "$";
      const v = this.get(name);
      if (v === undefined && skip) return "$" + name;
      return v ?? "";
    }
    sc.next();
    const first = sc.peek();
    if (first === EOF) throw new LexError("syntax error: missing '}'");
    if (first === "{" || first === "}" || first === ":") {
      throw new LexError("syntax error: bad substitution");
    }
    const name = this.name();
    let ch = sc.next();
    let mods = ch;
    switch (ch) {
      case "}": {
        const v = this.get(name);
        if (v === undefined && skip) return `\${${name}}`;
        return v ?? "";
      }
      case ":":
      case "+":
      case "-":
      case "?":
      case "#":
      case "%": {
        const nullIsUnset = ch === ":";
        if (nullIsUnset) {
          ch = sc.next();
          if (!["-", "+", "?", "#", "%"].includes(ch)) {
            throw new LexError(`unsupported modifier (${mods}) in substitution`);
          }
          mods += ch;
        }
        const patternMod = ch === "#" || ch === "%";
        if (nullIsUnset && patternMod) {
          throw new LexError(`unsupported modifier (${mods}) in substitution`);
        }
        let word: string;
        try {
          word = this.stopOn("}", patternMod).word;
        } catch (e) {
          if (sc.peek() === EOF) throw new LexError("syntax error: missing '}'");
          throw e;
        }
        const v = this.get(name);
        if (skip && v === undefined) return `\${${name}${mods}${word}}`;
        const empty = v === undefined || (nullIsUnset && v === "");
        switch (ch) {
          case "-":
            return empty ? word : v!;
          case "+":
            return empty ? "" : word;
          case "?":
            if (v === undefined) {
              throw new LexError(`${name}: ${word || "is not allowed to be unset"}`);
            }
            if (nullIsUnset && v === "") {
              throw new LexError(`${name}: ${word || "is not allowed to be empty"}`);
            }
            return v;
          default: {
            const greedy = word.startsWith(ch);
            const pat = greedy ? word.slice(1) : word;
            return ch === "%" ? trimSuffix(pat, v ?? "", greedy) : trimPrefix(pat, v ?? "", greedy);
          }
        }
      }
      case "/": {
        const all = sc.peek() === "/";
        if (all) sc.next();
        const pat = this.stopOn("/", true).word;
        const repl = this.stopOn("}", true).word;
        const v = this.get(name);
        if (skip && v === undefined) return `\${${name}/${all ? "/" : ""}${pat}/${repl}}`;
        return replacePattern(v ?? "", pat, repl, all);
      }
      case EOF:
        throw new LexError("syntax error: missing '}'");
      default:
        throw new LexError(`unsupported modifier (${mods}) in substitution`);
    }
  }
}

/** A shell pattern (`*`, `?`, `[...]`, `\x`) as an anchored regular expression source. */
export function shellPatternToRegex(pattern: string): string {
  let re = "";
  const cs = [...pattern];
  for (let i = 0; i < cs.length; i++) {
    const c = cs[i]!;
    if (c === "*") re += "[\\s\\S]*";
    else if (c === "?") re += "[\\s\\S]";
    else if (c === "\\" && i + 1 < cs.length) re += escapeRe(cs[++i]!);
    else if (c === "[") {
      const end = cs.indexOf("]", i + 2);
      if (end < 0) re += "\\[";
      else {
        let body = cs.slice(i + 1, end).join("");
        if (body.startsWith("!")) body = "^" + body.slice(1);
        re += `[${body.replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else re += escapeRe(c);
  }
  return re;
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

function fullMatch(pattern: string): (s: string) => boolean {
  const re = new RegExp(`^(?:${shellPatternToRegex(pattern)})$`, "u");
  return (s) => re.test(s);
}

function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const m = fullMatch(pattern);
  const cs = [...value];
  if (greedy) {
    for (let i = cs.length; i >= 0; i--) {
      if (m(cs.slice(0, i).join(""))) return cs.slice(i).join("");
    }
  } else {
    for (let i = 0; i <= cs.length; i++) {
      if (m(cs.slice(0, i).join(""))) return cs.slice(i).join("");
    }
  }
  return value;
}

function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  const m = fullMatch(pattern);
  const cs = [...value];
  if (greedy) {
    for (let i = 0; i <= cs.length; i++) {
      if (m(cs.slice(i).join(""))) return cs.slice(0, i).join("");
    }
  } else {
    for (let i = cs.length; i >= 0; i--) {
      if (m(cs.slice(i).join(""))) return cs.slice(0, i).join("");
    }
  }
  return value;
}

function replacePattern(value: string, pattern: string, repl: string, all: boolean): string {
  if (pattern === "") return all ? value : repl + value;
  const m = fullMatch(pattern);
  const cs = [...value];
  let out = "";
  let i = 0;
  let done = false;
  while (i < cs.length) {
    let end = -1;
    if (!done) {
      for (let j = cs.length; j > i; j--) {
        if (m(cs.slice(i, j).join(""))) {
          end = j;
          break;
        }
      }
    }
    if (end < 0) {
      out += cs[i++];
      continue;
    }
    out += repl;
    i = end;
    if (!all) done = true;
  }
  return out;
}
