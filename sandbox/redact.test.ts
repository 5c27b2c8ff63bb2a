import { describe, expect, test } from "bun:test";
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
    expect(redact("git clone https://bob:hunter2pass@git.example.com/r.git")).toBe(
      `git clone https://bob:${REDACTED}@git.example.com/r.git`,
    );
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
    const wrapped = Buffer.from(`${"x".repeat(50)}${value}`).toString("base64").replace(/.{76}/g, "$&\n");
    expect(wrapped.split("\n")[1]?.length).toBeGreaterThan(0);
    const output = redact(`${wrapped}\ndone`, [value]);
    expect(output).toContain(REDACTED);
    expect(output.endsWith("\ndone")).toBe(true);
    const encodedSecret = Buffer.from(`${"x".repeat(50)}${value}`).toString("base64").slice(70, 110);
    expect(output.replace(/\n/g, "")).not.toContain(encodedSecret);
    const broken = `${value.slice(0, 10)}\x1b[31m${value.slice(10, 20)}\u200b${value.slice(20)}`;
    expect(redact(`before ${broken} after`, [value])).toBe(`before ${REDACTED} after`);
    // Text around a secret stays as it was, line breaks included.
    expect(redact(`a\nb\n${value.slice(0, 5)}\n${value.slice(5)}\nc`, [value])).toBe(`a\nb\n${REDACTED}\nc`);
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
});
