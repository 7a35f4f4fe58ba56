import { describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FwdError } from "../../src/errors.ts";
import { quoteWord } from "../../src/sshconfig/snippet.ts";
import {
  parseBastion,
  parseForwardFlag,
  parseLocal,
  parseTarget,
  secondName,
  validateAlive,
  validateHost,
  validateIdentity,
  validateName,
  validateUser,
} from "../../src/sshconfig/validate.ts";

function rejects(f: () => unknown): FwdError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(FwdError);
    expect((e as FwdError).exitCode).toBe(2);
    expect((e as FwdError).message).not.toContain("\n");
    return e as FwdError;
  }
  throw new Error("accepted");
}

const BAD_TEXT = [
  "a\nProxyCommand sh",
  "a\rb",
  "a\0b",
  "a\tb",
  "a\u2028b",
  "a\u2029b",
  "a\u0085b",
  "a\u200bb",
  "a\u00a0b",
  "",
  "x".repeat(300),
];

describe("host names, users, hosts and ports", () => {
  test.each(["forward1", "web.prod_2", "a-b"])("name %p is accepted", (v) =>
    expect(validateName("--name", v)).toBe(v),
  );
  test.each(["-oProxyCommand=x", "a b", "a*", "a?", "!a", 'a"', "a%h", "a=b", "a#b", ...BAD_TEXT])(
    "name %p is rejected",
    (v) => {
      rejects(() => validateName("--name", v));
    },
  );

  test.each([
    ["bastion.example.com", "bastion.example.com"],
    ["10.0.0.1", "10.0.0.1"],
    ["[2001:db8::1]", "2001:db8::1"],
    ["::1", "::1"],
    ["host.", "host"],
  ])("host %p is accepted as %p", (v, want) => expect(validateHost("--bastion", v)).toBe(want));
  test.each([
    "fe80::1%eth0",
    "a%h",
    "a b",
    "-a",
    "a..b",
    "256.1.1.1",
    "1.2.3",
    "[zz::1]",
    "a/b",
    'a"b',
    "a'b",
    ...BAD_TEXT,
  ])("host %p is rejected", (v) => {
    rejects(() => validateHost("--bastion", v));
  });
  test("a '%' gets the hint that fits: a zone id in an IPv6 address, else what a host looks like", () => {
    const hint = (v: string) => rejects(() => validateHost("--bastion", v)).hint;
    expect(hint("fe80::1%eth0")).toContain("IPv6 zone ids are not supported");
    expect(hint("bad%host")).toBe(
      "use a name like bastion.example.com, an IPv4 or an IPv6 address",
    );
  });

  test.each(["root", "bastion_user", "a.b-c", "1user"])("user %p is accepted", (v) =>
    expect(validateUser("--ssh-target", v)).toBe(v),
  );
  test.each(["-l", "a b", "a@b", "a%u", "a$b", "a'b", ...BAD_TEXT])("user %p is rejected", (v) => {
    rejects(() => validateUser("--ssh-target", v));
  });
});

describe("--bastion, --target, --local, --forward", () => {
  test.each([
    ["u@h", { user: "u", host: "h", port: 22 }],
    ["u@h:2222", { user: "u", host: "h", port: 2222 }],
    ["h", { user: "me", host: "h", port: 22 }],
    ["u@[::1]:2200", { user: "u", host: "::1", port: 2200 }],
  ])("bastion %p", (v, want) => expect(parseBastion(v, "me")).toEqual(want));
  test.each([
    "u@h:0",
    "u@h:65536",
    "u@h:22x",
    "u@h:",
    "u@",
    "@h",
    "u@h:22\nProxyCommand x",
    "u@h%p",
  ])("bastion %p is rejected", (v) => {
    rejects(() => parseBastion(v, "me"));
  });

  test("target needs a port", () => {
    expect(parseTarget("target-host:22")).toEqual({ host: "target-host", port: 22 });
    expect(rejects(() => parseTarget("target-host")).hint).toContain("host:port");
  });

  test.each([
    ["10022", { bind: "127.0.0.1", port: 10022 }],
    ["127.0.0.2:10022", { bind: "127.0.0.2", port: 10022 }],
    ["[::1]:10022", { bind: "::1", port: 10022 }],
  ])("local %p", (v, want) => expect(parseLocal(v)).toEqual(want));

  test.each([
    [
      "18080:target-host:8080",
      { bind: "127.0.0.1", port: 18080, host: "target-host", hostPort: 8080 },
    ],
    [
      "127.0.0.1:18080:target-host:8080",
      { bind: "127.0.0.1", port: 18080, host: "target-host", hostPort: 8080 },
    ],
    [
      "[::1]:18080:[2001:db8::5]:80",
      { bind: "::1", port: 18080, host: "2001:db8::5", hostPort: 80 },
    ],
  ])("forward %p", (v, want) => expect(parseForwardFlag(v)).toEqual(want));
  test.each([
    "18080:target-host",
    "a:b:c:d:e",
    "/tmp/sock:h:1",
    "1:h:2 ProxyCommand",
    "1:h%h:2",
    "1:h:70000",
  ])("forward %p is rejected", (v) => {
    rejects(() => parseForwardFlag(v));
  });

  test.each(["0", "15", "86400"])("alive %p is accepted", (v) =>
    expect(validateAlive(v)).toBe(Number(v)),
  );
  test.each(["-1", "1.5", "86401", "15s", ""])("alive %p is rejected", (v) => {
    rejects(() => validateAlive(v));
  });
});

describe("the second Host's default name", () => {
  test.each([
    ["forward1", "forward2"],
    ["web9", "web10"],
    ["fwd09", "fwd10"],
    ["bastion", "bastion-target"],
  ])("%p -> %p", (first, second) => expect(secondName(first)).toBe(second));
});

describe("--identity", () => {
  const home = mkdtempSync(join(tmpdir(), "fwd-id-"));
  writeFileSync(join(home, "key"), "k", { mode: 0o600 });
  writeFileSync(join(home, "my key"), "k", { mode: 0o600 });
  writeFileSync(join(home, "open"), "k", { mode: 0o644 });
  chmodSync(join(home, "open"), 0o644);

  test("a ~/ path is written as typed; others become absolute", () => {
    expect(validateIdentity("~/key", home, "/").written).toBe("~/key");
    expect(validateIdentity("key", home, home).written).toBe(join(home, "key"));
  });

  test("a path with a space is accepted and quoted when written", () => {
    const id = validateIdentity("~/my key", home, "/");
    expect(quoteWord(id.written)).toBe('"~/my key"');
  });

  test("a key other users can read is accepted with a warning", () => {
    expect(validateIdentity("~/open", home, "/").warning).toContain("chmod 600");
  });

  test("a readable public key file (private half in the agent) gets no warning", () => {
    writeFileSync(join(home, "agent.pub"), "ssh-ed25519 AAAA", { mode: 0o644 });
    chmodSync(join(home, "agent.pub"), 0o644);
    expect(validateIdentity("~/agent.pub", home, "/").warning).toBeUndefined();
  });

  test.each([
    "~/missing",
    "~/",
    "~other/key",
    '~/k"ey',
    "~/k\\ey",
    "~/%d",
    `~/$${"{"}HOME}`,
    "~/key\nProxyCommand x",
  ])("%p is rejected", (v) => {
    rejects(() => validateIdentity(v, home, "/"));
  });
});
