import { describe, expect, test } from "bun:test";
import { REDACTED, redact } from "./redact.ts";
import { scanForSecrets } from "./scan-for-secrets.ts";

// What a user might paste into the room, one of each kind (fake keys in each provider's shape).
const PASTED: { name: string; text: string; secret: string; kind: string }[] = [
  {
    name: "OpenAI project key",
    text: "my key: sk-proj-Zq9xZq9xZq9xZq9xZq9xZq9xZq9xZq9xZq9x ok?",
    secret: "sk-proj-Zq9xZq9x",
    kind: "an OpenAI API key",
  },
  {
    name: "OpenAI legacy key",
    text: `use sk-${"a1B2c3D4e5".repeat(2)}T3BlbkFJ${"f6G7h8I9j0".repeat(2)}`,
    secret: "T3BlbkFJ",
    kind: "an OpenAI API key",
  },
  { name: "Anthropic key", text: `ANTHROPIC key sk-ant-api03-${"Ab1_".repeat(23)}xAA`, secret: "sk-ant-api03-Ab1_", kind: "an Anthropic API key" },
  { name: "GitHub classic token", text: `push with ghp_${"a1B2c3D4e5F6".repeat(3)}`, secret: "ghp_a1B2", kind: "a GitHub token" },
  { name: "GitHub fine-grained token", text: `github_pat_11ABCDEFG0${"x9Y8z7W6v5".repeat(8)}`, secret: "github_pat_11", kind: "a GitHub token" },
  { name: "AWS access key id", text: "aws id AKIAIOSFODNN7EXAMPLE here", secret: "AKIAIOSFODNN7EXAMPLE", kind: "an AWS access key id" },
  {
    name: "AWS secret key",
    text: "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    secret: "wJalrXUtnFEMI",
    kind: "an AWS secret access key",
  },
  { name: "Slack bot token", text: "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", secret: "AbCdEfGhIjKl", kind: "a Slack token" },
  {
    name: "Slack webhook",
    text: "post to https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
    secret: "XXXXXXXXXXXXXXXX",
    kind: "a Slack webhook URL",
  },
  { name: "Google API key", text: "maps key AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6q", secret: "AIzaSyA1b2C3", kind: "a Google API key" },
  {
    name: "PEM private key",
    text: "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----",
    secret: "b3BlbnNzaC1rZXkt",
    kind: "a private key (PEM)",
  },
  {
    name: "PEM key cut off by the paste",
    text: "here:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA1c7+9z5Pad7Oejecs",
    secret: "MIIEowIBAAK",
    kind: "a private key (PEM)",
  },
  {
    name: "bearer token",
    text: "curl -H 'Authorization: Bearer abc.def-ghi_jkl012345' api",
    secret: "abc.def-ghi_jkl012345",
    kind: "a bearer token",
  },
  { name: "password in a URL", text: "clone https://bob:hunter2pass@git.example.com/r.git", secret: "hunter2pass", kind: "a password in a URL" },
  { name: "named secret", text: "DB_PASSWORD=s3cr3tValue99", secret: "s3cr3tValue99", kind: "a named secret (password, token, api_key …)" },
  {
    name: "random KEY=value",
    text: "export STRIPE_WEBHOOK_SIGNING=Xk9fQ2mZ7pL4vB8nR1tY6wC3",
    secret: "Xk9fQ2mZ7pL4vB8nR1tY6wC3",
    kind: "a random-looking value in KEY=value form",
  },
  {
    name: "random value in YAML",
    text: "deploy:\n  service_cred: 'Qm4Zr8Wp2Lx7Kt5Vn1Bc9Hd3'",
    secret: "Qm4Zr8Wp2Lx7Kt5Vn1Bc9Hd3",
    kind: "a named secret (password, token, api_key …)",
  },
  {
    name: "hex secret with a secret's name",
    text: "SESSION_KEY=9f86d081884c7d659a2feaa0c55ad015",
    secret: "9f86d081884c7d65",
    kind: "a named secret (password, token, api_key …)",
  },
  {
    name: "JWT",
    text: "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    secret: "dozjgNryP4J3",
    kind: "a JSON Web Token",
  },
];

