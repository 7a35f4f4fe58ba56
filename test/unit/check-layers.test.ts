import { expect, describe as group, test } from "bun:test";
import { classifyOpenFailure } from "../../src/check/channel.ts";
import { exitCodeOf, type Finding } from "../../src/check/finding.ts";
import { bindAddresses } from "../../src/check/local.ts";
import {
  explainNoCommonAlgorithm,
  type Negotiation,
  readDebugLine,
} from "../../src/check/negotiation.ts";
import { renderFinding, renderJson } from "../../src/check/render.ts";
import { describe, httpProbe, recognise, tlsProbe } from "../../src/check/sniff.ts";

group("recognising a destination by its first bytes", () => {
  test.each([
    ["SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", "ssh"],
    ["HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n", "http"],
    ["HTTP/1.0 400 Bad Request\r\n", "http"],
    ["220 mail.example.com ESMTP Postfix\r\n", "text"],
  ])("%j is %s", (bytes, kind) => expect(recognise(Buffer.from(bytes)).kind).toBe(kind as never));

  test("a TLS ServerHello and a TLS alert are TLS", () => {
    expect(recognise(Buffer.from([0x16, 3, 3, 0, 0x40, 0x02, 0, 0]))).toEqual({
      kind: "tls",
      detail: "answered with a ServerHello",
    });
    expect(recognise(Buffer.from([0x15, 3, 3, 0, 2, 2, 40])).kind).toBe("tls");
  });

  test("other binary is shown as hex", () => {
    const s = recognise(Buffer.from([0x4a, 0, 0, 0, 0x0a, 0x38]));
    expect(s).toEqual({ kind: "binary", hex: "4a0000000a38" });
    expect(describe(s)).toContain("4a0000000a38");
  });

  test("the HTTP probe is a HEAD request naming the target", () => {
    expect(httpProbe("target-host", 8080).toString()).toStartWith(
      "HEAD / HTTP/1.1\r\nHost: target-host:8080\r\n",
    );
    expect(httpProbe("::1", 80).toString()).toContain("Host: [::1]:80");
  });

  test("the TLS probe is one well-formed ClientHello record, with SNI for names only", () => {
    for (const [host, sni] of [
      ["web.internal", true],
      ["10.0.0.5", false],
    ] as const) {
      const b = tlsProbe(host);
      expect([b[0], b[1], b[5]]).toEqual([0x16, 3, 1]);
      expect(b.readUInt16BE(3)).toBe(b.length - 5);
      expect(b.includes(Buffer.from(host))).toBe(sni);
    }
  });
});

group("ssh2 handshake debug lines", () => {
  const lines = [
    "Remote ident: 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10'",
    "Handshake: (local) KEX method: curve25519-sha256,ecdh-sha2-nistp256",
    "Handshake: (remote) KEX method: curve25519-sha256,sntrup761x25519-sha512@openssh.com",
    "Handshake: KEX algorithm: curve25519-sha256",
    "Handshake: (local) Host key format: ssh-ed25519,rsa-sha2-512",
    "Handshake: (remote) Host key format: ssh-ed25519",
    "Handshake: Host key format: ssh-ed25519",
    "Handshake: (local) C->S cipher: aes128-gcm@openssh.com,aes256-ctr",
    "Handshake: (remote) C->S cipher: chacha20-poly1305@openssh.com",
    "Handshake: No matching C->S cipher",
  ];
  const n: Negotiation = { local: {}, remote: {}, chosen: {} };
  for (const l of lines) readDebugLine(n, l);

  test("record the server's ident and the choices made", () => {
    expect(n.ident).toBe("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10");
    expect(n.chosen).toEqual({ kex: "curve25519-sha256", hostKey: "ssh-ed25519" });
    expect(n.remote.cipher).toEqual(["chacha20-poly1305@openssh.com"]);
  });

  test("explain the family with nothing in common, both lists, and the Bun chacha gap", () => {
    const text = explainNoCommonAlgorithm(n, "Handshake failed: no matching C->S cipher");
    expect(text).toContain("no common cipher (Ciphers)");
    expect(text).toContain("server offers: chacha20-poly1305@openssh.com");
    expect(text).toContain("fwd supports:  aes128-gcm@openssh.com, aes256-ctr");
    expect(text).toContain("Bun lacks it");
  });
});

group("channel open failures (what OpenSSH's sshd says)", () => {
  test.each([
    [1, "open failed", "prohibited"],
    [2, "Name or service not known", "unresolvable"],
    [2, "Temporary failure in name resolution", "unresolvable"],
    [2, "Connection refused", "refused"],
    [2, "No route to host", "unreachable"],
    [2, "Network is unreachable", "unreachable"],
    [2, "Connection timed out", "timeout"],
    [2, "", "other"],
  ] as const)("reason %d %j → %s", (reason, text, why) =>
    expect(classifyOpenFailure(reason, text)).toBe(why),
  );
});

group("local bind addresses (channels.c)", () => {
  test.each([
    [undefined, false, ["127.0.0.1"]],
    [undefined, true, ["0.0.0.0"]],
    ["localhost", true, ["127.0.0.1"]],
    ["*", false, ["0.0.0.0"]],
    ["192.0.2.1", false, ["192.0.2.1"]],
  ] as const)("bind %p, GatewayPorts %p → %p", (bind, gw, want) =>
    expect(bindAddresses(bind, gw)).toEqual([...want]),
  );
});

group("exit code and rendering", () => {
  const ok = (layer: Finding["layer"]): Finding => ({
    layer,
    ok: true,
    title: "t",
    detail: "",
    ms: 1,
  });
  const bad = (layer: Finding["layer"]): Finding => ({ ...ok(layer), ok: false, hint: "do this" });

  test.each([
    [[ok("config"), ok("dns")], 0],
    [[ok("config"), bad("config")], 2],
    [[ok("config"), bad("tcp")], 1],
    [[ok("ssh"), bad("host-key")], 3],
    [[ok("host-key"), bad("auth")], 4],
    [[ok("auth"), bad("forward")], 5],
    [[ok("forward"), bad("local")], 5],
  ] as const)("%# → exit %d", (findings, code) => expect(exitCodeOf(findings)).toBe(code));

  test("a failure renders ✖, its detail indented and the hint with an arrow", () => {
    const text = renderFinding({
      layer: "tcp",
      ok: false,
      title: "connection to b port 22 refused",
      detail: "127.0.0.1: ECONNREFUSED",
      hint: "is sshd running?",
      ms: 3,
    });
    expect(text).toBe(
      [
        "✖ tcp         connection to b port 22 refused  (3 ms)",
        "             127.0.0.1: ECONNREFUSED",
        "             → is sshd running?",
        "",
      ].join("\n"),
    );
    expect(renderFinding(ok("dns"))).toStartWith("✔ dns");
  });

  test("JSON is an array of {layer, ok, title, detail, hint?, ms}", () => {
    const rows = JSON.parse(renderJson([ok("dns"), bad("tcp")]));
    expect(rows).toEqual([
      { layer: "dns", ok: true, title: "t", detail: "", ms: 1 },
      { layer: "tcp", ok: false, title: "t", detail: "", hint: "do this", ms: 1 },
    ]);
  });
});
