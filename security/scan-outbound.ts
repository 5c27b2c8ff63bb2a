import { SECRET_SHAPES } from "../config/secret-shapes.ts";
import { KnownSecrets, SHORTEST_SECRET } from "./known-secrets.ts";
import type { NamedSecret } from "./named-secret.ts";
import { AUTH_HEADER, looksLikeCredential, URL_CREDENTIALS } from "./secret-patterns.ts";
import { renderedSecretSpans } from "./secret-renderings.ts";
import { acrossInvisibleSpans, SHORTEST_PIECE } from "./secret-spans.ts";

/** A request as it will go on the wire: the method, the URL as parsed (normalised), every header in order, the body. */
export type OutboundRequest = {
  method: string;
  url: URL;
  headers: readonly (readonly [string, string])[];
  body?: Uint8Array;
};

/**
 * What the outbound scan found: where (as the model reads it), what it looks like, and when it is a value of the
 * workspace's secret files, where that value stands (`secret`: `DB_PASSWORD in .env`, never the value).
 */
export type OutboundFinding = { where: string; kinds: string[]; secret?: string };

/**
 * The secrets a request may not carry: worked out already, or values (a room's server keys) and named values of the
 * workspace's secret files, of which only those marked `outbound` are looked for (a `.env`'s `AWS_REGION=us-east-1`
 * is not: a request names the region). The environment's secret variables are always looked for.
 */
export type OutboundSecrets = KnownSecrets | readonly (string | NamedSecret)[];

/**
 * One way a server may read a part of the request: where it is, the text, and whether the whole scan reads it (the
 * token shapes, named values: a part as written or decoded by its own rules) or only the known secrets and their pieces
 * are looked for (decoded runs and the parts put together, where a shape would be found by chance).
 */
type Reading = { where: string; text: string; whole: boolean };

/** What the scan refuses a request for, as the tool's error says it: where, what, and what to do. */
export function outboundRefusal(found: OutboundFinding, tool: "web_request" | "web_fetch"): string {
  const what = found.secret === undefined ? `what looks like ${found.kinds.join(" and ")}` : `the value of ${found.secret} (a secret file's value)`;
  const advice =
    found.secret === undefined
      ? "Leave it out."
      : "Leave it out; if that value is no secret, the person can move it out of the secret files " +
        "(sandbox.secretPaths) or give it a name that does not say secret.";
  return `${found.where} holds ${what}; ${tool} never sends a secret out of org, whole, in pieces or encoded. ${advice}`;
}

const KNOWN_SECRET = "a key org itself uses (from the environment or the config)";
const PIECES = "pieces of a key org itself uses, apart";
// Runs a server may decode: base64 (either alphabet) and hex, long enough to hold a piece of a secret.
const BASE64_RUN = /[A-Za-z0-9+/_-]{8,}={0,2}/g;
const HEX_RUN = /(?:[0-9a-fA-F]{2}){6,}/g;
// Bytes written one by one: `0x5a,0x71`, `\132\161`, `90-113-56`, `0101101001110001`; six at least.
const HEX_LIST = /(?:0x[0-9a-f]{1,2}[^0-9a-z]{0,3}){6,}/gi;
const OCTAL_ESCAPES = /(?:\\[0-7]{1,3}){6,}/g;
const DECIMAL_CODES = /(?<![\d.])\d{1,3}(?:[^\w\n]{1,3}\d{1,3}){5,}(?![\d.])/g;
const BITS = /(?<![01])(?:[01]{8}){6,}(?![01])/g;
// Alphanumerics alone: what is left of a part when its separators (punctuation, spaces, JSON's quotes) are removed.
const SEPARATORS = /[^\p{L}\p{N}]+/gu;

/**
 * The outbound secret scan of web_fetch and web_request, on the request as it will be sent: (a) the raw wire text;
 * (b) what a server decodes of it (the URL as parsed, its host, path and query percent-decoded; header values
 * percent-decoded; the body percent- and form-decoded; a JSON body's keys and values; base64 and hex runs, `0x..` lists,
 * octal escapes, decimal codes and runs of bits decoded as UTF-8, UTF-16LE and UTF-16BE); (c) each part alone (the
 * known secrets in every form the redactor knows, the token shapes of providers' keys, a bearer token, a password in a
 * URL; no guess at a random-looking value: an id, a digest, a ULID is ordinary data) and all parts joined with their
 * separators removed, so a known secret split across parts is found, as are its pieces placed apart (`piecesFound`).
 * Undefined when nothing was found.
 */
