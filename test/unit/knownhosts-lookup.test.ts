import { describe, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { checkHostKey, knownKeyTypes, orderAlgorithms } from "../../src/knownhosts/lookup.ts";
import { parseKnownHosts } from "../../src/knownhosts/parse.ts";
import { hashHostName } from "../../src/knownhosts/pattern.ts";

/** An SSH ed25519 public key blob: string "ssh-ed25519", string pub. */
function ed25519(): { blob: Buffer; line: string } {
  const jwk = generateKeyPairSync("ed25519").publicKey.export({ format: "jwk" });
  const pub = Buffer.from(jwk.x!, "base64url");
  const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  const blob = Buffer.concat([str(Buffer.from("ssh-ed25519")), str(pub)]);
  return { blob, line: `ssh-ed25519 ${blob.toString("base64")}` };
}
/** A syntactically valid ecdsa-sha2-nistp256 blob (lookup never checks the point). */
function ecdsa(): { blob: Buffer; line: string } {
  const str = (b: Buffer) => Buffer.concat([Buffer.alloc(4, 0), b]).fill(b.length, 3, 4);
  const point = Buffer.concat([
    Buffer.from([4]),
    Buffer.from(crypto.getRandomValues(new Uint8Array(64))),
  ]);
  const blob = Buffer.concat([
    str(Buffer.from("ecdsa-sha2-nistp256")),
    str(Buffer.from("nistp256")),
    str(point),
  ]);
  return { blob, line: `ecdsa-sha2-nistp256 ${blob.toString("base64")}` };
}

const A = ed25519();
const B = ed25519();
const E = ecdsa();

const db = (...lines: string[]) => parseKnownHosts(lines.join("\n"), "/kh").entries;

describe("verdicts (sshconnect.c check_host_key)", () => {
  const cases: [
    string,
    string[],
    { host: string; port: number; alias?: string },
    Buffer,
    string,
    number?,
  ][] = [
    [
      "plain name, same key",
      [`bastion ${A.line}`],
      { host: "bastion", port: 22 },
      A.blob,
      "known",
      1,
    ],
    [
      "name is lowercased",
      [`bastion ${A.line}`],
      { host: "BASTION", port: 22 },
      A.blob,
      "known",
      1,
    ],
    ["nothing recorded", [`other ${A.line}`], { host: "bastion", port: 22 }, A.blob, "unknown", 0],
    [
      "other key, same type",
      [`bastion ${A.line}`],
      { host: "bastion", port: 22 },
      B.blob,
      "changed",
      1,
    ],
    [
      "other key, other type: ssh says changed too",
      [`bastion ${E.line}`],
      { host: "bastion", port: 22 },
      A.blob,
      "changed",
      1,
    ],
    [
      "one of several keys",
      [`bastion ${E.line}`, `bastion ${A.line}`],
      { host: "bastion", port: 22 },
      A.blob,
      "known",
      2,
    ],
    ["comma list", [`x,bastion,y ${A.line}`], { host: "bastion", port: 22 }, A.blob, "known", 1],
    ["wildcard", [`*.corp ${A.line}`], { host: "b.corp", port: 22 }, A.blob, "known", 1],
    [
      "negation excludes the line",
      [`*.corp,!b.corp ${B.line}`],
      { host: "b.corp", port: 22 },
      A.blob,
      "unknown",
      0,
    ],
    [
      "port ≠ 22 looks up [host]:port",
      [`[bastion]:2222 ${A.line}`],
      { host: "bastion", port: 2222 },
      A.blob,
      "known",
      1,
    ],
    [
      "[host]:port changed",
      [`[bastion]:2222 ${B.line}`],
      { host: "bastion", port: 2222 },
      A.blob,
      "changed",
      1,
    ],
    [
      "[host]:2222 does not apply to port 22",
      [`[bastion]:2222 ${B.line}`],
      { host: "bastion", port: 22 },
      A.blob,
      "unknown",
      0,
    ],
    [
      "bare host's key is accepted for another port",
      [`bastion ${A.line}`],
      { host: "bastion", port: 2222 },
      A.blob,
      "known",
      1,
    ],
    [
      "bare host's other key does not make a port changed",
      [`bastion ${B.line}`],
      { host: "bastion", port: 2222 },
      A.blob,
      "unknown",
      0,
    ],
    [
      "alias replaces the name and port",
      [`target ${A.line}`, `[localhost]:10022 ${B.line}`],
      { host: "localhost", port: 10022, alias: "target" },
      A.blob,
      "known",
      1,
    ],
    [
      "alias: HostName entries do not count",
      [`[localhost]:10022 ${A.line}`],
      { host: "localhost", port: 10022, alias: "target" },
      A.blob,
      "unknown",
      0,
    ],
    [
      "hashed name",
      [`${hashHostName("bastion")} ${A.line}`],
      { host: "bastion", port: 22 },
      A.blob,
      "known",
      1,
    ],
    [
      "hashed [host]:port",
      [`${hashHostName("[bastion]:2222")} ${B.line}`],
      { host: "bastion", port: 2222 },
      A.blob,
      "changed",
      1,
    ],
    [
      "@revoked wins over a match",
      [`bastion ${A.line}`, `@revoked * ${A.line}`],
      { host: "bastion", port: 22 },
      A.blob,
      "revoked",
      2,
    ],
    [
      "@revoked of another host is ignored",
      [`bastion ${A.line}`, `@revoked other ${A.line}`],
      { host: "bastion", port: 22 },
      A.blob,
      "known",
      1,
    ],
    [
      "@cert-authority alone is unknown",
      [`@cert-authority * ${B.line}`],
      { host: "bastion", port: 22 },
      A.blob,
      "unknown",
      0,
    ],
    [
      "@cert-authority is not an expected key",
      [`@cert-authority * ${B.line}`, `bastion ${A.line}`],
      { host: "bastion", port: 22 },
      A.blob,
      "known",
      2,
    ],
  ];
  test.each(cases)("%s", (_, lines, names, key, kind, line) => {
    const v = checkHostKey(db(...lines), names, key);
    expect(v.kind).toBe(kind as never);
    {
      const at =
        v.kind === "known" || v.kind === "revoked"
          ? v.entry.line
          : v.kind === "changed"
            ? v.expected[0]!.line
            : 0;
      expect(at).toBe(line as number);
    }
  });

  test("changed lists every expected key across files", () => {
    const entries = [
      ...parseKnownHosts(`bastion ${E.line}\n`, "/user").entries,
      ...parseKnownHosts(`# x\nbastion ${B.line}\n`, "/global").entries,
    ];
    const v = checkHostKey(entries, { host: "bastion", port: 22 }, A.blob);
    expect(v.kind).toBe("changed");
    if (v.kind === "changed") {
      expect(v.expected.map((e) => [e.file, e.line, e.keyType])).toEqual([
        ["/user", 1, "ecdsa-sha2-nistp256"],
        ["/global", 2, "ssh-ed25519"],
      ]);
    }
  });

  test("unknown lists matching @cert-authority lines", () => {
    const v = checkHostKey(
      db(`@cert-authority *.corp ${B.line}`),
      { host: "b.corp", port: 22 },
      A.blob,
    );
    expect(v.kind === "unknown" && v.ca.map((e) => e.line)).toEqual([1]);
  });
});

describe("host key algorithm order (sshconnect2.c order_hostkeyalgs)", () => {
  const defaults = [
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "rsa-sha2-512",
    "rsa-sha2-256",
  ];
  test.each([
    ["nothing known: defaults", [], defaults],
    ["first type known: defaults as is", ["ssh-ed25519"], defaults],
    [
      "ecdsa known: ecdsa first",
      ["ecdsa-sha2-nistp256"],
      ["ecdsa-sha2-nistp256", "ssh-ed25519", "ecdsa-sha2-nistp384", "rsa-sha2-512", "rsa-sha2-256"],
    ],
    [
      "rsa known: both rsa-sha2 first, in order",
      ["ssh-rsa"],
      ["rsa-sha2-512", "rsa-sha2-256", "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384"],
    ],
    [
      "rsa and ecdsa known",
      ["ssh-rsa", "ecdsa-sha2-nistp256"],
      ["ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256", "ssh-ed25519", "ecdsa-sha2-nistp384"],
    ],
  ])("%s", (_, known, want) => expect(orderAlgorithms(defaults, new Set(known))).toEqual(want));

  test("known types come from the name ssh looks up, else the bare host", () => {
    const entries = db(
      `bastion ${E.line}`,
      `[other]:2222 ${A.line}`,
      `@cert-authority * ${A.line}`,
    );
    expect([...knownKeyTypes(entries, { host: "bastion", port: 22 })]).toEqual([
      "ecdsa-sha2-nistp256",
    ]);
    expect([...knownKeyTypes(entries, { host: "bastion", port: 2222 })]).toEqual([
      "ecdsa-sha2-nistp256",
    ]);
    expect([...knownKeyTypes(entries, { host: "other", port: 2222 })]).toEqual(["ssh-ed25519"]);
    expect([...knownKeyTypes(entries, { host: "x", port: 22, alias: "bastion" })]).toEqual([
      "ecdsa-sha2-nistp256",
    ]);
    expect([...knownKeyTypes(entries, { host: "nobody", port: 22 })]).toEqual([]);
  });
});
