import { afterAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { egressRules } from "../config/egress-policy.ts";
import { runInTestSandbox } from "../testing/test-sandbox.ts";
import type { EgressConnection, EgressGuard } from "./egress-guard.ts";
import type { EgressRequest } from "./egress-run.ts";
import { sandboxPolicy } from "./sandbox-policy.ts";

// The real sandbox, the real guard and curl inside: a server on the host's 127.0.0.1, made "public" for the guard
// alone by the test's DNS table and `treatAsPublic` (as web_fetch's tests do). The sandbox itself has no route to it.

const root = mkdtempSync(join(tmpdir(), "org-egress-run-"));
/** The paths the TLS server answered. */
const tlsPaths: string[] = [];
const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (request) => new Response(`hello ${new URL(request.url).pathname}\n`) });
// A TLS server for public.test, its certificate self-signed: the command trusts it as a CA (curl --cacert); the guard
// only tunnels the bytes.
execFileSync(
  "openssl",
  ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(root, "key.pem"), "-out", join(root, "ca.pem"), "-days", "1"].concat([
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
  fetch: (request) => {
    tlsPaths.push(new URL(request.url).pathname);
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

describe("a sandboxed run given egress", () => {
  test("reaches an allowed host through the guard (plain and CONNECT), and nothing else: no direct route, no other host", async () => {
    const connections: EgressConnection[] = [];
    const script = [
      "env | grep -v -E '^(PATH|LANG|HOME|TMPDIR|PWD|SHLVL|_)=' | sort",
      `curl -sS --max-time 5 ${base}/plain`,
      // A tunnel carries TLS only: to a port off tlsPorts it is refused; plain HTTP inside one to a TLS port too.
      `curl -sS --max-time 5 -p ${base}/tunnel || echo tunnel-refused`,
      `curl -sS --max-time 5 --cacert /org/test-ca.pem https://public.test:${tlsPort}/`,
      `curl -sS --max-time 5 -p -H 'Host: evil.test' http://public.test:${tlsPort}/plain-in-tunnel; echo`,
      `curl -sS --max-time 5 --cacert /org/test-ca.pem -x socks5h://127.0.0.1:3128 https://public.test:${tlsPort}/socks`,
      `curl -sS --max-time 5 http://evil.test:${port}/`,
      `curl -sS --max-time 5 http://intranet.test:${port}/`,
      // Around the proxy: the host's loopback server, the metadata address, and the proxy variables unset.
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
    const lines = result.stdout.split("\n");
    const proxy = `http://127.0.0.1:3128`;
    expect(lines.slice(0, 6)).toEqual([
      `ALL_PROXY=${proxy}`,
      `HTTPS_PROXY=${proxy}`,
      `HTTP_PROXY=${proxy}`,
      `all_proxy=${proxy}`,
      `http_proxy=${proxy}`,
      `https_proxy=${proxy}`,
    ]);
    expect(result.stdout).toContain("hello /plain\ntunnel-refused\nhello over tls\norg's egress guard refused the tunnel to public.test");
    expect(result.stdout).toContain("a tunnel (CONNECT) carries TLS only. Send plain HTTP as a proxy request");
    expect(result.stdout).toContain("curl without -p), so that the guard reads it.\n\nhello over tls\n");
    expect(tlsPaths).toEqual(["/", "/socks"]);
    expect(result.stdout).toContain(`refused evil.test:${port}: not on sandbox.egress.allow. To allow it, add it to sandbox.egress.allow`);
    expect(result.stdout).toContain(`refused intranet.test:${port}: not on sandbox.egress.allow`);
    expect(result.stdout).toContain("direct-failed\nunset-failed\nmetadata-failed\n");
    expect(result.stdout).not.toContain("hello /\n");
    expect(connections.map((connection) => [connection.host, connection.allowed])).toEqual([
      ["public.test", true],
      ["public.test", false],
      ["public.test", true],
      ["public.test", false],
      ["public.test", true],
      ["evil.test", false],
      ["intranet.test", false],
    ]);
    expect(result.egress).toMatch(
      new RegExp(
        "^reached 1 host \\(public\\.test\\), [\\d.]+ KB in, [\\d.]+ KB out; " +
          `refused public\\.test: a tunnel to port ${port}, not on sandbox\\.egress\\.tlsPorts \\(${tlsPort}\\); ` +
          "refused evil\\.test: not on sandbox\\.egress\\.allow; refused intranet\\.test",
      ),
    );
  }, 30_000);

  test("when the guard stops mid-run, the next connection fails at once and says why", async () => {
    const scratch = join(root, "scratch-b");
    let guard: EgressGuard | undefined;
    const result = await runInTestSandbox({
      policy,
      argv: ["/bin/sh", "-c", `curl -sS ${base}/one; while [ ! -e go ]; do sleep 0.05; done; curl -sS --max-time 10 ${base}/two; echo rc=$?`],
      scratchDir: scratch,
      timeoutMs: 20_000,
      egress: {
        ...seams,
        guardStarted: (started) => {
          guard = started;
        },
        onConnection: () => {
          void guard?.stop().then(() => existsSync(scratch) && writeFileSync(join(scratch, "go"), ""));
        },
      },
    });
    expect(result.stdout).toContain("hello /one\n");
    expect(result.stdout).toContain("org's egress guard is not running");
    expect(result.stdout).toMatch(/rc=0\n$/);
    expect(result.stdout).not.toContain("hello /two");
    expect(result.timedOut).toBe(false);
  }, 30_000);

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

  test("without sandbox.egress, a run asking for egress has no network and no proxy", async () => {
    const result = await runInTestSandbox({
      policy: sandboxPolicy({ poolSize: 0, workspace: "none" }),
      argv: ["/bin/sh", "-c", `env | grep -i proxy; curl -sS --max-time 3 ${base}/ || echo no-network`],
      scratchDir: join(root, "scratch-c"),
      timeoutMs: 10_000,
      egress: seams,
    });
    expect(result.stdout).toBe("no-network\n");
    expect(result.egress).toBeUndefined();
  }, 20_000);
});