export function scanOutbound(request: OutboundRequest, secrets: OutboundSecrets = []): OutboundFinding | undefined {
  const named =
    secrets instanceof KnownSecrets ? [] : secrets.filter((secret): secret is NamedSecret => typeof secret !== "string" && secret.outbound);
  const known =
    secrets instanceof KnownSecrets
      ? secrets
      : new KnownSecrets([...secrets.filter((secret): secret is string => typeof secret === "string"), ...named.map(({ value }) => value)]);
  const readings = outboundReadings(request);
  const found = foundIn(readings, known);
  if (found === undefined || !found.kinds.some((kind) => kind === KNOWN_SECRET || kind === PIECES)) return found;
  // Which of the secret files' values it is, to name it: each alone, the environment's left out.
  const which = named.find(({ value }) => foundIn(readings, new KnownSecrets([value], { environment: false })) !== undefined);
  return which === undefined ? found : { ...found, secret: which.name };
}

/** The first reading that holds a secret, or the pieces of one across them. */
function foundIn(readings: readonly Reading[], known: KnownSecrets): OutboundFinding | undefined {
  for (const { where, text, whole } of readings) {
    const kinds = whole ? textKinds(text, known) : known.forms.some((form) => text.includes(form)) ? [KNOWN_SECRET] : [];
    if (kinds.length > 0) return { where, kinds };
  }
  const pieces = piecesFound(readings, known);
  return pieces === undefined ? undefined : { where: pieces, kinds: [PIECES] };
}

/**
 * What one reading holds: a known secret in any form the redactor knows (as written, encoded, across invisible
 * characters, rendered), a provider's key by its shape, a bearer token, a password in a URL.
 */
function textKinds(text: string, known: KnownSecrets): string[] {
  const kinds = new Set<string>();
  if (known.forms.some((form) => text.includes(form))) kinds.add(KNOWN_SECRET);
  for (const { kind, pattern } of SECRET_SHAPES) if (text.search(pattern) !== -1) kinds.add(kind);
  for (const match of text.matchAll(AUTH_HEADER)) if (looksLikeCredential(match[2] ?? "")) kinds.add("a bearer token");
  if (text.search(URL_CREDENTIALS) !== -1) kinds.add("a password in a URL");
  if (!kinds.has(KNOWN_SECRET) && known.forms.length > 0) {
    const spans = [...acrossInvisibleSpans(text, known.forms, known.encoded), ...renderedSecretSpans(text, known.values, known.separated)];
    if (spans.length > 0) kinds.add(KNOWN_SECRET);
  }
  return [...kinds];
}

/** Every reading of the request: each part as it is and as a server decodes it, the wire text, all parts joined. */
function outboundReadings(request: OutboundRequest): Reading[] {
  const body = request.body === undefined ? "" : new TextDecoder("utf-8").decode(request.body);
  const { url } = request;
  const head = [`${request.method} ${url.pathname || "/"}${url.search} HTTP/1.1`, ...request.headers.map(([name, value]) => `${name}: ${value}`)];
  const parts: Omit<Reading, "whole">[] = [
    { where: "the URL", text: url.href },
    { where: "the URL's host", text: hostUnicode(url.hostname) },
    { where: "the URL's path", text: percentDecoded(url.pathname, false) },
    // A query and a body percent-decoded both ways: `+` as a space (a form) and as itself.
    { where: "the URL's query", text: percentDecoded(url.search.slice(1), true) },
    { where: "the URL's query", text: percentDecoded(url.search.slice(1), false) },
    ...request.headers.flatMap(([name, value]) => [
      { where: `the ${name} header`, text: `${name}: ${value}` },
      { where: `the ${name} header`, text: percentDecoded(value, false) },
    ]),
    { where: "the body", text: body },
    { where: "the body", text: percentDecoded(body, true) },
    { where: "the body", text: percentDecoded(body, false) },
  ];
  // A JSON body's keys and values side by side (a key next to its value); each is decoded in the body already.
  const joined = { where: "the body", text: jsonStrings(body).join("") };
  const runs = new Set<string>();
  const decoded = parts.flatMap(({ where, text }) =>
    encodedRuns(text, runs).map((run) => ({ where: `${where} (decoded)`, text: run, whole: false })),
  );
  return unique([
    ...[...parts, joined].map((part) => ({ ...part, whole: true })),
    // Last of the whole readings: a secret in one part is named by that part.
    { where: "the request as sent", text: `${head.join("\r\n")}\r\n\r\n${body}`, whole: true },
    ...decoded,
    // Separators removed: the parts' characters side by side, as a server that puts pieces together reads them.
    { where: "the request's parts put together", text: [...parts, joined].map(({ text }) => text.replace(SEPARATORS, "")).join(""), whole: false },
  ]);
}

