/**
 * The seed, end to end, the way a user lives it: a laptop that can reach only
 * the bastion, a target reachable only from the bastion (network namespaces),
 * `fwd init` writing forward1/forward2, `fwd run forward1 -d`, plain
 * `ssh forward2`, the web forward 18080, `fwd status --json`, `fwd stop`.
 * Runs the compiled binary when it is built (npm test builds it), else source.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fwdCommand, hasBinary } from "../helpers/fwd.ts";
import { genKey, type KeyPair, type TempHome, tempHome } from "../helpers/home.ts";
import {
  BASTION_IP,
  canMakeNetns,
  makeTopology,
  TARGET_IP,
  type Topology,
} from "../helpers/netns.ts";
import { canRunSshd, ensureUser, type Sshd, startSshd } from "../helpers/sshd.ts";
import { TARGET_BODY } from "../helpers/targets.ts";

const ready = canMakeNetns() && canRunSshd;
const mode = hasBinary ? "binary" : "source";

describe.skipIf(!ready)(`the seed through netns (${mode})`, () => {
  let topo: Topology;
  let home: TempHome;
  let key: KeyPair;
  let bastion: Sshd;
  let target: Sshd;
  const fwd = (args: string[], env: Record<string, string> = {}) =>
    topo.exec(topo.laptop, [...fwdCommand(mode), ...args], {
      env: { ...home.env, ...env },
      timeoutMs: 30_000,
    });

  beforeAll(async () => {
    topo = await makeTopology();
    home = tempHome();
    key = genKey(home.sshDir);
    ensureUser("bastion_user");
    ensureUser("target_user");
    bastion = await startSshd({
      netns: topo.bastion,
      host: BASTION_IP,
      authorized: { bastion_user: [key.pub] },
    });
    target = await startSshd({
      netns: topo.target,
      host: TARGET_IP,
      authorized: { target_user: [key.pub] },
    });
    await topo.httpTarget(topo.target, 8080);
  });

  afterAll(async () => {
    if (home) fwd(["stop", "--all"]);
    await bastion?.cleanup();
    await target?.cleanup();
    await topo?.cleanup();
    home?.cleanup();
  });

  test("the laptop cannot reach the target directly", () => {
    expect(topo.canConnect(topo.laptop, TARGET_IP, 22, 1)).toBe(false);
    expect(topo.canConnect(topo.bastion, TARGET_IP, 22, 2)).toBe(true);
  });

  test("fwd init writes forward1 and forward2", () => {
    const r = fwd([
      "init",
      "--name",
      "forward1",
      "--bastion",
      "bastion_user@bastion-host",
      "--identity",
      "~/.ssh/id_ed25519",
      "--target",
      "target-host:22",
      "--local",
      "10022",
      "--forward",
      "18080:target-host:8080",
      "--ssh-target",
      "target_user",
      "--alive",
      "60",
      "--yes",
    ]);
    expect(r.stderr).not.toContain("✖");
    expect(r.code).toBe(0);
    const cfg = readFileSync(home.config, "utf8");
    expect(cfg).toContain("Host forward1");
    expect(cfg).toContain("Host forward2");
    expect(cfg).toContain("LocalForward 127.0.0.1:10022 target-host:22");
    expect(cfg).toContain("LocalForward 127.0.0.1:18080 target-host:8080");
  });

  test("fwd run forward1 -d returns with the forwards up; status --json says up", () => {
    const r = fwd(["run", "forward1", "-d", "--accept-new"]);
    expect(r.stderr + r.stdout).toContain("127.0.0.1:10022");
    expect(r.code).toBe(0);
    const known = readFileSync(join(home.sshDir, "known_hosts"), "utf8");
    expect(known).toContain(`bastion-host ${bastion.hostKeyPub}`);
    const st = JSON.parse(fwd(["status", "--json"]).stdout);
    const f = st.forwards.find((x: { name: string }) => x.name === "forward1");
    expect(f).toMatchObject({ name: "forward1", state: "up" });
    expect(f.ports).toEqual(expect.arrayContaining([10022, 18080]));
    expect(typeof f.pid).toBe("number");
  });

  test("the web forward answers with the target's page", () => {
    const r = topo.exec(topo.laptop, ["curl", "-s", "--max-time", "10", "http://127.0.0.1:18080/"]);
    expect(r.stdout.trim()).toBe(TARGET_BODY);
  });

  test("plain ssh forward2 logs in to the target through the forward", () => {
    const r = topo.exec(topo.laptop, [
      "ssh",
      "-F",
      home.config,
      "-i",
      key.path,
      "-o",
      "BatchMode=yes",
      "-o",
      "StrictHostKeyChecking=accept-new",
      "-o",
      `UserKnownHostsFile=${join(home.sshDir, "known_hosts")}`,
      "forward2",
      "cat /etc/hostname; echo logged-in-as-$(id -un)",
    ]);
    expect(r.stderr).not.toContain("Permission denied");
    expect(r.stdout).toContain("logged-in-as-target_user");
    // the target's key is remembered under its own name (HostKeyAlias), not [localhost]:10022
    const known = readFileSync(join(home.sshDir, "known_hosts"), "utf8");
    expect(known).toContain(`target-host ${target.hostKeyPub}`);
    expect(known).not.toContain("[localhost]:10022");
  });

  test("fwd stop frees the ports; status shows stopped", () => {
    const r = fwd(["stop", "forward1", "--json"]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.stopped).toEqual([{ name: "forward1", pid: expect.any(Number), killed: false }]);
    expect(
      topo.exec(topo.laptop, ["curl", "-s", "--max-time", "3", "http://127.0.0.1:18080/"]).code,
    ).not.toBe(0);
    const st = JSON.parse(fwd(["status", "forward1", "--json"]).stdout);
    expect(st.forwards[0]).toMatchObject({
      name: "forward1",
      state: "stopped",
      pid: null,
      ports: [],
    });
  });
});
