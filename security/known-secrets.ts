import { secretEnvironmentValues } from "../config/environment.ts";
import { BASE32_HEX, type SeparatedPattern, separatedPattern, toBase32 } from "./secret-renderings.ts";

/** The shortest secret the redactor looks for, and the shortest form of one: shorter, they are words of any text. */
export const SHORTEST_SECRET = 6;

/**
 * Forms a known secret may take as a reader writes it: as is, reversed (`rev`), rot13 (`tr A-Za-z N-ZA-Mn-za-m`), in one
 * case (`tr a-z A-Z`), URL-encoded and JSON-escaped (also with `\/`, as PHP and Java write it).
 */
function writtenForms(secret: string): string[] {
  const json = JSON.stringify(secret).slice(1, -1);
  return [
    secret,
    [...secret].reverse().join(""),
    rot13(secret),
    secret.toUpperCase(),
    secret.toLowerCase(),
    encodeURIComponent(secret),
    json,
    json.replaceAll("/", "\\/"),
  ];
}

/**
 * Forms of a known secret's bytes encoded: hex (either case), every byte percent-encoded as encoders write it (`%7A`),
 * base64 at the three byte alignments of its UTF-8, UTF-16LE and UTF-16BE (JavaScript's `btoa` of a string's units,
 * .NET's and Java's `Unicode` encodings) and base32 at the five (RFC 4648's alphabet and its extended hex one, `base32hex`,
 * each in either case). Each is random-looking, so it is looked for across line
 * breaks and spaces (wrapped, dumped) at any length. (`%7a` and mixed cases are a rendering: `secret-renderings.ts`
 * reads `%XX` runs back in a whole text; a form is one more search of every text, so one case is enough here.)
 */
function encodedForms(secret: string): string[] {
  const bytes = Buffer.from(secret);
  const hex = bytes.toString("hex");
  const forms = [hex, hex.toUpperCase(), hex.toUpperCase().replace(/../g, "%$&")];
  for (const shift of [0, 1, 2, 3, 4]) {
    // Only the characters made of the secret's bits alone: past the shift's bits, and not the last one it shares.
    const padded = Buffer.concat([Buffer.alloc(shift), bytes]);
    const [from, to] = [Math.ceil((8 * shift) / 5), Math.floor((8 * (shift + bytes.length)) / 5)];
    const base32 = toBase32(padded).slice(from, to);
    const base32hex = toBase32(padded, BASE32_HEX).slice(from, to);
    forms.push(base32, base32.toLowerCase(), base32hex, base32hex.toLowerCase());
  }
  const littleEndian = Buffer.from(secret, "utf16le");
  for (const encoded of [bytes, littleEndian, Buffer.from(littleEndian).swap16()]) forms.push(...base64Forms(encoded));
  return forms;
}

/** Base64 of bytes at the three alignments: only the characters no neighbouring byte can change. */
function base64Forms(bytes: Buffer): string[] {
  return [0, 1, 2].map((shift) => {
    const base64 = Buffer.concat([Buffer.alloc(shift), bytes]).toString("base64");
    // Skip the characters that mix in the bytes before, and the last one when the final group mixes in the bytes after.
    const start = shift === 0 ? 0 : shift === 1 ? 2 : 3;
    const usable = base64.slice(start).replace(/=+$/, "");
    return usable.slice(0, usable.length - ((bytes.length + shift) % 3 === 0 ? 0 : 1));
  });
}

/** Letters turned 13 places round the alphabet, the rest as they are. */
function rot13(text: string): string {
  return text.replace(/[A-Za-z]/g, (letter) => {
    const base = letter <= "Z" ? 65 : 97;
    return String.fromCharCode(((letter.charCodeAt(0) - base + 13) % 26) + base);
  });
}

/**
 * The secrets a redactor looks for, the environment's and the given ones, worked out once: their values, their forms
 * (longest first), the encoded ones among them, their separated patterns. Made where the secrets are known (a room, a
 * stream, a log) and handed to each call; a call given a plain list works them out for that call alone.
 */
export class KnownSecrets {
  readonly values: readonly string[];
  readonly forms: readonly string[];
  readonly encoded: ReadonlySet<string>;
  readonly separated: readonly SeparatedPattern[];

  /** `environment: false` leaves the environment's secrets out: the given ones alone (which of them a text holds). */
  constructor(extraSecrets: readonly string[] = [], options: { environment?: boolean } = {}) {
    const environment = options.environment === false ? [] : secretEnvironmentValues();
    this.values = [...new Set([...environment, ...extraSecrets].filter((value) => value.length >= SHORTEST_SECRET))];
    // A base64 or base32 piece of a short secret can be shorter than the secret: shorter still, it would match ordinary text.
    this.encoded = new Set(this.values.flatMap(encodedForms).filter((form) => form.length >= SHORTEST_SECRET));
    this.forms = [...new Set([...this.values.flatMap(writtenForms), ...this.encoded])].sort((a, b) => b.length - a.length);
    this.separated = this.values.map(separatedPattern);
  }

  #starts: FormStarts | undefined;

  /** Every proper start of a form, made when a stream first asks. */
  get starts(): FormStarts {
    this.#starts ??= {
      set: new Set(this.forms.flatMap((form) => Array.from({ length: form.length - 1 }, (_, length) => form.slice(0, length + 1)))),
      first: new Set(this.forms.map((form) => form.charCodeAt(0))),
      longest: Math.max(...this.forms.map((form) => form.length)),
    };
    return this.#starts;
  }
}

/** The proper starts of a set's forms, their first characters, and the longest form's length. */
export type FormStarts = { set: Set<string>; first: Set<number>; longest: number };

/** The secrets a redaction looks for: worked out once (`KnownSecrets`), or a list of values to add to the environment's. */
export type Secrets = KnownSecrets | readonly string[];

export function knownSecrets(secrets: Secrets): KnownSecrets {
  return secrets instanceof KnownSecrets ? secrets : new KnownSecrets(secrets);
}

export function knownForms(secrets: Secrets): readonly string[] {
  return knownSecrets(secrets).forms;
}
