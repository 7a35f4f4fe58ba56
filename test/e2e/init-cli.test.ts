/**
 * `fwd init` driven as a script would: flags, no terminal, a temp HOME. Uses
 * the compiled binary when it is built (dist/fwd-linux-x64, $FWD_E2E_BIN or $FWD_BIN), the
 * source under bun otherwise.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fixture, hasSsh, type InitHome, initHome, root, sshG } from "../helpers/init-home.ts";

const built = join(root, "dist/fwd-linux-x64");
const FWD_BIN = process.env.FWD_E2E_BIN ?? process.env.FWD_BIN;
const FWD = FWD_BIN
  ? [FWD_BIN]
  : existsSync(built)
    ? [built]
    : [process.execPath, join(root, "src/main.ts")];

let h: InitHome;
afterEach(() => h?.remove());

function fwd(args: string[]) {
  const r = spawnSync(FWD[0]!, [...FWD.slice(1), ...args], {
    env: h.env,
    input: "",
    encoding: "utf8",
    timeout: 30_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const flags = () => [
  "init",
  "--bastion",
  "bastion_user@bastion-host",
  "--identity",
  join(h.home, "keys/id_test"),
  "--target",
  "target-host:22",
  "--target",
  "target-host:8080",
  "--ssh-target",
  "target_user",
  "--alive",
  "60",
];

describe("fwd init from a script", () => {
  test.skipIf(!hasSsh)("writes the seed's config; fwd and ssh -G resolve it alike", () => {
    h = initHome();
    copyFileSync(fixture("realistic.conf"), h.config);
    const r = fwd([...flags(), "--yes"]);
    expect(r.code).toBe(0);
    expect(r.out).toBe("");
    expect(r.err).toContain("fwd run forward1 -d");
    const ssh = sshG(h.config, "forward1");
    expect(ssh).toContain("localforward [127.0.0.1]:10022 [target-host]:22\n");
    expect(ssh).toContain("localforward [127.0.0.1]:18080 [target-host]:8080\n");
    // realistic.conf sets ServerAliveInterval 30 globally: it wins, and fwd says so.
    expect(ssh).toContain("serveraliveinterval 30\n");
    expect(r.err).toContain(`serveraliveinterval is 30 (set at ${h.config}:3), not 60`);
    for (const host of ["forward1", "forward2"]) {
      const ours = fwd(["config", "resolve", "-F", h.config, host]);
      if (ours.code !== 0) continue; // config resolve is another command's; compared when present
      const theirs = sshG(h.config, host);
      for (const key of [
        "hostname",
        "user",
        "port",
        "localforward",
        "hostkeyalias",
        "identitiesonly",
      ]) {
        const pick = (s: string) => s.split("\n").filter((l) => l.startsWith(`${key} `));
        expect(pick(ours.out)).toEqual(pick(theirs));
      }
    }
  });

  test("--print writes the snippet to stdout and nothing to disk", () => {
    h = initHome();
    const r = fwd([...flags(), "--print"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("Host forward2\n  HostName localhost\n  Port 10022\n");
    expect(existsSync(h.config)).toBe(false);
  });

  test.each([
    ["a newline smuggling ProxyCommand", { "--name": "forward1\nProxyCommand sh -c id" }],
    ["% in the bastion host", { "--bastion": "u@%h" }],
    ["a port out of range", { "--local": "70000" }],
    ["a missing key file", { "--identity": "/nonexistent/key" }],
    ["a quote in the target user", { "--ssh-target": 'a"b' }],
  ])("exit 2 and a byte-identical file for %s", (_what, over: Record<string, string>) => {
    h = initHome();
    copyFileSync(fixture("realistic.conf"), h.config);
    const values: Record<string, string> = {
      "--name": "forward1",
      "--bastion": "u@bastion-host",
      "--identity": join(h.home, "keys/id_test"),
      "--target": "target-host:22",
      "--local": "10022",
      "--ssh-target": "target_user",
      ...over,
    };
    const r = fwd(["init", ...Object.entries(values).flat(), "--yes"]);
    expect(r.code).toBe(2);
    expect(r.err).not.toContain("more than once");
    expect(r.err.trim().split("\n").length).toBeLessThanOrEqual(2);
    expect(readFileSync(h.config)).toEqual(readFileSync(fixture("realistic.conf")));
  });

  test("without a terminal and without values it fails at once, never reading stdin", async () => {
    h = initHome();
    const child = spawn(FWD[0]!, [...FWD.slice(1), "init"], {
      env: h.env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let err = "";
    child.stderr.on("data", (b: Buffer) => {
      err += b.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    child.stdin.destroy();
    expect(code).toBe(2);
    expect(err).toContain("--bastion");
    expect(err).toContain("--target");
  });

  test("values keep their exact spelling (no number conversion by the flag parser)", () => {
    h = initHome();
    const key = join(h.home, "keys/id_test");
    const r = fwd([
      "init",
      "--bastion",
      "u@b",
      "--identity",
      key,
      "--target",
      "t:22",
      "--ssh-target",
      "0123",
      "--name",
      "1e3",
      "--print",
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("Host 1e3\n");
    expect(r.out).toContain("  User 0123\n");
  });

  test("without a terminal and without --yes it writes (flags only, nothing to ask) and shows the snippet", () => {
    h = initHome();
    const r = fwd(flags());
    expect(r.code).toBe(0);
    expect(r.err).toContain("Host forward1");
    expect(readFileSync(h.config, "utf8")).toContain("Host forward1");
  });

  test("init --help documents the --yes rule", () => {
    h = initHome();
    const r = fwd(["init", "--help"]);
    expect(r.out).toContain("without a terminal fwd never asks");
  });
});