// What must go through untouched: hashes, ids, versions, model names, paths, prose with the patterns' words.
const ORDINARY = [
  "the bug came in with commit 4b825dc642cb6eb9a060e54bf8d69288fbee4904, revert it",
  "COMMIT=4b825dc642cb6eb9a060e54bf8d69288fbee4904",
  "request id 123e4567-e89b-12d3-a456-426614174000 failed",
  "TRACE_ID=123e4567-e89b-12d3-a456-426614174000",
  "session_id=123e4567-e89b-12d3-a456-426614174000",
  "author: 4b825dc642cb6eb9a060e54bf8d69288fbee4904",
  '{"sessionId":"20261123-171818-fa432b","time":"2026-11-23T17:18:18.000Z"}',
  "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  "OLLAMA_MODEL=qwen2.5-coder-7b-instruct-q4",
  "MODEL=hf.co/bartowski/Qwen2.5-Coder-7B-Instruct-GGUF:Q4_K_M",
  "IMAGE=registry.example.com/team/app:1.2.3",
  "PATH=/usr/local/bin:/usr/bin:/bin",
  "LANG=en_US.UTF-8",
  "CLASS=AbstractSingletonProxyFactoryBean1",
  "handler: useEffectCallback2Handler",
  "BUILD_DATE=2026-11-23T17:07:57.000Z",
  "I have a basic understanding of token based authentication.",
  "Bearer tokens are described in RFC 6750.",
  "The token: see the docs for how they work",
  "password: ********",
  "const token = getToken(user);",
  "api_key = os.environ['OPENAI_API_KEY']",
  "Use sk- prefixed keys for OpenAI; mine starts with sk-proj but I won't paste it.",
  "Is -----BEGIN CERTIFICATE----- a private key? No.",
  "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
  "version: 1.2.3-beta.4+build.5678",
  "see https://example.com/path?query=1&page=2",
  "emoji 🦜 and a NUL \u0000 and ESC \u001b[31m red",
];

describe("scanForSecrets, the inbound credential guard's scan", () => {
  for (const { name, text, secret, kind } of PASTED) {
    test(`finds a pasted ${name}`, () => {
      const scan = scanForSecrets(text);
      expect(scan.kinds).toContain(kind);
      expect(scan.redacted).toContain(REDACTED);
      expect(scan.redacted).not.toContain(secret);
    });
  }

  test("leaves ordinary text alone: git hashes, UUIDs, digests, model names, paths, versions, prose", () => {
    for (const text of ORDINARY) expect({ text, ...scanForSecrets(text) }).toEqual({ text, kinds: [], redacted: text });
  });

  test("prose with 'basic' or 'token' before a long word is not an auth header any more (also for redact)", () => {
    expect(redact("a Basic understanding")).toBe("a Basic understanding");
    expect(redact("Token authentication")).toBe("Token authentication");
    expect(redact("Authorization: Basic YWxpY2U6c2VjcmV0")).toBe(`Authorization: Basic ${REDACTED}`);
  });

  test("a key org itself uses is found, named as such", () => {
    const scan = scanForSecrets("use my-server-key-Q7w8e9r0 please", ["my-server-key-Q7w8e9r0"]);
    expect(scan.kinds).toEqual(["a key org itself uses (from the environment or the config)"]);
    expect(scan.redacted).toBe(`use ${REDACTED} please`);
  });

  test("several kinds in one message are all named, each once", () => {
    const scan = scanForSecrets(`a ${PASTED[3]?.text} b ${PASTED[5]?.text} c ${PASTED[3]?.text}`);
    expect(scan.kinds).toEqual(["a GitHub token", "an AWS access key id"]);
  });

  test("a huge paste is scanned in linear time and whole", () => {
    const big = `${"lorem ipsum dolor sit amet ".repeat(40_000)} AKIAIOSFODNN7EXAMPLE`;
    const scan = scanForSecrets(big);
    expect(scan.kinds).toEqual(["an AWS access key id"]);
  });
});
