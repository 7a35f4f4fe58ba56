import { describe, expect, test } from "bun:test";
import { type Options, parseProxyJump, planHop, strictMode } from "../../src/tunnel/plan.ts";

const opts = (o: Record<string, string | string[]>): Options =>
  new Map(Object.entries(o).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]));
const deps = { expandPath: (p: string) => p.replace(/^~/, "/home/u"), authSock: "/tmp/agent.sock" };

describe("ProxyJump parsing", () => {
  test.each([
    ["none", []],
    ["j1", [{ user: undefined, host: "j1", port: undefined }]],
    [
      "a@j1:2222,j2",
      [
        { user: "a", host: "j1", port: 2222 },
        { user: undefined, host: "j2", port: undefined },
      ],
    ],
    ["b@[::1]:2222", [{ user: "b", host: "::1", port: 2222 }]],
  ])("%s", (input, expected) => {
    expect(parseProxyJump(input)).toEqual(expected as never);
  });

  test.each(["j1:99999", "j1:x", "@:"])("rejects %s", (input) => {
    expect(() => parseProxyJump(input)).toThrow(/ProxyJump/);
  });
});

describe("StrictHostKeyChecking as ssh -G prints it", () => {
  test.each([
    ["true", "yes"],
    ["false", "no"],
    ["accept-new", "accept-new"],
    ["ask", "ask"],
    [undefined, "ask"],
  ] as const)("%s → %s", (v, mode) => expect(strictMode(v)).toBe(mode));
});

describe("a hop from resolved options", () => {
  const base = {
    hostname: "bastion-host",
    user: "bastion_user",
    port: "2222",
    identityfile: ["~/.ssh/id_bastion"],
    stricthostkeychecking: "true",
    userknownhostsfile: "~/.ssh/known_hosts ~/.ssh/known_hosts2",
    globalknownhostsfile: "/etc/ssh/ssh_known_hosts",
    serveraliveinterval: "0",
    serveralivecountmax: "3",
    connecttimeout: "none",
  };

  test("takes HostName, User, Port and expands IdentityFile", () => {
    const h = planHop("forward1", opts(base), deps);
    expect(h).toMatchObject({
      host: "bastion-host",
      user: "bastion_user",
      port: 2222,
      identityFiles: ["/home/u/.ssh/id_bastion"],
      identityFilesExplicit: true,
    });
    expect(h.hostKey).toEqual({
      alias: undefined,
      userFiles: ["/home/u/.ssh/known_hosts", "/home/u/.ssh/known_hosts2"],
      globalFiles: ["/etc/ssh/ssh_known_hosts"],
      strict: "yes",
      hash: false,
    });
  });

  test("keepalive defaults to 15 s × 3 when ServerAliveInterval is unset, else follows it", () => {
    expect(planHop("x", opts(base), deps).keepalive).toEqual({ intervalMs: 15_000, countMax: 3 });
    expect(
      planHop("x", opts({ ...base, serveraliveinterval: "60", serveralivecountmax: "5" }), deps)
        .keepalive,
    ).toEqual({ intervalMs: 60_000, countMax: 5 });
  });

  test("ConnectTimeout none → 15 s default; a value in seconds → ms", () => {
    expect(planHop("x", opts(base), deps).connectTimeoutMs).toBe(15_000);
    expect(planHop("x", opts({ ...base, connecttimeout: "7" }), deps).connectTimeoutMs).toBe(7000);
  });

  test("IdentityAgent none disables the agent; SSH_AUTH_SOCK is the default", () => {
    expect(planHop("x", opts(base), deps).agent).toBe("/tmp/agent.sock");
    expect(planHop("x", opts({ ...base, identityagent: "none" }), deps).agent).toBeUndefined();
    expect(planHop("x", opts({ ...base, identityagent: "~/agent" }), deps).agent).toBe(
      "/home/u/agent",
    );
  });

  test("ProxyCommand is refused, not ignored", () => {
    expect(() => planHop("x", opts({ ...base, proxycommand: "nc %h %p" }), deps)).toThrow(
      /ProxyCommand is not supported/,
    );
  });

  test("the default identity list printed by ssh -G is not 'explicit'", () => {
    expect(
      planHop(
        "x",
        opts({
          ...base,
          identityfile: ["rsa", "ecdsa", "ecdsa_sk", "ed25519", "ed25519_sk", "xmss", "dsa"].map(
            (t) => `~/.ssh/id_${t}`,
          ),
        }),
        deps,
      ).identityFilesExplicit,
    ).toBe(false);
  });
});

describe("certificates", () => {
  test("CertificateFile is carried so an auth failure can say it was not offered", async () => {
    const { authFailed } = await import("../../src/tunnel/auth.ts");
    const h = planHop(
      "x",
      new Map([
        ["hostname", ["b"]],
        ["user", ["u"]],
        ["certificatefile", ["~/.ssh/id_ed25519-cert.pub"]],
      ]),
      { expandPath: (p: string) => p.replace(/^~/, "/home/u"), authSock: undefined },
    );
    expect(h.certificateFiles).toEqual(["/home/u/.ssh/id_ed25519-cert.pub"]);
    expect(authFailed(h, [], "u@b").message).toContain("fwd cannot authenticate with certificates");
  });
});
