/**
 * A credential format that is a secret wherever it appears: what it is, the literal openings a match starts with (the
 * stream redactor holds back a stream that ends in the start of one), and its pattern (global, for replace and matchAll).
 */
export type SecretShape = { kind: string; openings: readonly string[]; pattern: RegExp };

/**
 * The one list of well-known token shapes (a subset of gitleaks' rules). The redactor hides every match wherever it
 * turns up (`security/secret-patterns.ts`); `mcpServers` refuses every match written into org.config.json under any name
 * (`config/mcp-servers.ts`). A file of its own so both read the same list: config sits below security.
 *
 * A token is not glued to a letter or digit before it (`disk-backup-volume-0001` holds no `sk-` key, `laughs_…` no
 * `ghs_` token), and each length is the shortest either user ever took. Each pattern starts with a literal opening,
 * so a scan over a megabyte of tool output stays linear and fast.
 */
export const SECRET_SHAPES: readonly SecretShape[] = [
  // PEM private keys, including a block cut off by truncation.
  {
    kind: "a private key (PEM)",
    openings: ["-----BEGIN"],
    pattern: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|$)/g,
  },
  // Anthropic (sk-ant-api03-…, sk-ant-admin01-…) and OpenAI (sk-proj-…, sk-svcacct-…, legacy sk-…T3BlbkFJ…), then any
  // other sk- key (DeepSeek's, a LiteLLM proxy's virtual keys): named ones first, so a scan names a key once.
  { kind: "an Anthropic API key", openings: ["sk-"], pattern: /(?<![A-Za-z0-9])sk-ant-[A-Za-z0-9_-]{20,}/g },
  { kind: "an OpenAI API key", openings: ["sk-"], pattern: /(?<![A-Za-z0-9])sk-(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]{20,}/g },
  { kind: "an OpenAI API key", openings: ["sk-"], pattern: /(?<![A-Za-z0-9])sk-[A-Za-z0-9]{20,}T3BlbkFJ[A-Za-z0-9]{20,}/g },
  { kind: "an API key (sk-…)", openings: ["sk-"], pattern: /(?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{16,}/g },
  // GitHub tokens and fine-grained PATs; GitLab; Hugging Face; Stripe.
  { kind: "a GitHub token", openings: ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"], pattern: /(?<![A-Za-z0-9])gh[pousr]_[A-Za-z0-9]{20,}/g },
  { kind: "a GitHub token", openings: ["github_pat_"], pattern: /(?<![A-Za-z0-9])github_pat_[A-Za-z0-9_]{20,}/g },
  { kind: "a GitLab token", openings: ["glpat-"], pattern: /(?<![A-Za-z0-9])glpat-[A-Za-z0-9_-]{20,}/g },
  { kind: "a Hugging Face token", openings: ["hf_"], pattern: /(?<![A-Za-z0-9])hf_[A-Za-z0-9]{30,}/g },
  { kind: "a Stripe key", openings: ["sk_", "rk_"], pattern: /(?<![A-Za-z0-9])(?:sk|rk)_(?:live|test|prod)_[A-Za-z0-9]{16,}/g },
  // AWS access key ids, and secret keys where they are named.
  {
    kind: "an AWS access key id",
    openings: ["AKIA", "ASIA", "ABIA", "ACCA", "A3T"],
    pattern: /(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}/g,
  },
  {
    kind: "an AWS secret access key",
    openings: ["aws_secret", "awssecret"],
    pattern: /(?<![A-Za-z0-9])aws_?secret_?access_?key["']?\s*[:=]\s*["']?[A-Za-z0-9/+=]{40}/gi,
  },
  // Slack tokens and incoming-webhook URLs.
  { kind: "a Slack token", openings: ["xox"], pattern: /(?<![A-Za-z0-9])xox[abposre]-[A-Za-z0-9-]{10,}/g },
  {
    kind: "a Slack webhook URL",
    openings: ["https://hooks.slack.com/"],
    pattern: /https:\/\/hooks\.slack\.com\/(?:services|workflows)\/[A-Za-z0-9/_-]{20,}/g,
  },
  // Google API keys and OAuth client secrets.
  { kind: "a Google API key", openings: ["AIza"], pattern: /(?<![A-Za-z0-9])AIza[0-9A-Za-z_-]{30,}/g },
  { kind: "a Google OAuth client secret", openings: ["GOCSPX-"], pattern: /(?<![A-Za-z0-9])GOCSPX-[A-Za-z0-9_-]{20,}/g },
  // JSON Web Tokens: header.payload.signature, the header the base64url of a JSON object.
  { kind: "a JSON Web Token", openings: ["eyJ"], pattern: /(?<![A-Za-z0-9])eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g },
];

/** The kind of the first token shape in `text`, or undefined when it holds none. */
export function secretShapeIn(text: string): string | undefined {
  return SECRET_SHAPES.find(({ pattern }) => text.search(pattern) !== -1)?.kind;
}
