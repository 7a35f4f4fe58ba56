import { expect, test } from "bun:test";
import { canonicalAddress, looksLikeAddress } from "../../src/sshconfig/address.ts";
import { assemble } from "../../src/sshconfig/algorithms.ts";
import { formatJump, parseJump } from "../../src/sshconfig/proxyjump.ts";
import { a2port, parseServices } from "../../src/sshconfig/services.ts";
import { convtime, parseIpqos, scanScaled, validDomain } from "../../src/sshconfig/values.ts";

test.each([
  ["0", 0],
  ["30", 30],
  ["1m30s", 90],
  ["2M", 120],
  ["1h", 3600],
  ["1d", 86400],
  ["1w", 604800],
  ["5x", -1],
  ["", -1],
  ["-1", -1],
  ["m", -1],
])("convtime(%p) = %p", (s, want) => {
  expect(convtime(s)).toBe(want);
});

test.each([
  ["22", 22],
  ["022", 22],
  ["0", 0],
  ["65535", 65535],
  ["65536", -1],
  ["ssh", 22],
  ["nope", -1],
])("a2port(%p) = %p", (s, want) => {
  expect(a2port(s)).toBe(want);
});

test("the services table reads names, aliases and tcp ports only", () => {
  const m = parseServices("ssh 22/tcp # SSH\nhttp 80/tcp www\nntp 123/udp\n");
  expect([...m]).toEqual([
    ["ssh", 22],
    ["http", 80],
    ["www", 80],
  ]);
});

test.each([
  ["127.1", "127.0.0.1"],
  ["0x7f.0.0.1", "127.0.0.1"],
  ["0177.0.0.1", "127.0.0.1"],
  ["10.1.2", "10.1.0.2"],
  ["4294967295", "255.255.255.255"],
  ["::0001", "::1"],
  ["FE80:0:0:0:0:0:0:1", "fe80::1"],
  ["1:0:0:2:0:0:0:3", "1:0:0:2::3"],
  ["::ffff:1.2.3.4", "::ffff:1.2.3.4"],
  ["::", "::"],
  ["1.2.3.4.5", undefined],
  ["999.1.1.1", undefined],
  ["fe80::1%lo", undefined],
  ["host", undefined],
])("canonicalAddress(%p) = %p", (s, want) => {
  expect(canonicalAddress(s)).toBe(want);
});

test("numeric-looking names are addresses even when invalid (ssh.c is_addr_fast)", () => {
  expect(looksLikeAddress("1.2.3.4.5")).toBe(true);
  expect(looksLikeAddress("fe80::1%eth9")).toBe(true);
  expect(looksLikeAddress("host1")).toBe(false);
});

test.each([
  ["af11", 0x28],
  ["lowdelay", 0x10],
  ["0x20", 0x20],
  ["010", 8],
  ["256", -1],
  ["fast", -1],
])("parse_ipqos(%p) = %p", (s, want) => {
  expect(parseIpqos(s)).toBe(want);
});

test.each([
  ["1G", 1073741824],
  ["500K", 512000],
  ["16", 16],
  ["1.5K", 1536],
  ["x", -1],
])("scan_scaled(%p) = %p", (s, want) => {
  expect(scanScaled(s)).toBe(want);
});

test("valid_domain lower-cases and drops one trailing dot, refuses doubled dots", () => {
  expect(validDomain("Sub.Example.ORG.", true)).toEqual({ ok: "sub.example.org" });
  expect("error" in validDomain("bad..domain", true)).toBe(true);
  expect("error" in validDomain("-x", true)).toBe(true);
});

test.each([
  ["bastion", { host: "bastion", user: undefined, port: -1, extra: undefined }, "bastion"],
  [
    "admin@bastion:2222",
    { host: "bastion", user: "admin", port: 2222, extra: undefined },
    "admin@bastion:2222",
  ],
  [
    "a@h1,b@h2:22,h3:2200",
    { host: "h3", user: undefined, port: 2200, extra: "a@h1,b@h2:22" },
    "a@h1,b@h2:22,h3:2200",
  ],
  [
    "10.0.0.1:22",
    { host: "10.0.0.1", user: undefined, port: 22, extra: undefined },
    "[10.0.0.1]:22",
  ],
  [
    "[fe80::1]:2222",
    { host: "fe80::1", user: undefined, port: 2222, extra: undefined },
    "[fe80::1]:2222",
  ],
  [
    "ssh://u@uri-host:2022",
    { host: "uri-host", user: "u", port: 2022, extra: undefined },
    "u@uri-host:2022",
  ],
  ["h1,h2 # note", { host: "h2", user: undefined, port: -1, extra: "h1" }, "h1,h2"],
])("ProxyJump %p parses and prints as ssh -G", (s, want, printed) => {
  const j = parseJump(s, true);
  expect(j).toEqual(want);
  if (j !== undefined && j !== "syntax-ok") expect(formatJump(j)).toBe(printed);
});

test.each(["user@", "h:0", "h:x", ",h", "ssh://h/path", "[h"])("ProxyJump %p is invalid", (s) => {
  expect(parseJump(s, true)).toBeUndefined();
});

test.each([
  ["ciphers", "aes128-ctr,aes256-gcm@openssh.com", "aes128-ctr,aes256-gcm@openssh.com"],
  ["ciphers", "-*", ""],
  [
    "kexalgorithms",
    "-diffie-hellman*,ecdh*",
    "sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org",
  ],
  ["casignaturealgorithms", "ssh-ed25519", "ssh-ed25519"],
  [
    "macs",
    "^hmac-sha1",
    "hmac-sha1,umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512",
  ],
  ["hostkeyalgorithms", "ssh-ed25519*", "ssh-ed25519,ssh-ed25519-cert-v01@openssh.com"],
])("kex_assemble_names(%p, %p)", (op, list, want) => {
  expect(assemble(op, list)).toBe(want);
});