/** A host name as a person reads it (punycode turned back into its characters). */
function hostUnicode(host: string): string {
  const { domainToUnicode }: typeof import("node:url") = process.getBuiltinModule("node:url");
  const unicode = domainToUnicode(host);
  return unicode === "" || unicode === host ? host : `${host} ${unicode}`;
}

/**
 * `%XX` sequences (and `+` in a form) decoded as a server would, again and again (a value encoded over and over, 4 times
 * at most); bad UTF-8 as U+FFFD.
 */
function percentDecoded(text: string, form: boolean): string {
  let result = form ? text.replaceAll("+", " ") : text;
  for (let round = 0; round < 4 && /%[0-9a-f]{2}/i.test(result); round += 1)
    result = result.replace(/(?:%[0-9a-f]{2})+/gi, (run) => Buffer.from(run.replaceAll("%", ""), "hex").toString("utf8"));
  return result;
}

/** A JSON body's keys and string values in order (a key next to its value), or none when it is no JSON. */
function jsonStrings(text: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return [];
  }
  const strings: string[] = [];
  const walk = (value: unknown): void => {
    if (typeof value === "string") strings.push(value);
    else if (typeof value === "number" || typeof value === "boolean") strings.push(String(value));
    else if (Array.isArray(value)) for (const item of value) walk(item);
    else if (value !== null && typeof value === "object")
      for (const [key, item] of Object.entries(value)) {
        strings.push(key);
        walk(item);
      }
  };
  walk(parsed);
  return strings;
}

/**
 * Base64 and hex runs of a text, bytes written one by one (`0x..` lists, octal escapes, decimal codes, runs of bits),
 * each once (`seen` holds those decoded already), decoded as UTF-8, UTF-16LE and UTF-16BE (base64 from each of its
 * first four characters).
 */
function encodedRuns(text: string, seen: Set<string>): string[] {
  const decoded: string[] = [];
  const fresh = (run: string) => !seen.has(run) && Boolean(seen.add(run));
  const asText = (bytes: Buffer) => {
    decoded.push(bytes.toString("utf8"));
    // UTF-16 from an even and an odd byte: what the run held before the encoded text may be any number of bytes.
    for (const from of [0, 1]) {
      const units = bytes.subarray(from, bytes.length - ((bytes.length - from) % 2));
      decoded.push(units.toString("utf16le"), Buffer.from(units).swap16().toString("utf16le"));
    }
  };
  for (const [run] of text.matchAll(BASE64_RUN))
    if (fresh(run))
      for (let start = 0; start < 4 && run.length - start >= 8; start += 1) asText(Buffer.from(run.slice(start).replace(/=+$/, ""), "base64"));
  for (const [run] of text.matchAll(HEX_RUN)) if (fresh(`hex:${run}`)) asText(Buffer.from(run, "hex"));
  const bytes = (codes: number[]) => codes.every((code) => code < 256) && asText(Buffer.from(codes));
  for (const [run] of text.matchAll(HEX_LIST))
    if (fresh(`0x:${run}`)) bytes((run.match(/0x[0-9a-f]{1,2}/gi) ?? []).map((code) => Number.parseInt(code, 16)));
  for (const [run] of text.matchAll(OCTAL_ESCAPES))
    if (fresh(`oct:${run}`)) bytes((run.match(/[0-7]+/g) ?? []).map((code) => Number.parseInt(code, 8)));
  for (const [run] of text.matchAll(DECIMAL_CODES)) if (fresh(`dec:${run}`)) bytes((run.match(/\d+/g) ?? []).map(Number));
  for (const [run] of text.matchAll(BITS)) if (fresh(`bits:${run}`)) bytes((run.match(/[01]{8}/g) ?? []).map((bits) => Number.parseInt(bits, 2)));
  return decoded;
}

/** Readings without a text seen already (a decoding that changed nothing). */
function unique(readings: readonly Reading[]): Reading[] {
  const seen = new Set<string>();
  return readings.filter(({ text }) => text !== "" && !seen.has(text) && seen.add(text));
}

