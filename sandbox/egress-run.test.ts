import { afterAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  accessSync,
  chmodSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { egressRules } from "../config/egress-policy.ts";
import { gitSync, tempGitRepo, testGitEnv } from "../testing/temp-git-repo.ts";
import { runInTestSandbox, testSandbox } from "../testing/test-sandbox.ts";
import type { EgressConnection, EgressGuard } from "./egress-guard.ts";
import type { SandboxResult } from "./sandbox-result.ts";
import { EGRESS_BUN, EGRESS_FOLDER, type EgressRequest, egressKit, egressRunFolder, egressRunsDir, SYSTEM_PERL } from "./egress-run.ts";
import { ownedTempDir, ownerTag } from "../security/owned-temp-dir.ts";
import { sandboxPolicy } from "./sandbox-policy.ts";

// The real sandbox, the real guard and curl inside: a server on the host's 127.0.0.1, made "public" for the guard
// alone by the test's DNS table and `treatAsPublic` (as web_fetch's tests do). The sandbox itself has no route to it.

const root = mkdtempSync(join(tmpdir(), "org-egress-run-"));
/** The paths the TLS server answered. */
const tlsPaths: string[] = [];
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  // /echo answers a request's body with itself: what a test sent up comes back down.
  fetch: async (request) =>
    new URL(request.url).pathname === "/echo" ? new Response(await request.arrayBuffer()) : new Response(`hello ${new URL(request.url).pathname}\n`),
});
// A TLS server for public.test, its certificate self-signed: the command trusts it as a CA (curl --cacert); the guard
// only tunnels the bytes. An EC key: made at once, where an RSA key costs openssl a tenth of a CPU second or more.
execFileSync(
  "openssl",
  ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", join(root, "key.pem")].concat([
    "-out",
    join(root, "ca.pem"),
    "-days",
    "1",
    "-subj",
    "/CN=public.test",
    "-addext",
    "subjectAltName=DNS:public.test",
  ]),
  { stdio: "ignore" },
);
const tls = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  tls: { key: readFileSync(join(root, "key.pem"), "utf8"), cert: readFileSync(join(root, "ca.pem"), "utf8") },
  fetch: async (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/echo") return new Response(await request.arrayBuffer());
    tlsPaths.push(path);
    return new Response("hello over tls\n");
  },
});
afterAll(() => {
  server.stop(true);
  tls.stop(true);
  rmSync(root, { recursive: true, force: true });
});

const port = server.port ?? 0;
const tlsPort = tls.port ?? 0;
const policy = sandboxPolicy({
  poolSize: 0,
  workspace: "none",
  egress: egressRules({ allow: ["public.test"], ports: [port, tlsPort], tlsPorts: [tlsPort] }),
});
const seams: EgressRequest = {
  resolver: async (host) => (host === "public.test" || host === "evil.test" ? ["127.0.0.1"] : ["10.0.0.9"]),
  treatAsPublic: new Set(["127.0.0.1"]),
};
const UNSET_PROXIES = "env -u http_proxy -u HTTP_PROXY -u https_proxy -u HTTPS_PROXY -u all_proxy -u ALL_PROXY";
const base = `http://public.test:${port}`;
/** Prints the command's whole environment, sorted, and a line that ends it. */
const PRINT_ENV = "env | sort; echo env-end";
const ENV_END = "env-end\n";

/**
 * The run asking for egress where there is no `sandbox.egress`: its environment, then a direct connection to the test's
 * server on the host's 127.0.0.1, which a sandbox sharing the host's network would reach. Made once, for the tests
 * that compare their environments with it and for its own.
 */
let withoutEgress: Promise<SandboxResult> | undefined;
const runWithoutEgress = () =>
  (withoutEgress ??= runInTestSandbox({
    policy: sandboxPolicy({ poolSize: 0, workspace: "none" }),
    argv: ["/bin/sh", "-c", `${PRINT_ENV}; curl -sS --max-time 3 --noproxy '*' http://127.0.0.1:${port}/direct || echo no-network`],
    scratchDir: join(root, "scratch-c"),
    timeoutMs: 10_000,
    egress: seams,
  }));

