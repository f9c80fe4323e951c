import { HlsGateError } from './errors.ts';

// A strict JSON reader (RFC 8259) for input whose meaning must be unambiguous: signed policies and the catalog.
// Unlike JSON.parse it refuses duplicate object keys (RFC 8259 section 4 leaves their meaning to the reader, so
// two readers could see two different policies in one signed text), bounds nesting, and reports where the
// text is wrong as a line and column, never quoting the text itself (it may be a credential).

export class JsonError extends HlsGateError<'ERR_JSON'> {
  override readonly name = 'JsonError';
  readonly line: number;
  readonly column: number;
  constructor(why: string, line: number, column: number) {
    super('ERR_JSON', `${why} at line ${line}, column ${column}`);
    this.line = line;
    this.column = column;
  }
}

export interface JsonOptions {
  /** Deepest nesting of arrays and objects accepted. Default 32. */
  maxDepth?: number;
  /** When given, receives the 1-based line on which each object and array starts (to point at bad entries). */
  lines?: WeakMap<object, number>;
}

const WS = new Set([' ', '\t', '\n', '\r']);
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

// A recursive-descent parser reads best as one function whose inner functions share the cursor (`i`, `line`), so
// it is longer than the 80 lines other functions keep to.
// eslint-disable-next-line max-lines-per-function
export function parseStrictJson(text: string, options: JsonOptions = {}): unknown {
  const maxDepth = options.maxDepth ?? 32;
  let i = 0;

  function fail(why: string, at = i): never {
    let line = 1;
    let lineStart = 0;
    for (let k = 0; k < at && k < text.length; k++) {
      if (text[k] === '\n') {
        line++;
        lineStart = k + 1;
      }
    }
    throw new JsonError(why, line, at - lineStart + 1);
  }
  const lineAt = (at: number): number => {
    let line = 1;
    for (let k = 0; k < at; k++) if (text[k] === '\n') line++;
    return line;
  };
  const skip = () => {
    while (i < text.length && WS.has(text[i]!)) i++;
  };

  function str(): string {
    i++; // opening quote
    let out = '';
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const ch = text[i]!;
      if (ch === '"') {
        i++;
        return out;
      }
      if (ch < ' ') fail('control character in a string');
      if (ch !== '\\') {
        out += ch;
        i++;
        continue;
      }
      const e = text[i + 1];
      if (e === 'u') {
        const hex = text.slice(i + 2, i + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape');
        out += String.fromCharCode(parseInt(hex, 16));
        i += 6;
      } else if (e !== undefined && ESCAPES[e] !== undefined) {
        out += ESCAPES[e];
        i += 2;
      } else {
        fail('bad escape');
      }
    }
  }

  function value(depth: number): unknown {
    skip();
    const ch = text[i];
    if (ch === '{' || ch === '[') {
      if (depth >= maxDepth) fail('nested too deeply');
      return ch === '{' ? object(depth + 1) : array(depth + 1);
    }
    if (ch === '"') return str();
    for (const [word, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (m) {
      i += m[0].length;
      return Number(m[0]);
    }
    return fail(i >= text.length ? 'unexpected end of text' : 'unexpected character');
  }

  function object(depth: number): Record<string, unknown> {
    const start = i++;
    const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    const seen = new Set<string>();
    skip();
    if (text[i] === '}') {
      i++;
      return note(out, start);
    }
    for (;;) {
      skip();
      if (text[i] !== '"') fail('expected a quoted key');
      const keyAt = i;
      const key = str();
      if (seen.has(key)) fail('duplicate key', keyAt);
      seen.add(key);
      skip();
      if (text[i] !== ':') fail('expected ":"');
      i++;
      out[key] = value(depth);
      skip();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '}') {
        i++;
        return note(out, start);
      }
      fail('expected "," or "}"');
    }
  }

  function array(depth: number): unknown[] {
    const start = i++;
    const out: unknown[] = [];
    skip();
    if (text[i] === ']') {
      i++;
      return note(out, start);
    }
    for (;;) {
      out.push(value(depth));
      skip();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === ']') {
        i++;
        return note(out, start);
      }
      fail('expected "," or "]"');
    }
  }

  function note<T extends object>(v: T, start: number): T {
    if (options.lines) options.lines.set(v, lineAt(start));
    return v;
  }

  const result = value(0);
  skip();
  if (i < text.length) fail('unexpected text after the JSON value');
  return result;
}
