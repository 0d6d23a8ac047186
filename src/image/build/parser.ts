// The Dockerfile's lines as instructions (the Dockerfile reference's
// "Format", "Parser directives", "Here-Documents"; BuildKit's
// frontend/dockerfile/parser): parser directives at the top (`# escape=`,
// `# syntax=`, `# check=`), comments, blank lines, line continuations with
// the escape character (comment lines and blank lines inside a continuation
// are skipped), heredocs after RUN, COPY and ADD (`<<EOF`, `<<-EOF`,
// `<<"EOF"`, several on one line, each read up to its terminator line), and
// the builder flags (`--from=x`) before an instruction's arguments. Each
// instruction keeps its first and last line for error messages. Pure.

import { ShellLex } from "./shell_lex.ts";

/** A here-document of an instruction. */
export interface Heredoc {
  /** The terminator word (quotes removed). */
  name: string;
  /** The lines up to the terminator, each ending with "\n". */
  content: string;
  /** Whether variables in it are expanded (the word was not quoted). */
  expand: boolean;
  /** `<<-`: leading tabs are removed from its lines and its terminator. */
  chomp: boolean;
  /** The file descriptor before `<<` (`3<<EOF`), default 0. */
  fd: number;
}

/** One instruction as written. */
export interface Node {
  /** The keyword in lower case: "run", "copy"... */
  cmd: string;
  /** The keyword as written. */
  keyword: string;
  /** The logical line: continuations joined, comments removed. */
  original: string;
  /** The text after the keyword and the flags, trimmed. */
  rest: string;
  /** Builder flags as written, e.g. "--from=build". */
  flags: string[];
  heredocs: Heredoc[];
  /** 1-based line numbers of the instruction's first and last line. */
  startLine: number;
  endLine: number;
}

/** A parsed Dockerfile. */
export interface Parsed {
  nodes: Node[];
  /** The escape character in effect. */
  escape: string;
  /** Parser directives found at the top, by lower-case name. */
  directives: Record<string, string>;
  warnings: string[];
}

/** A syntax error at a line of the Dockerfile. */
export class ParseError extends Error {
  override readonly name = "ParseError";
  constructor(readonly line: number, message: string) {
    super(message);
  }
}

const DIRECTIVE_RE = /^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.+?)[ \t]*$/;
const KNOWN_DIRECTIVES = new Set(["escape", "syntax", "check"]);
const HEREDOC_RE = /^(\d*)<<(-?)([^<]*)$/;
const HEREDOC_CMDS = new Set(["run", "copy", "add"]);

const trimNewline = (s: string) => s.replace(/[\r\n]+$/, "");
const trimLeft = (s: string) => s.replace(/^[ \t\r\n\f\v]+/, "");
const isComment = (s: string) => trimLeft(trimNewline(s)).startsWith("#");