/**
 * Splits a run's output at the end of its environment, checking that environment against the run's without egress:
 * exactly the six proxy variables more, nothing less. The rest of the output.
 */
async function afterEnvironment(stdout: string): Promise<string> {
  const environment = (text: string) => text.slice(0, text.indexOf(ENV_END)).split("\n").filter(Boolean);
  const own = environment(stdout);
  const plain = environment((await runWithoutEgress()).stdout);
  expect(plain.length).toBeGreaterThan(0);
  const proxy = "http://127.0.0.1:3128";
  expect(own.filter((line) => !plain.includes(line))).toEqual([
    `ALL_PROXY=${proxy}`,
    `HTTPS_PROXY=${proxy}`,
    `HTTP_PROXY=${proxy}`,
    `all_proxy=${proxy}`,
    `http_proxy=${proxy}`,
    `https_proxy=${proxy}`,
  ]);
  expect(plain.filter((line) => !own.includes(line))).toEqual([]);
  return stdout.slice(stdout.indexOf(ENV_END) + ENV_END.length);
}

describe("a sandboxed run given egress", () => {
  test("reaches an allowed host through the guard (plain and CONNECT), and nothing else: no direct route, no other host", async () => {
    const connections: EgressConnection[] = [];
    const hostsFile = join(testSandbox.supportDir, "hosts");
    const hostsBefore = readFileSync(hostsFile, "utf8");
    const script = [
      PRINT_ENV,
      `curl -sS --max-time 5 ${base}/plain`,
      // A tunnel carries TLS only: to a port off tlsPorts it is refused; plain HTTP inside one to a TLS port too.
      `curl -sS --max-time 5 -p ${base}/tunnel || echo tunnel-refused`,
      `curl -sS --max-time 5 --cacert /org/test-ca.pem https://public.test:${tlsPort}/`,
      `curl -sS --max-time 5 -p -H 'Host: evil.test' http://public.test:${tlsPort}/plain-in-tunnel; echo`,
      `curl -sS --max-time 5 --cacert /org/test-ca.pem -x socks5h://127.0.0.1:3128 https://public.test:${tlsPort}/socks`,
      `curl -sS --max-time 5 http://evil.test:${port}/`,
      `curl -sS --max-time 5 http://intranet.test:${port}/`,
      // Around the proxy: a name of its own in /etc/hosts (mounted read-only), the host's loopback server, the metadata
      // address, and the proxy variables unset.
      "echo 127.0.0.1 public.test >> /etc/hosts || echo hosts-not-written",
      "grep -c public.test /etc/hosts",
      `awk '$5 == "/etc/hosts" { split($6, options, ","); print "hosts mounted " options[1] }' /proc/self/mountinfo`,
      `curl -sS --max-time 3 --noproxy '*' ${base}/ || echo direct-failed`,
      `${UNSET_PROXIES} curl -sS --max-time 3 http://127.0.0.1:${port}/ || echo unset-failed`,
      "curl -sS --max-time 3 --noproxy '*' http://169.254.169.254/ || echo metadata-failed",
    ].join("; ");
    const result = await runInTestSandbox({
      policy,
      argv: ["/bin/sh", "-c", script],
      scratchDir: join(root, "scratch-a"),
      readOnlyMounts: [{ source: join(root, "ca.pem"), target: "/org/test-ca.pem" }],
      timeoutMs: 20_000,
      egress: { ...seams, onConnection: (connection) => connections.push(connection) },
    });
    expect(result.exitCode).toBe(0);
    expect(await afterEnvironment(result.stdout)).toStartWith("hello /plain\n");
    expect(result.stdout).toContain("hello /plain\ntunnel-refused\nhello over tls\norg's egress guard refused the tunnel to public.test");
    expect(result.stdout).toContain("a tunnel (CONNECT) carries TLS only. Send plain HTTP as a proxy request");
    expect(result.stdout).toContain("curl without -p), so that the guard reads it.\n\nhello over tls\n");
    expect(tlsPaths).toEqual(["/", "/socks"]);
    expect(result.stdout).toContain(`refused evil.test:${port}: not on sandbox.egress.allow. To allow it, add it to sandbox.egress.allow`);
    expect(result.stdout).toContain(`refused intranet.test:${port}: not on sandbox.egress.allow`);
    expect(result.stdout).toContain("hosts-not-written\n0\nhosts mounted ro\ndirect-failed\nunset-failed\nmetadata-failed\n");
    // Refused by the read-only mount, or (as root, the sandbox running as another uid) by the file's mode before it.
    expect(result.stderr).toMatch(/cannot create \/etc\/hosts: (Read-only file system|Permission denied)/);
    expect(readFileSync(hostsFile, "utf8")).toBe(hostsBefore);
    expect(result.stdout).not.toContain("hello /\n");
    // Each connection is told when it ends: a tunnel's end can come after the next command's refusal, so not in order.
    const told = connections.map((connection) => `${connection.host} ${connection.allowed}`).sort();
    expect(told).toEqual(
      [
        "public.test true",
        "public.test false",
        "public.test true",
        "public.test false",
        "public.test true",
        "evil.test false",
        "intranet.test false",
      ].sort(),
    );
    expect(result.egress).toMatch(
      new RegExp(
        "^reached 1 host \\(public\\.test\\), [\\d.]+ KB in, [\\d.]+ KB out; " +
          `refused public\\.test: a tunnel to port ${port}, not on sandbox\\.egress\\.tlsPorts \\(${tlsPort}\\); ` +
          "refused evil\\.test: not on sandbox\\.egress\\.allow; refused intranet\\.test",
      ),
    );
  }, 30_000);

  // Requests answered before their body is read: the guard's refusal (a plain-HTTP body over 1 MiB), and the
  // forwarder's own answer once the guard is gone. A socket closed with bytes unread sends a reset, which takes the
  // answer from a client that sends its whole request before it reads (Python's http.client, under pip): its send fails
  // ("Broken pipe", "Connection reset by peer") and it reads nothing. The bodies are more than the sockets' buffers
  // (and the relay's pipe, and what the guard reads of a refused one) hold, so the client is still sending when the
  // answer comes. curl reads while it sends and lost the answer less often (the bun forwarder's, once in five runs): it
  // is checked as well.
  const sendThenRead = join(root, "send-then-read.pl");
  writeFileSync(
    sendThenRead,
    [
      "use IO::Socket::INET; $SIG{PIPE} = 'IGNORE';",
      "my $socket = IO::Socket::INET->new('127.0.0.1:3128') or die \"connect: $!\\n\";",
      "my $body = 'b' x ($ARGV[1] * 1024 * 1024);",
      'my $request = "POST $ARGV[0] HTTP/1.1\\r\\nContent-Length: " . length($body) . "\\r\\n\\r\\n$body";',
      "while (length $request) {",
      '  my $sent = syswrite($socket, $request) // do { print "send failed: $!\\n"; exit 1 };',
      "  substr($request, 0, $sent) = '';",
      "}",
      "my $answer = join '', <$socket>;",
      "print $answer =~ s/^.*?\\r\\n\\r\\n//sr;",
      "",
    ].join("\n"),
  );
  for (const forwarder of ["perl", "bun"] as const) {
    test.skipIf(!existsSync(SYSTEM_PERL))(
      `${forwarder}'s forwarder: a client still sending reads the guard's refusal, and once the guard stops, why`,
      async () => {
        const scratch = join(root, `scratch-gone-${forwarder}`);
        let guard: EgressGuard | undefined;
        const script = [
          `perl /org/send-then-read.pl ${base}/refused 16; echo rc=$?`,
          `curl -sS ${base}/one`,
          "while [ ! -e go ]; do sleep 0.05; done",
          `perl /org/send-then-read.pl ${base}/two 4; echo rc=$?`,
          `head -c ${1024 * 1024} /dev/zero > body`,
          `curl -sS --max-time 10 -H 'Expect:' --data-binary @body ${base}/three; echo rc=$?`,
        ].join("; ");
        const result = await runInTestSandbox({
          policy,
          argv: ["/bin/sh", "-c", script],
          scratchDir: scratch,
          readOnlyMounts: [{ source: sendThenRead, target: "/org/send-then-read.pl" }],
          timeoutMs: 20_000,
          egress: {
            ...seams,
            forwarder,
            guardStarted: (started) => {
              guard = started;
            },
            // The guard stops once /one has been answered: the connections after it find it gone.
            onConnection: (connection) => {
              if (connection.allowed) void guard?.stop().then(() => existsSync(scratch) && writeFileSync(join(scratch, "go"), ""));
            },
          },
        });
        const refused = "org's egress guard checks a plain-HTTP body for secrets before it is sent: send at most 1 MiB, or use https.\nrc=0\n";
        const gone = "org's egress guard is not running (it stopped or org ended): this run has no network any more.\nrc=0\n";
        expect(result.stdout).toBe(`${refused}hello /one\n${gone}${gone}`);
        expect(result.stderr).toBe("");
        expect(result.timedOut).toBe(false);
      },
      30_000,
    );
  }

  // Perl's forwarder where the host has /usr/bin/perl (every run above), and bun's where it has not, forced here.
  for (const forwarder of ["perl", "bun"] as const) {
    test.skipIf(forwarder === "perl" && !existsSync(SYSTEM_PERL))(
      `${forwarder}'s forwarder relays a plain request and a 4 MiB TLS tunnel each way whole; the command's exit is the run's`,
      async () => {
        // A plain request's body is checked for secrets and bounded (1 MiB); a tunnel's bytes are only counted.
        const script = [
          PRINT_ENV,
          // Perl's forwarder becomes the command (its parent is bwrap); bun's spawns it (its parent is bun).
          "cat /proc/$PPID/comm",
          `head -c ${1000 * 1024} /dev/zero | tr '\\0' p > plain`,
          `curl -sS --max-time 10 --data-binary @plain ${base}/echo | cmp - plain && echo plain-same-both-ways`,
          `head -c ${4 * 1024 * 1024} /dev/zero | tr '\\0' t > tunnel`,
          `curl -sS --max-time 10 --cacert /org/test-ca.pem --data-binary @tunnel https://public.test:${tlsPort}/echo` +
            " | cmp - tunnel && echo tunnel-same-both-ways",
          "kill -TERM $$",
        ].join("; ");
        const result = await runInTestSandbox({
          policy,
          argv: ["/bin/sh", "-c", script],
          scratchDir: join(root, `scratch-${forwarder}`),
          readOnlyMounts: [{ source: join(root, "ca.pem"), target: "/org/test-ca.pem" }],
          timeoutMs: 20_000,
          egress: { ...seams, forwarder },
        });
        expect(await afterEnvironment(result.stdout)).toBe(
          `${forwarder === "perl" ? "bwrap" : "bun"}\nplain-same-both-ways\ntunnel-same-both-ways\n`,
        );
        expect(result.stderr).toBe("");
        expect([result.exitCode, result.signal]).toEqual([143, "SIGTERM"]);
        expect(result.timedOut).toBe(false);
      },
      30_000,
    );
  }

  test.skipIf(!existsSync(SYSTEM_PERL))(
    "a command perl's forwarder cannot run: one line saying why, and 127 as prlimit gives",
    async () => {
      const result = await runInTestSandbox({
        policy,
        argv: ["/no/such/command"],
        scratchDir: join(root, "scratch-missing"),
        timeoutMs: 10_000,
        egress: seams,
      });
      expect(result.stderr).toBe("org's egress forwarder: failed to execute /no/such/command: No such file or directory\n");
      expect(result.exitCode).toBe(127);
    },
    20_000,
  );

  test.skipIf(!existsSync("/usr/bin/npm"))(
    "npm install fetches a package from a registry that is the only host allowed",
    async () => {
      // A registry of one package: its packument and its tarball, served on the host's loopback as registry.test.
      const packageDir = join(root, "tiny", "package");
      mkdirSync(packageDir, { recursive: true });
      writeFileSync(join(packageDir, "package.json"), JSON.stringify({ name: "tiny-pkg", version: "1.0.0", main: "index.js" }));
      writeFileSync(join(packageDir, "index.js"), "module.exports = 'tiny through the guard';\n");
      execFileSync("tar", ["-czf", join(root, "tiny.tgz"), "-C", join(root, "tiny"), "package"]);
      const tarball = readFileSync(join(root, "tiny.tgz"));
      const registry: ReturnType<typeof Bun.serve> = Bun.serve({
        hostname: "127.0.0.1",
        port: 0,
        fetch: (request): Response => {
          const path = new URL(request.url).pathname;
          if (path.endsWith(".tgz")) return new Response(tarball);
          if (path !== "/tiny-pkg") return new Response("not found", { status: 404 });
          const dist: Record<string, string> = {
            tarball: `http://registry.test:${registry.port}/tiny-pkg/-/tiny-pkg-1.0.0.tgz`,
            integrity: `sha512-${createHash("sha512").update(tarball).digest("base64")}`,
            shasum: createHash("sha1").update(tarball).digest("hex"),
          };
          const version = { name: "tiny-pkg", version: "1.0.0", main: "index.js", dist };
          return Response.json({ name: "tiny-pkg", "dist-tags": { latest: "1.0.0" }, versions: { "1.0.0": version } });
        },
      });
      try {
        const registryPort = registry.port ?? 0;
        const script = [
          'mkdir project && cd project && echo \'{"name":"project","version":"1.0.0"}\' > package.json',
          `npm install --registry=http://registry.test:${registryPort}/ --no-audit --no-fund --no-update-notifier tiny-pkg` +
            " >/dev/null 2>npm.err || cat npm.err",
          "node -e 'console.log(require(\"tiny-pkg\"))'",
        ].join(" && ");
        const result = await runInTestSandbox({
          policy: sandboxPolicy({ poolSize: 0, workspace: "none", egress: egressRules({ allow: ["registry.test"], ports: [registryPort] }) }),
          argv: ["/bin/sh", "-c", script],
          scratchDir: join(root, "scratch-npm"),
          timeoutMs: 60_000,
          egress: { resolver: async () => ["127.0.0.1"], treatAsPublic: new Set(["127.0.0.1"]) },
        });
        expect(result.stdout).toBe("tiny through the guard\n");
        expect(result.egress).toMatch(/^reached 1 host \(registry\.test\)/);
      } finally {
        registry.stop(true);
      }
    },
    90_000,
  );

  test("git clone over HTTP from git http-backend, the only host allowed, gets the repository", async () => {
    // A repository served by `git http-backend` as a CGI (git's smart HTTP), on the host's loopback as git.test.
    using source = tempGitRepo("org-egress-git-");
    gitSync(root, ["clone", "--quiet", "--bare", source.dir, join(root, "served.git")]);
    const backend: ReturnType<typeof Bun.serve> = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: async (request) => {
        const url = new URL(request.url);
        const cgi = Bun.spawn(["git", "http-backend"], {
          env: {
            ...testGitEnv(),
            GIT_PROJECT_ROOT: root,
            GIT_HTTP_EXPORT_ALL: "1",
            REQUEST_METHOD: request.method,
            PATH_INFO: url.pathname,
            QUERY_STRING: url.search.slice(1),
            CONTENT_TYPE: request.headers.get("content-type") ?? "",
            HTTP_CONTENT_ENCODING: request.headers.get("content-encoding") ?? "",
            REMOTE_ADDR: "127.0.0.1",
          },
          stdin: new Uint8Array(await request.arrayBuffer()),
          stdout: "pipe",
          stderr: "ignore",
        });
        const output = Buffer.from(await new Response(cgi.stdout).arrayBuffer());
        const end = output.indexOf("\r\n\r\n");
        const headers = new Headers();
        let status = 200;
        for (const line of output.subarray(0, end).toString("latin1").split("\r\n")) {
          const [name = "", value = ""] = [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 1).trim()];
          if (name.toLowerCase() === "status") status = Number.parseInt(value, 10);
          else headers.set(name, value);
        }
        return new Response(output.subarray(end + 4), { status, headers });
      },
    });
    try {
      const gitPort = backend.port ?? 0;
      const result = await runInTestSandbox({
        policy: sandboxPolicy({ poolSize: 0, workspace: "none", egress: egressRules({ allow: ["git.test"], ports: [gitPort] }) }),
        argv: ["/bin/sh", "-c", `git clone --quiet http://git.test:${gitPort}/served.git copy 2>&1 && cat copy/README.md`],
        scratchDir: join(root, "scratch-git"),
        env: { GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null" },
        timeoutMs: 30_000,
        egress: { resolver: async () => ["127.0.0.1"], treatAsPublic: new Set(["127.0.0.1"]) },
      });
      expect(result.stdout).toBe("a repo\n");
      expect(result.egress).toMatch(/^reached 1 host \(git\.test\)/);
    } finally {
      backend.stop(true);
    }
  }, 60_000);

  test.skipIf(!existsSync("/usr/bin/pip3"))(
    "pip download fetches a wheel from a simple index that is the only host allowed",
    async () => {
      // A simple index (PEP 503) of one project, its wheel built by python's zipfile, on the host's loopback as pypi.test.
      const wheelName = "tiny_pkg-1.0.0-py3-none-any.whl";
      const wheelPath = join(root, wheelName);
      const files: Record<string, string> = {
        "tiny_pkg/__init__.py": "VALUE = 'tiny through the guard'\n",
        "tiny_pkg-1.0.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: tiny-pkg\nVersion: 1.0.0\n",
        "tiny_pkg-1.0.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        "tiny_pkg-1.0.0.dist-info/RECORD": "",
      };
      execFileSync("/usr/bin/python3", [
        "-c",
        "import json,sys,zipfile\nwith zipfile.ZipFile(sys.argv[1],'w') as z:\n  [z.writestr(n,c) for n,c in json.loads(sys.argv[2]).items()]",
        wheelPath,
        JSON.stringify(files),
      ]);
      const wheel = readFileSync(wheelPath);
      const sha256 = createHash("sha256").update(wheel).digest("hex");
      const index = Bun.serve({
        hostname: "127.0.0.1",
        port: 0,
        fetch: (request) => {
          const path = new URL(request.url).pathname;
          if (path === `/files/${wheelName}`) return new Response(wheel);
          if (path !== "/simple/tiny-pkg/") return new Response("not found", { status: 404 });
          const page = `<!DOCTYPE html><html><body><a href="/files/${wheelName}#sha256=${sha256}">${wheelName}</a></body></html>`;
          return new Response(page, { headers: { "content-type": "text/html" } });
        },
      });
      try {
        const indexPort = index.port ?? 0;
        const pip =
          `pip3 download --quiet --no-cache-dir --disable-pip-version-check --no-deps --index-url http://pypi.test:${indexPort}/simple/ ` +
          "--trusted-host pypi.test -d downloaded tiny-pkg 2>&1";
        const result = await runInTestSandbox({
          policy: sandboxPolicy({ poolSize: 0, workspace: "none", egress: egressRules({ allow: ["pypi.test"], ports: [indexPort] }) }),
          argv: ["/bin/sh", "-c", `${pip} && ls downloaded`],
          scratchDir: join(root, "scratch-pip"),
          timeoutMs: 60_000,
          egress: { resolver: async () => ["127.0.0.1"], treatAsPublic: new Set(["127.0.0.1"]) },
        });
        expect(result.stdout).toBe(`${wheelName}\n`);
        expect(result.egress).toMatch(/^reached 1 host \(pypi\.test\)/);
      } finally {
        index.stop(true);
      }
    },
    90_000,
  );

  // A folder on another filesystem than the kit's (the suite's temp folder may itself be /dev/shm), so the link fails.
  const otherFilesystem = ["/dev/shm", "/tmp", "/var/tmp"].find((dir) => {
    try {
      accessSync(dir, constants.W_OK);
      return statSync(dir).dev !== statSync(root).dev;
    } catch {
      return false;
    }
  });

  test.skipIf(otherFilesystem === undefined)(
    "a bun that cannot be linked into the kit (another filesystem) is mounted on the kit's stand-in file",
    async () => {
      const elsewhere = mkdtempSync(join(otherFilesystem ?? "/dev/shm", "org-egress-bun-"));
      try {
        chmodSync(elsewhere, 0o755);
        writeFileSync(join(elsewhere, "bun"), '#!/bin/sh\necho "stand-in bun $*"\n', { mode: 0o755 });
        const run = egressRunFolder(egressKit(mkdtempSync(join(root, "kit-")), testSandbox.supportDir, join(elsewhere, "bun")));
        expect(run.mounts.map((mount) => mount.target)).toEqual([EGRESS_FOLDER, EGRESS_BUN]);
        const result = await runInTestSandbox({
          policy: sandboxPolicy({ poolSize: 0, workspace: "none" }),
          argv: ["sh", "-c", `${EGRESS_BUN} ran; ls ${EGRESS_FOLDER}`],
          scratchDir: join(root, "scratch-kit"),
          readOnlyMounts: run.mounts,
        });
        expect(result.stdout).toBe("stand-in bun ran\nbun\negress-forwarder.pl\negress-forwarder.ts\negress-relay.pl\n");
      } finally {
        rmSync(elsewhere, { recursive: true, force: true });
      }
    },
    30_000,
  );

  test("each run mounts a folder of its own: its guard's socket and the kit's files, gone once the run has ended", async () => {
    const listing = () =>
      runInTestSandbox({ policy, argv: ["ls", EGRESS_FOLDER], scratchDir: join(root, "scratch-own"), timeoutMs: 10_000, egress: seams });
    const [one, two] = await Promise.all([listing(), listing()]);
    for (const result of [one, two]) {
      expect(result.stdout).toBe("bun\negress-forwarder.pl\negress-forwarder.ts\negress-relay.pl\nguard.sock\n");
    }
    // Each run's folder, and its links to bun and the forwarders, are removed once its result is out (setImmediate).
    await new Promise((resolve) => setImmediate(resolve));
    expect(readdirSync(testSandbox.egressKit.folder).filter((name) => name.includes(`-${ownerTag()}-`))).toEqual([]);
  }, 20_000);

  test("the runs' folders live in one private folder per user; a dead process's runs are removed, a live one's stay", () => {
    const parent = mkdtempSync(join(tmpdir(), "org-egress-parent-"));
    try {
      const shared = egressRunsDir(parent);
      expect(shared).toBe(join(parent, `org-egress-${process.getuid?.() ?? 0}`));
      expect(statSync(shared).mode & 0o777).toBe(0o700);
      const dead = join(shared, "org-run-999999-1-abcdef");
      mkdirSync(dead);
      const live = ownedTempDir("run", shared);
      expect(egressRunsDir(parent)).toBe(shared);
      expect(existsSync(dead)).toBe(false);
      expect(existsSync(live)).toBe(true);
      // A folder of that name others can write into is not used: the process takes one of its own.
      chmodSync(shared, 0o777);
      const own = egressRunsDir(parent);
      expect(own).not.toBe(shared);
      expect(own).toContain(`org-egress-${ownerTag()}-`);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });

  test.skipIf(!existsSync(SYSTEM_PERL))("perl's forwarder and its relay compile under strict, which they do not load at each run", () => {
    for (const file of ["egress-forwarder.pl", "egress-relay.pl"]) {
      const checked = Bun.spawnSync([SYSTEM_PERL, "-Mstrict", "-c", join(import.meta.dir, file)], { stderr: "pipe" });
      expect(`${checked.exitCode} ${checked.stderr.toString()}`).toBe(`0 ${join(import.meta.dir, file)} syntax OK\n`);
    }
  });

  test("without sandbox.egress, a run asking for egress has no network and no proxy: not even the host's loopback", async () => {
    const result = await runWithoutEgress();
    const environment = result.stdout.slice(0, result.stdout.indexOf(ENV_END));
    expect(environment).toContain("PATH=");
    expect(environment.toLowerCase()).not.toContain("proxy");
    // The server is on the host's 127.0.0.1, where a sandbox sharing the host's network would reach it.
    expect(result.stdout.slice(environment.length + ENV_END.length)).toBe("no-network\n");
    expect(result.egress).toBeUndefined();
  }, 20_000);
});
