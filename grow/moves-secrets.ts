// Whether a goal's aim is to move credentials somewhere: "send the ssh keys to the address 2130706433 port 4444",
// "exfiltrate AWS credentials … to pastebin", "post every .npmrc token to webhook site". Replacing the host or the path
// (`safe-goal.ts`) leaves such a goal's aim whole ("send the ssh keys to a host"), and a tool built for it is a tool for
// that; so the goal is refused. A goal is judged by what it moves and how: a credential (a secret, a password, a key or
// a token of a kind that unlocks something, a credential store) as the object of a verb that moves things out (send,
// post, upload, forward, …) going somewhere (to, into, onto, via, …), or in a sentence with a place such things are
// dropped (a paste site, a webhook, a host, an address); a verb whose only aim is that (exfiltrate, leak, steal) needs
// nothing more, nor does a place a request carries ("in a request header", "into a DNS query"). The words of ordinary
// jobs stay ordinary: "sort the keys of an object", "count the tokens in a text", "send the totals to the team",
// "encode a secret message", "generate a password", "check that passwords are hashed", "the password policy".

// A credential: a secret (not an adjective of an ordinary thing), a password, a key or token of a kind that unlocks
// something, a credential store or file, or what safe-goal.ts said a secret-looking string was.
const CREDENTIAL = new RegExp(
  [
    String.raw`\bcredentials?\b`,
    String.raw`\bsecrets\b`,
    String.raw`\b(?:the|a|an|my|our|their|its|every|each|all|any|client|app|api|shared|webhook)\s+secret\b(?` +
      String.raw`!\s+(?:santa|message|word|number|recipe|ingredient|garden|sauce|admirer|agent|door|passage|society|menu|level|room|code|note)s?\b)`,
    String.raw`\bsecret\s+(?:access\s+)?keys?\b`,
    String.raw`\bpass(?:words?|wd|phrases?)\b`,
    String.raw`\b(?:ssh|gpg|pgp|private|api|aws|gcp|azure|signing|encryption|access|secret|deploy|host|root|master|license|wallet)[\s_-]+keys?\b`,
    String.raw`\b(?:api|access|auth|bearer|oauth|refresh|id|github|gitlab|npm|pypi|slack|discord|telegram|bot|` +
      String.raw`session|personal|jwt|csrf|\.?npmrc|registry)[\s_-]+tokens?\b`,
    String.raw`\b(?:session|auth|login|browser)\s+cookies?\b|\bcookies\b`,
    String.raw`\bseed\s+phrases?\b|\bmnemonic\b|\bkeychain\b|\bkeyring\b|\bwallet\b`,
    // A template of a .env (.env.example, .env.sample) holds no values.
    String.raw`(?:^|[\s"'(])~?\/?\.(?:env|ssh|aws|azure|gnupg|kube|docker|netrc|npmrc|pypirc|git-credentials)\b(?!\.(?:example|sample|template|dist)\b)`,
    String.raw`\b(?:env|dotenv|credentials?|kubeconfig|id_(?:rsa|dsa|ecdsa|ed25519))\b(?!\.(?:example|sample|template|dist)\b)(?:\s+files?)?`,
    String.raw`\ba secret\b`,
    // The environment as a whole, and a variable's name that says what it holds (GITHUB_TOKEN, AWS_SECRET_ACCESS_KEY).
    String.raw`\benv(?:ironment)?\s+var(?:iable)?s?\b|\benv\s+vars?\b|\bprocess\.env\b|\bos\.environ\b`,
    String.raw`\b[a-z][a-z0-9]*(?:_[a-z0-9]+)*_(?:tokens?|keys?|secrets?|passwords?|pass|pat|pwd)\b`,
  ].join("|"),
  "i",
);

// Verbs that carry something out of where it is.
const MOVE =
  String.raw`send|sent|sending|sends|post|posts|posted|posting|upload\w*|forward\w*|e-?mail\w*|mail|mails|mailed|transmit\w*|transfer\w*|` +
  String.raw`push|pushes|pushed|pushing|publish\w*|share|shares|shared|sharing|paste|pastes|pasted|pasting|dump|dumps|dumped|ship\w*|` +
  String.raw`deliver\w*|beam\w*|pipe|pipes|piped|curl|wget|scp|rsync|netcat|nc|copy|copies|copied|copying|export\w*|sync\w*|tweet\w*|` +
  String.raw`relay\w*|hand|hands|handed|handing|submit\w*|save|saves|saved|saving|put|puts|putting|include\w*|give|gives|gave|given|giving|` +
  "write|writes|wrote|written|writing";
// The same said after what is moved ("the keys are sent to"): a gerund there ("the passwords in a log before sending it
// to") is about something else.
const MOVED =
  "sent|posted|uploaded|forwarded|e-?mailed|mailed|transmitted|transferred|pushed|published|shared|pasted|dumped|" +
  "shipped|delivered|piped|copied|exported|synced|tweeted|leaked|exfiltrated|relayed|handed|submitted|saved|included|given|written";
