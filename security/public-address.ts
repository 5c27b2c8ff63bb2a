// Ranges web_fetch never connects to. Documentation and benchmarking ranges are refused too: no public
// server lives there, so an address in them is a mistake or a trick.
const REFUSED_V4: [string, number, string][] = [
  ["0.0.0.0", 8, "'this network' (0.0.0.0/8)"],
  ["10.0.0.0", 8, "private (RFC 1918)"],
  ["100.64.0.0", 10, "carrier-grade NAT (RFC 6598)"],
  ["127.0.0.0", 8, "loopback"],
  ["169.254.0.0", 16, "link-local (cloud metadata lives here)"],
  ["172.16.0.0", 12, "private (RFC 1918)"],
  ["192.0.0.0", 24, "IETF protocol assignments"],
  ["192.0.2.0", 24, "documentation (TEST-NET-1)"],
  ["192.88.99.0", 24, "6to4 relay anycast"],
  ["192.168.0.0", 16, "private (RFC 1918)"],
  ["198.18.0.0", 15, "benchmarking"],
  ["198.51.100.0", 24, "documentation (TEST-NET-2)"],
  ["203.0.113.0", 24, "documentation (TEST-NET-3)"],
  ["224.0.0.0", 4, "multicast"],
  ["240.0.0.0", 4, "reserved (240.0.0.0/4, broadcast included)"],
];

function v4Number(address: string): number {
  return address.split(".").reduce((value, part) => value * 256 + Number(part), 0);
}

function v4Refusal(address: string): string | undefined {
  const value = v4Number(address);
  for (const [base, bits, why] of REFUSED_V4) {
    const size = 2 ** (32 - bits);
    const start = v4Number(base);
    if (value >= start && value < start + size) return why;
  }
  return undefined;
}

/** The 16 bytes of an IPv6 address (with an embedded dotted IPv4 tail too). */
function v6Bytes(address: string): number[] {
  let text = address.toLowerCase().replace(/%.*$/, "");
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1] !== undefined) {
    const value = v4Number(dotted[1]);
    text = `${text.slice(0, dotted.index)}${((value >>> 16) & 0xffff).toString(16)}:${(value & 0xffff).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const headParts = head === "" ? [] : head.split(":");
  const tailParts = tail === undefined || tail === "" ? [] : tail.split(":");
  const missing = 8 - headParts.length - tailParts.length;
  const groups = [...headParts, ...Array(tail === undefined ? 0 : missing).fill("0"), ...tailParts].map((part) => Number.parseInt(part, 16));
  return groups.flatMap((group) => [(group >> 8) & 0xff, group & 0xff]);
}

function embeddedV4(bytes: number[], from: number): string {
  return bytes.slice(from, from + 4).join(".");
}

function startsWith(bytes: number[], prefix: number[], bits: number): boolean {
  for (let bit = 0; bit < bits; bit++) {
    const byte = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    if (((bytes[byte] ?? 0) & mask) !== ((prefix[byte] ?? 0) & mask)) return false;
  }
  return true;
}

function v6Refusal(address: string): string | undefined {
  const bytes = v6Bytes(address);
  if (bytes.length !== 16 || bytes.some((byte) => Number.isNaN(byte))) return "not an address org can read";
  const zeroTo = (end: number) => bytes.slice(0, end).every((byte) => byte === 0);
  if (zeroTo(16)) return "the unspecified address (::)";
  if (zeroTo(15) && bytes[15] === 1) return "loopback (::1)";
  // An IPv4 address wrapped in IPv6 reaches that IPv4 address: judge the address inside.
  const wrapped = (v4: string, how: string) => {
    const inner = v4Refusal(v4);
    return inner === undefined ? undefined : `${how} of ${v4}, which is ${inner}`;
  };
  if (zeroTo(10) && bytes[10] === 0xff && bytes[11] === 0xff) return wrapped(embeddedV4(bytes, 12), "IPv4-mapped form");
  if (zeroTo(12)) return "IPv4-compatible IPv6 (::a.b.c.d, deprecated)";
  if (startsWith(bytes, [0, 0x64, 0xff, 0x9b], 32) && bytes.slice(4, 12).every((byte) => byte === 0))
    return wrapped(embeddedV4(bytes, 12), "NAT64 form (64:ff9b::/96)");
  if (startsWith(bytes, [0x20, 0x02], 16)) return wrapped(embeddedV4(bytes, 2), "6to4 form (2002::/16)");
  if (startsWith(bytes, [0xfc], 7)) return "unique-local (fc00::/7)";
  if (startsWith(bytes, [0xfe, 0x80], 10)) return "link-local (fe80::/10)";
  if (startsWith(bytes, [0xfe, 0xc0], 10)) return "site-local (fec0::/10)";
  if (startsWith(bytes, [0xff], 8)) return "multicast (ff00::/8)";
  if (startsWith(bytes, [0x20, 0x01, 0x0d, 0xb8], 32)) return "documentation (2001:db8::/32)";
  if (startsWith(bytes, [0x3f, 0xff], 20)) return "documentation (3fff::/20)";
  if (startsWith(bytes, [0x20, 0x01, 0x00], 23)) return "IETF protocol assignments (2001::/23, Teredo included)";
  // Everything else outside global unicast (2000::/3): NAT64 local use, discard-only, unassigned space.
  if (!startsWith(bytes, [0x20], 3)) return "not global unicast (outside 2000::/3)";
  return undefined;
}

/**
 * Why web_fetch must not connect to `address` (an IP literal, IPv6 without brackets), or undefined when it is a
 * public unicast address. Anything that is not an IP address at all is refused.
 */
export function refusedAddressReason(address: string): string | undefined {
  const bare = address.replace(/^\[|\]$/g, "");
  // node:net at the first check, not with the module: loading it costs every start of org that offers the web tools.
  const { isIP }: typeof import("node:net") = process.getBuiltinModule("node:net");
  const family = isIP(bare);
  if (family === 4) return v4Refusal(bare);
  if (family === 6) return v6Refusal(bare);
  return "not an IP address";
}
