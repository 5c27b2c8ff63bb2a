import { describe, expect, test } from "bun:test";
import { OutputCapture } from "../sandbox/output-capture.ts";
import { REDACTED, redact } from "./redact.ts";

// Fake keys in each provider's shape (none is real).
const positives: Record<string, string> = {
  anthropic: `sk-ant-api03-${"Ab1_".repeat(23)}xAA`,
  "openai project": `sk-proj-${"Zq9x".repeat(12)}`,
  "openai legacy": `sk-${"a1B2c3D4e5".repeat(2)}T3BlbkFJ${"f6G7h8I9j0".repeat(2)}`,
  "github classic": `ghp_${"a1B2c3D4e5F6".repeat(3)}`,
  "github fine-grained": `github_pat_11ABCDEFG0${"x9Y8z7W6v5".repeat(8)}`,
  gitlab: "glpat-Ab3dE6gH9jK2mN5pQ8sT",
  "aws access key id": "AKIAIOSFODNN7EXAMPLE",
  "aws secret": "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  slack: "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
  "slack webhook": "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
  google: "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6q",
  jwt: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
  "pem private key": "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA1c7+9z5Pad7OejecsQ0bu\n-----END RSA PRIVATE KEY-----",
  "openssh private key": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----",
  huggingface: `hf_${"aBcDeFgHiJ".repeat(3)}12`,
  stripe: `sk_live_${"4eC39HqLyjWDarjtT1zdp7dc"}`,
};

// Things that must survive: hashes, ids, code, prose.
const negatives = [
  "commit 4b825dc642cb6eb9a060e54bf8d69288fbee4904",
  "id 123e4567-e89b-12d3-a456-426614174000",
  "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
  "const token = getToken(user);",
  "password: ********",
  "The sky is blue and the key to success is practice.",
  "https://example.com/path?query=1",
  "sk-short",
];