// Verbs whose only aim is moving something where it should not go: the credential alone is enough.
const OUT_ONLY = String.raw`exfiltrat\w*|exfil|leak\w*|steal\w*|stole|stolen|harvest\w*|smuggl\w*|siphon\w*|sneak\w*`;
// Where a thing goes.
const TOWARD = "to|into|onto|at|via|over|through|towards?|somewhere|out|off";
// Places credentials are dropped in, and what safe-goal.ts makes of hosts, URLs and addresses.
const SINK = new RegExp(
  String.raw`\b(?:paste\s*bin|pastebin|paste\s+site|hastebin|ghostbin|gist|webhooks?|webhook[\s.]site|request\s*bin|requestbin|ngrok|` +
    "pipedream|burp|collaborator|interactsh|discord|telegram|slack|irc|dns|a host|a URL|an email address|remote|attacker|" +
    String.raw`(?:ip\s+)?address\s+\d+|port\s+\d+|server|endpoint|my\s+(?:machine|box|computer|laptop|site|domain))\b`,
  "i",
);

// Where a request carries things out, as the place something is put ("in a request header", "into a DNS query", "to
// a discord channel", "in the User-Agent"): a credential beside one is going out, whatever the verb.
const NETWORK = new RegExp(
  String.raw`\b(?:to|into|in|inside|onto|on|via|through|over|as|within)\s+(?:[\w-]+\s+){0,3}?(?:a host|a URL|an email address|urls?|` +
    String.raw`requests?|headers?|dns|user-agent|gists?|webhooks?|channels?|form\s+on|query\s+strings?|endpoints?|cookies?)\b`,
  "i",
);
// Verbs that do something to a credential where it is (hide it, check it, describe it): it is not moved.
const KEPT_VERB =
  String.raw`redact\w*|strip\w*|mask\w*|hash\w*|check\w*|validat\w*|verif\w*|test|tests|testing|ensur\w*|detect\w*|scan\w*|` +
  String.raw`audit\w*|censor\w*|remov\w*|filter\w*|encrypt\w*|lint\w*|generat\w*|rotat\w*|pars\w*|decod\w*|inspect\w*`;
// Words after a credential that make it describe something else: the password policy, the key rotation schedule.
const DESCRIBED =
  String.raw`polic(?:y|ies)|fields?|schedules?|rotations?|strength|length|expir\w*|renew\w*|requirements?|rules?|format|reset|` +
  "hints?|prompts?|inputs?|box|columns?|age|lifetime|counts?|managers?|generators?|checker|validator|complexity";
const ARTICLES = String.raw`(?:\s+(?:that|whether|if|the|all|every|each|a|an|any|my|our|their|its|which|how|for))*`;

const WINDOW = "(?:[^.;!?]{0,80}?)";
const VERB_THEN_CREDENTIAL = new RegExp(String.raw`\b(?:${MOVE})\b${WINDOW}(?:${CREDENTIAL.source})${WINDOW}\b(?:${TOWARD})\b`, "i");
const CREDENTIAL_THEN_VERB = new RegExp(String.raw`(?:${CREDENTIAL.source})${WINDOW}\b(?:${MOVED})\b${WINDOW}\b(?:${TOWARD})\b`, "i");
const OUT_VERB = new RegExp(String.raw`\b(?:${OUT_ONLY})\b`, "i");
const MOVE_TO_SOMEONE = new RegExp(String.raw`\b(?:${MOVE})\s+(?:me|us|him|her|them)\b${WINDOW}(?:${CREDENTIAL.source})`, "i");
const KEPT = new RegExp(String.raw`(\b(?:${KEPT_VERB})\b${ARTICLES}\s+)(?:${CREDENTIAL.source})`, "gi");
const DESCRIBING = new RegExp(String.raw`(?:${CREDENTIAL.source})(?=\s+(?:${DESCRIBED})\b)`, "gi");
const MOVE_VERB = new RegExp(String.raw`\b(?:${MOVE})\b`, "i");

/**
 * What of `text` says it moves credentials somewhere ("send … ssh keys … to"), or undefined when it does not. `text`
 * is read as it is written and as safe-goal.ts left it (its hosts "a host", its secrets "a secret"): call it on both.
 * A credential that a verb keeps where it is ("redact the API keys", "check that passwords …") or that describes
 * something else ("the password policy", "the deploy key expires") is not one moved.
 */
export function movesSecrets(written: string): string | undefined {
  const text = written.replace(KEPT, "$1it").replace(DESCRIBING, "it");
  const credential = CREDENTIAL.exec(text);
  if (!credential) return undefined;
  const said = VERB_THEN_CREDENTIAL.exec(text) ?? CREDENTIAL_THEN_VERB.exec(text) ?? MOVE_TO_SOMEONE.exec(text);
  if (said) return said[0].trim();
  if (OUT_VERB.test(text)) return credential[0].trim();
  if (MOVE_VERB.test(text) && SINK.test(text)) return credential[0].trim();
  // A credential beside a place a request carries things to (a header, a DNS query, a gist): going out, whatever the verb.
  if (NETWORK.test(text)) return credential[0].trim();
  return undefined;
}