/** Parses a `<<WORD` word; undefined when it is not one. */
export function parseHeredocWord(src: string): Omit<Heredoc, "content"> | undefined {
  const m = src.match(HEREDOC_RE);
  if (!m || !m[3]) return undefined;
  const lex = new ShellLex({ skipUnsetEnv: true });
  const words = lex.processWords(m[3], () => undefined);
  if (words.length !== 1) return undefined;
  const raw = new ShellLex({ skipUnsetEnv: true, rawQuotes: true }).processWords(
    m[3],
    () => undefined,
  );
  const quotes = (w: string) => (w.match(/['"]/g) ?? []).length;
  return {
    name: words[0]!,
    expand: quotes(words[0]!) === quotes(raw[0] ?? ""),
    chomp: m[2] === "-",
    fd: m[1] ? Number(m[1]) : 0,
  };
}

/** The heredocs a line starts, in order. */
function heredocsOf(line: string): Omit<Heredoc, "content">[] {
  let words: string[];
  try {
    words = new ShellLex({ rawQuotes: true, rawEscapes: true }).processWords(line, () => undefined);
  } catch {
    return [];
  }
  return words.map(parseHeredocWord).filter((h): h is Omit<Heredoc, "content"> => !!h);
}

/** Removes leading tabs from every line (`<<-`). */
export function chompHeredoc(content: string): string {
  return content.split("\n").map((l) => l.replace(/^\t+/, "")).join("\n");
}

/**
 * Splits the builder flags (`--x=y` words, quotes allowed) from the front of
 * an instruction's arguments; returns the flags and the rest.
 */
export function extractFlags(line: string): { flags: string[]; rest: string } {
  const flags: string[] = [];
  let word = "";
  let phase: "spaces" | "word" | "quote" = "spaces";
  let quote = "";
  let blankOk = false;
  for (let pos = 0; pos <= line.length; pos++) {
    const end = pos === line.length;
    let ch = end ? "" : line[pos]!;
    if (phase === "spaces") {
      if (end) break;
      if (/\s/.test(ch)) continue;
      if (ch !== "-" || line[pos + 1] !== "-") return { flags, rest: line.slice(pos) };
      phase = "word";
    }
    if (end) {
      if (word !== "--" && (blankOk || word.length)) flags.push(word);
      break;
    }
    if (phase === "word") {
      if (/\s/.test(ch)) {
        phase = "spaces";
        if (word === "--") return { flags, rest: line.slice(pos) };
        if (blankOk || word.length) flags.push(word);
        word = "";
        blankOk = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOk = true;
        phase = "quote";
        continue;
      }
      if (ch === "\\") {
        if (pos + 1 === line.length) continue;
        ch = line[++pos]!;
      }
      word += ch;
      continue;
    }
    if (ch === quote) {
      phase = "word";
      continue;
    }
    if (ch === "\\") {
      if (pos + 1 === line.length) {
        phase = "word";
        continue;
      }
      ch = line[++pos]!;
    }
    word += ch;
  }
  return { flags, rest: "" };
}

/** Thrown when a JSON array holds something other than strings. */
export const NOT_STRING_ARRAY =
  "when using JSON array syntax, arrays must be comprised of strings only";

/**
 * The JSON (exec) form of an argument: the strings, or undefined when `rest`
 * is not a JSON array (then it is the shell form). Throws when it is an array
 * of something else than strings.
 */
export function parseJsonArray(rest: string): string[] | undefined {
  const t = trimLeft(rest);
  if (!t.startsWith("[")) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch {
    return undefined;
  }
  if (!Array.isArray(v)) return undefined;
  if (!v.every((x) => typeof x === "string")) throw new Error(NOT_STRING_ARRAY);
  return v as string[];
}

/**
 * Splits on white space, keeping quotes and escapes in the words (they are
 * removed later, by variable expansion): `a="b c" d` -> [`a="b c"`, `d`].
 */
export function splitWords(rest: string, escape: string): string[] {
  const words: string[] = [];
  let phase: "spaces" | "word" | "quote" = "spaces";
  let word = "";
  let quote = "";
  let blankOk = false;
  const cs = [...rest];
  for (let pos = 0; pos <= cs.length; pos++) {
    const end = pos === cs.length;
    let ch = end ? "" : cs[pos]!;
    if (phase === "spaces") {
      if (end) break;
      if (/\s/u.test(ch)) continue;
      phase = "word";
    }
    if (end) {
      if (blankOk || word.length) words.push(word);
      break;
    }
    if (phase === "word") {
      if (/\s/u.test(ch)) {
        phase = "spaces";
        if (blankOk || word.length) words.push(word);
        word = "";
        blankOk = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOk = true;
        phase = "quote";
      }
      if (ch === escape) {
        if (pos + 1 === cs.length) continue;
        word += ch;
        ch = cs[++pos]!;
      }
      word += ch;
      continue;
    }
    if (ch === quote) phase = "word";
    if (ch === escape && quote !== "'") {
      if (pos + 1 === cs.length) {
        phase = "word";
        continue;
      }
      word += ch;
      ch = cs[++pos]!;
    }
    word += ch;
  }
  return words;
}

/** Splits one logical line into keyword, flags and the rest. */
export function splitInstruction(
  line: string,
): { keyword: string; flags: string[]; rest: string } {
  const t = line.trim();
  const m = t.match(/^(\S+)(?:\s+([\s\S]*))?$/);
  const keyword = m?.[1] ?? "";
  const { flags, rest } = extractFlags(m?.[2] ?? "");
  return { keyword, flags, rest: rest.trim() };
}

/** Parses the text of a Dockerfile. Throws ParseError with the line. */
export function parseDockerfile(text: string): Parsed {
  const lines = text.replace(/^\uFEFF/, "").split("\n");
  if (lines.length && lines[lines.length - 1] === "") lines.pop();
  const directives: Record<string, string> = {};
  const warnings: string[] = [];
  const nodes: Node[] = [];
  let escape = "\\";
  let directivesDone = false;
  let i = 0;

  const directive = (raw: string) => {
    if (directivesDone) return;
    const line = trimLeft(trimNewline(raw));
    const m = line.match(DIRECTIVE_RE);
    const key = m?.[1]?.toLowerCase();
    if (!m || !key || !KNOWN_DIRECTIVES.has(key)) {
      directivesDone = true;
      return;
    }
    if (key in directives) {
      throw new ParseError(i, `only one ${key} parser directive can be used`);
    }
    directives[key] = m[2]!;
    if (key === "escape") {
      if (m[2] !== "`" && m[2] !== "\\") {
        throw new ParseError(i, `invalid escape token '${m[2]}' does not match \` or \\`);
      }
      escape = m[2];
    }
  };
  const continuation = () => new RegExp(`${escape === "\\" ? "\\\\" : "`"}[ \\t]*$`);
  const trimContinuation = (s: string): [string, boolean] => {
    const re = continuation();
    return re.test(s) ? [s.replace(re, ""), false] : [s, true];
  };

  while (i < lines.length) {
    const raw = lines[i++]!;
    directive(raw);
    let text = trimLeft(trimNewline(raw));
    if (isComment(text)) text = "";
    const startLine = i;
    let [line, eol] = trimContinuation(text);
    if (eol && line.trim() === "") continue;
    let emptyContinuation = false;
    while (!eol && i < lines.length) {
      const next = lines[i++]!;
      directive(next);
      if (isComment(next)) continue;
      const t = trimNewline(next);
      if (trimLeft(t) === "") {
        emptyContinuation = true;
        continue;
      }
      let part: string;
      [part, eol] = trimContinuation(t);
      line += part;
    }
    if (emptyContinuation) {
      warnings.push(`empty continuation line found in: ${line.trim()} (line ${startLine})`);
    }
    const { keyword, flags, rest } = splitInstruction(line);
    const cmd = keyword.toLowerCase();
    const heredocs: Heredoc[] = [];
    let json = false;
    try {
      json = parseJsonArray(rest) !== undefined;
    } catch { /* reported by the instruction's own parser */ }
    if (HEREDOC_CMDS.has(cmd) && !json && line.includes("<<")) {
      for (const h of heredocsOf(line)) {
        let content = "";
        let done = false;
        while (i < lines.length) {
          const l = lines[i++]!;
          let term = trimNewline(l);
          if (h.chomp) term = term.replace(/^\t+/, "");
          if (term === h.name) {
            done = true;
            break;
          }
          content += l.replace(/\r$/, "") + "\n";
        }
        if (!done) throw new ParseError(startLine, "unterminated heredoc");
        heredocs.push({ ...h, content });
      }
    }
    nodes.push({
      cmd,
      keyword,
      original: line.trim(),
      rest,
      flags,
      heredocs,
      startLine,
      endLine: i,
    });
  }
  return { nodes, escape, directives, warnings };
}