describe("redact", () => {
  for (const [name, secret] of Object.entries(positives)) {
    test(`removes a ${name}`, () => {
      const output = redact(`before ${secret} after`);
      expect(output).toContain(REDACTED);
      expect(output.startsWith("before ")).toBe(true);
      expect(output).not.toContain(secret.slice(8, 30));
    });
  }

  test("keeps ordinary text, hashes, UUIDs and base64 images", () => {
    for (const text of negatives) expect(redact(text)).toBe(text);
  });

  test("keeps the scheme of an auth header and the user and host of a URL", () => {
    expect(redact("Authorization: Bearer abc.def-ghi_jkl012345")).toBe(`Authorization: Bearer ${REDACTED}`);
    expect(redact("git clone https://bob:hunter2pass@git.example.com/r.git")).toBe(`git clone https://bob:${REDACTED}@git.example.com/r.git`);
  });

  test("removes named secrets in env files and JSON", () => {
    expect(redact("DB_PASSWORD=s3cr3tValue99\nMODE=prod")).toBe(`DB_PASSWORD=${REDACTED}\nMODE=prod`);
    expect(redact(`{"client_secret": "q8Hf2kLm9Zx4"}`)).toBe(`{"client_secret": "${REDACTED}"}`);
  });

  test("removes the process's own secret env values, also base64- and URL-encoded", () => {
    const value = "my-own-provider-token-Q7w8e9";
    process.env.ORG_TEST_PROVIDER_TOKEN = value;
    try {
      expect(redact(`echo ${value}`)).toBe(`echo ${REDACTED}`);
      for (const prefix of ["", "x", "xy"]) {
        const encoded = Buffer.from(`${prefix}${value}!`).toString("base64");
        expect(redact(encoded)).toContain(REDACTED);
      }
      expect(redact(encodeURIComponent(`a ${value}/`))).not.toContain("Q7w8e9");
    } finally {
      delete process.env.ORG_TEST_PROVIDER_TOKEN;
    }
  });

  test("removes a known secret in hex, JSON-escaped, wrapped base64, or broken up by ANSI codes and zero-width characters", () => {
    const value = 'org-test-"secret"-Zx81Kq02Lm93Np74';
    const hex = Buffer.from(value).toString("hex");
    expect(redact(`dump ${hex} end`, [value])).toBe(`dump ${REDACTED} end`);
    expect(redact(`DUMP ${hex.toUpperCase()}`, [value])).toBe(`DUMP ${REDACTED}`);
    expect(redact(`{"v":${JSON.stringify(value)}}`, [value])).toBe(`{"v":"${REDACTED}"}`);
    // base64(1) wraps its output at 76 columns, which lands a line break inside the encoded secret.
    const wrapped = Buffer.from(`${"x".repeat(50)}${value}`)
      .toString("base64")
      .replace(/.{76}/g, "$&\n");
    expect(wrapped.split("\n")[1]?.length).toBeGreaterThan(0);
    const output = redact(`${wrapped}\ndone`, [value]);
    expect(output).toContain(REDACTED);
    expect(output.endsWith("\ndone")).toBe(true);
    const encodedSecret = Buffer.from(`${"x".repeat(50)}${value}`)
      .toString("base64")
      .slice(70, 110);
    expect(output.replace(/\n/g, "")).not.toContain(encodedSecret);
    const broken = `${value.slice(0, 10)}\x1b[31m${value.slice(10, 20)}\u200b${value.slice(20)}`;
    expect(redact(`before ${broken} after`, [value])).toBe(`before ${REDACTED} after`);
    // Text around a secret stays as it was, line breaks included.
    expect(redact(`a\nb\n${value.slice(0, 5)}\n${value.slice(5)}\nc`, [value])).toBe(`a\nb\n${REDACTED}\nc`);
  });

  test("sees through spaced hex dumps, indented base64, \\/ escapes, tabs, two-byte escapes and direction marks", () => {
    const value = "Xk9/q+Zr7Tw2Lm/Pv8Hs3Nd5Fb1Gc4Jy";
    const od = Buffer.from(value)
      .toString("hex")
      .replace(/../g, " $&")
      .replace(/(.{48})/g, "$1\n");
    const yaml = `key: |\n${Buffer.from(`${"z".repeat(40)}${value}`)
      .toString("base64")
      .replace(/.{40}/g, "    $&\n")}`;
    const cases = [
      od,
      yaml,
      JSON.stringify(value).replaceAll("/", "\\/"),
      `${value.slice(0, 12)}\t${value.slice(12)}`,
      `${value.slice(0, 12)}\x1b(B${value.slice(12)}`,
      `${value.slice(0, 12)}\u200e${value.slice(12, 20)}\uFFFD${value.slice(20)}`,
    ];
    for (const printed of cases) {
      const output = redact(`start\n${printed}\nend`, [value]);
      expect(output).toContain(REDACTED);
      expect(output.replace(/\s/g, "")).not.toContain(Buffer.from(value).toString("hex").slice(10, 30));
      expect(output.startsWith("start\n") && output.endsWith("\nend")).toBe(true);
    }
    expect(redact(yaml, [value]).replace(/\s/g, "")).not.toContain(
      Buffer.from(`${"z".repeat(40)}${value}`)
        .toString("base64")
        .slice(60, 90),
    );
  });

  test("a stray or unfinished escape sequence hides no character of a secret", () => {
    const value = "Zq81Kd02xyWm";
    for (const printed of ["\x1bZq81K\u200bd02xyWm", "\x1b(Zq81K\x1bd02xyWm", "Zq81K\x1bd02xyWm", "\x1b]0;Zq81Kd02xyWm"]) {
      const output = redact(`> ${printed} <`, [value]);
      expect(output).toContain(REDACTED);
      expect(output.replace(/\x1b/g, "")).not.toMatch(/Zq81K|d02xyWm/);
    }
  });

  test("a short secret is not found by joining ordinary words across spaces or lines", () => {
    for (const [text, secret] of [
      ["the hunter 22 went home", "hunter22"],
      ["step abc 123", "abc123"],
      ["please change\nme1", "changeme1"],
    ] as const) {
      expect(redact(text, [secret])).toBe(text);
    }
    // A long one is: a dump may space or wrap it anywhere.
    const long = "Xk9q8Zr7Tw2Lm0Pv8Hs3";
    expect(redact(`${long.slice(0, 9)} ${long.slice(9)}`, [long])).toBe(REDACTED);
  });

  test("the pieces of a secret on either side of an output cut both go", () => {
    const value = "Xk9q8Zr7Tw2Lm0Pv8Hs3Nd5Fb1Gc4Jy";
    const capture = new OutputCapture("stdout", 16 * 1024);
    // The head keeps the secret's first 17 characters, the tail starts with its last 14.
    capture.push(Buffer.from(`${"a".repeat(8192 - 17)}${value}${"b".repeat(100_000)}${value}${"c".repeat(8192 - 14)}`));
    const text = capture.text();
    expect(text).toContain(value.slice(0, 17));
    expect(text).toContain(value.slice(-14));
    const output = redact(text, [value]);
    expect(output).not.toContain(value.slice(0, 17));
    expect(output).not.toContain(value.slice(-14));
    expect(output).toMatch(/a{100}\[REDACTED\]\n\[… \d+ bytes of stdout cut …\]\n\[REDACTED\]c{100}/);
    // Seven characters of a secret at a cut are too few to hide anything for.
    const plain = new OutputCapture("stdout", 1024);
    plain.push(Buffer.from(`${"a".repeat(505)}Xk9q8Zr${"-".repeat(5000)}${"z".repeat(512)}`));
    expect(plain.text()).toContain("Xk9q8Zr\n[…");
    expect(redact(plain.text(), [value])).toBe(plain.text());
  });

  test("removes extra secrets the caller knows", () => {
    expect(redact("value hunter22", ["hunter22"])).toBe(`value ${REDACTED}`);
  });

  test("handles a megabyte of mixed output", () => {
    const line = `ok ${"x".repeat(60)} 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n`;
    const big = `${line.repeat(Math.ceil(1_000_000 / line.length))}${positives["github classic"]}\n`;
    const output = redact(big);
    expect(output.length).toBeGreaterThan(1_000_000);
    expect(output.endsWith(`${REDACTED}\n`)).toBe(true);
  });

  test("long runs of name and scheme characters (a hostile page) come back unchanged, not after minutes", () => {
    // Each `\b` inside `a-a-a-…` used to start a scan to the end of the run: 100 KB took over a minute.
    for (const unit of ["a-", "x.", "api-"]) {
      const run = unit.repeat(200_000);
      expect(redact(run)).toBe(run);
    }
    // `sk-` and 16 or more key characters is an sk- key, which mcpServers refuses too (config/secret-shapes.ts): one match.
    expect(redact("sk-".repeat(200_000))).toBe(REDACTED);
    // What the patterns are for still works beside such runs.
    expect(redact(`${"a-".repeat(1000)} https://user:hunter2pass@example.com/ api_key=Zx9Qw8Er7Ty6`)).toBe(
      `${"a-".repeat(1000)} https://user:${REDACTED}@example.com/ api_key=${REDACTED}`,
    );
    expect(redact("x-1.git+https://me:pa55word@host/")).toBe(`x-1.git+https://me:${REDACTED}@host/`);
  });
});