/**
 * Where a known secret stands in pieces: one piece half its length or more (8 characters at least), or both pieces of
 * it cut in two, each as long as the shortest secret, anywhere in the readings; or pieces of 8 characters or more of it
 * or of it reversed, in any case (a host name is lower case), that together cover three quarters of it (8 + 8 + 8 in
 * three headers, form fields, labels of a host, halves reversed); or the whole secret once the separators are removed
 * from it and from the parts put together (a piece per header, a JSON key and its value). Undefined when none. Only the
 * whole is looked for without separators: a secret's pieces without them (a URL's host and path) may well stand in a
 * request that holds no secret. Ordinary words are no pieces of a random key: the secrets looked for are keys by their
 * name or look (`OutboundSecrets`), not every setting of a secret file.
 */
function piecesFound(readings: readonly Reading[], known: KnownSecrets): string | undefined {
  // NUL stands between readings: no piece of a secret holds one, so no piece is found across two readings by chance.
  const asTheyAre = readings.map(({ text }) => text).join("\0");
  const separatorsRemoved = readings.map(({ text }) => text.replace(SEPARATORS, "")).join("\0");
  for (const secret of known.values) {
    if (holdsLongPiece(asTheyAre, secret) || holdsTwoPieces(asTheyAre, secret)) return "the request";
    const bare = secret.replace(SEPARATORS, "");
    if (bare.length >= SHORTEST_SECRET && separatorsRemoved.includes(bare)) return "the request's parts put together";
  }
  return coveredByPieces(asTheyAre.toLowerCase(), known.values) ? "the request" : undefined;
}

/** Share of a secret its pieces found apart must cover for the request to be refused. */
const COVERED = 0.75;

/**
 * Whether the text holds pieces of SHORTEST_PIECE characters or more of one of the secrets (or of it reversed) that
 * cover COVERED of it, in lower case. One pass over the text looks each window up among every secret's pieces.
 */
function coveredByPieces(text: string, secrets: readonly string[]): boolean {
  const candidates = secrets.filter((secret) => secret.length >= SHORTEST_PIECE + 3);
  if (candidates.length === 0) return false;
  // Each window of a secret and of it reversed: which secret, and which of its characters it covers from where.
  const windows = new Map<string, { secret: number; from: number }[]>();
  candidates.forEach((secret, index) => {
    const lower = secret.toLowerCase();
    const reversed = [...lower].reverse().join("");
    for (let at = 0; at + SHORTEST_PIECE <= lower.length; at += 1) {
      for (const [window, from] of [
        [lower.slice(at, at + SHORTEST_PIECE), at],
        [reversed.slice(at, at + SHORTEST_PIECE), lower.length - SHORTEST_PIECE - at],
      ] as const) {
        const list = windows.get(window) ?? [];
        list.push({ secret: index, from });
        windows.set(window, list);
      }
    }
  });
  const covered = candidates.map((secret) => new Uint8Array(secret.length));
  for (let at = 0; at + SHORTEST_PIECE <= text.length; at += 1) {
    const hits = windows.get(text.slice(at, at + SHORTEST_PIECE));
    if (hits === undefined) continue;
    for (const { secret, from } of hits) covered[secret]?.fill(1, from, from + SHORTEST_PIECE);
  }
  return covered.some((marks) => marks.reduce((sum, mark) => sum + mark, 0) >= COVERED * marks.length);
}

/** Whether `text` holds a piece of `value` at least half its length (and 8 characters): every cut in two leaves one. */
function holdsLongPiece(text: string, value: string): boolean {
  const longest = Math.max(Math.ceil(value.length / 2), SHORTEST_PIECE);
  if (longest > value.length) return false;
  // A piece `longest` long holds a whole block of `block` characters that starts at a multiple of `block`: look for
  // those few blocks, then at how far each match reaches either side.
  const block = Math.max(1, Math.floor((longest + 1) / 2));
  for (let start = 0; start + block <= value.length; start += block) {
    const wanted = value.slice(start, start + block);
    for (let at = text.indexOf(wanted); at !== -1; at = text.indexOf(wanted, at + 1)) {
      let before = 0;
      while (before < start && text[at - before - 1] === value[start - before - 1]) before += 1;
      let after = 0;
      while (start + block + after < value.length && text[at + block + after] === value[start + block + after]) after += 1;
      if (before + block + after >= longest) return true;
    }
  }
  return false;
}

/** Whether `text` holds both pieces of `value` cut in two, each at least as long as the shortest secret. */
function holdsTwoPieces(text: string, value: string): boolean {
  // From 16 characters on, one piece of any cut is a long piece.
  if (value.length >= 2 * SHORTEST_PIECE) return false;
  for (let cut = SHORTEST_SECRET; cut <= value.length - SHORTEST_SECRET; cut += 1)
    if (text.includes(value.slice(0, cut)) && text.includes(value.slice(cut))) return true;
  return false;
}
